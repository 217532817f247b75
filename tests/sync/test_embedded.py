"""``start_embedded`` without TLS (the demo): loopback only, identity by header, same storage and rules."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synctest_helpers import check_in, make_package, random_voter

from sync.client import SyncClient
from sync.ledger import Ledger
from sync.server.runner import start_embedded

PACKAGE = make_package()


def test_demo_server_runs_the_same_sync(tmp_path: Path) -> None:
    server = start_embedded(PACKAGE, f"sqlite:///{tmp_path / 'demo.db'}")
    key = Ed25519PrivateKey.generate()
    ledger = Ledger.open(tmp_path / "k.db", kiosk_id="D1", key=key)
    client = SyncClient(
        server.url, ledger, PACKAGE.package_hash, demo_ledger_key_hex=key.public_key().public_bytes_raw().hex()
    )
    try:
        assert server.url.startswith("http://127.0.0.1:")
        ev = check_in(random_voter())
        assert client.claim(ev).accepted
        ledger.append(ev)
        assert client.push_pending() == 1
        # Without the demo identity headers nothing is accepted, even on loopback.
        r = httpx.get(f"{server.url}/v1/status", headers={"X-Uketsuke-Package": PACKAGE.package_hash})
        assert r.status_code == 401 and r.json()["detail"] == "no client certificate"
    finally:
        client.stop()
        ledger.close()
        server.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1"])
def test_demo_server_refuses_to_listen_beyond_loopback(tmp_path: Path, host: str) -> None:
    with pytest.raises(ValueError, match="only listen on loopback"):
        start_embedded(PACKAGE, f"sqlite:///{tmp_path / 'demo.db'}", host=host)
