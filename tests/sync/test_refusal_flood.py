"""A real server on loopback (mutual TLS, SQLite and PostgreSQL) flooded with refusals: the rows stay few, the
committee's totals stay exact, another peer is still recorded in full, and what was counted is written when its
window closes and at shutdown (sync.server.refusals)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from synctest_helpers import PKI, committee_client, make_package, random_voter, wait_for

from sync import pki
from sync.server import storage as st
from sync.server.refusals import RefusalLimiter, RefusalLimits
from sync.server.runner import EmbeddedServer, ServerTLS, start_embedded

PACKAGE = make_package()
NO_CERT = "TLS: no client certificate presented"


class FakeClock:
    """The limiter's window clock, moved by the test (so no assertion depends on how fast the machine is)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def start(fresh_db_url: str, module_pki: PKI) -> Iterator[Any]:
    servers: list[EmbeddedServer] = []

    def run(limiter: RefusalLimiter) -> EmbeddedServer:
        server = start_embedded(
            PACKAGE, fresh_db_url, tls=ServerTLS(module_pki.server, module_pki.ca), refusals=limiter
        )
        servers.append(server)
        return server

    yield run
    for s in servers:
        s.stop()


def refuse_handshakes(port: int, ca: Path, n: int, source: str = "127.0.0.1", threads: int = 2) -> None:
    """``n`` TLS handshakes without a client certificate from ``source``; each must be refused."""
    ctx = ssl.create_default_context(cafile=str(ca / pki.CA_CERT))
    served: list[bytes] = []

    def one() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as raw:
            try:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    # TLS 1.3: the client's side of the handshake ends first; the server's refusal arrives after.
                    tls.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
                    if data := tls.recv(64):
                        served.append(data)
            except (ssl.SSLError, OSError):
                pass

    def work(count: int) -> None:
        for _ in range(count):
            one()

    share = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
    workers = [threading.Thread(target=work, args=(k,)) for k in share]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not served, f"a connection without a client certificate was served: {served[0]!r}"


