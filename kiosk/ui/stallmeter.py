"""How responsive the UI thread is: a timer whose tick gaps show every stall, and event processing until a condition.

Used by the responsiveness test and by bench/ui_latency.py, so both measure a stall the same way (and the bench needs no
Qt import of its own: Qt stays under kiosk/ui).
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

__all__ = ["TickRecorder", "application", "process_until"]


def application(argv: Sequence[str] | None = None) -> QApplication:
    """The process's QApplication: the existing one, or a new one."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    return QApplication(list(argv or sys.argv[:1]))


def process_until(cond: Callable[[], bool], timeout: float = 120.0) -> None:
    """Process Qt events until ``cond()`` holds (what a person would see); TimeoutError after ``timeout`` seconds."""
    loop = QEventLoop()
    end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > end:
            raise TimeoutError("the kiosk did not get there in time")
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 1)
        time.sleep(0.0002)


class TickRecorder:
    """Records the UI thread's timer ticks while in use; ``longest_gap`` (seconds) is the worst stall seen."""

    def __init__(self, interval_ms: int = 10) -> None:
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def __enter__(self) -> TickRecorder:
        self.ticks.clear()
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.stop()

    @property
    def longest_gap(self) -> float:
        """The longest time between two consecutive ticks."""
        return max((b - a for a, b in itertools.pairwise(self.ticks)), default=0.0)
