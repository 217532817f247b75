"""A picture of every screen. scripts/screenshots.sh runs this under Xvfb (real xcb windows, real fonts) with
UKETSUKE_SCREENSHOTS=artifacts/screenshots; without it the pictures go to a temporary directory and the test only
checks that each screen rendered (a non-blank image of the window's size)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from ballots.printing import PrinterProblem
from ballots.rules import JST as RULES_JST
from kiosk import workflow as wf
from kiosk.app import SyncSnapshot

JST = timezone(timedelta(hours=9))


def _shoot(k: Any, out: Path, name: str, shots: list[Path]) -> None:
    k.qtbot.wait(50)  # let layouts settle before the grab
    path = out / f"{len(shots) + 1:02d}-{name}.png"
    image = k.window.grab().toImage()
    assert image.width() >= 1000 and image.height() >= 700
    # Not blank: the screen drew text and colours, not one flat fill.
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 23)}
    assert len(colours) > 3, name
    assert image.save(str(path))
    shots.append(path)


def test_every_screen(kiosk: Any, sample: Any, era_input: Any, tmp_path: Path) -> None:
    out = Path(os.environ.get("UKETSUKE_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    k = kiosk(station="E01", when=datetime(2026, 12, 7, 10, 5, tzinfo=JST), persona="plain")
    k.window.resize(1280, 800)
    k.window.status._now = lambda: datetime(2026, 12, 7, 10, 5, tzinfo=RULES_JST)  # a fixed clock in the pictures
    _shoot(k, out, "unlock", shots)
    k.unlock(sample.passphrase)
    _shoot(k, out, "sign-in", shots)
    k.sign_in("m01")
    k.settle()
    _shoot(k, out, "opening-check", shots)
    k.open_station()
    k.controller.bridge.on_sync(SyncSnapshot(online=True, pending=0, skew=timedelta(milliseconds=120)))
    k.settle()
    _shoot(k, out, "ready", shots)
    k.key(Qt.Key.Key_F2)
    p = sample.persona("plain")
    era, yymmdd = era_input(p["birth_date"])
    k.window.collation.era.setCurrentIndex(era)
    k.type(yymmdd, k.window.collation.yymmdd)
    k.type(p["security_code"], k.window.collation.code)
    _shoot(k, out, "collation-entry", shots)
    k.key(Qt.Key.Key_Return, k.window.collation.code)
    assert k.state.screen is wf.Screen.CONFIRM_IDENTITY
    _shoot(k, out, "voter", shots)
    k.enter()
    _shoot(k, out, "reason", shots)
    k.key(Qt.Key.Key_1)
    _shoot(k, out, "ballots", shots)
    k.key(Qt.Key.Key_F10)
    _shoot(k, out, "manager-menu", shots)
    k.key(Qt.Key.Key_Escape)
    k.enter()
    # The classic incident: the same voter comes back with the 入場券.
    k.type(p["register_code"] + "0001")
    k.enter()
    _shoot(k, out, "voter-by-barcode", shots)
    k.enter()
    assert k.state.screen is wf.Screen.STOP
    _shoot(k, out, "already-voted-stop", shots)
    k.key(Qt.Key.Key_Escape)
    k.key(Qt.Key.Key_F3)
    k.type("12")
    _shoot(k, out, "pin-pad", shots)
    k.key(Qt.Key.Key_Escape)
    # The voter's PIN gives the basic 4 info only: the screen says the photo was not checked and offers the code.
    k.key(Qt.Key.Key_F3)
    k.type(p["pin"])
    k.enter()
    assert k.state.identity == wf.IDENTITY_CARD_PIN_NO_PHOTO
    _shoot(k, out, "voter-pin-no-photo", shots)
    k.key(Qt.Key.Key_Escape)
    k.key(Qt.Key.Key_F4)
    family = p["kana"].split("\u3000")[0]
    k.type(family)
    k.enter()
    _shoot(k, out, "search-results", shots)
    k.key(Qt.Key.Key_Escape)
    # A moved voter: some ballots are not to be given.
    k.type(sample.persona("moved_within_prefecture")["register_code"])
    k.enter()
    k.enter()
    k.key(Qt.Key.Key_2)
    assert k.state.screen is wf.Screen.ISSUE
    _shoot(k, out, "ballots-some-withheld", shots)
    k.enter()
    k.controller.bridge.on_sync(SyncSnapshot(online=False, since=datetime(2026, 12, 7, 9, 58, tzinfo=JST), pending=4))
    k.settle()
    _shoot(k, out, "offline-banner", shots)
    k.controller.bridge.on_sync(SyncSnapshot(online=True, pending=0, skew=timedelta(milliseconds=120)))
    # The printer runs out of paper under the next voter's 宣誓書: the warning with the reason and F5 to try again.
    k.runtime.printer.problem = PrinterProblem.OUT_OF_PAPER
    k.type(sample.persona("new_form_on_card")["register_code"])
    k.enter()
    k.enter()
    k.key(Qt.Key.Key_1)
    assert k.state.screen is wf.Screen.ISSUE and k.window.ballots.print_warning.isVisible()
    _shoot(k, out, "declaration-print-failed", shots)
    k.runtime.printer.problem = None
    k.close()
    # Election day at a 当日 station: a voter of another 投票区.
    d = kiosk(station="D001", when=datetime(2026, 12, 13, 9, 0, tzinfo=JST), persona=None, ledger_name="d001.db")
    d.window.resize(1280, 800)
    d.window.status._now = lambda: datetime(2026, 12, 13, 9, 0, tzinfo=RULES_JST)  # a fixed clock here too
    d.start_day(sample.passphrase)
    definition = d.runtime.definition
    other = next(
        v
        for v in d.runtime._need().package.register
        if v.precinct not in definition.station("D001").precincts
        and not v.moved
        and v.absentee is None
        and v.age_on(definition.election_day) >= 18
    )
    d.type(other.code)
    d.enter()
    d.enter()
    assert d.state.screen is wf.Screen.REFUSED
    _shoot(d, out, "wrong-station", shots)
    d.key(Qt.Key.Key_Escape)
    d.key(Qt.Key.Key_F3)
    for _ in range(3):
        d.type("0000")
        d.enter()
    _shoot(d, out, "blocked-pin", shots)
    d.key(Qt.Key.Key_Escape)
    d.key(Qt.Key.Key_Q, modifier=Qt.KeyboardModifier.ControlModifier)  # sign out
    for _ in range(5):
        d.window.sign_in.staff_id.clear()
        d.type("c01", d.window.sign_in.staff_id)
        d.key(Qt.Key.Key_Return, d.window.sign_in.staff_id)
        d.type("0000", d.window.sign_in.pin)
        d.key(Qt.Key.Key_Return, d.window.sign_in.pin)
    assert "ロック" in d.window.sign_in.error.text()
    _shoot(d, out, "sign-in-locked", shots)
    assert len(shots) == 20
