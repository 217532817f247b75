"""``uketsuke pki`` and ``uketsuke server`` as commands: a real sample package, a real server process, a kiosk."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from synctest_helpers import check_in, free_port

from ballots.package import open_package
from sync import pki
from sync.client import ClientTLS, SyncClient, SyncError
from sync.ledger import Ledger


def run(cmd: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120)


def test_pki_commands_make_a_working_ca(uketsuke_cmd: list[str], tmp_path: Path) -> None:
    ca, srv, kio, com = (tmp_path / n for n in ("ca", "srv", "kio", "com"))
    assert run(uketsuke_cmd, "pki", "init", "--out", str(ca)).returncode == 0
    assert (ca / pki.CA_KEY).stat().st_mode & 0o077 == 0, "CA key readable by others"
    assert (
        run(uketsuke_cmd, "pki", "issue-server", "--ca", str(ca), "--name", "127.0.0.1", "--out", str(srv)).returncode
        == 0
    )
    out = run(uketsuke_cmd, "pki", "issue-kiosk", "--ca", str(ca), "--kiosk-id", "E01-1", "--out", str(kio), "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["kiosk_id"] == "E01-1"
    cert = x509.load_pem_x509_certificate((kio / pki.CLIENT_CERT).read_bytes())
    ident = pki.identity_from_der(cert.public_bytes(serialization.Encoding.DER))
    ledger_pub = pki.load_ledger_key(kio / pki.LEDGER_KEY).public_key()
    assert ident.client_id == "E01-1" and ident.role is pki.CertRole.KIOSK
    assert ident.ledger_key_hex == ledger_pub.public_bytes_raw().hex()
    assert (
        run(uketsuke_cmd, "pki", "issue-committee", "--ca", str(ca), "--name", "iinkai", "--out", str(com)).returncode
        == 0
    )
    rev = run(uketsuke_cmd, "pki", "revoke", "--ca", str(ca), "--kiosk-id", "E01-1", "--json")
    assert rev.returncode == 0 and len(json.loads(rev.stdout)["revoked"]) == 1
    assert pki.RevocationList(ca).is_revoked(ident.serial)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pki", "init", "--out", "{ca}"], "a CA already exists"),
        (["pki", "issue-kiosk", "--ca", "{ca}", "--kiosk-id", "bad id!", "--out", "{tmp}/k"], "kiosk id 'bad id!'"),
        (["pki", "issue-kiosk", "--ca", "{tmp}/nowhere", "--kiosk-id", "K1", "--out", "{tmp}/k"], "not found"),
        (["pki", "revoke", "--ca", "{ca}", "--kiosk-id", "never-issued"], "no certificate was issued"),
        (["pki", "issue-server", "--ca", "{ca}", "--name", "bad host!", "--out", "{tmp}/s"], "not a host name"),
        (["server", "--package", "x", "--pubkey", "y", "--listen", "nowhere"], "expected HOST:PORT"),
        (["server", "--package", "x", "--pubkey", "y", "--database", "mysql://a/b"], "expected sqlite"),
        (["server", "--package", "x", "--pubkey", "y", "--insecure-demo", "--listen", "0.0.0.0:8443"], "loopback"),
        (["server", "--package", "x", "--pubkey", "y", "--refusal-window", "0"], "window_s must be a positive"),
        (["server", "--package", "x", "--pubkey", "y", "--refusal-window", "90000"], "at most one day"),
        (["server", "--package", "x", "--pubkey", "y", "--refusals-in-full", "-1"], "full_per_kind must be"),
        (["server", "--package", "x", "--pubkey", "y", "--refusals-in-full-total", "0"], "full_per_window must be"),
    ],
)
def test_command_errors_say_what_and_where(
    uketsuke_cmd: list[str], tmp_path: Path, args: list[str], message: str
) -> None:
    ca = tmp_path / "ca"
    pki.init_ca(ca)
    res = run(uketsuke_cmd, *(a.format(ca=ca, tmp=tmp_path) for a in args))
    assert res.returncode == 2 and message in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


@pytest.fixture(scope="module")
def sample_package(uketsuke_cmd: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sample")
    assert run(uketsuke_cmd, "sample", "--voters", "50", "--out", str(d / "s"), "--personas", "1").returncode == 0
    s = d / "s"
    res = run(
        uketsuke_cmd,
        "package",
        "build",
        "--election",
        str(s / "election.toml"),
        "--register",
        str(s / "register.csv"),
        "--key",
        str(s / "committee.key"),
        "--out",
        str(d / "e.pkg"),
        "--passphrase-file",
        str(s / "passphrase.txt"),
    )
    assert res.returncode == 0, res.stderr
    return {"pkg": d / "e.pkg", "pub": s / "committee.pub", "pass": s / "passphrase.txt", "dir": d}


def wait_port(port: int, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("server did not listen")


def test_server_command_serves_the_package_to_kiosks(uketsuke_cmd: list[str], sample_package: dict[str, Any]) -> None:
    d: Path = sample_package["dir"]
    pki.init_ca(d / "ca")
    pki.issue_server(d / "ca", "127.0.0.1", d / "srv")
    kdir = d / "k1"
    pki.issue_client(d / "ca", "K1", kdir)
    port = free_port()
    proc = subprocess.Popen(
        [
            *uketsuke_cmd,
            "server",
            "--package",
            str(sample_package["pkg"]),
            "--pubkey",
            str(sample_package["pub"]),
            "--passphrase-file",
            str(sample_package["pass"]),
            "--database",
            f"sqlite:///{d / 'tally.db'}",
            "--listen",
            f"127.0.0.1:{port}",
            "--tls-dir",
            str(d / "srv"),
            "--ca",
            str(d / "ca"),
            "--log-level",
            "warning",
            "--refusal-window",
            "30",
            "--refusals-in-full",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_port(port, proc)
        package = open_package(sample_package["pkg"], sample_package["pub"], sample_package["pass"].read_text().strip())
        voter = next(iter(package.register)).code
        ledger = Ledger.open(d / "k1.db", kiosk_id="K1", key=pki.load_ledger_key(kdir / pki.LEDGER_KEY))
        station = package.definition.stations[0].id
        election = package.definition.elections[0].id
        client = SyncClient(f"https://127.0.0.1:{port}", ledger, package.package_hash, tls=ClientTLS.from_dir(kdir))
        try:
            ev = check_in(voter, station=station, election=election)
            assert client.claim(ev).status == "accepted"
            assert client.claim(check_in(voter, station=station, election=election)).status == "already_voted"
            with pytest.raises(SyncError, match="not in the register"):
                client.claim(check_in("000000000000001", station=station, election=election))
            ledger.append(ev)
            assert client.push_pending() == 1
            # A kiosk holding another package is turned away.
            other = SyncClient(f"https://127.0.0.1:{port}", ledger, "0" * 64, tls=ClientTLS.from_dir(kdir))
            with pytest.raises(SyncError, match="package hash mismatch"):
                other.claim(check_in(voter, station=station, election=election))
            other.stop()
        finally:
            client.stop()
            ledger.close()
    finally:
        proc.terminate()
        proc.wait(30)
