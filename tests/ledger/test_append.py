"""Opening, appending, reading and the outbox of the local ledger."""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.events import Event, EventType
from sync.chain import GENESIS, verify_chain
from sync.keys import public_key_hex
from sync.ledger import Ledger, LedgerError, read_events
from sync.ledger.schema import MIGRATION_SET


def _row_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def test_new_ledger_records_identity_pragmas_and_migrations(ledger: Ledger, ledger_path: Path, key) -> None:
    assert ledger.kiosk_id == "K01"
    assert public_key_hex(ledger.public_key) == public_key_hex(key)
    assert (ledger.last_seq, ledger.head_hash, ledger.pending_count) == (0, GENESIS, 0)
    conn = sqlite3.connect(ledger_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    applied = conn.execute("SELECT migration_set, name FROM _sqlite_migrations").fetchall()
    assert applied == [(MIGRATION_SET, "m0001_initial"), (MIGRATION_SET, "m0002_replica_kiosk_seq")]
    conn.close()


def test_append_chains_signs_and_reads_back(ledger: Ledger, make_event) -> None:
    events = [make_event(voter=f"10000000000000{i}") for i in range(5)]
    sealed = [ledger.append(ev) for ev in events]
    assert [s.seq for s in sealed] == [1, 2, 3, 4, 5]
    assert sealed[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(sealed))
    assert verify_chain(sealed, ledger.public_key) == 5
    assert ledger.sealed() == sealed
    assert ledger.sealed(after_seq=3) == sealed[3:]
    assert ledger.sealed(after_seq=1, limit=2) == sealed[1:3]
    assert ledger.events() == events
    assert ledger.get(events[2].event_id) == sealed[2]
    assert ledger.get("nope") is None
    assert (ledger.last_seq, ledger.head_hash) == (5, sealed[-1].hash)


def test_every_event_type_is_accepted(ledger: Ledger, make_event) -> None:
    checkin = ledger.append(make_event())
    for t in EventType:
        if t is EventType.CHECK_IN:
            continue
        extra = {"target": checkin.event_id, "reason": "誤登録"} if t is EventType.VOID else {}
        ledger.append(make_event(t, **extra))
    assert {e.type for e in ledger.events()} == set(EventType)
    assert ledger.verify().ok


def test_append_is_idempotent_by_event_id_but_refuses_other_content(ledger: Ledger, make_event) -> None:
    ev = make_event()
    first = ledger.append(ev)
    assert ledger.append(ev) == first
    assert ledger.last_seq == 1
    with pytest.raises(LedgerError, match="already recorded"):
        ledger.append(replace(ev, voter="199999999999999"))
    assert ledger.last_seq == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"voter": None}, "voter is required"),
        ({"election": None}, "election is required"),
        ({"data": {"kind": "tomorrow"}}, "data.kind"),
        ({"data": {"kind": "early", "blob": b"bytes"}}, "JSON-encodable"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": "x" * 65}, "event_id"),
    ],
)
def test_bad_event_is_refused_and_changes_nothing(ledger: Ledger, make_event, change, message) -> None:
    ledger.append(make_event())
    with pytest.raises(LedgerError, match=message):
        ledger.append_many([make_event(voter="100000000000009"), replace(make_event(), **change)])
    assert ledger.last_seq == 1


@pytest.mark.parametrize(
    ("ev_type", "data", "message"),
    [
        (EventType.VOID, {"target": "unknown-id", "reason": "x"}, "not a known event"),
        (EventType.VOID, {"target": "", "reason": "x"}, "target and data.reason"),
        (EventType.DECLARATION, {"reason": 7}, "1..6"),
        (EventType.PROXY_VOTE, {"helpers": ["c02", "c02"]}, "two different staff"),
        (EventType.STOCK_RECEIVED, {"count": 0}, "positive integer"),
        (EventType.REFUSAL, {"reason": ""}, "data.reason is required"),
    ],
)
def test_type_specific_rules(ledger: Ledger, make_event, ev_type, data, message) -> None:
    with pytest.raises(LedgerError, match=message):
        ledger.append(make_event(ev_type, **data))
    assert ledger.last_seq == 0


def test_append_many_is_one_transaction(ledger: Ledger, make_event) -> None:
    sealed = ledger.append_many([make_event(election=e) for e in ("shu-sho", "shu-hi", "shinsa")])
    assert [s.seq for s in sealed] == [1, 2, 3]
    assert ledger.append_many([]) == []


