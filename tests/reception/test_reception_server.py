"""kiosk.reception through the real tally server (embedded, loopback, SQLite) and the real sync client.

Two desks of one station, each with its own ledger. The server's claim stops the second desk before its replica has
seen the first desk's check-in; once the server is gone, claims come back offline and the check-ins say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from reception_support import ELECTION_DAY, local, make_desk, make_voter

from ballots.events import EventType, new_event_id
from ballots.model import ElectionDefinition, Sex, decision_holder_key
from ballots.register import RegisterIndex
from kiosk.reception import Reception, claim_with
from kiosk.workflow import BarcodeScanned, Confirmed, DecisionHolder, Finish, ManagerAuth, Screen, SignIn
from sync.client import SyncClient
from sync.keys import generate_key, public_key_hex
from sync.ledger import Ledger
from sync.server.runner import start_embedded

A = make_voter()
B = make_voter(code="100000000000002", name="山田　一郎", kana="ヤマダ　イチロウ", birth_date=date(1960, 6, 6))


@dataclass(frozen=True)
class _Served:
    """What the server needs of an opened package."""

    definition: ElectionDefinition
    register: RegisterIndex
    package_hash: str


@dataclass
class _Desk:
    reception: Reception
    ledger: Ledger
    client: SyncClient


@pytest.fixture
def station(tmp_path: Path) -> Iterator[tuple[Any, list[_Desk]]]:
    desk_template = make_desk("D01")
    register = RegisterIndex.from_voters([A, B])
    served = _Served(desk_template.definition, register, "ab" * 32)
    server = start_embedded(served, f"sqlite:///{tmp_path / 'server.db'}")
    desks: list[_Desk] = []
    try:
        for name in ("D01-1", "D01-2"):
            key = generate_key()
            ledger = Ledger.open(tmp_path / f"{name}.db", kiosk_id=name, key=key)
            client = SyncClient(
                server.url,
                ledger,
                served.package_hash,
                station_id="D01",
                claim_timeout_s=0.5,
                demo_ledger_key_hex=public_key_hex(key),
            )
            # Real uuid event ids: the server keys claims by event id, so two desks must never share one.
            desk = replace(make_desk("D01"), new_id=new_event_id)
            reception = Reception(
                desk, register, ledger, claim=claim_with(client), clock=lambda: local(ELECTION_DAY, 10)
            )
            reception.handle(SignIn("c01", "1111"))
            desks.append(_Desk(reception, ledger, client))
        yield server, desks
    finally:
        for d in desks:
            d.client.stop()
            d.ledger.close()
        server.stop()


def _check_in(desk: _Desk, code: str) -> Screen:
    desk.reception.handle(BarcodeScanned(code))
    return desk.reception.handle(Confirmed()).state.screen


def test_the_server_claim_stops_a_second_desk_that_has_not_seen_the_vote(station: tuple[Any, list[_Desk]]) -> None:
    _, (one, two) = station
    assert _check_in(one, A.code) is Screen.ISSUE
    one.reception.handle(Finish())
    assert two.ledger.checkins_for(A.code) == []  # the second desk's replica knows nothing yet
    assert _check_in(two, A.code) is Screen.STOP
    state = two.reception.state
    assert any("投票済み" in line and "10時00分" in line for line in state.lines)
    assert not [e for e in two.ledger.events() if e.type is EventType.CHECK_IN]
    (shown,) = [e for e in two.ledger.events() if e.type is EventType.STOP_SHOWN]
    first = {e.event_id for e in one.ledger.events() if e.type is EventType.CHECK_IN}
    assert {x["event_id"] for x in shown.data["existing"]} <= first
    assert all(e.data["claim"] == "accepted" for e in one.ledger.events() if e.type is EventType.CHECK_IN)


def test_without_the_server_claims_are_offline_and_recorded_as_such(station: tuple[Any, list[_Desk]]) -> None:
    server, (one, _) = station
    server.stop()
    assert _check_in(one, B.code) is Screen.ISSUE
    checkins = [e for e in one.ledger.events() if e.type is EventType.CHECK_IN]
    assert len(checkins) == 5
    assert all(e.data["offline"] is True and e.data["claim"] == "offline" for e in checkins)
    assert "オフライン" in one.reception.state.lines[-1]


def test_a_decision_holder_is_claimed_once_across_desks(station: tuple[Any, list[_Desk]]) -> None:
    """法42条ただし書: not in the register, keyed by the decision's reference; the server still claims the key."""
    _, (one, two) = station
    boss = ManagerAuth("m01", "9999")
    state = one.reception.handle(DecisionHolder(boss, "令和8年選管決定第12号", Sex.FEMALE)).state
    assert state.screen is Screen.ISSUE, (state.error, state.notice)
    checkins = [e for e in one.ledger.events() if e.type is EventType.CHECK_IN]
    assert len(checkins) == 5 and {e.voter for e in checkins} == {decision_holder_key("令和8年選管決定第12号")}
    assert all(e.data["claim"] == "accepted" and e.data["decision_ref"] == "令和8年選管決定第12号" for e in checkins)
    one.reception.handle(Finish())
    # The same decision at the other desk (whose replica has not seen it) is stopped by the server's claim.
    # full-width digits: the same decision
    state = two.reception.handle(DecisionHolder(boss, "令和８年選管決定第１２号", Sex.FEMALE)).state
    assert state.screen is Screen.STOP
    assert not [e for e in two.ledger.events() if e.type is EventType.CHECK_IN]
