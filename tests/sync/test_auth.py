"""Authentication and integrity against a real server process over mutual TLS, SQLite and PostgreSQL.

No certificate, another CA, a revoked certificate, a tampered event, a replayed event, a chain gap, kiosk A posing as
kiosk B, a kiosk on a committee endpoint, another package: each refused, and the reason recorded on the server.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from synctest_helpers import PKI, ServerProcess, check_in, committee_client, make_package, random_voter, wait_for

from sync import pki
from sync.chain import GENESIS, SealedEvent, seal
from sync.client import ClientTLS

PACKAGE = make_package()


@pytest.fixture(scope="module")
def server(db_url: str, module_pki: PKI) -> Iterator[ServerProcess]:
    proc = ServerProcess(db_url, module_pki.root).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def committee(module_pki: PKI, server: ServerProcess) -> Iterator[httpx.Client]:
    with committee_client(module_pki, server.url, PACKAGE.package_hash) as c:
        yield c


def kiosk_http(directory: Path, url: str, package_hash: str = PACKAGE.package_hash) -> httpx.Client:
    return httpx.Client(
        base_url=url,
        verify=ClientTLS.from_dir(directory).ssl_context(),
        headers={"X-Uketsuke-Package": package_hash},
        timeout=20,
    )


def rejections(committee: httpx.Client) -> list[dict[str, Any]]:
    r = committee.get("/v1/rejections", params={"limit": 5000})
    assert r.status_code == 200, r.text
    return list(r.json())


def newest_reason(committee: httpx.Client, before: int, expected: str = "") -> list[str]:
    """Reasons recorded since ``before``; waits a little for ``expected`` (TLS refusals are recorded asynchronously)."""
    found: list[str] = []

    def look() -> bool:
        found[:] = [r["stage"] + ": " + r["reason"] for r in rejections(committee)[before:]]
        return any(expected in x for x in found)

    wait_for(look, timeout=5)
    return found


class Chain:
    def __init__(self, kiosk_id: str, directory: Path) -> None:
        self.id, self.key = kiosk_id, pki.load_ledger_key(directory / pki.LEDGER_KEY)
        self.seq, self.head = 0, GENESIS

    def seal(self, voter: str | None = None) -> SealedEvent:
        self.seq += 1
        se = seal(check_in(voter or random_voter()), kiosk_id=self.id, seq=self.seq, prev_hash=self.head, key=self.key)
        self.head = se.hash
        return se


def test_no_client_certificate_is_refused_in_the_handshake(
    server: ServerProcess, module_pki: PKI, committee: httpx.Client
) -> None:
    before = len(rejections(committee))
    ctx = ssl.create_default_context(cafile=str(module_pki.ca / pki.CA_CERT))
    with httpx.Client(base_url=server.url, verify=ctx, timeout=10) as anon, pytest.raises(httpx.TransportError):
        anon.get("/v1/status", headers={"X-Uketsuke-Package": PACKAGE.package_hash})
    assert any("tls: TLS: no client certificate" in r for r in newest_reason(committee, before, "no client cert"))


def test_certificate_from_another_ca_is_refused(
    server: ServerProcess, tmp_path: Path, committee: httpx.Client, module_pki: PKI
) -> None:
    other = PKI(tmp_path / "other")
    d = other.kiosk("K-EVIL")
    # Trust our server (so the failure is the server refusing the client, not the other way round).
    ctx = ssl.create_default_context(cafile=str(module_pki.ca / pki.CA_CERT))
    ctx.load_cert_chain(str(d / pki.CLIENT_CERT), str(d / pki.CLIENT_KEY))
    before = len(rejections(committee))
    with httpx.Client(base_url=server.url, verify=ctx, timeout=10) as c, pytest.raises(httpx.TransportError):
        c.get("/v1/status", headers={"X-Uketsuke-Package": PACKAGE.package_hash})
    reasons = newest_reason(committee, before, "client certificate refused")
    assert any("client certificate refused" in r and "issuer" in r for r in reasons), reasons


def test_revoked_certificate_is_refused_without_restart(
    server: ServerProcess, module_pki: PKI, committee: httpx.Client
) -> None:
    kid = f"K-REVOKE-{random_voter()[:6]}"  # the CA is shared by both database backends of this module
    d = module_pki.kiosk(kid)
    with kiosk_http(d, server.url) as c:
        assert c.get("/v1/status").status_code == 200
        pki.revoke(module_pki.ca, kid)
        before = len(rejections(committee))
        r = c.get("/v1/status")  # same kept-alive connection: checked per request, not only at the handshake
        assert r.status_code == 403 and "revoked" in r.json()["detail"]
    assert any(f"auth: certificate revoked (kiosk {kid}" in x for x in newest_reason(committee, before, "revoked"))


@pytest.mark.parametrize("attack", ["tampered", "replayed", "gap", "other_kiosk"])
def test_integrity_attacks_are_refused_and_recorded(
    attack: str, server: ServerProcess, module_pki: PKI, committee: httpx.Client
) -> None:
    kid = f"K-{attack}"
    d = module_pki.kiosk(kid)
    chain = Chain(kid, d)
    first = chain.seal()
    with kiosk_http(d, server.url) as c:
        assert c.post("/v1/events", json={"events": [first.to_dict()]}).json()["accepted"] == 1
        nxt = chain.seal()
        bad = nxt.to_dict()
        if attack == "tampered":
            bad["event"] = {**bad["event"], "station_id": "E02"}
            expected = "hash does not match"
        elif attack == "replayed":
            bad = seal(first.event, kiosk_id=kid, seq=2, prev_hash=first.hash, key=chain.key).to_dict()
            expected = "replay"
        elif attack == "gap":
            bad = seal(nxt.event, kiosk_id=kid, seq=5, prev_hash=first.hash, key=chain.key).to_dict()
            expected = "gap: expected seq 2, got seq 5"
        else:  # kiosk A pushes events sealed as kiosk B with B's own key: the certificate decides who is talking
            b = Chain("K-B-victim", module_pki.kiosk("K-B-victim"))
            bad = b.seal().to_dict()
            expected = "event names kiosk 'K-B-victim' but the certificate is kiosk"
        before = len(rejections(committee))
        r = c.post("/v1/events", json={"events": [bad]})
        assert r.status_code == 409 and expected in r.json()["reason"], r.text
        assert r.json()["last_seq"] == 1
        assert any(expected in x for x in newest_reason(committee, before))
        # The genuine next event still goes through.
        assert c.post("/v1/events", json={"events": [nxt.to_dict()]}).json()["last_seq"] == 2


def test_claims_are_recorded_under_the_certificate_kiosk(server: ServerProcess, module_pki: PKI) -> None:
    voter = random_voter()
    ev = check_in(voter)
    body = {
        "election": ev.election,
        "voter": voter,
        "event_id": ev.event_id,
        "station_id": "E01",
        "kind": "early",
        "at": ev.at.isoformat(),
    }
    with kiosk_http(module_pki.kiosk("K-A"), server.url) as a, kiosk_http(module_pki.kiosk("K-B"), server.url) as b:
        # Naming another kiosk in the body is not part of the API at all.
        assert a.post("/v1/claims", json=body | {"kiosk_id": "K-B"}).status_code == 422
        assert a.post("/v1/claims", json=body).json()["holder"]["kiosk_id"] == "K-A"
        other = b.post("/v1/claims", json=body | {"event_id": "x" + ev.event_id[1:]}).json()
        assert other["result"] == "already_voted" and other["holder"]["kiosk_id"] == "K-A"


def test_kiosk_cannot_use_committee_endpoints(server: ServerProcess, module_pki: PKI) -> None:
    with kiosk_http(module_pki.kiosk("K-A"), server.url) as a:
        for path in ("/v1/kiosks", "/v1/rejections"):
            r = a.get(path)
            assert r.status_code == 403 and "committee certificate required" in r.text


def test_other_package_is_refused_and_recorded(server: ServerProcess, module_pki: PKI, committee: httpx.Client) -> None:
    before = len(rejections(committee))
    other_hash = make_package("another election").package_hash
    with kiosk_http(module_pki.kiosk("K-A"), server.url, other_hash) as a:
        r = a.post(
            "/v1/heartbeat", json={"pending": 0, "replica_cursor": 0, "client_time": "2026-12-13T08:00:00+09:00"}
        )
    assert r.status_code == 409 and "package hash mismatch" in r.text
    assert any("package: package hash mismatch" in x for x in newest_reason(committee, before))


def test_demo_identity_headers_are_ignored_under_tls(server: ServerProcess, module_pki: PKI) -> None:
    with kiosk_http(module_pki.kiosk("K-A"), server.url) as a:
        r = a.get("/v1/status", headers={"X-Uketsuke-Demo-Kiosk": "K-B", "X-Uketsuke-Demo-Ledger-Key": "00" * 32})
    assert r.status_code == 200 and r.json()["client_id"] == "K-A"
