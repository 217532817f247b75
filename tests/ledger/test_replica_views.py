"""Replica of other kiosks' events, and the derived views across own + replica events (voids applied)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ballots.events import CheckInKind, EventType
from sync.chain import SealedEvent
from sync.ledger import Ledger, LedgerError

VOTER = "100000000000001"


@pytest.fixture
def other(tmp_path: Path) -> Ledger:
    """Kiosk K02's ledger, the source of 'pulled' events."""
    led = Ledger.open(tmp_path / "k02.db", kiosk_id="K02", key=Ed25519PrivateKey.generate())
    yield led
    led.close()


def test_add_replica_is_idempotent_and_skips_own_events(ledger: Ledger, other: Ledger, make_event) -> None:
    own = ledger.append(make_event())
    pulled = other.append_many([make_event(station="D01", voter=f"2{i:014d}") for i in range(3)])
    before = datetime.now(UTC)
    assert ledger.add_replica([*pulled, own], cursor="c-3") == 3
    assert ledger.add_replica(pulled, cursor="c-3") == 0
    assert ledger.replica_count == 3
    assert ledger.replica_cursor == "c-3"
    updated = ledger.replica_updated_at
    assert updated is not None and updated >= before
    assert ledger.get(pulled[1].event_id) == pulled[1]
    assert ledger.last_seq == 1  # replica events never enter the own chain
    assert ledger.verify().ok


def test_replica_cursor_and_freshness(ledger: Ledger) -> None:
    assert ledger.replica_cursor is None and ledger.replica_updated_at is None
    ledger.replica_cursor = 42
    assert ledger.replica_cursor == 42
    assert ledger.add_replica([]) == 0  # an empty pull still proves the replica is fresh
    assert ledger.replica_updated_at is not None
    assert ledger.replica_cursor == 42  # cursor untouched unless given
    with pytest.raises(LedgerError, match="cursor"):
        ledger.replica_cursor = 1.5  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda se: replace(se, body={**se.body, "type": "teleport"}), "malformed event"),
        (lambda se: replace(se, body={**se.body, "voter": None}), "voter is required"),
        (lambda se: replace(se, hash="xyz"), "hex of the right length"),
        (lambda se: replace(se, signature="00"), "hex of the right length"),
        (lambda se: replace(se, seq=0), "seq ≥ 1"),
        (lambda se: replace(se, kiosk_id=""), "kiosk id"),
        (lambda se: "not a sealed event", "expected SealedEvent"),
    ],
)
def test_bad_replica_batch_changes_nothing(ledger: Ledger, other: Ledger, make_event, damage, message) -> None:
    good, bad = other.append_many([make_event(), make_event(voter="100000000000002")])
    with pytest.raises(LedgerError, match=message):
        ledger.add_replica([good, damage(bad)], cursor="next")
    assert ledger.replica_count == 0 and ledger.replica_cursor is None and ledger.replica_updated_at is None


def test_checkins_for_covers_own_and_replica_and_applies_voids(ledger: Ledger, other: Ledger, make_event) -> None:
    own = ledger.append(make_event(election="shu-sho", kind="early", offline=True))
    theirs = other.append(make_event(election="shu-hi", station="D01", kind="day"))
    ledger.add_replica([theirs])
    records = ledger.checkins_for(VOTER)
    assert [(r.election, r.kiosk_id, r.station_id, r.kind, r.own, r.offline) for r in records] == [
        ("shu-sho", "K01", "E01", CheckInKind.EARLY, True, True),
        ("shu-hi", "K02", "D01", CheckInKind.DAY, False, False),
    ]
    assert records[0].event_id == own.event_id and records[0].at == own.event.at
    assert ledger.checkins_for("199999999999999") == []
    # An own void of another kiosk's check-in (the manager corrects a pulled record).
    ledger.append(make_event(EventType.VOID, voter=None, election=None, target=theirs.event_id, reason="誤交付"))
    assert [r.event_id for r in ledger.checkins_for(VOTER)] == [own.event_id]
    # Another kiosk's void of our check-in (it pulled ours first) arrives through the replica.
    other.add_replica([own])
    ledger.add_replica([other.append(make_event(EventType.VOID, target=own.event_id, reason="取消"))])
    assert ledger.checkins_for(VOTER) == []


