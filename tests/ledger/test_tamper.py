"""``verify`` catches every way someone with raw SQL access could change the ledger, and names the first bad row.

Each case drops the guard triggers first (as an attacker would), changes the file with sqlite3 directly, and then
verifies through a fresh read-only open, as ``uketsuke ledger verify`` does.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sync.chain import seal
from sync.keys import public_key_hex
from sync.ledger import Ledger
from sync.ledger.schema import GUARD_TRIGGERS

N = 10
Tamper = Callable[[sqlite3.Connection], None]


def _sql(*statements: str) -> Tamper:
    def run(conn: sqlite3.Connection) -> None:
        for s in statements:
            conn.execute(s)

    return run


def _swap_rows(a: int, b: int) -> Tamper:
    """Swap the whole content of two rows, keeping their seq (the physical order)."""

    def run(conn: sqlite3.Connection) -> None:
        cols = "event_id, type, voter, election, target, at, prev_hash, hash, signature, body"
        ra = conn.execute(f"SELECT {cols} FROM events WHERE seq = ?", (a,)).fetchone()
        rb = conn.execute(f"SELECT {cols} FROM events WHERE seq = ?", (b,)).fetchone()
        sets = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
        # event_id is UNIQUE: park one row's id first.
        conn.execute("UPDATE events SET event_id = 'tmp' WHERE seq = ?", (a,))
        conn.execute(f"UPDATE events SET {sets} WHERE seq = ?", (*ra, b))
        conn.execute(f"UPDATE events SET {sets} WHERE seq = ?", (*rb, a))

    return run


def _rehash_after_edit(seq: int) -> Tamper:
    """Edit a body and recompute its hash and the next row's prev_hash — everything but the signature."""

    def run(conn: sqlite3.Connection) -> None:
        from sync.chain import event_hash  # the attacker knows the public algorithm

        kiosk = conn.execute("SELECT value FROM meta WHERE key = 'kiosk_id'").fetchone()[0]
        prev, body_json = conn.execute("SELECT prev_hash, body FROM events WHERE seq = ?", (seq,)).fetchone()
        body = json.loads(body_json) | {"voter": "999999999999999"}
        new_hash = event_hash(kiosk, seq, prev, body)
        conn.execute(
            "UPDATE events SET body = ?, voter = ?, hash = ? WHERE seq = ?",
            (json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False), body["voter"], new_hash, seq),
        )
        conn.execute("UPDATE events SET prev_hash = ? WHERE seq = ?", (new_hash, seq + 1))

    return run


def _insert_forged_row(conn: sqlite3.Connection) -> None:
    """Append a well-formed, correctly chained check-in signed with a key that is not the kiosk's."""
    from ballots.events import Event

    kiosk = conn.execute("SELECT value FROM meta WHERE key = 'kiosk_id'").fetchone()[0]
    last_seq, last_hash = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    body = conn.execute("SELECT body FROM events WHERE type = 'check_in' LIMIT 1").fetchone()[0]
    template = json.loads(body) | {"event_id": "f" * 32, "voter": "999999999999999"}
    forged = seal(
        Event.from_dict(template),
        kiosk_id=kiosk,
        seq=last_seq + 1,
        prev_hash=last_hash,
        key=Ed25519PrivateKey.generate(),
    )
    b = forged.body
    conn.execute(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)",
        (
            forged.seq,
            b["event_id"],
            b["type"],
            b["voter"],
            b["election"],
            b["at"],
            forged.prev_hash,
            forged.hash,
            forged.signature,
            json.dumps(b, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        ),
    )


OTHER_HEX = "ab" * 32

