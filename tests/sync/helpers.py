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