def test_status_reports_conflicts(ledger: Ledger, other: Ledger, make_event) -> None:
    assert not ledger.status(VOTER, "shu").voted
    ledger.append(make_event(election="shu"))
    status = ledger.status(VOTER, "shu")
    assert status.voted and not status.conflict
    ledger.add_replica([other.append(make_event(election="shu", station="D01", kind="day"))])
    status = ledger.status(VOTER, "shu")
    assert status.conflict and {c.kiosk_id for c in status.checkins} == {"K01", "K02"}
    assert not ledger.status(VOTER, "other-election").voted


def test_counts(ledger: Ledger, other: Ledger, make_event) -> None:
    a = ledger.append(make_event(election="shu", kind="early"))
    ledger.append(make_event(election="shu", kind="early", voter="100000000000002"))
    ledger.append(make_event(election="shu", kind="absentee", voter="100000000000003"))
    ledger.append(make_event(election="shi", kind="early"))
    ledger.append(make_event(EventType.VOID, target=a.event_id, reason="誤り"))
    ledger.append(make_event(EventType.STAFF_SIGN_IN, voter=None, election=None))
    ledger.add_replica([other.append(make_event(election="shu", kind="day", voter="100000000000009"))])
    own = ledger.counts()
    assert own.checkins == {"shu": {"early": 1, "absentee": 1}, "shi": {"early": 1}}
    assert own.voided_checkins == {"shu": 1}
    assert own.events == {"check_in": 4, "void": 1, "staff_sign_in": 1}
    assert own.total("shu") == 2 and own.total("none") == 0
    everyone = ledger.counts(include_replica=True)
    assert everyone.checkins["shu"] == {"early": 1, "absentee": 1, "day": 1}


def test_checkins_for_uses_the_partial_indexes(ledger: Ledger) -> None:
    """The lookup must stay an index search at 1M rows (figure in bench/ledger_commit.py)."""
    from sync.ledger.store import _CHECKINS_FOR

    plan = " ".join(r[3] for r in ledger._conn.execute("EXPLAIN QUERY PLAN " + _CHECKINS_FOR, ("K01", VOTER, VOTER)))
    assert "SCAN" not in plan, plan
    for index in ("events_checkin_voter", "replica_checkin_voter", "events_void_target", "replica_void_target"):
        assert index in plan


# Outside input: whatever a (buggy or hostile) server sends, add_replica either stores it or raises LedgerError,
# and a refused batch changes nothing.
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
_bodies = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.text(max_size=70),
        "type": st.sampled_from([t.value for t in EventType]) | st.text(max_size=5),
        "station_id": st.text(max_size=5),
        "staff_id": st.text(max_size=5),
        "at": st.sampled_from(["2026-12-13T01:00:00+00:00", "2026-12-13T01:00:00", "yesterday"]),
        "voter": st.none() | st.text(max_size=16),
        "election": st.none() | st.text(max_size=6),
        "data": _json,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_bodies, seq=st.integers(-2, 5))
def test_add_replica_accepts_or_refuses_cleanly(ledger: Ledger, body: dict, seq: int) -> None:
    se = SealedEvent(kiosk_id="K09", seq=seq, prev_hash="0" * 64, body=body, hash="1" * 64, signature="2" * 128)
    before = ledger.replica_count
    try:
        added = ledger.add_replica([se])
    except LedgerError:
        assert ledger.replica_count == before
    else:
        assert ledger.replica_count == before + added
        assert ledger.get(str(body["event_id"])) is not None