TAMPER_TABLE: list[tuple[str, Tamper, int, str]] = [
    # (case, change, first bad seq named, reason pattern)
    (
        "edit body (voter) and its lookup column",
        _sql(
            "UPDATE events SET body = json_set(body, '$.voter', '999999999999999'),"
            " voter = '999999999999999' WHERE seq = 5"
        ),
        5,
        "hash does not match",
    ),
    (
        "edit lookup column only",
        _sql("UPDATE events SET voter = '999999999999999' WHERE seq = 5"),
        5,
        "voter do not match",
    ),
    (
        "edit time column only",
        _sql("UPDATE events SET at = '2026-12-13T09:00:00+00:00' WHERE seq = 5"),
        5,
        "at do not match",
    ),
    ("edit body to garbage", _sql("UPDATE events SET body = '{not json' WHERE seq = 5"), 5, "unreadable"),
    ("edit hash", _sql(f"UPDATE events SET hash = '{OTHER_HEX}' WHERE seq = 5"), 5, "hash does not match"),
    (
        "edit signature (copied from another row)",
        _sql("UPDATE events SET signature = (SELECT signature FROM events WHERE seq = 4) WHERE seq = 5"),
        5,
        "signature does not verify",
    ),
    ("edit prev_hash", _sql(f"UPDATE events SET prev_hash = '{OTHER_HEX}' WHERE seq = 5"), 5, "prev_hash"),
    ("edit body and re-hash (no key to re-sign)", _rehash_after_edit(5), 5, "signature does not verify"),
    ("delete a middle row", _sql("DELETE FROM events WHERE seq = 5"), 5, "expected seq 5, found 6"),
    ("delete the first row", _sql("DELETE FROM events WHERE seq = 1"), 1, "expected seq 1, found 2"),
    ("delete the last row after it was acknowledged", _sql(f"DELETE FROM events WHERE seq = {N}"), N, "acknowledged"),
    ("swap two rows", _swap_rows(4, 5), 4, "prev_hash"),
    ("insert a forged row at the end", _insert_forged_row, N + 1, "signature does not verify"),
    (
        "insert a row before the first",
        _sql(
            "INSERT INTO events SELECT 0, 'x', type, voter, election, target, at,"
            " prev_hash, hash, signature, body FROM events WHERE seq = 1"
        ),
        0,
        "seq 0",
    ),
    ("reorder seq (move a row to the end)", _sql("UPDATE events SET seq = 100 WHERE seq = 3"), 3, "expected seq 3"),
    (
        "reorder seq (swap two seq numbers)",
        _sql(
            "UPDATE events SET seq = -4 WHERE seq = 4",
            "UPDATE events SET seq = 4 WHERE seq = 5",
            "UPDATE events SET seq = 5 WHERE seq = -4",
        ),
        4,
        "hash",
    ),
    (
        "change the recorded kiosk id",
        _sql("UPDATE meta SET value = 'K99' WHERE key = 'kiosk_id'"),
        1,
        "hash does not match",
    ),
    (
        "un-void a check-in by clearing the void's target column",
        _sql(f"UPDATE events SET target = NULL WHERE seq = {N}"),
        N,
        "target do not match",
    ),
]


@pytest.fixture
def filled(ledger: Ledger, ledger_path: Path, make_event) -> Path:
    """Ledger with N events: N-1 check-ins and a void of the first; acknowledged up to N."""
    sealed = ledger.append_many([make_event(voter=f"1{i:014d}") for i in range(N - 1)])
    ledger.append(make_event("void", voter=None, election=None, target=sealed[0].event_id, reason="誤り"))
    ledger.mark_pushed(N)
    assert ledger.verify().ok
    return ledger_path


@pytest.mark.parametrize(("case", "tamper", "bad_seq", "reason"), TAMPER_TABLE, ids=[t[0] for t in TAMPER_TABLE])
def test_verify_names_the_first_bad_row(
    filled: Path, key, case: str, tamper: Tamper, bad_seq: int, reason: str
) -> None:
    conn = sqlite3.connect(filled)
    for trigger in GUARD_TRIGGERS:
        conn.execute(f"DROP TRIGGER {trigger}")
    tamper(conn)
    conn.commit()
    conn.close()
    with Ledger.open_readonly(filled) as ro:
        for report in (ro.verify(), ro.verify(key.public_key())):
            assert not report.ok, case
            assert report.bad_seq == bad_seq, report
            assert report.reason is not None and reason in report.reason, report.reason
            assert report.checked == min(max(0, bad_seq - 1), N)  # every row before the bad one verified
            assert any("guard trigger" in w for w in report.warnings)


def test_untouched_ledger_verifies_with_either_key(filled: Path, key) -> None:
    with Ledger.open_readonly(filled) as ro:
        recorded, given = ro.verify(), ro.verify(key.public_key())
    assert recorded.ok and given.ok
    assert (recorded.key_source, given.key_source) == ("recorded", "given")
    assert (recorded.checked, recorded.last_seq, recorded.acked_seq) == (N, N, N)
    assert given.recorded_key_matches is True and not given.warnings


