"""Several writers on one ledger file never fork the chain; SIGKILL at random points never loses an acknowledged
check-in or leaves a partial event."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from threading import Thread

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.keys import save_private_key
from sync.ledger import Ledger

WRITER = Path(__file__).with_name("ledger_writer.py")


@pytest.fixture
def keyfile(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    """The test key saved where the child processes can load it."""
    return save_private_key(key, tmp_path / "kiosk.pem")


def _writer(db: Path, keyfile: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(db), str(keyfile), "K01", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_and_two_threads_appending_never_fork(
    ledger: Ledger, ledger_path: Path, keyfile: Path, key, make_event
) -> None:
    procs = [_writer(ledger_path, keyfile, "0", "--prefix", f"p{i}-", "--count", "150") for i in range(2)]

    # Meanwhile two threads of this process append through their own Ledger objects on the same file.
    def local(i: int) -> None:
        with Ledger.open(ledger_path, kiosk_id="K01", key=key) as own:
            for n in range(50):
                own.append(make_event(voter=f"9{i}{n:013d}"))

    threads = [Thread(target=local, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    outputs = [p.communicate(timeout=120) for p in procs]
    for t in threads:
        t.join(timeout=120)
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    for out, _ in outputs:
        seqs = [int(line.split()[1]) for line in out.splitlines()]
        assert len(seqs) == 150 and seqs == sorted(seqs) and len(set(seqs)) == 150
    report = ledger.verify()
    assert report.ok, report
    assert report.checked == ledger.last_seq == 2 * 150 + 2 * 50
    assert [s.seq for s in ledger.sealed()] == list(range(1, 401))


@pytest.mark.slow
def test_sigkill_at_random_points_loses_no_acknowledged_check_in(ledger_path: Path, key, keyfile: Path) -> None:
    total, min_kills = 1000, 20
    # Random kill points, reproducible: a failure message carries the seed (rerun with UKETSUKE_CRASH_SEED=<seed>).
    seed = int(os.environ.get("UKETSUKE_CRASH_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    Ledger.open(ledger_path, kiosk_id="K01", key=key).close()
    acked: dict[str, int] = {}
    kills = rounds = 0
    deadline = time.monotonic() + 180  # a guard against a writer that never progresses; ~20 s normally
    while True:
        rounds += 1
        assert time.monotonic() < deadline, f"seed {seed}: crash loop too slow: {rounds} rounds, {len(acked)} acked"
        # Kill after a random number of acks (0: somewhere in start-up/open/migrate), then a random extra delay so
        # the kill lands at a random point inside the next append (validate, seal, insert, commit, fsync).
        kill_after = rng.choice([0, *range(1, 60)])
        proc = _writer(ledger_path, keyfile, str(total), "--prefix", "crash")
        assert proc.stdout is not None
        if kill_after == 0:
            time.sleep(rng.uniform(0, 0.3))
        else:
            for _ in range(kill_after):
                line = proc.stdout.readline()
                if not line:
                    break
                _, seq, event_id = line.split()
                acked[event_id] = int(seq)
            time.sleep(rng.uniform(0, 0.002))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        out, err = proc.communicate(timeout=30)
        # Acks already written to the pipe before the kill also count: the clerk may have seen them.
        for line in out.splitlines():
            _, seq, event_id = line.split()
            acked[event_id] = int(seq)
        if proc.returncode == 0:
            if kills >= min_kills:
                break
            # Finished before enough kills: start a fresh ledger and keep killing (acks checked per ledger).
            _check(ledger_path, acked, complete=total, seed=seed)
            ledger_path.unlink()
            for extra in ("-wal", "-shm"):
                Path(f"{ledger_path}{extra}").unlink(missing_ok=True)
            Ledger.open(ledger_path, kiosk_id="K01", key=key).close()
            acked.clear()
        else:
            assert proc.returncode == -signal.SIGKILL, f"seed {seed}: writer failed: {err}"
    assert kills >= min_kills
    _check(ledger_path, acked, complete=total, seed=seed)


def _check(path: Path, acked: dict[str, int], *, complete: int, seed: int) -> None:
    with Ledger.open_readonly(path) as ledger:
        report = ledger.verify()
        assert report.ok, f"seed {seed}: {report}"
        sealed = ledger.sealed()
    # Every acknowledged check-in is there, at the seq it was acknowledged with.
    by_id = {s.event_id: s.seq for s in sealed}
    missing = {e: s for e, s in acked.items() if by_id.get(e) != s}
    assert not missing, f"seed {seed}: acknowledged but lost: {sorted(missing.items())[:5]}"
    # No partial or duplicated event: n-th event is crash{n-1}, whole and verified, up to the planned total.
    assert [s.event_id for s in sealed] == [f"crash{n:06d}" for n in range(len(sealed))], f"seed {seed}"
    assert len(sealed) == complete, f"seed {seed}"
