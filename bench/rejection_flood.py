"""Refusal flood against the tally server over mutual TLS on loopback: rows written and server CPU; prints JSON.

One client host sends ``--n`` refused TLS handshakes (no client certificate) and ``--n`` refused requests (a revoked
kiosk certificate, one kept-alive connection) to a real server running in a child process, whose own CPU time
(``getrusage``, from ready to stopped: the handshakes, the refusals, their rows and the shutdown) is measured, with
the rows and bytes stored. The server's per-refusal log line is silenced in both runs (neither measures logging).
Each flood runs twice, against a fresh database each time:

- ``limited``: the server's default refusal limits (``sync.server.refusals.RefusalLimits()``): the first refusals of a
  kind from a source in full, the rest counted into one row per window (written at shutdown here);
- ``unlimited``: limits so high that every refusal is one row, as the server did before the limiter (the baseline).

Usage: ``.venv/bin/python bench/rejection_flood.py [--n 2000] [--threads 2] [--pg DSN]`` (PostgreSQL from --pg or
UKETSUKE_TEST_PG; only SQLite without either).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from the checkout without installing

from bench.benchlib import BenchPackage, fresh_postgres
from sync import pki

PACKAGE = BenchPackage("rejection flood bench")
PACKAGE_HASH = PACKAGE.package_hash
UNLIMITED = 10**9


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def serve(db_url: str, root: Path, limited: bool) -> int:
    """The child: a server; answers ``count`` (refusals taken) and ``stop`` (then its CPU seconds) on stdin."""
    from sync.server.refusals import RefusalLimiter, RefusalLimits
    from sync.server.runner import ServerTLS, start_embedded

    limits = RefusalLimits() if limited else RefusalLimits(full_per_kind=UNLIMITED, full_per_window=UNLIMITED)
    limiter = RefusalLimiter(limits)
    server = start_embedded(
        PACKAGE, db_url, tls=ServerTLS(root / "server", root / "ca"), refusals=limiter, log_level="error"
    )
    import logging

    logging.getLogger("sync.server.app").setLevel(logging.ERROR)  # one log line per refusal would measure the log
    start = _cpu_s()
    print(json.dumps({"port": server.port}), flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            print(json.dumps({"taken": limiter.admitted + limiter.counted}), flush=True)
        elif line.strip() == "stop":
            server.stop()
            print(json.dumps({"cpu_s": _cpu_s() - start}), flush=True)
            return 0
    server.stop()
    return 0


def refused_handshakes(port: int, ca: Path, n: int, threads: int) -> None:
    ctx = ssl.create_default_context(cafile=str(ca / pki.CA_CERT))

    def work(count: int) -> None:
        for _ in range(count):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                try:
                    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                        tls.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
                        if tls.recv(64):
                            raise SystemExit("served without a client certificate")
                except (ssl.SSLError, OSError):
                    pass

    share = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
    workers = [threading.Thread(target=work, args=(k,)) for k in share]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def refused_requests(port: int, cert_dir: Path, n: int) -> None:
    ctx = ssl.create_default_context(cafile=str(cert_dir / pki.CA_CERT))
    ctx.load_cert_chain(str(cert_dir / pki.CLIENT_CERT), str(cert_dir / pki.CLIENT_KEY))
    request = f"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Uketsuke-Package: {PACKAGE_HASH}\r\n\r\n".encode()
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        tls.makefile("rb") as answers,
    ):
        for _ in range(n):
            tls.sendall(request)
            status = answers.readline().split()[1]
            if status != b"403":
                raise SystemExit(f"revoked certificate answered {status!r}")
            length = 0
            while (line := answers.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            answers.read(length)


def db_bytes(url: str) -> int:
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    import psycopg

    with psycopg.connect(url) as c:
        row = c.execute("SELECT pg_total_relation_size('rejections')").fetchone()
        return int(row[0]) if row else 0


def run_one(
    backend: str, pg: str | None, root: Path, work: Path, mode: str, limited: bool, n: int, threads: int
) -> dict[str, Any]:
    from sync.server import storage as st

    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{work / f'{mode}-{limited}.db'}"
    else:
        assert pg is not None
        url, drop = fresh_postgres(pg)
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, "--root", str(root), *(["--limited"] if limited else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None

    def ask(cmd: str) -> dict[str, Any]:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(cmd + "\n")
        child.stdin.flush()
        return read()

    def read() -> dict[str, Any]:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise SystemExit(f"the server process ended (exit {child.wait()}); its error is above")
        return dict(json.loads(line))

    try:
        port = read()["port"]
        t0 = time.perf_counter()
        if mode == "handshakes":
            refused_handshakes(port, root / "ca", n, threads)
        else:
            refused_requests(port, root / "revoked", n)
        end = time.monotonic() + 30
        while ask("count")["taken"] < n and time.monotonic() < end:
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        cpu = ask("stop")["cpu_s"]
        child.wait(30)
        conn = st.connect(url)
        try:
            totals = st.read_rejection_totals(conn)
        finally:
            conn.close()
        size = db_bytes(url)
    finally:
        if child.poll() is None:
            child.kill()
        if drop is not None:
            drop()
    return {
        "backend": backend,
        "refusals_sent": n,
        "mode": mode,
        "limits": "default" if limited else "unlimited (every refusal a row, as before)",
        "rows": totals["rows"],
        "refusals_recorded": totals["refusals"],
        "bytes": size,
        "bytes_of": "database file + WAL" if backend == "sqlite" else "rejections table (pg_total_relation_size)",
        "server_cpu_s": round(cpu, 3),
        "server_cpu_ms_per_refusal": round(cpu * 1000 / n, 3),
        "flood_wall_s": round(wall, 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="refused handshakes, and refused requests, per run")
    ap.add_argument("--threads", type=int, default=2, help="client threads for the handshakes")
    ap.add_argument("--pg", default=os.environ.get("UKETSUKE_TEST_PG"), help="PostgreSQL admin DSN")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--limited", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return serve(args.serve, args.root, args.limited)
    if args.n < 1 or args.threads < 1:
        ap.error("--n and --threads must be at least 1")
    load_before = os.getloadavg()[0]
    runs = []
    with tempfile.TemporaryDirectory(prefix="uk-flood-") as tmp:
        root = Path(tmp)
        pki.init_ca(root / "ca")
        pki.issue_server(root / "ca", "127.0.0.1", root / "server")
        pki.issue_client(root / "ca", "K-REVOKED", root / "revoked")
        pki.revoke(root / "ca", "K-REVOKED")
        backends = ["sqlite", *(["postgres"] if args.pg else [])]
        for backend in backends:
            for mode in ("handshakes", "requests"):
                for limited in (False, True):
                    runs.append(run_one(backend, args.pg, root, root, mode, limited, args.n, args.threads))
    print(
        json.dumps(
            {
                "cores": os.cpu_count(),
                "load_average_before": round(load_before, 2),
                "load_average_after": round(os.getloadavg()[0], 2),
                "runs": runs,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
