"""The sync client's own logic with an injected httpx transport: claim outcomes, offline/online state, clock skew,
backoff, observers, push acknowledgement. (The client against the real server is covered by the process tests.)"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as hs
from synctest_helpers import check_in, make_package, random_voter, void

from sync.client import Backoff, SyncClient, SyncError, SyncState
from sync.ledger import Ledger

PACKAGE = make_package()


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    led = Ledger.open(tmp_path / "k.db", kiosk_id="K1", key=Ed25519PrivateKey.generate())
    yield led
    led.close()


def client(ledger: Any, handler: Any, **kw: Any) -> SyncClient:
    return SyncClient("https://server.test", ledger, PACKAGE.package_hash, transport=httpx.MockTransport(handler), **kw)


HOLDER = {
    "event_id": "e1",
    "kiosk_id": "K9",
    "station_id": "E09",
    "kind": "early",
    "at": "2026-12-05T01:00:00+00:00",
    "source": "online",
}


@pytest.mark.parametrize(
    ("reply", "status", "online"),
    [
        (httpx.Response(200, json={"result": "accepted", "accepted": True, "holder": HOLDER}), "accepted", True),
        (
            httpx.Response(200, json={"result": "already_voted", "accepted": False, "holder": HOLDER}),
            "already_voted",
            True,
        ),
        (httpx.ConnectError("refused"), "offline", False),
        (httpx.ReadTimeout("slow"), "offline", False),
        (httpx.Response(503, json={"detail": "busy"}), "offline", False),
    ],
)
def test_claim_outcomes(ledger: Any, reply: Any, status: str, online: bool) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(
            {
                "path": request.url.path,
                "body": json.loads(request.content),
                "package": request.headers["X-Uketsuke-Package"],
            }
        )
        if isinstance(reply, Exception):
            raise reply
        return reply

    c = client(ledger, handler)
    ev = check_in(random_voter())
    outcome = c.claim(ev)
    assert outcome.status == status and c.state().online is online
    assert seen[0]["path"] == "/v1/claims" and seen[0]["package"] == PACKAGE.package_hash
    assert seen[0]["body"]["event_id"] == ev.event_id and seen[0]["body"]["kind"] == "early"
    if status == "already_voted":
        assert outcome.holder is not None and outcome.holder["station_id"] == "E09"
    if not online:
        assert c.state().last_error and c.state().since is None  # never online: no transition recorded


@pytest.mark.parametrize("code", [401, 403, 409, 422])
def test_claim_refusal_is_an_error_not_offline(ledger: Any, code: int) -> None:
    c = client(ledger, lambda r: httpx.Response(code, json={"detail": "certificate revoked"}))
    with pytest.raises(SyncError, match="certificate revoked") as err:
        c.claim(check_in(random_voter()))
    assert err.value.status == code


def test_claim_needs_a_check_in(ledger: Any) -> None:
    with pytest.raises(ValueError, match="expected a check_in"):
        client(ledger, lambda r: httpx.Response(200)).claim(void("x"))


def test_state_transitions_and_observers(ledger: Any) -> None:
    up = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        if not up.is_set():
            raise httpx.ConnectError("down")
        return httpx.Response(200, json={"result": "accepted", "accepted": True, "holder": HOLDER})

    c = client(ledger, handler)
    states: list[SyncState] = []
    c.add_observer(states.append)
    c.add_observer(lambda s: 1 / 0)  # a broken observer must not break sync
    assert c.claim(check_in(random_voter())).status == "offline"
    up.set()
    assert c.claim(check_in(random_voter())).status == "accepted"
    assert [s.online for s in states][-1] is True
    assert states[-1].since is not None and states[-1].last_contact is not None and states[-1].last_error is None
    assert states[-1].claim_rtt_ms is not None


@pytest.mark.parametrize(("offset_s", "warning"), [(0, False), (30, False), (-30, False), (300, True), (-300, True)])
def test_clock_skew_is_measured_and_warned(ledger: Any, offset_s: int, warning: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert request.url.path == "/v1/heartbeat" and body["pending"] == 0
        server_time = datetime.now(UTC) + timedelta(seconds=offset_s)
        return httpx.Response(
            200,
            json={
                "server_time": server_time.isoformat(),
                "last_seq": 0,
                "last_hash": "0" * 64,
                "head": 0,
                "conflicts": 0,
            },
        )

    c = client(ledger, handler, skew_warn_s=60)
    skew = c.heartbeat()
    assert abs(skew - offset_s * 1000) < 500
    assert c.state().clock_warning is warning


def test_push_marks_what_the_server_holds_even_when_it_refuses_the_rest(ledger: Any) -> None:
    for _ in range(3):
        ledger.append(check_in(random_voter()))

    def handler(request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["events"]
        assert [e["seq"] for e in events] == [1, 2, 3]
        return httpx.Response(
            409,
            json={
                "last_seq": 2,
                "last_hash": events[1]["hash"],
                "accepted": 2,
                "duplicates": 0,
                "conflicts": 0,
                "rejected_seq": 3,
                "reason": "tampered: seq 3",
            },
        )

    c = client(ledger, handler)
    with pytest.raises(SyncError, match="tampered: seq 3"):
        c.push_pending()
    assert ledger.pending_count == 1


def test_pull_stores_the_replica_and_collects_conflicts(ledger: Any) -> None:
    other = Ledger.open(Path(str(ledger.path) + ".other"), kiosk_id="K2", key=Ed25519PrivateKey.generate())
    sealed = other.append(check_in("123456789012345", station="E02"))
    other.close()
    conflict = {
        "id": 7,
        "election": "shu-sho",
        "voter": "123456789012345",
        "first_event_id": "a",
        "first_kiosk": "K1",
        "first_station": "E01",
        "first_at": "x",
        "second_event_id": "b",
        "second_kiosk": "K2",
        "second_station": "E02",
        "second_at": "y",
        "detected_at": "z",
        "first_voided": False,
        "second_voided": False,
    }
    calls: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(dict(request.url.params))
        return httpx.Response(
            200,
            json={
                "events": [sealed.to_dict()],
                "cursor": 41,
                "head": 41,
                "server_time": datetime.now(UTC).isoformat(),
                "conflicts": [conflict],
            },
        )

    c = client(ledger, handler)
    assert c.pull_once() == 1
    assert ledger.replica_cursor == 41 and ledger.status("123456789012345", "shu-sho").voted
    assert c.state().conflicts[0]["id"] == 7 and c.state().replica_updated_at is not None
    c.pull_once()
    assert calls[1]["after"] == "41" and calls[1]["conflicts_after"] == "7"


@given(base=hs.floats(0.01, 5), cap=hs.floats(0.1, 120), failures=hs.integers(0, 60), seed=hs.integers(0, 2**32))
def test_backoff_grows_within_bounds(base: float, cap: float, failures: int, seed: int) -> None:
    import random

    b = Backoff(base_s=base, cap_s=cap, rng=random.Random(seed))
    delays = [b.next_delay() for _ in range(failures + 1)]
    for n, d in enumerate(delays):
        full = min(cap, base * 2**n)
        assert full / 2 <= d <= full  # equal jitter: never below half, never above the cap
    b.reset()
    assert b.next_delay() <= min(cap, base)


def test_background_workers_push_and_recover(ledger: Any) -> None:
    """The pusher keeps retrying through failures and pushes once the server answers."""
    state = {"fail": 3, "pushed": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/checkins":
            return httpx.Response(
                200,
                json={
                    "events": [],
                    "cursor": 0,
                    "head": 0,
                    "server_time": datetime.now(UTC).isoformat(),
                    "conflicts": [],
                },
            )
        if state["fail"] > 0:
            state["fail"] -= 1
            raise httpx.ConnectError("down")
        if request.url.path == "/v1/heartbeat":
            return httpx.Response(
                200,
                json={
                    "server_time": datetime.now(UTC).isoformat(),
                    "last_seq": 0,
                    "last_hash": "0" * 64,
                    "head": 0,
                    "conflicts": 0,
                },
            )
        events = json.loads(request.content)["events"]
        state["pushed"] += len(events)
        return httpx.Response(
            200,
            json={
                "last_seq": events[-1]["seq"],
                "last_hash": events[-1]["hash"],
                "accepted": len(events),
                "duplicates": 0,
                "conflicts": 0,
            },
        )

    ledger.append(check_in(random_voter()))
    c = client(ledger, handler, backoff=Backoff(base_s=0.01, cap_s=0.05), pull_wait_s=0.01, heartbeat_s=0.05)
    c.start()
    try:
        from synctest_helpers import wait_for

        assert wait_for(lambda: ledger.pending_count == 0 and c.state().online, timeout=10)
    finally:
        c.stop()
    assert state["pushed"] == 1
