"""Server storage on SQLite and PostgreSQL: claims, push verification (every refusal and its reason), conflicts, voids.

Runs the real group-commit writers against a fresh database of each kind (tests/sync/conftest.py: ``db_url``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synctest_helpers import check_in, make_package, random_voter, void

from ballots.events import Event
from ballots.model import decision_holder_key
from sync.chain import GENESIS, SealedEvent, seal
from sync.server import storage as st
from sync.server.migrations import MIGRATIONS
from sync.server.refusals import RefusalAggregate

PACKAGE = make_package()


@pytest.fixture(scope="module")
def db(db_url: str) -> Iterator[st.Database]:
    database = st.Database(db_url, PACKAGE.package_hash)
    yield database
    database.close()


class Kiosk:
    """A kiosk's chain, sealed the way sync.ledger seals it."""

    def __init__(self, kiosk_id: str | None = None) -> None:
        self.id = kiosk_id or f"K-{secrets.token_hex(4)}"
        self.key = Ed25519PrivateKey.generate()
        self.seq, self.head = 0, GENESIS

    @property
    def key_hex(self) -> str:
        return self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()

    def seal(self, ev: Event) -> SealedEvent:
        self.seq += 1
        se = seal(ev, kiosk_id=self.id, seq=self.seq, prev_hash=self.head, key=self.key)
        self.head = se.hash
        return se


def push(db: st.Database, k: Kiosk, events: list[SealedEvent] | list[dict[str, Any]]) -> st.PushResult:
    wire = [e.to_dict() if isinstance(e, SealedEvent) else e for e in events]
    pub = k.key.public_key()
    verified = st.verify_batch(wire, k.id, pub)
    return db.submit_event(lambda c: st.op_push(c, k.id, k.key_hex, verified)).result(30)


def claim(db: st.Database, kiosk_id: str, ev: Event) -> st.ClaimResult:
    req = st.ClaimRequest(str(ev.election), str(ev.voter), ev.event_id, ev.station_id, "early", ev.at.isoformat())
    return db.submit_claim(lambda c: st.op_claim(c, kiosk_id, req)).result(30)


def counts(db: st.Database) -> dict[str, int]:
    return db.read_now(st.read_counts)


def test_claim_accepted_then_already_voted_with_holder(db: st.Database) -> None:
    voter = random_voter()
    first = check_in(voter, station="E01")
    assert claim(db, "A", first).accepted
    second = claim(db, "B", check_in(voter, station="E02"))
    assert not second.accepted
    assert second.holder["station_id"] == "E01" and second.holder["kiosk_id"] == "A"
    assert second.holder["event_id"] == first.event_id and second.holder["kind"] == "early"
    # A retry of the same claim (its answer was lost) is still accepted; other elections are separate claims.
    assert claim(db, "A", first).accepted
    # ... but only for the kiosk that made it: another kiosk naming the holder's event id is refused.
    assert not claim(db, "B", first).accepted
    assert claim(db, "B", check_in(voter, election="shu-hi")).accepted


def _chain(k: Kiosk, n: int) -> list[SealedEvent]:
    return [k.seal(check_in(random_voter())) for _ in range(n)]


def test_push_accepts_a_chain_and_is_idempotent(db: st.Database) -> None:
    k = Kiosk()
    events = _chain(k, 3)
    before = counts(db)
    res = push(db, k, events)
    assert (res.accepted, res.last_seq, res.reason) == (3, 3, None)
    again = push(db, k, events)
    assert (again.accepted, again.duplicates, again.reason) == (0, 3, None)
    after = counts(db)
    assert after["events"] - before["events"] == 3
    assert after["rejections"] == before["rejections"]


def _tamper_body(k: Kiosk, good: SealedEvent) -> dict[str, Any]:
    d = good.to_dict()
    d["event"] = {**d["event"], "voter": "999999999999999"}
    return d


