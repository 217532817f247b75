"""Tally-server load figures over mutual TLS on loopback, SQLite and PostgreSQL; prints JSON.

For each backend, against a real server process:
1. Claims: ``--kiosks`` simulated kiosk processes claim random voters in a closed loop for ``--seconds``; sustained
   claims/s and claim latency p50/p99. Baseline in the same run: the same load generator on ``GET /v1/status`` (auth,
   routing and one indexed read, no write); the JSON gives claims/s as a ratio of it.
2. Pushes: the same processes push pre-sealed events of their own chains in batches of 500; events/s.
3. A→B: while the claim load runs, kiosk A pushes single check-ins and kiosk B long-polls the replica; p50/p99 of the
   time from A starting the push to B holding the event.
4. Backlog: one kiosk with 10,000 offline check-ins in its ledger, pushed by the real ``SyncClient``; seconds until
   the server holds all of them.

The load generator is a raw HTTP/1.1-over-TLS loop (one persistent connection per kiosk process): httpx costs several
ms of CPU per request and would measure itself on this 2-core machine, which the server shares with the generator.
Usage: ``.venv/bin/python bench/sync_load.py [--kiosks 8] [--seconds 5] [--pg DSN]`` (PostgreSQL from --pg or
UKETSUKE_TEST_PG; skipped without either). Goals: ≥ 1,000 claims/s on PostgreSQL with p99 ≤ 20 ms; A→B p99 ≤ 1 s;
10,000-event backlog ≤ 10 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import secrets
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from the checkout without installing

from ballots.events import Event, EventType
from bench.benchlib import BenchPackage, fresh_postgres
from sync import pki
from sync.chain import GENESIS, seal

PACKAGE = BenchPackage("bench package", stations=64)
PACKAGE_HASH = PACKAGE.package_hash


def voter() -> str:
    return str(secrets.randbelow(10**15)).zfill(15)


def check_in(station: str) -> Event:
    return Event(
        type=EventType.CHECK_IN,
        station_id=station,
        staff_id="c01",
        at=datetime.now(UTC),
        voter=voter(),
        election="shu-sho",
        data={"kind": "early", "offline": True},
    )


# ------------------------------------------------------------------------------------------------ server process
def serve(db_url: str, pki_root: Path, port_file: Path) -> None:
    """Child: run the server until SIGTERM, writing its port to ``port_file``."""
    from sync.server.runner import ServerTLS, start_embedded

    server = start_embedded(
        PACKAGE,
        db_url,
        "127.0.0.1",
        0,  # type: ignore[arg-type]
        ServerTLS(pki_root / "server", pki_root / "ca"),
        log_level="error",
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    port_file.write_text(str(server.port))
    stop.wait()
    server.stop()


# ------------------------------------------------------------------------------------------------ raw client
class RawClient:
    """One persistent mTLS connection speaking just enough HTTP/1.1 (Content-Length bodies)."""

    def __init__(self, port: int, kiosk_dir: Path) -> None:
        ctx = ssl.create_default_context(cafile=str(kiosk_dir / pki.CA_CERT))
        ctx.load_cert_chain(str(kiosk_dir / pki.CLIENT_CERT), str(kiosk_dir / pki.CLIENT_KEY))
        raw = socket.create_connection(("127.0.0.1", port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.buf = b""

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nX-Uketsuke-Package: {PACKAGE_HASH}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.sock.sendall(head + body)
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv()
        header, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = header.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(int(v) for k, _, v in (ln.partition(b":") for ln in lines[1:]) if k.lower() == b"content-length")
        while len(rest) < length:
            rest += self._recv()
        self.buf = rest[length:]
        return status, rest[:length]

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        return data


def claim_body(station: str) -> bytes:
    return json.dumps(
        {
            "election": "shu-sho",
            "voter": voter(),
            "event_id": secrets.token_hex(16),
            "station_id": station,
            "kind": "early",
            "at": datetime.now(UTC).isoformat(),
        }
    ).encode()


def load_worker(kind: str, port: int, kiosk_dir: str, station: str, seconds: float, start_at: float, out: Any) -> None:
    """Child: closed-loop ``kind`` (claim | status | push) until ``seconds`` pass; report counts and latencies."""
    client = RawClient(port, Path(kiosk_dir))
    batches: list[bytes] = []
    if kind == "push":
        key = pki.load_ledger_key(Path(kiosk_dir) / pki.LEDGER_KEY)
        kiosk_id = Path(kiosk_dir).name
        head, seq = GENESIS, 0
        for _ in range(int(seconds * 12) + 4):  # more than the server can take in the time
            batch = []
            for _ in range(500):
                seq += 1
                se = seal(check_in(station), kiosk_id=kiosk_id, seq=seq, prev_hash=head, key=key)
                head = se.hash
                batch.append(se.to_dict())
            batches.append(json.dumps({"events": batch}).encode())
    while time.time() < start_at:
        time.sleep(0.001)
    end = time.monotonic() + seconds
    latencies: list[float] = []
    done = 0
    errors = 0
    i = 0
    while time.monotonic() < end:
        t0 = time.perf_counter()
        if kind == "claim":
            status, _ = client.request("POST", "/v1/claims", claim_body(station))
            n = 1
        elif kind == "status":
            status, _ = client.request("GET", "/v1/status")
            n = 1
        else:
            if i >= len(batches):
                break
            status, _ = client.request("POST", "/v1/events", batches[i])
            i += 1
            n = 500
        latencies.append((time.perf_counter() - t0) * 1000)
        if status == 200:
            done += n
        else:
            errors += 1
    out.put({"done": done, "errors": errors, "latencies": latencies, "elapsed": seconds})


def run_load(kind: str, port: int, kiosk_dirs: list[Path], seconds: float) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + (3.0 if kind == "push" else 0.5)  # push workers seal their batches first
    procs = [
        ctx.Process(target=load_worker, args=(kind, port, str(d), f"E{i + 1:02d}", seconds, start_at, out))
        for i, d in enumerate(kiosk_dirs)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r["latencies"])
    done = sum(r["done"] for r in results)
    return {
        "per_s": round(done / seconds, 1),
        "requests": len(lat),
        "errors": sum(r["errors"] for r in results),
        "p50_ms": round(statistics.median(lat), 2) if lat else None,
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 2) if lat else None,
    }


# ------------------------------------------------------------------------------------------------ A→B and backlog
def visibility(port: int, pki_root: Path, samples: int, tmp: Path) -> dict[str, Any]:
    """A pushes single check-ins with the real SyncClient; B long-polls; time from A's push to B holding it."""
    from sync.client import ClientTLS, SyncClient
    from sync.ledger import Ledger

    url = f"https://127.0.0.1:{port}"
    a_dir, b_dir = pki_root / "kiosks" / "VA", pki_root / "kiosks" / "VB"
    a_led = Ledger.open(tmp / "va.db", kiosk_id="VA", key=pki.load_ledger_key(a_dir / pki.LEDGER_KEY))
    b_led = Ledger.open(tmp / "vb.db", kiosk_id="VB", key=pki.load_ledger_key(b_dir / pki.LEDGER_KEY))
    a = SyncClient(url, a_led, PACKAGE_HASH, tls=ClientTLS.from_dir(a_dir))
    b = SyncClient(url, b_led, PACKAGE_HASH, tls=ClientTLS.from_dir(b_dir))
    b.pull_once(0)
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()

    def puller() -> None:
        while not stop.is_set():
            before = b_led.replica_count
            try:
                b.pull_once(5.0)
            except Exception:  # the long-poll is cut when the run ends
                if stop.is_set():
                    return
                raise
            if b_led.replica_count != before:
                now = time.perf_counter()
                for eid in list(sent):
                    if eid not in seen and b_led.get(eid) is not None:
                        seen[eid] = now

    t = threading.Thread(target=puller, daemon=True)
    t.start()
    for _ in range(samples):
        ev = check_in("E01")
        a_led.append(ev)
        sent[ev.event_id] = time.perf_counter()
        a.push_pending()
        deadline = time.monotonic() + 5
        while ev.event_id not in seen and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(0.02)
    stop.set()
    a.stop()
    b.stop()
    t.join(10)
    delays = sorted((seen[e] - sent[e]) * 1000 for e in sent if e in seen)
    return {
        "samples": samples,
        "seen": len(delays),
        "p50_ms": round(statistics.median(delays), 1) if delays else None,
        "p99_ms": round(delays[max(0, int(len(delays) * 0.99) - 1)], 1) if delays else None,
    }