def test_void_rules(ledger: Ledger, make_event) -> None:
    checkin = ledger.append(make_event())
    void = ledger.append(make_event(EventType.VOID, voter=None, election=None, target=checkin.event_id, reason="誤り"))
    with pytest.raises(LedgerError, match="already voided"):
        ledger.append(make_event(EventType.VOID, target=checkin.event_id, reason="again"))
    with pytest.raises(LedgerError, match="cannot be voided"):
        ledger.append(make_event(EventType.VOID, target=void.event_id, reason="undo"))
    other = make_event(voter="100000000000002")
    with pytest.raises(LedgerError, match="already voided"):
        ledger.append_many(
            [
                other,
                make_event(EventType.VOID, target=other.event_id, reason="a"),
                make_event(EventType.VOID, target=other.event_id, reason="b"),
            ]
        )
    assert ledger.last_seq == 2


def test_reopen_checks_kiosk_and_key(ledger_path: Path, key, make_event) -> None:
    with Ledger.open(ledger_path, kiosk_id="K01", key=key) as led:
        led.append(make_event())
    with pytest.raises(LedgerError, match="belongs to kiosk 'K01'"):
        Ledger.open(ledger_path, kiosk_id="K02", key=key)
    with pytest.raises(LedgerError, match="not the key"):
        Ledger.open(ledger_path, kiosk_id="K01", key=Ed25519PrivateKey.generate())
    with Ledger.open(ledger_path, kiosk_id="K01") as keyless:
        assert keyless.last_seq == 1
        with pytest.raises(LedgerError, match="without the kiosk key"):
            keyless.append(make_event())


@pytest.mark.parametrize("content", [b"", b"this is not sqlite at all, just some text" * 10])
def test_open_refuses_missing_or_foreign_files(tmp_path: Path, key, content: bytes) -> None:
    path = tmp_path / "x.db"
    if content:
        path.write_bytes(content)
        with pytest.raises(LedgerError, match="not a usable ledger"):
            Ledger.open(path, kiosk_id="K01", key=key)
    else:
        with pytest.raises(LedgerError, match="create=False"):
            Ledger.open(path, kiosk_id="K01", key=key, create=False)
        with pytest.raises(LedgerError, match="needs the kiosk key"):
            Ledger.open(path, kiosk_id="K01")
    with pytest.raises(LedgerError):
        Ledger.open_readonly(path)


def test_open_refuses_other_sqlite_databases(tmp_path: Path, key) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(LedgerError, match="not an Uketsuke ledger"):
        Ledger.open(path, kiosk_id="K01", key=key)
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["t"]


def test_ledger_written_by_newer_version_is_refused(ledger: Ledger, ledger_path: Path, key) -> None:
    with sqlite3.connect(ledger_path) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, 'm9999_future', 'x')",
            (MIGRATION_SET,),
        )
    with pytest.raises(LedgerError, match="newer Uketsuke"):
        Ledger.open(ledger_path, kiosk_id="K01", key=key)
    with pytest.raises(LedgerError, match="newer Uketsuke"):
        Ledger.open_readonly(ledger_path)


def test_ledger_from_an_older_version_is_migrated_on_open(ledger: Ledger, ledger_path: Path, key, make_event) -> None:
    ledger.append(make_event())
    ledger.close()
    with sqlite3.connect(ledger_path) as conn:  # as version 1 left it: no m0002 yet
        conn.execute("DROP INDEX replica_kiosk_seq")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm0002_replica_kiosk_seq'")
    with pytest.raises(LedgerError, match="out of date"):
        Ledger.open_readonly(ledger_path)
    with Ledger.open(ledger_path, kiosk_id="K01", key=key) as reopened:
        assert reopened.last_seq == 1 and reopened.verify().ok
    with sqlite3.connect(ledger_path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
        assert names == ["m0001_initial", "m0002_replica_kiosk_seq"]
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'replica_kiosk_seq'").fetchone()


def test_readonly_refuses_writes(ledger: Ledger, ledger_path: Path, make_event) -> None:
    ledger.append(make_event())
    with Ledger.open_readonly(ledger_path) as ro:
        assert ro.readonly and ro.last_seq == 1
        with pytest.raises(LedgerError, match="read-only"):
            ro.mark_pushed(1)
        with pytest.raises(LedgerError, match="without the kiosk key"):
            ro.append(make_event())
    assert read_events(ledger_path) == ledger.events()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE events SET voter = '999999999999999' WHERE seq = 1",
        "DELETE FROM events WHERE seq = 1",
        "UPDATE meta SET value = 'K99' WHERE key = 'kiosk_id'",
        "DELETE FROM meta WHERE key = 'public_key'",
    ],
)
def test_triggers_refuse_edits_and_deletes(ledger: Ledger, ledger_path: Path, make_event, sql: str) -> None:
    ledger.append(make_event())
    with sqlite3.connect(ledger_path) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(sql)
    assert ledger.verify().ok