def refuse_requests(port: int, cert_dir: Path, n: int) -> list[int]:
    """``n`` requests over one kept-alive connection with the client certificate of ``cert_dir``; the statuses.

    Raw HTTP/1.1: an HTTP client library would spend more CPU per request than the server does."""
    ctx = ssl.create_default_context(cafile=str(cert_dir / pki.CA_CERT))
    ctx.load_cert_chain(str(cert_dir / pki.CLIENT_CERT), str(cert_dir / pki.CLIENT_KEY))
    request = f"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Uketsuke-Package: {PACKAGE.package_hash}\r\n\r\n".encode()
    statuses = []
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        tls.makefile("rb") as answers,
    ):
        for _ in range(n):
            tls.sendall(request)
            statuses.append(int(answers.readline().split()[1]))
            length = 0
            while (line := answers.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            answers.read(length)
    return statuses


def totals(committee: httpx.Client) -> dict[str, Any]:
    r = committee.get("/v1/committee/rejections")
    assert r.status_code == 200, r.text
    return dict(r.json())


def rejection_rows(committee: httpx.Client) -> list[dict[str, Any]]:
    r = committee.get("/v1/rejections", params={"limit": 5000})
    assert r.status_code == 200, r.text
    return list(r.json())


def test_handshake_flood_from_one_peer_is_counted_and_another_peer_still_recorded(start: Any, module_pki: PKI) -> None:
    clock = FakeClock()
    limits = RefusalLimits(window_s=60, full_per_kind=3, flush_every_s=0.05)
    limiter = RefusalLimiter(limits, clock=clock)
    server = start(limiter)
    refuse_handshakes(server.port, module_pki.ca, 2000)
    # The TLS layer reports a refusal just after the client sees it: wait until the server has taken all 2,000.
    assert wait_for(lambda: limiter.admitted + limiter.counted == 2000, timeout=30), (limiter.admitted, limiter.counted)
    assert (limiter.admitted, limiter.counted) == (3, 1997)
    refuse_handshakes(server.port, module_pki.ca, 1, source="127.0.0.2", threads=1)
    with committee_client(module_pki, server.url, PACKAGE.package_hash) as committee:
        # The other peer's first refusal is recorded in full at once, in the middle of the first peer's window.
        assert wait_for(lambda: any(r["peer"].startswith("127.0.0.2:") for r in rejection_rows(committee)))
        rows = rejection_rows(committee)
        assert [(r["stage"], r["reason"], r["count"]) for r in rows] == [("tls", NO_CERT, 1)] * 4
        assert totals(committee)["refusals"] == 4  # the 1,997 counted ones are written when the window closes
        clock.now += 60
        assert wait_for(lambda: totals(committee)["refusals"] == 2001, timeout=10), totals(committee)
        rows = rejection_rows(committee)
        assert len(rows) == 5 and sum(r["count"] for r in rows) == 2001
        counted = rows[-1]
        assert (counted["stage"], counted["peer"], counted["client_id"], counted["count"]) == (
            "tls",
            "127.0.0.1",
            None,
            1997,
        )
        assert counted["first_at"] <= counted["at"] and counted["reason"].endswith(NO_CERT)
        assert counted["reason"].startswith("1997 further refusals of this kind from 127.0.0.1 within one 60 s window")
        summary = totals(committee)
        assert summary["rows"] == 5 and summary["stages"]["tls"]["refusals"] == 2001


def test_refused_requests_counted_in_a_window_are_written_at_shutdown(
    start: Any, module_pki: PKI, fresh_db_url: str
) -> None:
    kid = f"K-FLOOD-{random_voter()[:6]}"  # one CA for the whole module: a new kiosk to revoke each time
    cert_dir = module_pki.kiosk(kid)
    pki.revoke(module_pki.ca, kid)
    limiter = RefusalLimiter(RefusalLimits(window_s=3600, full_per_kind=3))  # the window will not close by itself
    server = start(limiter)
    statuses = refuse_requests(server.port, cert_dir, 2000)
    assert statuses == [403] * 2000
    with committee_client(module_pki, server.url, PACKAGE.package_hash) as committee:
        rows = rejection_rows(committee)
        assert len(rows) == 3 and all(r["stage"] == "auth" and r["client_id"] == kid for r in rows)
        assert totals(committee)["refusals"] == 3
    server.stop()
    conn = st.connect(fresh_db_url)
    try:
        summary = st.read_rejection_totals(conn)
        rows = st.read_rejections(conn, 0, 5000)
    finally:
        conn.close()
    assert summary["refusals"] == 2000 and summary["rows"] == 4
    assert (rows[-1]["stage"], rows[-1]["client_id"], rows[-1]["count"]) == ("auth", kid, 1997)
    assert f"from certificate {kid}" in rows[-1]["reason"] and "certificate revoked" in rows[-1]["reason"]


def test_many_sources_share_one_cap_and_one_counted_row(start: Any, module_pki: PKI) -> None:
    clock = FakeClock()
    limits = RefusalLimits(window_s=60, full_per_window=20, flush_every_s=0.05)
    limiter = RefusalLimiter(limits, clock=clock)
    server = start(limiter)
    for i in range(60):  # 60 addresses, as a spoofing or distributed flood would come
        refuse_handshakes(server.port, module_pki.ca, 1, source=f"127.0.1.{10 + i}", threads=1)
    assert wait_for(lambda: limiter.admitted + limiter.counted == 60, timeout=30)
    assert limiter.tracked_sources == 20
    clock.now += 60
    with committee_client(module_pki, server.url, PACKAGE.package_hash) as committee:
        assert wait_for(lambda: totals(committee)["refusals"] == 60, timeout=10), totals(committee)
        rows = rejection_rows(committee)
    assert len(rows) == 21
    over = rows[-1]
    assert (over["stage"], over["peer"], over["client_id"], over["count"]) == ("tls", None, None, 40)
    assert "beyond the server's limits" in over["reason"] and over["reason"].endswith(NO_CERT)
    assert limiter.tracked == 0
