"""Fixtures for the ledger tests: a kiosk key, ledgers on disk, and an event factory."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballots.events import Event, EventType
from sync.ledger import Ledger

MakeEvent = Callable[..., Event]
T0 = datetime(2026, 12, 13, 0, 0, tzinfo=UTC)  # 07:00 JST... close enough to polls opening


@pytest.fixture
def key() -> Ed25519PrivateKey:
    """A fresh kiosk key."""
    return Ed25519PrivateKey.generate()


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    """Where the test's ledger lives."""
    return tmp_path / "ledger.db"


@pytest.fixture
def ledger(ledger_path: Path, key: Ed25519PrivateKey) -> Iterator[Ledger]:
    """A new, empty ledger of kiosk K01."""
    with Ledger.open(ledger_path, kiosk_id="K01", key=key) as led:
        yield led


@pytest.fixture
def make_event() -> MakeEvent:
    """``make_event(type="check_in", voter=..., election=..., **data)``: a valid event with sensible defaults."""
    clock = itertools.count()

    def make(
        ev_type: str | EventType = EventType.CHECK_IN,
        *,
        voter: str | None = "100000000000001",
        election: str | None = "shu",
        station: str = "E01",
        staff: str = "c01",
        event_id: str | None = None,
        **data: Any,
    ) -> Event:
        t = EventType(ev_type)
        defaults: dict[EventType, dict[str, Any]] = {
            EventType.CHECK_IN: {"kind": "early"},
            EventType.DECLARATION: {"reason": 1, "reprint": False},
            EventType.BALLOT_REISSUED: {"reason": "書き損じ"},
            EventType.PROVISIONAL: {"reason": "本人確認不能", "outcome": "pending"},
            EventType.REFUSAL: {"reason": "選挙権なし", "article": "50"},
            EventType.PROXY_VOTE: {"helpers": ["c02", "c03"]},
            EventType.OVERRIDE: {"stop": "already_voted", "reason": "取消済みの受付", "existing": "x"},
            EventType.RECORD_VIEWED: {"purpose": "受付"},
            EventType.STOCK_RECEIVED: {"count": 500},
            EventType.STATION_OPENED: {"test_mode": False},
            EventType.STAFF_SIGN_IN_FAILED: {"attempt": 1, "locked": False},
            EventType.STAFF_UNLOCKED: {"target": "c02"},
        }
        fields: dict[str, Any] = {
            "type": t,
            "station_id": station,
            "staff_id": staff,
            "at": T0 + timedelta(seconds=next(clock)),
            "voter": voter,
            "election": election,
            "data": defaults.get(t, {}) | data,
        }
        if event_id is not None:
            fields["event_id"] = event_id
        return Event(**fields)

    return make