def test_package_hash_is_settable_and_validated(ledger: Ledger) -> None:
    assert ledger.package_hash is None
    ledger.package_hash = "ab" * 32
    assert ledger.package_hash == "ab" * 32
    with pytest.raises(LedgerError, match="64 lowercase hex"):
        ledger.package_hash = "xyz"
    assert ledger.package_hash == "ab" * 32


def test_outbox_is_monotonic(ledger: Ledger, make_event) -> None:
    sealed = ledger.append_many([make_event(voter=f"10000000000000{i}") for i in range(6)])
    assert ledger.unpushed(limit=4) == sealed[:4]
    assert ledger.pending_count == 6
    assert ledger.mark_pushed(4) == 4
    assert ledger.unpushed() == sealed[4:]
    assert ledger.mark_pushed(2) == 4  # an older acknowledgement changes nothing
    assert (ledger.acked_seq, ledger.pending_count) == (4, 2)
    with pytest.raises(LedgerError, match="ends at seq 6"):
        ledger.mark_pushed(7)
    with pytest.raises(LedgerError, match="non-negative integer"):
        ledger.mark_pushed(-1)
    assert ledger.mark_pushed(6) == 6 and ledger.unpushed() == []


def test_a_shared_ledger_object_survives_threads(ledger: Ledger, make_event) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: ledger.append(make_event(voter=f"2{i:014d}")), range(40)))
    assert sorted(r.seq for r in results) == list(range(1, 41))
    assert ledger.verify().ok


def test_events_filter_by_type(ledger: Ledger, make_event) -> None:
    ledger.append(make_event())
    ledger.append(make_event(EventType.STAFF_SIGN_IN, voter=None, election=None))
    assert [e.type for e in ledger.events(types=[EventType.STAFF_SIGN_IN])] == [EventType.STAFF_SIGN_IN]
    assert isinstance(ledger.events()[0], Event)


def test_connection_is_wal_with_synchronous_full(ledger: Ledger) -> None:
    """synchronous is per connection, so check the ledger's own one: 2 = FULL (fsync at every commit)."""
    assert ledger._conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert ledger._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


_voters = st.from_regex(r"[0-9]{15}", fullmatch=True)
_event_specs = st.lists(
    st.tuples(
        st.sampled_from([t for t in EventType if t is not EventType.VOID]),
        _voters,
        st.sampled_from(["shu-sho", "shu-hi", "shi"]),
        st.dictionaries(
            st.sampled_from(["note", "offline", "extra"]), st.text(max_size=10) | st.booleans(), max_size=2
        ),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(specs=_event_specs, split=st.integers(0, 12))
def test_any_valid_events_round_trip_and_verify(tmp_path_factory: pytest.TempPathFactory, specs, split: int) -> None:
    events = []
    for i, (t, voter, election, extra) in enumerate(specs):
        base = {
            EventType.CHECK_IN: {"kind": "day"},
            EventType.DECLARATION: {"reason": 2},
            EventType.PROXY_VOTE: {"helpers": ["c02", "c03"]},
            EventType.STOCK_RECEIVED: {"count": 10},
            EventType.STAFF_SIGN_IN_FAILED: {"attempt": 1},
            EventType.STAFF_UNLOCKED: {"target": "c02"},
        }.get(t, {"reason": "理由"})
        events.append(
            Event(
                t,
                "E01",
                "c01",
                datetime(2026, 12, 13, tzinfo=UTC) + timedelta(seconds=i),
                voter=voter,
                election=election,
                data=extra | base,
            )
        )
    key = Ed25519PrivateKey.generate()
    path = tmp_path_factory.mktemp("prop") / "l.db"
    with Ledger.open(path, kiosk_id="K01", key=key) as led:
        led.append_many(events[:split])
        for ev in events[split:]:
            led.append(ev)
        assert led.events() == events
        report = led.verify(key.public_key())
        assert report.ok and report.checked == len(events)


def test_retried_batch_and_retried_void_are_idempotent(ledger: Ledger, make_event) -> None:
    """After a crash the caller cannot know whether its last append landed; re-sending must be harmless."""
    checkin = make_event()
    first = ledger.append(checkin)
    later = make_event(voter="100000000000002")
    again, new = ledger.append_many([checkin, later])
    assert again == first and new.seq == 2 and new.prev_hash == first.hash
    void = make_event(EventType.VOID, voter=None, election=None, target=checkin.event_id, reason="誤り")
    sealed_void = ledger.append(void)
    assert ledger.append(void) == sealed_void
    assert ledger.last_seq == 3 and ledger.verify().ok
