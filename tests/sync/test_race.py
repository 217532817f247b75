"""Race: N kiosk processes claim the same voter at the same instant, 500 trials — exactly one accepted every time.

Real processes on loopback: one server process per backend and N kiosk processes, started once and reused. The last
tests race the claim below HTTP (8 connections, one barrier, no batching) and run that harness against a deliberately
broken check-then-insert claim, which it must catch — so a pass here means something. (Through HTTP the one-process
server also serialises simultaneous claims by group commit; the primary key is what makes it safe regardless.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import fresh_postgres
from synctest_helpers import PKI, KioskProcess, ServerProcess, check_in, make_package, random_voter

from sync.server import storage as st

PACKAGE = make_package()
KIOSKS = 4
TRIALS = 500


def run_trials(kiosks: list[KioskProcess], trials: int) -> list[int]:
    """Fire one claim per kiosk at the same wall-clock instant per trial; return how many were accepted per trial."""
    accepted_counts = []
    for _ in range(trials):
        voter = random_voter()
        fire_at = time.time() + 0.015
        for k in kiosks:
            k.send(op="claim", voter=voter, fire_at=fire_at)
        answers = [k.read() for k in kiosks]
        assert all(a["status"] in ("accepted", "already_voted") for a in answers), answers
        winners = [a for a in answers if a["status"] == "accepted"]
        # Every loser is told who won: the same event.
        if len(winners) == 1:
            won = winners[0]["holder"]["event_id"]
            assert all(a["holder"]["event_id"] == won for a in answers), answers
        accepted_counts.append(len(winners))
    return accepted_counts


def start_fleet(server: ServerProcess, pki_: PKI, tmp: Path, tag: str) -> list[KioskProcess]:
    return [
        KioskProcess(
            server.url, pki_, f"R{tag}{i}", tmp / f"r{tag}{i}.db", PACKAGE.package_hash, station=f"E{i + 1:02d}"
        ).start()
        for i in range(KIOSKS)
    ]


@pytest.fixture(scope="module")
def fleet(db_url: str, module_pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[KioskProcess]]:
    server = ServerProcess(db_url, module_pki.root).start()
    tag = "p" if db_url.startswith("postgres") else "s"
    kiosks = start_fleet(server, module_pki, tmp_path_factory.mktemp("race"), tag)
    yield kiosks
    for k in kiosks:
        k.stop()
    server.stop()


@pytest.mark.slow
def test_exactly_one_claim_wins_every_trial(fleet: list[KioskProcess]) -> None:
    counts = run_trials(fleet, TRIALS)
    bad = [(i, n) for i, n in enumerate(counts) if n != 1]
    assert not bad, f"trials with other than one winner (trial, winners): {bad[:20]}"


def _naive_claim(conn: st.Conn, kiosk_id: str, req: st.ClaimRequest) -> st.ClaimResult:
    """The classic bug, for contrast: look first, then insert into a table that has no key."""
    row = conn.execute(
        "SELECT event_id FROM naive_claims WHERE election = ? AND voter = ?", (req.election, req.voter)
    ).fetchone()
    if row is not None:
        return st.ClaimResult(False, {"event_id": row[0]})
    conn.execute("INSERT INTO naive_claims VALUES (?, ?, ?)", (req.election, req.voter, req.event_id))
    return st.ClaimResult(True, {"event_id": req.event_id})


def race_connections(url: str, claim: Callable[..., st.ClaimResult], trials: int, threads: int = 8) -> list[int]:
    """``threads`` connections each run claim-in-a-transaction for the same voter, released by one barrier."""
    conns = [st.connect(url) for _ in range(threads)]
    barrier = threading.Barrier(threads)
    results: list[list[bool]] = [[] for _ in range(trials)]
    voters = [random_voter() for _ in range(trials)]

    def worker(i: int) -> None:
        conn = conns[i]
        for t in range(trials):
            ev = check_in(voters[t])
            req = st.ClaimRequest("shu-sho", voters[t], ev.event_id, "E01", "early", ev.at.isoformat())
            barrier.wait()
            conn.begin()
            try:
                res = claim(conn, f"T{i}", req)
                conn.commit()
            except Exception:
                conn.rollback()
                raise
            results[t].append(res.accepted)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    for c in conns:
        c.close()
    return [sum(r) for r in results]


@pytest.mark.slow
def test_primary_key_claim_holds_under_truly_concurrent_transactions(db_url: str) -> None:
    """Below the HTTP layer, with no batching to serialise anything: 8 connections, one voter, 200 trials."""
    st.Database(db_url, PACKAGE.package_hash).close()  # schema
    counts = race_connections(db_url, st.op_claim, 200)
    assert counts == [1] * 200


@pytest.mark.slow
def test_the_race_harness_catches_check_then_insert(pg_dsn: str) -> None:
    """The same harness against the check-then-insert bug on PostgreSQL must see a double winner."""
    for url in fresh_postgres(pg_dsn):
        conn = st.connect(url)
        conn.execute("CREATE TABLE naive_claims (election TEXT, voter TEXT, event_id TEXT)")
        conn.close()
        counts = race_connections(url, _naive_claim, 200)
        assert max(counts) > 1, "the broken claim was never caught: the race harness has no power"
