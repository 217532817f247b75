"""入場券 barcode input from USB scanners that act as keyboards.

A scanner "types" the digits of the barcode within a few milliseconds each and then presses Enter, whatever widget has
the focus. An application-wide event filter recognises such a burst — at least ``min_digits`` digits, each within
``max_gap`` seconds of the previous, then Enter — and emits ``scanned(text)``. People type far slower than the gap, so
their keystrokes pass through untouched. Digits a burst left in a focused line edit are taken out again, so a scan
while the clerk is typing a search does not corrupt the field.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit

__all__ = ["BarcodeScannerFilter"]

_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class BarcodeScannerFilter(QObject):
    """Event filter that turns fast digit bursts ending in Enter into ``scanned`` signals."""

    scanned = Signal(str)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        min_digits: int = 15,
        max_gap: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.min_digits = min_digits
        self.max_gap = max_gap
        self.enabled = True
        self._clock = clock
        self._digits: list[str] = []
        self._last = 0.0
        self._target: QLineEdit | None = None  # line edit the burst's digits went into, if any
        self._offered: Any = None  # key of the last ShortcutOverride, whose KeyPress may follow
        self._swallow = False  # the KeyPress of a scan's Enter is still to come

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Watch every key press in the application; consume the Enter that ends a scan.

        Qt first offers each key press as a ShortcutOverride event and only then, if no shortcut took it, as a
        KeyPress. Digits bound to shortcuts (the 事由 keys) and Enter bound to "confirm" never arrive as KeyPress,
        so keys are counted on whichever event comes first, once.
        """
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride) or not self.enabled:
            return False
        assert isinstance(event, QKeyEvent)
        # Each key press is delivered to the focus widget and, if ignored, to its parents: count it once.
        focus = QApplication.focusWidget()
        receiver = focus if focus is not None else QApplication.activeWindow()
        if watched is not receiver:
            return False
        if kind == QEvent.Type.KeyPress and self._offered == event.key():
            self._offered = None  # already counted on its ShortcutOverride
            if self._swallow and event.key() in _ENTER:
                self._swallow = False
                return True
            return False
        self._offered = event.key() if kind == QEvent.Type.ShortcutOverride else None
        now = self._clock()
        text = event.text()
        if event.key() in _ENTER:
            burst = "".join(self._digits)
            fast = len(burst) >= self.min_digits and (now - self._last) <= self.max_gap
            target = self._target
            self._reset()
            if fast:
                self._remove_from(target, burst)
                self.scanned.emit(burst)
                # Accepting the override keeps Enter away from shortcuts ("confirm"); the KeyPress that follows
                # is swallowed too, so no widget sees the scanner's Enter.
                event.accept()
                self._swallow = kind == QEvent.Type.ShortcutOverride
                return True
            return False
        if len(text) == 1 and text.isdigit() and text.isascii():
            if self._digits and now - self._last > self.max_gap:
                self._reset()
            if not self._digits:
                self._target = focus if isinstance(focus, QLineEdit) else None
            self._digits.append(text)
            self._last = now
            return False
        if text:  # any other printable key ends a burst
            self._reset()
        return False

    def _reset(self) -> None:
        self._digits.clear()
        self._target = None

    @staticmethod
    def _remove_from(target: QLineEdit | None, burst: str) -> None:
        """Take a scan's digits back out of the line edit they were typed into (only if they are still there)."""
        if target is None:
            return
        text = target.text()
        cursor = target.cursorPosition()
        start = cursor - len(burst)
        if start >= 0 and text[start:cursor] == burst:
            target.setText(text[:start] + text[cursor:])
            target.setCursorPosition(start)
