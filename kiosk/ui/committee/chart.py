"""Turnout by hour as a bar chart drawn with QPainter (QtCharts is not part of PySide6-Essentials).

Bars are the voters checked in during each JST hour, 男 and 女 stacked (voters the register does not know on top);
a line shows the cumulative total against the right-hand axis, which is what the committee publishes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ballots.reports import SexCounts

__all__ = ["TurnoutChart"]

MALE = QColor("#2b6cb0")
FEMALE = QColor("#c05621")
UNKNOWN = QColor("#718096")
LINE = QColor("#1a202c")


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^n)."""
    if value <= 5:
        return 5
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


class TurnoutChart(QWidget):
    """Hourly bars (男/女 stacked) between ``first_hour`` and ``last_hour`` and the cumulative line."""

    def __init__(self, parent: QWidget | None = None, *, first_hour: int = 6, last_hour: int = 20) -> None:
        super().__init__(parent)
        self.setObjectName("turnoutChart")
        self.setMinimumHeight(260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._first, self._last = first_hour, last_hour
        self._hours: list[SexCounts] = [SexCounts() for _ in range(24)]
        self._title = ""

    def set_data(self, hours: Sequence[SexCounts], title: str) -> None:
        """Show 24 hourly counts (index = JST hour); widens the hour range if voters came outside it."""
        if len(hours) != 24:
            raise ValueError(f"TurnoutChart.set_data: expected 24 hourly counts, got {len(hours)}")
        self._hours = list(hours)
        busy = [h for h, c in enumerate(hours) if c.total]
        self._first = min([6, *busy])
        self._last = max([20, *busy])
        self._title = title
        self.update()

    def hours_shown(self) -> range:
        """The JST hours drawn, in order."""
        return range(self._first, self._last + 1)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Axes, stacked bars, cumulative line, legend."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        font = QFont(self.font())
        font.setPixelSize(13)
        p.setFont(font)
        hours = list(self.hours_shown())
        left, right, top, bottom = 56.0, 64.0, 34.0, 36.0
        plot = QRectF(left, top, max(10.0, self.width() - left - right), max(10.0, self.height() - top - bottom))
        peak = _nice_max(max((self._hours[h].total for h in hours), default=0))
        running, cumulative = 0, []
        for h in range(24):
            running += self._hours[h].total
            if h in hours:
                cumulative.append(running)
        cum_peak = _nice_max(max(cumulative, default=0))

        p.setPen(QPen(QColor("#1a202c")))
        p.drawText(QRectF(0, 4, self.width(), 24), Qt.AlignmentFlag.AlignHCenter, self._title)
        grid = QPen(QColor("#e2e8f0"))
        # Both maxima are 1, 2 or 5 × 10^n and at least 5, so five divisions always fall on whole numbers.
        for i in range(6):
            y = plot.bottom() - plot.height() * i / 5
            p.setPen(grid)
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(QPen(QColor("#4a5568")))
            p.drawText(QRectF(0, y - 9, left - 6, 18), Qt.AlignmentFlag.AlignRight, str(peak * i // 5))
            p.drawText(
                QRectF(plot.right() + 6, y - 9, right - 6, 18), Qt.AlignmentFlag.AlignLeft, str(cum_peak * i // 5)
            )
        slot = plot.width() / max(1, len(hours))
        bar = slot * 0.62
        for i, h in enumerate(hours):
            c = self._hours[h]
            x = plot.left() + i * slot + (slot - bar) / 2
            y = plot.bottom()
            for n, colour in ((c.male, MALE), (c.female, FEMALE), (c.unknown, UNKNOWN)):
                if not n:
                    continue
                hgt = plot.height() * n / peak
                p.fillRect(QRectF(x, y - hgt, bar, hgt), colour)
                y -= hgt
            p.setPen(QPen(QColor("#4a5568")))
            p.drawText(
                QRectF(plot.left() + i * slot, plot.bottom() + 4, slot, 18), Qt.AlignmentFlag.AlignHCenter, f"{h}"
            )
        p.drawText(QRectF(plot.left(), plot.bottom() + 18, plot.width(), 18), Qt.AlignmentFlag.AlignHCenter, "時")
        line = QPen(LINE, 2)
        p.setPen(line)
        points = [
            QPointF(plot.left() + (i + 1) * slot - slot / 2, plot.bottom() - plot.height() * v / cum_peak)
            for i, v in enumerate(cumulative)
        ]
        for a, b in itertools.pairwise(points):
            p.drawLine(a, b)
        # legend
        x = plot.left()
        for label, colour in (("男", MALE), ("女", FEMALE), ("不明", UNKNOWN)):
            p.fillRect(QRectF(x, 10, 12, 12), colour)
            p.setPen(QPen(QColor("#1a202c")))
            p.drawText(QPointF(x + 16, 21), label)
            x += 56
        p.setPen(line)
        p.drawLine(QPointF(x, 16), QPointF(x + 18, 16))
        p.setPen(QPen(QColor("#1a202c")))
        p.drawText(QPointF(x + 22, 21), "累計（右目盛）")
        p.end()
