"""The demo entry (`uketsuke demo` with a display): embedded server, sample election, card panel, kiosk."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def _opened_demo(earlier: set[Any]) -> tuple[Any, Any] | None:
    """The demo's kiosk window and card panel once the package is open (None while it is still opening).

    ``earlier``: the top-level widgets that existed before the demo started — windows other tests left behind in
    this QApplication must not be taken for the demo's."""
    from kiosk.ui.demo import DemoPanel
    from kiosk.ui.window import KioskWindow

    windows = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w not in earlier]
    kiosk = next((w for w in windows if isinstance(w, KioskWindow)), None)
    panel = next((w for w in windows if isinstance(w, DemoPanel)), None)
    if kiosk is None or panel is None or kiosk.current_page() is kiosk.unlock:
        return None
    return kiosk, panel


def test_run_demo_ui_places_a_card_and_closes(qtbot: Any, tmp_path: Path) -> None:
    from kiosk.ui.demo import run_demo_ui

    seen: dict[str, Any] = {}
    earlier = set(QApplication.topLevelWidgets())
    give_up = time.monotonic() + 120

    def drive() -> None:
        opened = _opened_demo(earlier)
        if opened is None:
            if time.monotonic() > give_up:  # fail the test, never hang the suite
                seen["gave_up"] = True
                QApplication.quit()
                return
            QTimer.singleShot(100, drive)  # still opening the package
            return
        kiosk, panel = opened
        panel.place_selected()
        seen["panel"] = panel.status.text()
        seen["page"] = kiosk.current_page().page_title
        kiosk.close()  # goes through the controller's shutdown, which ends the demo

    QTimer.singleShot(100, drive)
    code = run_demo_ui(tmp_path / "demo", voters=200, seed=3, vpcd=False)
    assert code == 0 and "gave_up" not in seen
    assert seen["panel"].startswith("置いたカード")
    assert seen["page"] == "係員サインイン"  # the demo unlocked the package itself
    assert (tmp_path / "demo" / "election.pkg").exists() and (tmp_path / "demo" / "kiosk-E01.db").exists()


def test_run_demo_ui_through_pcscd_and_vpcd(qtbot: Any, tmp_path: Path, pcscd_running: None) -> None:
    """The demo as a desk with a real PC/SC stack: the panel puts the persona's card on vpcd, pcscd presents it, and
    the card reads over PC/SC as the kiosk reads it; the kiosk's own reader monitor sees the virtual reader."""
    from kiosk.ui.demo import run_demo_ui
    from reader.outcomes import CardRead
    from reader.pcsc import PcscConnector
    from reader.service import CardReader

    seen: dict[str, Any] = {}
    earlier = set(QApplication.topLevelWidgets())
    give_up = time.monotonic() + 120

    def drive() -> None:
        opened = _opened_demo(earlier)
        if opened is None:
            if time.monotonic() > give_up:  # fail the test, never hang the suite
                seen["gave_up"] = True
                QApplication.quit()
                return
            QTimer.singleShot(100, drive)  # still opening the package
            return
        kiosk, panel = opened
        if "placed" not in seen:
            panel.place_selected()
            seen["placed"] = panel.status.text()
        persona = panel.personas[0]
        # pcscd notices a card on vpcd a moment after it is placed: read until it is there (bounded).
        reader = CardReader(PcscConnector("Virtual PCD 00 00"))
        result = reader.read_with_collation(persona.birth, persona.security_code)
        seen["reader_field"] = kiosk.status.fields["reader"].text()
        if not isinstance(result, CardRead) and time.monotonic() < give_up:
            QTimer.singleShot(200, drive)
            return
        seen["read"] = result
        seen["persona"] = persona.name
        panel.remove_card()
        kiosk.close()

    QTimer.singleShot(100, drive)
    code = run_demo_ui(tmp_path / "demo", voters=200, seed=3, vpcd=True)
    assert code == 0 and "gave_up" not in seen
    assert seen["placed"].startswith("置いたカード")
    assert isinstance(seen["read"], CardRead), seen["read"]
    assert seen["read"].info.name == seen["persona"]
    assert "Virtual PCD" in seen["reader_field"]  # the kiosk reads through PC/SC, not the in-process card
