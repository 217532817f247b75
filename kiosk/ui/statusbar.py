"""The status bar: reader, printer, server (online / offline since, pending), package hash, clock and skew, staff.

Every field stays readable at any window width: the fields share one row when it is wide enough and flow into more
rows when it is not (a 1024 px window shows two), and a field too long even for a row of its own — a printer queue's
long name — is drawn shortened with "…" and keeps its whole text in its tooltip. Nothing is cut off silently.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QLayout, QLayoutItem, QStatusBar, QWidget

from ballots.rules import JST

__all__ = ["FieldRowsLayout", "KioskStatusBar", "StatusField", "format_since"]


def format_since(t: datetime | None) -> str:
    """Japan time for "since" texts (HH:MM): polling stations run on JST whatever the terminal's zone."""
    return "" if t is None else t.astimezone(JST).strftime("%H:%M")


class StatusField(QLabel):
    """One status-bar field. ``text()`` is always the whole text; when the field is narrower than that text, it is
    drawn shortened with "…" (``shown_text()``) and the whole text is its tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)

    def set_field(self, text: str) -> None:
        """Set the whole text (use this, not setText, so the tooltip follows)."""
        self.setText(text)
        self.refresh()

    def needed_width(self) -> int:
        """Pixels the whole text needs in the current font."""
        return self.fontMetrics().horizontalAdvance(self.text())

    def is_elided(self) -> bool:
        """True when the field is narrower than its whole text (it is drawn shortened)."""
        return self.needed_width() > self.contentsRect().width()

    def shown_text(self) -> str:
        """The text as drawn: the whole text, or its shortened form ending in "…"."""
        if not self.is_elided():
            return self.text()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def refresh(self) -> None:
        """Keep the tooltip in step with the width and font: the whole text exactly when it is shortened."""
        self.setToolTip(self.text() if self.is_elided() else "")
        self.update()

    def minimumSizeHint(self) -> QSize:
        # A field may be narrower than its text (it elides); the layout gives it its full width whenever there is room.
        hint = super().minimumSizeHint()
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance("…") * 3 + margins.left() + margins.right()
        return QSize(min(width, hint.width()), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.updateGeometry()
            self.refresh()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.is_elided():
            super().paintEvent(event)
            return
        # As QLabel paints plain text (frame and style-sheet background, then the text), with the shortened text.
        painter = QPainter(self)
        self.drawFrame(painter)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment().value),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            self.foregroundRole(),
        )
        painter.end()


class FieldRowsLayout(QLayout):
    """Widgets in order in as few right-aligned rows as their preferred widths allow (see ``rows``); a widget wider
    than a whole row gets the row's width (a StatusField then elides). Height follows the width (heightForWidth)."""

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 14, row_spacing: int = 2) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._hspacing = spacing
        self._vspacing = row_spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation.Horizontal

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), place=False)

    def sizeHint(self) -> QSize:
        # Preferred: everything on one row.
        visible = self._visible()
        width = sum(i.sizeHint().width() for i in visible) + self._hspacing * max(0, len(visible) - 1)
        return self._with_margins(QSize(width, self._row_height(visible)))

    def minimumSize(self) -> QSize:
        # Any width works (more rows, then eliding); the height is one row's, heightForWidth gives the rest.
        visible = self._visible()
        width = max((i.minimumSize().width() for i in visible), default=0)
        return self._with_margins(QSize(width, self._row_height(visible)))

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, place=True)

    def rows(self, width: int) -> list[list[QLayoutItem]]:
        """The visible items per row at ``width`` (contents width, without margins): as few rows as the items need
        in order, split so that the widest row is as narrow as it can be (rows of even length read steadier than a
        full row above a lone field)."""
        items = self._visible()
        if not items:
            return []
        widths = [i.sizeHint().width() for i in items]

        def span(a: int, b: int) -> int:  # the width of items a..b-1 on one row
            return sum(widths[a:b]) + self._hspacing * (b - a - 1)

        def fits(a: int, b: int) -> bool:
            return b - a == 1 or span(a, b) <= width  # a field alone is never split (it elides instead)

        # best[k][j]: (widest row, row starts) for the first j items on k rows.
        n = len(items)
        best: list[dict[int, tuple[int, list[int]]]] = [{0: (0, [])}]
        while n not in best[-1]:
            layer: dict[int, tuple[int, list[int]]] = {}
            for a, (widest, starts) in best[-1].items():
                for b in range(a + 1, n + 1):
                    if not fits(a, b):
                        break
                    candidate = (max(widest, span(a, b)), [*starts, a])
                    if b not in layer or candidate[0] <= layer[b][0]:  # ties: the later split, top rows fuller
                        layer[b] = candidate
            best.append(layer)
        starts = best[-1][n][1]
        return [items[a:b] for a, b in zip(starts, [*starts[1:], n], strict=True)]

    def _visible(self) -> list[QLayoutItem]:
        return [i for i in self._items if not i.isEmpty()]

    @staticmethod
    def _row_height(items: list[QLayoutItem]) -> int:
        return max((i.sizeHint().height() for i in items), default=0)

    def _with_margins(self, size: QSize) -> QSize:
        m = self.contentsMargins()
        return QSize(size.width() + m.left() + m.right(), size.height() + m.top() + m.bottom())

    def _arrange(self, rect: QRect, *, place: bool) -> int:
        """Place the items (or only measure); returns the height needed at ``rect``'s width."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        y = area.y()
        for n, row in enumerate(self.rows(area.width())):
            height = self._row_height(row)
            if n:
                y += self._vspacing
            if place:
                widths = [min(i.sizeHint().width(), area.width()) for i in row]
                x = area.right() + 1 - (sum(widths) + self._hspacing * (len(row) - 1))
                for item, w in zip(row, widths, strict=True):
                    item.setGeometry(QRect(x, y, w, height))
                    x += w + self._hspacing
            y += height
        return y - area.y() + m.top() + m.bottom()


class KioskStatusBar(QStatusBar):
    """Permanent fields, updated by the controller from core callbacks (through signals) — never polled here."""

    def __init__(self, parent: QWidget | None = None, *, now: Callable[[], datetime] | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self._now = now or (lambda: datetime.now(JST))
        self._skew: timedelta | None = None
        self.fields: dict[str, StatusField] = {}
        # One container holds every field so they can flow into a second row on a narrow window (the status bar
        # itself lays its widgets out on one line only).
        self.field_area = QWidget(self)
        self.field_area.setObjectName("statusFields")
        # The kiosk style sheet paints every plain QWidget white; this one lets the status bar's dark colour through.
        self.field_area.setStyleSheet("QWidget#statusFields { background: transparent; }")
        self.field_rows = FieldRowsLayout(self.field_area)
        self.field_rows.setContentsMargins(8, 0, 8, 0)  # the last character clear of the screen's edge
        for key in ("reader", "printer", "server", "package", "clock", "staff"):
            lab = StatusField()
            lab.setObjectName("statusOk")
            self.fields[key] = lab
            self.field_rows.addWidget(lab)
        self.addPermanentWidget(self.field_area, 1)
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
        # The style sheet colours by object name; re-polish so the new name takes effect (bold for a bad state,
        # which widens the text: set it after the polish so the width and tooltip are measured in the final font).
        lab.setObjectName("statusBad" if ok is False else "statusOk")
        lab.style().unpolish(lab)
        lab.style().polish(lab)
        lab.set_field(text)

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
