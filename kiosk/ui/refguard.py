"""A guard against a reference-counting defect of PySide6 6.12.0 on Python 3.11.

Measured here (tests/ui/test_refguard.py): on Python 3.11, every call of a Qt method that returns nothing
(``QLabel.setText``, ``QWidget.setVisible``, ``QApplication.processEvents`` …) takes one reference from ``None``
without having given it, and emitting a ``Signal(bool)`` does the same to ``True``/``False``. ``None`` starts with a
few thousand references, so after some thousands of such calls — minutes of a working desk — CPython aborts with
"Fatal Python error: none_dealloc". Python 3.12 made ``None``, ``True`` and ``False`` immortal (PEP 683), where the
defect is harmless; there this guard does nothing.

Until the kiosk runs on Python ≥ 3.12 or a fixed PySide6, :class:`RefcountGuard` keeps the three singletons'
reference counts far above zero: a UI-thread timer adds a ballast of references (a list that is deliberately never
freed) whenever a count falls below ``floor``. It costs 8 bytes per lost reference (tens of MB over a thirteen-hour
day at most).
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, QTimer

__all__ = ["NEEDED", "RefcountGuard"]

#: Whether the interpreter can free None/True/False at all (no immortal objects before 3.12).
NEEDED = sys.version_info < (3, 12)


class RefcountGuard(QObject):
    """Keeps ``None``, ``True`` and ``False`` at ``floor`` references or more; ``start()`` checks every
    ``interval_ms`` on the UI thread (where the Qt calls that lose references run)."""

    def __init__(self, parent: QObject | None = None, *, floor: int = 1_000_000, interval_ms: int = 100) -> None:
        super().__init__(parent)
        self.floor = floor
        self.added = 0  # references added so far (for the log and tests)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.top_up)

    def start(self) -> None:
        """Top up now and then periodically (only on interpreters that need it)."""
        if NEEDED:
            self.top_up()
            self._timer.start()

    def stop(self) -> None:
        """Stop checking (the ballast stays: the references it holds were lost for good)."""
        self._timer.stop()

    def top_up(self) -> int:
        """Bring each singleton back to twice ``floor`` references if it fell below ``floor``; return how many
        references were added."""
        if not NEEDED:
            return 0
        added = 0
        for obj in (None, True, False):
            count = sys.getrefcount(obj)
            if count < self.floor:
                missing = 2 * self.floor - count
                # A tuple of untracked objects leaves the garbage collector's lists at its first pass; a list of
                # millions of references would be traversed by every full collection (measured: 140 ms pauses).
                chunk = (obj,) * missing
                # The chunk must never be freed, not even at interpreter exit: freeing it would give back references
                # PySide6 already took, and None would be "deallocated" during finalisation. So it is leaked on
                # purpose, by one extra reference nobody releases.
                ctypes.pythonapi.Py_IncRef(ctypes.py_object(chunk))
                added += missing
        self.added += added
        return added
