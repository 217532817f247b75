"""Shared pieces of the sync tests: a small election, a CA with kiosks, ledgers, server processes."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ballots.events import Event, EventType
from ballots.model import ElectionDefinition
from sync import pki

REPO = Path(__file__).resolve().parents[2]

ELECTION_TOML: dict[str, Any] = {
    "election_day": "2026-12-13",
    "municipality": {"code": "139999", "name": "架空市", "prefecture": "東京都"},
    "elections": [
        {
            "id": "shu-sho",
            "kind": "国",
            "name": "衆議院小選挙区選出議員選挙",
            "order": 1,
            "early_voting_start": "2026-12-02",
        },
        {
            "id": "shu-hi",
            "kind": "国",
            "name": "衆議院比例代表選出議員選挙",
            "order": 2,
            "early_voting_start": "2026-12-02",
        },
    ],
    "precincts": [{"code": "001", "name": "第1投票区"}],
    "stations": [{"id": f"E{i:02d}", "name": f"期日前投票所{i}", "kind": "early"} for i in range(1, 41)],
    "staff": [{"id": "c01", "name": "係員 一", "role": "clerk", "pin_hash": "scrypt$16384$8$1$00$00"}],
}


@dataclass(frozen=True)
class Package:
    """The two things the server reads of an opened election package (ballots.package.ElectionPackage)."""

    definition: ElectionDefinition
    package_hash: str
    register: Any = None


def make_package(tag: str = "test") -> Package:
    """A package for tests; ``tag`` varies the hash (another election's package)."""
    return Package(ElectionDefinition.from_toml_dict(ELECTION_TOML), hashlib.sha256(tag.encode()).hexdigest())


@dataclass
class PKI:
    """A CA with a server certificate and kiosk directories made on demand."""

    root: Path
    ca: Path = field(init=False)
    server: Path = field(init=False)

    def __post_init__(self) -> None:
        self.ca, self.server = self.root / "ca", self.root / "server"
        if not (self.ca / pki.CA_CERT).exists():
            pki.init_ca(self.ca)
            pki.issue_server(self.ca, "127.0.0.1", self.server)

    def kiosk(self, kiosk_id: str) -> Path:
        d = self.root / "kiosks" / kiosk_id
        if not (d / pki.CLIENT_CERT).exists():
            pki.issue_client(self.ca, kiosk_id, d)
        return d

    def committee(self, name: str = "committee") -> Path:
        d = self.root / "committee" / name
        if not (d / pki.CLIENT_CERT).exists():
            pki.issue_client(self.ca, name, d, role=pki.CertRole.COMMITTEE)
        return d


def check_in(voter: str, station: str = "E01", election: str = "shu-sho", **data: Any) -> Event:
    """A check-in event as a kiosk would record it."""
    return Event(
        type=EventType.CHECK_IN,
        station_id=station,
        staff_id="c01",
        at=datetime.now(UTC),
        voter=voter,
        election=election,
        data={"kind": "early", **data},
    )


def void(target: str, station: str = "E01") -> Event:
    """A manager's void of an earlier event."""
    return Event(
        type=EventType.VOID,
        station_id=station,
        staff_id="c01",
        at=datetime.now(UTC),
        data={"target": target, "reason": "誤って受付"},
    )


def random_voter() -> str:
    """A 15-digit register code."""
    return "".join(secrets.choice("0123456789") for _ in range(15))


def wait_for(pred: Any, timeout: float = 10.0, interval: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def spawn(args: list[str], **kw: Any) -> subprocess.Popen[str]:
    """A Python child running from this checkout."""
    return subprocess.Popen([sys.executable, *args], cwd=REPO, env=python_env(), text=True, **kw)


HERE = Path(__file__).resolve().parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``server_proc.py`` as a child process on a fixed loopback port (so it can be restarted in place)."""

    def __init__(self, db_url: str, pki_root: Path, port: int | None = None, package_tag: str = "test") -> None:
        self.db_url, self.pki_root, self.port, self.tag = db_url, pki_root, port or free_port(), package_tag
        self.proc: subprocess.Popen[str] | None = None
        self.start_args: list[str] = []

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        self.proc = spawn(
            [
                str(HERE / "server_proc.py"),
                "--db",
                self.db_url,
                "--pki",
                str(self.pki_root),
                "--port",
                str(self.port),
                "--package-tag",
                self.tag,
            ],
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            self.proc.kill()
            raise RuntimeError(f"server process did not start: {line!r}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class KioskProcess:
    """``kiosk_proc.py`` as a child: a real ledger + SyncClient driven by JSON lines."""

    def __init__(self, url: str, pki_: PKI, kiosk_id: str, ledger: Path, package_hash: str, station: str = "E01"):
        self.args = [
            str(HERE / "kiosk_proc.py"),
            "--url",
            url,
            "--tls-dir",
            str(pki_.kiosk(kiosk_id)),
            "--kiosk-id",
            kiosk_id,
            "--ledger",
            str(ledger),
            "--package-hash",
            package_hash,
            "--station",
            station,
        ]
        self.kiosk_id = kiosk_id
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> KioskProcess:
        self.proc = spawn(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.read().get("ready"), "kiosk process did not start"
        return self

    def send(self, **cmd: Any) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        import json

        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def read(self) -> dict[str, Any]:
        import json

        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"kiosk {self.kiosk_id} process ended (exit {self.proc.poll()})")
        return dict(json.loads(line))

    def call(self, **cmd: Any) -> dict[str, Any]:
        self.send(**cmd)
        return self.read()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.send(op="quit")
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def committee_client(pki_: PKI, url: str, package_hash: str) -> Any:
    """An httpx client with a committee certificate (reads rejections, conflicts, kiosk status)."""
    import httpx

    from sync.client import ClientTLS

    ctx = ClientTLS.from_dir(pki_.committee()).ssl_context()
    return httpx.Client(base_url=url, verify=ctx, headers={"X-Uketsuke-Package": package_hash}, timeout=30)