def _foreign_signature(k: Kiosk, good: SealedEvent) -> dict[str, Any]:
    other = Ed25519PrivateKey.generate()
    return seal(good.event, kiosk_id=k.id, seq=good.seq, prev_hash=good.prev_hash, key=other).to_dict()


def _gap(k: Kiosk, good: SealedEvent) -> dict[str, Any]:
    return seal(good.event, kiosk_id=k.id, seq=good.seq + 1, prev_hash=good.prev_hash, key=k.key).to_dict()


def _broken_link(k: Kiosk, good: SealedEvent) -> dict[str, Any]:
    return seal(good.event, kiosk_id=k.id, seq=good.seq, prev_hash="ab" * 32, key=k.key).to_dict()


def _other_kiosk(k: Kiosk, good: SealedEvent) -> dict[str, Any]:
    return seal(good.event, kiosk_id="SOMEONE-ELSE", seq=good.seq, prev_hash=good.prev_hash, key=k.key).to_dict()


def _replay(k: Kiosk, good: SealedEvent) -> dict[str, Any]:
    # An event id the server already holds (pushed as seq 1), re-sealed validly at the next position.
    first = k.first  # type: ignore[attr-defined]
    return seal(first.event, kiosk_id=k.id, seq=good.seq, prev_hash=good.prev_hash, key=k.key).to_dict()


def _fork(k: Kiosk, good: SealedEvent) -> dict[str, Any]:
    first = k.first  # type: ignore[attr-defined]
    return seal(check_in(random_voter()), kiosk_id=k.id, seq=1, prev_hash=GENESIS, key=k.key).to_dict() | {
        "seq": first.seq
    }


@pytest.mark.parametrize(
    ("make_bad", "reason_word"),
    [
        (_tamper_body, "tampered: seq 2: hash does not match"),
        (_foreign_signature, "signature does not verify"),
        (_gap, "gap: expected seq 2, got seq 3"),
        (_broken_link, "chain broken"),
        (_other_kiosk, "but the certificate is kiosk"),
        (_replay, "replay: event"),
        (_fork, "fork: seq 1"),
    ],
)
def test_push_refusals_are_recorded_and_store_nothing(db: st.Database, make_bad: Any, reason_word: str) -> None:
    k = Kiosk()
    first = k.seal(check_in(random_voter()))
    k.first = first  # type: ignore[attr-defined]
    assert push(db, k, [first]).accepted == 1
    good_next = k.seal(check_in(random_voter()))
    before = counts(db)
    res = push(db, k, [make_bad(k, good_next)])
    assert res.reason is not None and reason_word in res.reason, res.reason
    assert res.accepted == 0 and res.last_seq == 1
    after = counts(db)
    assert after["events"] == before["events"] and after["claims"] == before["claims"]
    assert after["rejections"] == before["rejections"] + 1
    last = db.read_now(lambda c: st.read_rejections(c, 0, 100000))[-1]
    assert last["stage"] == "push" and last["client_id"] == k.id and reason_word in last["reason"]
    # The genuine event is still accepted afterwards: a refusal does not wedge the kiosk.
    assert push(db, k, [good_next]).accepted == 1


def test_accepted_prefix_of_a_batch_is_kept(db: st.Database) -> None:
    k = Kiosk()
    events = _chain(k, 3)
    bad = replace(events[2], signature="00" * 64)
    res = push(db, k, [events[0], events[1], bad])
    assert (res.accepted, res.last_seq, res.rejected_seq) == (2, 2, 3)


def test_changed_ledger_key_is_refused(db: st.Database) -> None:
    k = Kiosk()
    push(db, k, _chain(k, 1))
    impostor = Kiosk(k.id)
    res = push(db, impostor, [impostor.seal(check_in(random_voter()))])
    assert res.reason is not None and "ledger key differs" in res.reason


