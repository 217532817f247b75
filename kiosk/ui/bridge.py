"""Core events → Qt signals. The headless core (reader monitor, sync client) calls plain callbacks from its own
threads; these methods only emit signals, which Qt queues to the UI thread, so no widget is touched off-thread."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

__all__ = ["CoreBridge"]


class CoreBridge(QObject):
    """Thread-safe entry points for core callbacks; connect the signals to the controller."""

    card_changed = Signal(bool)  # a card was placed (True) or removed (False)
    # (text, ok) tuples: one object per emission, never a bare None through a queued multi-argument signal (see the
    # note in kiosk.ui.ops).
    reader_changed = Signal(object)  # (text, ok: True / False / None unknown)
    sync_changed = Signal(object)  # the sync client's state snapshot
    printer_changed = Signal(object)  # (text, ok)

    def on_card(self, present: bool) -> None:
        """Reader monitor callback: card inserted or removed."""
        self.card_changed.emit(bool(present))

    def on_reader(self, text: str, ok: bool | None) -> None:
        """Reader monitor callback: reader attached, detached, service down."""
        self.reader_changed.emit((text, ok))

    def on_sync(self, snapshot: Any) -> None:
        """Sync client observer: online/offline since, pending, replica freshness, clock skew."""
        self.sync_changed.emit(snapshot)

    def on_printer(self, text: str, ok: bool | None) -> None:
        """Printer status change."""
        self.printer_changed.emit((text, ok))
