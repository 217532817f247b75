"""Partition and crash, with real processes on loopback, SQLite and PostgreSQL.

- Partition: the server stops while two stations keep working, including the same voter checked in at both. When it
  is back, every event converges, the double is a conflict (listed, and told to both kiosks), nothing is lost or
  duplicated.
- Crash: SIGKILL a kiosk in the middle of pushing a backlog, and the server in the middle of a batch: after restart
  the server holds exactly the kiosk's ledger — every seq once, no gap.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from synctest_helpers import PKI, KioskProcess, ServerProcess, committee_client, make_package, random_voter, wait_for

from sync.ledger import Ledger
from sync.server import storage as st

PACKAGE = make_package()


@pytest.fixture(scope="module")
def server(db_url: str, module_pki: PKI) -> Iterator[ServerProcess]:
    proc = ServerProcess(db_url, module_pki.root).start()
    yield proc
    proc.stop()


def server_events(db_url: str, kiosk_id: str) -> list[tuple[int, str]]:
    conn = st.connect(db_url)
    try:
        rows = conn.execute("SELECT seq, event_id FROM events WHERE kiosk_id = ? ORDER BY seq", (kiosk_id,)).fetchall()
    finally:
        conn.close()
    return [(int(a), str(b)) for a, b in rows]


def ledger_events(path: Path) -> list[tuple[int, str]]:
    led = Ledger.open_readonly(path)
    try:
        return [(se.seq, se.event_id) for se in led.sealed()]
    finally:
        led.close()


def assert_converged(db_url: str, kiosk_id: str, ledger: Path) -> None:
    mine = ledger_events(ledger)
    theirs = server_events(db_url, kiosk_id)
    assert theirs == mine, f"{kiosk_id}: server {len(theirs)} events vs ledger {len(mine)}"
    assert [s for s, _ in theirs] == list(range(1, len(theirs) + 1)), "gap or duplicate seq on the server"


def tag(db_url: str) -> str:
    return "p" if db_url.startswith("postgres") else "s"


@pytest.mark.slow
def test_partition_converges_and_reports_the_double(
    server: ServerProcess, db_url: str, module_pki: PKI, tmp_path: Path
) -> None:
    t = tag(db_url)
    k1 = KioskProcess(server.url, module_pki, f"P1{t}", tmp_path / "p1.db", PACKAGE.package_hash, "E01").start()
    k2 = KioskProcess(server.url, module_pki, f"P2{t}", tmp_path / "p2.db", PACKAGE.package_hash, "E02").start()
    try:
        for k in (k1, k2):
            k.call(op="start")
        early = random_voter()
        assert k1.call(op="checkin", voter=early)["status"] == "accepted"
        # Station 2 learns of it through its replica before the partition.
        assert wait_for(lambda: k2.call(op="state")["replica_cursor"] not in (None, 0), timeout=10)

        server.stop()
        double = random_voter()
        assert k1.call(op="checkin", voter=double)["status"] == "offline"
        assert k2.call(op="checkin", voter=double)["status"] == "offline"  # cannot know: the double happens
        assert k2.call(op="checkin", voter=early)["status"] == "already_voted_local"  # the replica prevents this one
        for _ in range(5):
            assert k1.call(op="checkin", voter=random_voter())["status"] == "offline"
            assert k2.call(op="checkin", voter=random_voter())["status"] == "offline"
        assert k1.call(op="state")["pending"] == 6 and not k1.call(op="state")["online"]

        server.start()
        assert wait_for(lambda: k1.call(op="state")["pending"] == 0 and k2.call(op="state")["pending"] == 0, 20)
        assert_converged(db_url, f"P1{t}", tmp_path / "p1.db")
        assert_converged(db_url, f"P2{t}", tmp_path / "p2.db")
        with committee_client(module_pki, server.url, PACKAGE.package_hash) as committee:
            conflicts = [c for c in committee.get("/v1/conflicts").json() if c["voter"] == double]
        assert len(conflicts) == 1
        assert {conflicts[0]["first_kiosk"], conflicts[0]["second_kiosk"]} == {f"P1{t}", f"P2{t}"}
        # Both kiosks concerned are told (through their pull).
        assert wait_for(lambda: k1.call(op="state")["conflicts"] == 1 and k2.call(op="state")["conflicts"] == 1, 10)
    finally:
        k1.stop()
        k2.stop()


@pytest.mark.slow
def test_kiosk_killed_during_push_loses_and_duplicates_nothing(
    server: ServerProcess, db_url: str, module_pki: PKI, tmp_path: Path
) -> None:
    kid = f"C1{tag(db_url)}"
    ledger = tmp_path / "c1.db"
    k = KioskProcess(server.url, module_pki, kid, ledger, PACKAGE.package_hash).start()
    k.call(op="backlog", n=3000)
    k.call(op="start")
    # Kill as soon as the server holds part of the backlog: mid-push.
    assert wait_for(lambda: len(server_events(db_url, kid)) > 0, timeout=20, interval=0.005)
    k.kill()
    partial = len(server_events(db_url, kid))
    k = KioskProcess(server.url, module_pki, kid, ledger, PACKAGE.package_hash).start()
    try:
        k.call(op="push")
        assert k.call(op="state")["pending"] == 0
    finally:
        k.stop()
    assert 0 < partial < 3000, "the kill did not land during the push"
    assert_converged(db_url, kid, ledger)


@pytest.mark.slow
def test_server_killed_during_a_batch_loses_and_duplicates_nothing(
    server: ServerProcess, db_url: str, module_pki: PKI, tmp_path: Path
) -> None:
    kid = f"C2{tag(db_url)}"
    ledger = tmp_path / "c2.db"
    k = KioskProcess(server.url, module_pki, kid, ledger, PACKAGE.package_hash).start()
    try:
        k.call(op="backlog", n=3000)
        k.call(op="start")
        assert wait_for(lambda: len(server_events(db_url, kid)) > 0, timeout=20, interval=0.005)
        server.kill()  # SIGKILL: batches in flight die with it, committed or not
        partial = len(server_events(db_url, kid))
        time.sleep(0.3)
        server.start()
        assert wait_for(lambda: k.call(op="state")["pending"] == 0, timeout=30)
    finally:
        k.stop()
    assert 0 < partial < 3000, "the kill did not land during the push"
    assert_converged(db_url, kid, ledger)
