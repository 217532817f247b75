"""The demo entry (`uketsuke demo` with a display): embedded server, sample election, card panel, kiosk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def test_run_demo_ui_places_a_card_and_closes(qtbot: Any, tmp_path: Path) -> None:
    from kiosk.ui.demo import DemoPanel, run_demo_ui
    from kiosk.ui.window import KioskWindow

    seen: dict[str, Any] = {}

    def drive() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
        kiosk = next((w for w in windows if isinstance(w, KioskWindow)), None)
        panel = next((w for w in windows if isinstance(w, DemoPanel)), None)
        if kiosk is None or panel is None or kiosk.current_page() is kiosk.unlock:
            QTimer.singleShot(100, drive)  # still opening the package
            return
        panel.place_selected()
        seen["panel"] = panel.status.text()
        seen["page"] = kiosk.current_page().page_title
        kiosk.close()  # goes through the controller's shutdown, which ends the demo

    QTimer.singleShot(100, drive)
    code = run_demo_ui(tmp_path / "demo", voters=200, seed=3, vpcd=False)
    assert code == 0
    assert seen["panel"].startswith("置いたカード")
    assert seen["page"] == "係員サインイン"  # the demo unlocked the package itself
    assert (tmp_path / "demo" / "election.pkg").exists() and (tmp_path / "demo" / "kiosk-E01.db").exists()