def test_offline_double_becomes_a_conflict_both_events_kept(db: st.Database) -> None:
    a, b = Kiosk(), Kiosk()
    voter = random_voter()
    ev_a = check_in(voter, station="E01")
    assert claim(db, a.id, ev_a).accepted
    ev_b = check_in(voter, station="E02", offline=True)  # B was offline and decided locally
    before = counts(db)
    assert push(db, a, [a.seal(ev_a)]).conflicts == 0
    res_b = push(db, b, [b.seal(ev_b)])
    assert res_b.conflicts == 1 and res_b.accepted == 1
    assert counts(db)["events"] == before["events"] + 2
    for kiosk_id in (a.id, b.id):
        (c,) = db.read_now(lambda conn, kid=kiosk_id: st.read_conflicts(conn, kid))
        assert (c["first_event_id"], c["second_event_id"]) == (ev_a.event_id, ev_b.event_id)
        assert (c["first_station"], c["second_station"]) == ("E01", "E02")
    # Pushing the same event again is idempotent: no second conflict row.
    b.seq, b.head = 0, GENESIS
    assert push(db, b, [b.seal(ev_b)]).duplicates == 1
    assert len(db.read_now(lambda conn: st.read_conflicts(conn, b.id))) == 1


def test_void_releases_the_claim_as_a_new_event(db: st.Database) -> None:
    k = Kiosk()
    voter = random_voter()
    ev = check_in(voter)
    assert claim(db, k.id, ev).accepted
    push(db, k, [k.seal(ev)])
    assert not claim(db, "other", check_in(voter)).accepted
    push(db, k, [k.seal(void(ev.event_id))])
    again = check_in(voter)
    assert claim(db, "other", again).accepted
    # The old claim row is still there (released, not edited): two claim generations for this voter.
    n = db.read_now(lambda c: c.execute("SELECT COUNT(*) FROM claims WHERE voter = ?", (voter,)).fetchone()[0])
    assert n == 2


def test_voiding_the_holder_of_a_conflict_leaves_the_other_check_in_holding(db: st.Database) -> None:
    a, b = Kiosk(), Kiosk()
    voter = random_voter()
    ev_a, ev_b = check_in(voter), check_in(voter, station="E02", offline=True)
    claim(db, a.id, ev_a)
    push(db, a, [a.seal(ev_a)])
    push(db, b, [b.seal(ev_b)])
    push(db, a, [a.seal(void(ev_a.event_id))])
    res = claim(db, "third", check_in(voter))
    assert not res.accepted and res.holder["event_id"] == ev_b.event_id
    (c,) = db.read_now(lambda conn: st.read_conflicts(conn, b.id))
    assert c["first_voided"] and not c["second_voided"]


def test_database_is_bound_to_one_package(db_url: str, db: st.Database) -> None:
    with pytest.raises(st.StorageError, match="belongs to election package"):
        st.Database(db_url, make_package("another election").package_hash)


def test_migrations_are_recorded_once(db_url: str, db: st.Database) -> None:
    conn = st.connect(db_url)
    try:
        assert st.migrate(conn) == []
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    finally:
        conn.close()
    assert [r[0] for r in rows] == [m.version for m in MIGRATIONS]


def test_counted_refusals_keep_the_totals_exact(db: st.Database) -> None:
    before = db.read_now(st.read_rejection_totals)
    db.submit_event(lambda c: st.op_reject(c, "tls", None, "192.0.2.1:4000", "TLS: no client certificate")).result(30)
    first, last = "2026-12-13T00:00:00.000000+00:00", "2026-12-13T00:00:59.000000+00:00"
    counted = RefusalAggregate(
        "tls", None, "192.0.2.1", "1999 further refusals of this kind from 192.0.2.1 …", 1999, first, last
    )
    db.submit_event(lambda c: st.op_reject_counted(c, [counted])).result(30)
    after = db.read_now(st.read_rejection_totals)
    assert after["refusals"] == before["refusals"] + 2000 and after["rows"] == before["rows"] + 2
    tls_before = before["stages"].get("tls", {"refusals": 0})["refusals"]
    assert after["stages"]["tls"]["refusals"] == tls_before + 2000
    single, many = db.read_now(lambda c: st.read_rejections(c, 0, 100000))[-2:]
    assert (single["count"], single["first_at"], single["peer"]) == (1, None, "192.0.2.1:4000")
    assert (many["count"], many["first_at"], many["at"], many["peer"]) == (1999, first, last, "192.0.2.1")


