"""Check-in commit figure and check-in lookup figure of the local ledger; prints JSON.

1. Commit: p50/p99 of ``Ledger.append`` for a check-in (validated, chained, Ed25519-signed, durable: WAL with
   synchronous=FULL) against a raw single-row SQLite commit with the same journal settings on the same disk, measured
   in the same run and interleaved one-for-one so machine noise hits both alike. Reports the ratio (goal ≤ 1.5×).
2. Lookup: p50/p99 of ``Ledger.checkins_for(voter)`` with ``--rows`` events (default 1,000,000) in the ledger, own and
   replica mixed as on election day, bulk-loaded through ``append_many`` / ``add_replica`` (really sealed and signed).

Usage: ``.venv/bin/python bench/ledger_commit.py [--n 2000] [--rows 1000000] [--dir DIR]``. The working files go to
a temporary directory inside ``--dir`` (default: the system temp dir; the JSON names its filesystem type, since a
tmpfs would make fsync free and the ratio meaningless) and are removed afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from the checkout without installing

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballots.events import Event, EventType
from sync.chain import GENESIS, SealedEvent, seal
from sync.ledger import Ledger

ELECTIONS = ("shu-sho", "shu-hi", "shinsa")
KINDS = ("early", "day", "day", "day", "absentee")


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(samples_s: list[float], unit: float) -> dict[str, float]:
    return {
        "p50": round(_pct(samples_s, 0.50) * unit, 4),
        "p99": round(_pct(samples_s, 0.99) * unit, 4),
        "mean": round(statistics.fmean(samples_s) * unit, 4),
        "max": round(max(samples_s) * unit, 4),
    }


def _checkin(voter: str, election: str, at: datetime, station: str = "E01", kind: str = "early") -> Event:
    return Event(EventType.CHECK_IN, station, "c01", at, voter=voter, election=election, data={"kind": kind})


def _raw_db(path: Path) -> sqlite3.Connection:
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    return raw


def bench_commit(workdir: Path, n: int) -> dict[str, Any]:
    """Interleaved: one ledger append, one raw commit, one signed raw commit, n times each, in rotating order."""
    key = Ed25519PrivateKey.generate()
    ledger = Ledger.open(workdir / "commit-ledger.db", kiosk_id="K01", key=key)
    raw = _raw_db(workdir / "commit-raw.db")
    signed_raw = _raw_db(workdir / "commit-signed-raw.db")
    # A raw row as large as a stored check-in (body + hash + signature), so both write about the same bytes.
    probe = ledger.append(_checkin("999999999999999", "shu-sho", datetime.now(UTC)))
    payload = json.dumps(probe.to_dict())
    t_ledger: list[float] = []
    t_raw: list[float] = []
    t_signed: list[float] = []
    now = datetime.now(UTC)
    def append_ledger(ev: Event, digest: bytes) -> None:
        ledger.append(ev)

    def commit_raw(ev: Event, digest: bytes) -> None:
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO t (body) VALUES (?)", (payload,))
        raw.execute("COMMIT")

    def commit_signed(ev: Event, digest: bytes) -> None:
        signature = key.sign(digest).hex()
        signed_raw.execute("BEGIN IMMEDIATE")
        signed_raw.execute("INSERT INTO t (body) VALUES (?)", (payload[: -len(signature)] + signature,))
        signed_raw.execute("COMMIT")

    series = [(append_ledger, t_ledger), (commit_raw, t_raw), (commit_signed, t_signed)]
    for i in range(n):
        ev = _checkin(f"{i:015d}", ELECTIONS[i % 3], now + timedelta(milliseconds=i))
        digest = hashlib.sha256(ev.event_id.encode()).digest()
        # The order rotates, so none of the three always runs right after another's fsync or signature.
        for k in range(3):
            op, samples = series[(i + k) % 3]
            t0 = time.perf_counter()
            op(ev, digest)
            samples.append(time.perf_counter() - t0)
    assert ledger.verify().ok
    ledger.close()
    raw.close()
    signed_raw.close()
    led, rw, sg = _summary(t_ledger, 1e3), _summary(t_raw, 1e3), _summary(t_signed, 1e3)
    return {
        "n": n,
        "ledger_append_ms": led,
        "raw_sqlite_commit_ms": rw,
        "signed_raw_commit_ms": sg,
        "ratio_p50": round(led["p50"] / rw["p50"], 3),
        "ratio_p99": round(led["p99"] / rw["p99"], 3),
        "ratio_mean": round(led["mean"] / rw["mean"], 3),
        "signature_only_ratio_p50": round(sg["p50"] / rw["p50"], 3),
        "signature_only_ratio_p99": round(sg["p99"] / rw["p99"], 3),
        "goal_ratio": 1.5,
    }


def _bulk_load(ledger: Ledger, rows: int, voters: int, rng: random.Random) -> dict[str, Any]:
    """Fill the ledger with ``rows`` events: ~20 % own check-ins (+1 % voids), the rest pulled from 7 other kiosks."""
    t0 = time.perf_counter()
    own_rows = rows // 5
    start = datetime(2026, 12, 13, 0, 0, tzinfo=UTC)
    batch: list[Event] = []
    own_ids: list[str] = []
    for i in range(own_rows):
        if own_ids and rng.random() < 0.01:
            target = own_ids.pop(rng.randrange(len(own_ids)))
            batch.append(Event(EventType.VOID, "E01", "m01", start, data={"target": target, "reason": "誤り"}))
        else:
            ev = _checkin(f"{rng.randrange(voters):015d}", rng.choice(ELECTIONS), start + timedelta(seconds=i))
            own_ids.append(ev.event_id)
            batch.append(ev)
        if len(batch) == 5000:
            ledger.append_many(batch)
            batch = []
    ledger.append_many(batch)
    others = [(f"K{k:02d}", Ed25519PrivateKey.generate()) for k in range(2, 9)]
    heads = {kiosk: (0, GENESIS) for kiosk, _ in others}
    replica: list[SealedEvent] = []
    for i in range(rows - ledger.last_seq):
        kiosk, key = others[i % len(others)]
        seq, prev = heads[kiosk]
        ev = _checkin(
            f"{rng.randrange(voters):015d}",
            rng.choice(ELECTIONS),
            start + timedelta(seconds=i),
            f"D{kiosk}",
            rng.choice(KINDS),
        )
        se = seal(ev, kiosk_id=kiosk, seq=seq + 1, prev_hash=prev, key=key)
        heads[kiosk] = (seq + 1, se.hash)
        replica.append(se)
        if len(replica) == 5000:
            ledger.add_replica(replica, cursor=i)
            replica = []
    ledger.add_replica(replica, cursor=rows)
    return {
        "own_events": ledger.last_seq,
        "replica_events": ledger.replica_count,
        "load_s": round(time.perf_counter() - t0, 1),
    }


def bench_lookup(workdir: Path, rows: int, lookups: int, rng: random.Random) -> dict[str, Any]:
    """checkins_for over a ledger of ``rows`` events; voters looked up at random (most have voted, some not)."""
    voters = max(10, rows * 2 // 5)  # ~2.5 events per voter that appears
    ledger = Ledger.open(workdir / "lookup-ledger.db", kiosk_id="K01", key=Ed25519PrivateKey.generate())
    load = _bulk_load(ledger, rows, voters, rng)
    probe = [f"{rng.randrange(voters * 5 // 4):015d}" for _ in range(lookups)]
    for voter in probe[:200]:  # warm the page cache, as a kiosk that has been running would be
        ledger.checkins_for(voter)
    samples: list[float] = []
    found = 0
    for voter in probe:
        t0 = time.perf_counter()
        records = ledger.checkins_for(voter)
        samples.append(time.perf_counter() - t0)
        found += bool(records)
    ledger.close()
    return {"rows": rows, **load, "lookups": lookups, "voters_with_checkins": found, "us": _summary(samples, 1e6)}


def main() -> int:
    """Run both figures and print one JSON object."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="appends (and raw commits) to time")
    p.add_argument("--rows", type=int, default=1_000_000, help="events in the ledger for the lookup figure (0: skip)")
    p.add_argument("--lookups", type=int, default=20_000)
    p.add_argument(
        "--dir",
        default=tempfile.gettempdir(),
        help="where to put the temporary working directory; both figures use the same disk (the JSON names its "
        "filesystem: point this at the kiosk's data disk if the temp dir is a tmpfs)",
    )
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-", dir=args.dir))
    try:
        load_before = os.getloadavg()
        commit = bench_commit(workdir, args.n)
        lookup = bench_lookup(workdir, args.rows, args.lookups, rng) if args.rows > 0 else None
        result = {
            "bench": "ledger_commit",
            "sqlite": sqlite3.sqlite_version,
            "workdir_fs": _fs_of(workdir),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "commit": commit,
            "checkins_for": lookup,
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _fs_of(path: Path) -> str:
    """The filesystem type holding ``path`` (from /proc/mounts; 'unknown' elsewhere)."""
    try:
        best, fstype = "", "unknown"
        real = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if real.startswith(parts[1]) and len(parts[1]) > len(best):
                best, fstype = parts[1], parts[2]
        return fstype
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
