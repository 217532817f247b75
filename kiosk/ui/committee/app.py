"""Starting the committee view, and saving its screens as PNG files (for the screenshot script and its tests)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from kiosk.ui.committee.window import CommitteeSource, CommitteeWindow
from kiosk.ui.ops import BackgroundOps
from kiosk.ui.style import apply_style

__all__ = ["SCREENS", "run_committee_view", "save_screens"]

# Tab index → file name of its screenshot.
SCREENS = ("stations", "turnout", "early", "duplicates", "voids", "access")


def _app() -> QApplication:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    app = QApplication(sys.argv[:1])
    apply_style(app)
    return app


def run_committee_view(
    source: CommitteeSource, *, server_label: str, refresh_s: float = 15.0, day: date | None = None
) -> int:
    """Show the window until it is closed; return the application's exit code."""
    app = _app()
    ops = BackgroundOps()
    window = CommitteeWindow(source, ops, server_label=server_label, refresh_s=refresh_s, day=day)
    window.resize(1280, 860)
    window.show()
    window.start()
    try:
        return int(app.exec())
    finally:
        window.timer.stop()
        ops.shutdown(wait=False)


def _wait_for(done: Callable[[], bool], timeout_s: float) -> None:
    """Run the event loop (background results are delivered through it) until ``done()`` or the timeout."""
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(lambda: loop.quit() if done() else None)
    poll.start()
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if not done():
        loop.exec()
    poll.stop()


def save_screens(
    source: CommitteeSource,
    out: Path,
    *,
    server_label: str = "",
    day: date | None = None,
    voter: str | None = None,
    size: tuple[int, int] = (1280, 860),
    timeout_s: float = 30.0,
) -> list[Path]:
    """Refresh once, then save every tab (and, with ``voter``, that voter's access lookup) as ``out/committee-*.png``.

    Raises RuntimeError with the window's message if the refresh fails (a screenshot of an error is no evidence).
    """
    _app()
    out.mkdir(parents=True, exist_ok=True)
    ops = BackgroundOps()
    window = CommitteeWindow(source, ops, server_label=server_label, day=day)
    window.resize(*size)
    window.show()
    try:
        window.refresh()
        _wait_for(lambda: window.refreshes >= 1 or window.last_error is not None, timeout_s)
        if window.last_error or not window.refreshes:
            raise RuntimeError(f"committee view: refresh failed: {window.last_error or 'timeout'}")
        if voter is not None:
            window.voter_edit.setText(voter)
            window.look_up()
            _wait_for(window.access_button.isEnabled, timeout_s)
        paths = []
        for i, name in enumerate(SCREENS):
            window.tabs.setCurrentIndex(i)
            QCoreApplication.processEvents()
            path = out / f"committee-{i + 1}-{name}.png"
            if not window.grab().save(str(path)):
                raise RuntimeError(f"{path}: could not be written")
            paths.append(path)
        return paths
    finally:
        window.timer.stop()
        window.close()
        ops.shutdown(wait=False)
