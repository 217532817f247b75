"""The whole reception flow by keyboard, against the real core with the software card in-process."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from ballots.events import EventType
from kiosk import workflow as wf


def _events(k: Any) -> list[Any]:
    return k.runtime._need().ledger.events()


def test_early_voter_by_card_collation_b(kiosk: Any, sample: Any, era_input: Any) -> None:
    k = kiosk(station="E01", persona="plain")
    k.start_day(sample.passphrase)
    assert k.page is k.window.reception
    p = sample.persona("plain")
    era, yymmdd = era_input(p["birth_date"])
    k.collation(era, yymmdd, p["security_code"])
    assert k.state.screen is wf.Screen.CONFIRM_IDENTITY, k.state
    assert k.page is k.window.voter
    assert k.window.voter.photo.pixmap() is not None and not k.window.voter.photo.pixmap().isNull()
    assert k.window.voter.name.text() == k.state.voter.name
    k.enter()
    assert k.state.screen is wf.Screen.CHOOSE_REASON
    k.key(Qt.Key.Key_1)
    assert k.state.screen is wf.Screen.ISSUE, k.state
    assert k.window.ballots.give.count() == len(k.state.to_issue) > 0
    k.enter()
    assert k.state.screen is wf.Screen.READY
    types = [e.type for e in _events(k)]
    assert EventType.DECLARATION in types and EventType.CHECK_IN in types
    assert len(k.runtime.printer.jobs) == 1
