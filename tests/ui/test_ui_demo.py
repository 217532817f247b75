"""The demo entry (`uketsuke demo` with a display): embedded server, sample election, card panel, kiosk."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def _run_demo(out: Path, *, vpcd: bool, act: Callable[[Any, Any], bool]) -> int:
    """Run the demo; once the package is open, call ``act(kiosk_window, panel)`` every 200 ms until it returns True,
    then close the kiosk (which ends the demo). Gives up after 2 minutes by quitting: a failure, never a hang."""
    from kiosk.ui.demo import DemoPanel, run_demo_ui
    from kiosk.ui.window import KioskWindow

    earlier = set(QApplication.topLevelWidgets())  # windows other tests left behind are not the demo's
    give_up = time.monotonic() + 120

    def drive() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w not in earlier]
        kiosk = next((w for w in windows if isinstance(w, KioskWindow)), None)
        panel = next((w for w in windows if isinstance(w, DemoPanel)), None)
        opened = kiosk is not None and panel is not None and kiosk.current_page() is not kiosk.unlock
        if opened and act(kiosk, panel):
            kiosk.close()  # goes through the controller's shutdown, which ends the demo
        elif time.monotonic() > give_up:
            QApplication.quit()
        else:
            QTimer.singleShot(200, drive)  # still opening the package, or not done yet

    QTimer.singleShot(100, drive)
    return run_demo_ui(out, voters=200, seed=3, vpcd=vpcd)


def test_run_demo_ui_places_a_card_and_closes(qtbot: Any, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def act(kiosk: Any, panel: Any) -> bool:
        panel.place_selected()
        seen["panel"] = panel.status.text()
        seen["page"] = kiosk.current_page().page_title
        return True

    assert _run_demo(tmp_path / "demo", vpcd=False, act=act) == 0
    assert seen["panel"].startswith("置いたカード")
    assert seen["page"] == "係員サインイン"  # the demo unlocked the package itself
    assert (tmp_path / "demo" / "election.pkg").exists() and (tmp_path / "demo" / "kiosk-E01.db").exists()


def test_run_demo_ui_through_pcscd_and_vpcd(qtbot: Any, tmp_path: Path, pcscd_running: None) -> None:
    """The demo as a desk with a real PC/SC stack: the panel puts the persona's card on vpcd, pcscd presents it, and
    the card reads over PC/SC as the kiosk reads it; the kiosk's own reader monitor sees the virtual reader."""
    from reader.outcomes import CardRead
    from reader.pcsc import PcscConnector
    from reader.service import CardReader

    seen: dict[str, Any] = {}

    def act(kiosk: Any, panel: Any) -> bool:
        if "placed" not in seen:
            panel.place_selected()
            seen["placed"] = panel.status.text()
        persona = panel.personas[0]
        # pcscd notices a card on vpcd a moment after it is placed: read until it is there (bounded by _run_demo).
        result = CardReader(PcscConnector("Virtual PCD 00 00")).read_with_collation(
            persona.birth, persona.security_code
        )
        seen.update(read=result, persona=persona.name, reader_field=kiosk.status.fields["reader"].text())
        if isinstance(result, CardRead):
            panel.remove_card()
            return True
        return False

    assert _run_demo(tmp_path / "demo", vpcd=True, act=act) == 0
    assert seen["placed"].startswith("置いたカード")
    assert isinstance(seen["read"], CardRead), seen["read"]
    assert seen["read"].info.name == seen["persona"]
    assert "Virtual PCD" in seen["reader_field"]  # the kiosk reads through PC/SC, not the in-process card