def test_rejections_recorded_before_the_count_column_count_once(fresh_db_url: str) -> None:
    conn = st.connect(fresh_db_url)
    try:
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for m in MIGRATIONS[:2]:  # a database of the previous release
            for stmt in m.sqlite if conn.dialect == "sqlite" else m.postgres:
                conn.execute(stmt)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (m.version, m.name, st.utc_now()))
        conn.execute(
            "INSERT INTO rejections (at, stage, client_id, peer, reason) VALUES (?, 'auth', 'K-1', NULL, 'revoked')",
            (st.utc_now(),),
        )
        assert st.migrate(conn) == [3, 4]
        [row] = st.read_rejections(conn)
        assert (row["count"], row["first_at"], row["reason"]) == (1, None, "revoked")
        assert st.read_rejection_totals(conn)["refusals"] == 1
    finally:
        conn.close()


def _insert_checkin(conn: st.Conn, event_id: str, voter: str, data: dict[str, str]) -> None:
    """A check-in row as the event writer stores it (the committee triggers derive checkin_facts from it)."""
    at = "2026-12-13T03:00:00.000000+00:00"
    sealed = {
        "event": {
            "event_id": event_id,
            "type": "check_in",
            "voter": voter,
            "election": "shu-hi",
            "at": at,
            "station_id": "D02",
            "staff_id": "c01",
            "data": {"kind": "day", **data},
        }
    }
    conn.execute(
        "INSERT INTO events (event_id, kiosk_id, seq, type, election, voter, station_id, at, hash, target, sealed,"
        " received_at) VALUES (?, 'K-1', ?, 'check_in', 'shu-hi', ?, 'D02', ?, ?, NULL, ?, ?)",
        (event_id, int(event_id[-2:]), voter, at, "0" * 64, json.dumps(sealed), at),
    )


def test_a_decision_holders_sex_comes_from_the_check_in_before_and_after_migration_4(fresh_db_url: str) -> None:
    # 決定書等所持者 have no register entry (no voter_sex row): the sex the manager recorded from the decision is used.
    decision = decision_holder_key("令和8年選管決定第12号")
    conn = st.connect(fresh_db_url)
    try:
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for m in MIGRATIONS[:3]:  # a database of the previous release, already holding check-ins
            for stmt in m.sqlite if conn.dialect == "sqlite" else m.postgres:
                conn.execute(stmt)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (m.version, m.name, st.utc_now()))
        conn.execute("INSERT INTO voter_sex (voter, sex) VALUES ('000000000000010', 'M')")
        _insert_checkin(conn, "ev-01", decision, {"decision_ref": "令和8年選管決定第12号", "decision_sex": "F"})
        _insert_checkin(conn, "ev-02", "000000000000010", {"decision_sex": "F"})  # the register wins
        _insert_checkin(conn, "ev-03", "000000000000070", {})  # unknown key: stays unknown
        _insert_checkin(conn, "ev-04", decision[:-1] + "9", {"decision_sex": "X"})  # only M or F is taken
        assert st.migrate(conn) == [4]
        _insert_checkin(conn, "ev-05", decision[:-1] + "8", {"decision_sex": "M"})  # arriving after the migration
        sexes = dict(conn.execute("SELECT event_id, sex FROM checkin_facts").fetchall())
        assert sexes == {"ev-01": "F", "ev-02": "M", "ev-03": None, "ev-04": None, "ev-05": "M"}
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x/y", "expected sqlite"),
        ("sqlite://", "use sqlite:///"),
        ("sqlite:///", "use sqlite:///"),
        ("", "expected sqlite"),
    ],
)
def test_bad_database_urls_are_named(url: str, message: str) -> None:
    with pytest.raises(st.StorageError, match=message):
        st.parse_database_url(url)