def backlog(port: int, pki_root: Path, n: int, tmp: Path) -> dict[str, Any]:
    """A kiosk that was offline with ``n`` check-ins: time for SyncClient.push_pending to bring all of them over."""
    from sync.client import ClientTLS, SyncClient
    from sync.ledger import Ledger

    d = pki_root / "kiosks" / "BL"
    led = Ledger.open(tmp / "bl.db", kiosk_id="BL", key=pki.load_ledger_key(d / pki.LEDGER_KEY))
    led.append_many([check_in("E02") for _ in range(n)])
    client = SyncClient(f"https://127.0.0.1:{port}", led, PACKAGE_HASH, tls=ClientTLS.from_dir(d))
    t0 = time.perf_counter()
    accepted = client.push_pending()
    elapsed = time.perf_counter() - t0
    client.stop()
    return {"events": n, "accepted": accepted, "pending_after": led.pending_count, "seconds": round(elapsed, 2)}


# ------------------------------------------------------------------------------------------------ driver
def bench_backend(db_url: str, pki_root: Path, tmp: Path, kiosks: int, seconds: float) -> dict[str, Any]:
    """All phases against one server process; ``tmp`` is this backend's own directory (fresh kiosk ledgers)."""
    tmp.mkdir()
    port_file = tmp / f"port-{secrets.token_hex(3)}"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", db_url, "--pki-root", str(pki_root), "--port-file", str(port_file)]
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        port = int(port_file.read_text())
        dirs = [pki_root / "kiosks" / f"L{i}" for i in range(kiosks)]
        baseline = run_load("status", port, dirs, seconds)
        claims = run_load("claim", port, dirs, seconds)
        # A→B under load: the claim load runs in the background meanwhile.
        bg = threading.Thread(target=run_load, args=("claim", port, dirs, seconds + 2), daemon=True)
        bg.start()
        vis = visibility(port, pki_root, 100, tmp)
        bg.join()
        push = run_load("push", port, [pki_root / "kiosks" / f"P{i}" for i in range(kiosks)], seconds)
        bl = backlog(port, pki_root, 10_000, tmp)
    finally:
        proc.terminate()
        proc.wait(30)
    claims["ratio_to_status_baseline"] = round(claims["per_s"] / baseline["per_s"], 3) if baseline["per_s"] else None
    return {
        "status_baseline": baseline,
        "claims": claims,
        "pushed_events": push,
        "a_to_b_visibility_under_claim_load": vis,
        "backlog_10k": bl,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kiosks", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--pg", default=os.environ.get("UKETSUKE_TEST_PG"))
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--pki-root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--port-file", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.pki_root, args.port_file)
        return 0
    with tempfile.TemporaryDirectory(prefix="uk-sync-bench-") as tmpdir:
        tmp = Path(tmpdir)
        root = tmp / "pki"
        pki.init_ca(root / "ca")
        pki.issue_server(root / "ca", "127.0.0.1", root / "server")
        for name in [*(f"L{i}" for i in range(args.kiosks)), *(f"P{i}" for i in range(args.kiosks)), "VA", "VB", "BL"]:
            pki.issue_client(root / "ca", name, root / "kiosks" / name)
        report: dict[str, Any] = {
            "machine": {
                "cpus": os.cpu_count(),
                "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
                "note": "server and load generator share the machine; other work on it skews figures",
            },
            "kiosks": args.kiosks,
            "seconds_per_phase": args.seconds,
        }
        report["sqlite"] = bench_backend(
            f"sqlite:///{tmp / 'server.db'}", root, tmp / "sqlite", args.kiosks, args.seconds
        )
        if args.pg:
            url, drop = fresh_postgres(args.pg)
            try:
                report["postgres"] = bench_backend(url, root, tmp / "postgres", args.kiosks, args.seconds)
            finally:
                drop()
        pg = report.get("postgres")
        if pg:
            report["goals"] = {
                "pg_claims_per_s_ge_1000": pg["claims"]["per_s"] >= 1000,
                "pg_claim_p99_le_20ms": (pg["claims"]["p99_ms"] or 1e9) <= 20,
                "a_to_b_p99_le_1s": all(
                    (report[b]["a_to_b_visibility_under_claim_load"]["p99_ms"] or 1e9) <= 1000
                    for b in ("sqlite", "postgres")
                ),
                "backlog_10k_le_10s": all(report[b]["backlog_10k"]["seconds"] <= 10 for b in ("sqlite", "postgres")),
            }
        report["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