@pytest.fixture
def with_replica(ledger: Ledger, other: Ledger, make_event) -> Ledger:
    """Our ledger holding 5 of K02's events (seq 1..5, a chain) in its replica."""
    ledger.add_replica(other.append_many([make_event(voter=f"3{i:014d}", station="D01") for i in range(5)]))
    return ledger


def test_verify_replica_intact_with_and_without_keys(with_replica: Ledger, other: Ledger) -> None:
    plain = with_replica.verify_replica()
    assert plain.ok and plain.checked == 5 and plain.signatures_checked == 0
    assert plain.kiosks == {"K02": 5} and plain.kiosks_without_key == ("K02",)
    signed = with_replica.verify_replica({"K02": other.public_key})
    assert signed.ok and signed.signatures_checked == 5 and signed.kiosks_without_key == ()
    assert with_replica.replica_heads == {"K02": 5}


REPLICA_TAMPER = [
    (
        "hide a check-in by editing the voter column",
        "UPDATE replica SET voter = '0' WHERE seq = 3",
        3,
        "voter do not match",
    ),
    (
        "edit the body",
        "UPDATE replica SET body = json_set(body, '$.election', 'x'), election = 'x' WHERE seq = 3",
        3,
        "hash does not match",
    ),
    ("edit prev_hash", f"UPDATE replica SET prev_hash = '{'0' * 64}' WHERE seq = 3", 3, "hash does not match"),
    ("garbage body", "UPDATE replica SET body = '[' WHERE seq = 2", 2, "unreadable"),
    (
        "fork: a second event with the same seq",
        "INSERT INTO replica (event_id, kiosk_id, seq, type, voter, election,"
        " target, at, prev_hash, hash, signature, body, received_at) SELECT 'dup', kiosk_id, seq, type, voter,"
        " election, target, at, prev_hash, hash, signature, body, received_at FROM replica WHERE seq = 4",
        4,
        "event_id do not match",
    ),
    ("relabel another kiosk's row as ours", "UPDATE replica SET kiosk_id = 'K01' WHERE seq = 1", 1, "own id"),
]


@pytest.mark.parametrize(("case", "sql", "bad_seq", "reason"), REPLICA_TAMPER, ids=[c[0] for c in REPLICA_TAMPER])
def test_verify_replica_names_the_first_bad_row(with_replica: Ledger, ledger_path: Path, case, sql, bad_seq, reason):
    with sqlite3.connect(ledger_path) as conn:
        conn.execute("DROP TRIGGER replica_no_update")
        conn.execute(sql)
    report = with_replica.verify_replica()
    assert not report.ok, case
    assert report.bad_seq == bad_seq and reason in (report.reason or ""), report
    assert with_replica.verify().ok  # the own chain is untouched


def test_verify_replica_detects_a_real_fork(ledger: Ledger, make_event, tmp_path: Path) -> None:
    """Two ledgers of one kiosk id (a cloned disk): both chains are valid alone, the replica shows the fork."""
    key = Ed25519PrivateKey.generate()
    with (
        Ledger.open(tmp_path / "a.db", kiosk_id="K05", key=key) as a,
        Ledger.open(tmp_path / "b.db", kiosk_id="K05", key=key) as b,
    ):
        ledger.add_replica(
            [a.append(make_event(voter="400000000000001")), b.append(make_event(voter="400000000000002"))]
        )
    report = ledger.verify_replica({"K05": key.public_key()})
    assert not report.ok and report.bad_seq == 1 and "forked" in (report.reason or "")


def test_verify_replica_with_the_wrong_key_fails_on_the_first_row(with_replica: Ledger) -> None:
    report = with_replica.verify_replica({"K02": Ed25519PrivateKey.generate().public_key()})
    assert not report.ok and (report.bad_kiosk_id, report.bad_seq) == ("K02", 1)
    assert "signature does not verify" in (report.reason or "")
