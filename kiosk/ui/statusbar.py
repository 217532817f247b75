"""The status bar: reader, printer, server (online / offline since, pending), package hash, clock and skew, staff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from ballots.rules import JST

__all__ = ["KioskStatusBar", "format_since"]


def format_since(t: datetime | None) -> str:
    """Japan time for "since" texts (HH:MM): polling stations run on JST whatever the terminal's zone."""
    return "" if t is None else t.astimezone(JST).strftime("%H:%M")


class KioskStatusBar(QStatusBar):
    """Permanent fields, updated by the controller from core callbacks (through signals) — never polled here."""

    def __init__(self, parent: QWidget | None = None, *, now: Callable[[], datetime] | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self._now = now or (lambda: datetime.now(JST))
        self._skew: timedelta | None = None
        self.fields: dict[str, QLabel] = {}
        for key in ("reader", "printer", "server", "package", "clock", "staff"):
            lab = QLabel("")
            lab.setObjectName("statusOk")
            self.fields[key] = lab
            self.addPermanentWidget(lab)
        self.set_reader("確認中", ok=None)
        self.set_printer("確認中", ok=None)
        self.set_server(None)
        self.set_package("")
        self.set_staff(None, None)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(1000)
        self._tick()

    def _set(self, key: str, text: str, ok: bool | None) -> None:
        lab = self.fields[key]
        lab.setText(text)
        # The style sheet colours by object name; re-polish so the new name takes effect.
        lab.setObjectName("statusBad" if ok is False else "statusOk")
        lab.style().unpolish(lab)
        lab.style().polish(lab)

    def set_reader(self, text: str, ok: bool | None) -> None:
        """Card reader state, e.g. 「読取機 OK」「読取機なし」."""
        self._set("reader", f"読取機：{text}", ok)

    def set_printer(self, text: str, ok: bool | None) -> None:
        """Printer state."""
        self._set("printer", f"プリンター：{text}", ok)

    def set_server(self, online: bool | None, since: datetime | None = None, pending: int = 0) -> None:
        """Server reachability: None = no server configured (standalone)."""
        if online is None:
            text, ok = "サーバー：未設定（単独）", None
        elif online:
            text, ok = "サーバー：オンライン", True
        else:
            text, ok = f"サーバー：オフライン（{format_since(since)}から）", False
        if pending:
            text += f" 未送信{pending}件"
        self._set("server", text, ok)

    def set_package(self, short_hash: str) -> None:
        """The package hash every kiosk and the server compare (short form)."""
        self._set("package", f"データ：{short_hash}" if short_hash else "データ：未読込", None)

    def set_staff(self, staff_id: str | None, role_label: str | None) -> None:
        """Who is signed in (id and role; not the name, which the sign-in screen already showed)."""
        self._set("staff", f"係員：{staff_id}（{role_label}）" if staff_id else "係員：未サインイン", bool(staff_id))

    def set_skew(self, skew: timedelta | None) -> None:
        """Clock difference to the server, shown next to the clock; over 30 s is flagged."""
        self._skew = skew
        self._tick()

    def _tick(self) -> None:
        text = self._now().astimezone(JST).strftime("%H:%M:%S")
        ok: bool | None = None
        if self._skew is not None:
            seconds = self._skew.total_seconds()
            text += f"（時刻差 {seconds:+.1f}秒）"
            ok = abs(seconds) <= 30
        self._set("clock", text, ok)