def test_whole_ledger_forged_with_another_key_passes_only_internal_consistency(filled: Path, key) -> None:
    """Someone re-creates every row with their own key and records that key: only the trusted key exposes it."""
    forger = Ed25519PrivateKey.generate()
    conn = sqlite3.connect(filled)
    for trigger in GUARD_TRIGGERS:
        conn.execute(f"DROP TRIGGER {trigger}")
    rows = conn.execute("SELECT seq, body FROM events ORDER BY seq").fetchall()
    from ballots.events import Event

    prev = "0" * 64
    for seq, body in rows:
        se = seal(Event.from_dict(json.loads(body)), kiosk_id="K01", seq=seq, prev_hash=prev, key=forger)
        conn.execute(
            "UPDATE events SET prev_hash = ?, hash = ?, signature = ? WHERE seq = ?", (prev, se.hash, se.signature, seq)
        )
        prev = se.hash
    conn.execute("UPDATE meta SET value = ? WHERE key = 'public_key'", (public_key_hex(forger),))
    conn.commit()
    conn.close()
    with Ledger.open_readonly(filled) as ro:
        internal = ro.verify()
        trusted = ro.verify(key.public_key())
    assert internal.ok and internal.key_source == "recorded"
    assert not trusted.ok and trusted.bad_seq == 1 and "signature" in (trusted.reason or "")
    assert trusted.recorded_key_matches is False


def test_deleting_an_unacknowledged_tail_is_only_caught_by_the_server(ledger: Ledger, ledger_path: Path, make_event):
    """Documented limit: a deleted tail the server never acknowledged leaves a shorter but valid chain."""
    ledger.append_many([make_event(voter=f"1{i:014d}") for i in range(3)])
    ledger.mark_pushed(2)
    conn = sqlite3.connect(ledger_path)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DELETE FROM events WHERE seq = 3")
    conn.commit()
    conn.close()
    report = Ledger.open_readonly(ledger_path).verify()
    assert report.ok and report.last_seq == 2 and report.acked_seq == 2
    conn = sqlite3.connect(ledger_path)
    conn.execute("DELETE FROM events WHERE seq = 2")
    conn.commit()
    conn.close()
    report = Ledger.open_readonly(ledger_path).verify()
    assert not report.ok and report.bad_seq == 2 and "acknowledged" in (report.reason or "")


# Property: ANY single-cell change to one stored row is caught, and the report names exactly that row.
_COLUMNS = ("event_id", "type", "voter", "election", "at", "prev_hash", "hash", "signature")
_BODY_FIELDS = ("voter", "election", "station_id", "staff_id", "at", "type")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Ed25519PrivateKey]:
    """A checkpointed 8-event ledger file to copy for each example (building one per example would be slow)."""
    from datetime import UTC, datetime, timedelta

    from ballots.events import Event, EventType

    key = Ed25519PrivateKey.generate()
    path = tmp_path_factory.mktemp("template") / "ledger.db"
    with Ledger.open(path, kiosk_id="K01", key=key) as led:
        t0 = datetime(2026, 12, 13, tzinfo=UTC)
        led.append_many(
            [
                Event(
                    EventType.CHECK_IN,
                    "E01",
                    "c01",
                    t0 + timedelta(seconds=i),
                    voter=f"1{i:014d}",
                    election="shu",
                    data={"kind": "early"},
                )
                for i in range(8)
            ]
        )
        led._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path, key


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seq=st.integers(1, 8),
    target=st.one_of(st.sampled_from(_COLUMNS), st.sampled_from(_BODY_FIELDS).map(lambda f: f"body.{f}")),
    value=st.text(alphabet="0123456789abcdefXYZ:-T+", min_size=1, max_size=70),
)
def test_any_single_cell_edit_is_named(template, tmp_path: Path, seq: int, target: str, value: str) -> None:
    path, key = template
    copy = tmp_path / f"edit-{seq}-{abs(hash((target, value)))}.db"
    shutil.copyfile(path, copy)
    conn = sqlite3.connect(copy)
    for trigger in GUARD_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    if target.startswith("body."):
        field = target.removeprefix("body.")
        old = conn.execute(f"SELECT json_extract(body, '$.{field}') FROM events WHERE seq = ?", (seq,)).fetchone()[0]
        assume(old != value)
        conn.execute(f"UPDATE events SET body = json_set(body, '$.{field}', ?) WHERE seq = ?", (value, seq))
    else:
        old = conn.execute(f"SELECT {target} FROM events WHERE seq = ?", (seq,)).fetchone()[0]
        assume(old != value)
        try:
            conn.execute(f"UPDATE events SET {target} = ? WHERE seq = ?", (value, seq))
        except sqlite3.IntegrityError:
            assume(False)  # e.g. an event_id equal to another row's: not a single-cell edit
    conn.commit()
    conn.close()
    with Ledger.open_readonly(copy) as ro:
        report = ro.verify(key.public_key())
    assert not report.ok and report.bad_seq == seq, (target, value, report)
