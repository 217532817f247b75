"""The 宣誓書 (early-voting declaration, 公職選挙法施行令49条の8) as a PDF.

There is no national form: each committee designs its own, so the title, the heading sentence, the elections listed and
the paper size come from the package's ``DeclarationLayout``. The six 事由 are always printed in the exact wording of
法48条の2第1項 (``ballots.events.REASONS``). A form is either pre-filled from the register (the voter only signs;
the reason chosen at the desk is circled) or blank for handwriting (the voter writes and circles a number).

The page is designed on A4 in millimetres and scaled down for A5 (both are ISO sizes with the same aspect ratio), so
the two papers can never drift apart in layout.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from xml.sax.saxutils import escape

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from ballots.events import REASONS
from ballots.fonts import GOTHIC, MINCHO, register_fonts
from ballots.model import DeclarationLayout, Election, ElectionDefinition, Station, Voter
from ballots.wareki import format_wareki

__all__ = ["JST", "DeclarationError", "DeclarationForm", "draw_declaration", "render_declaration"]

JST = timezone(timedelta(hours=9), "JST")  # Japan keeps no daylight saving time, so a fixed offset is exact
_PAGE_W_MM = 210.0
_PAGE_H_MM = 297.0
_GREY = Color(0.45, 0.45, 0.45)
_RED = Color(0.75, 0.05, 0.05)
_BLANK_DATE = "令和　　　年　　　月　　　日"


class DeclarationError(ValueError):
    """The declaration cannot be made from what was given; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class DeclarationForm:
    """Everything printed on one 宣誓書. Build it with ``DeclarationForm.build`` (which validates)."""

    title: str
    heading: str
    paper: str
    committee_name: str
    elections: tuple[Election, ...]
    election_day: date
    voting_date: date | None
    reason: int | None
    voter: Voter | None  # None: blank for handwriting
    precinct_label: str
    station_name: str
    reprint: bool
    printed_at: datetime

    @classmethod
    def build(
        cls,
        definition: ElectionDefinition,
        *,
        voter: Voter | None,
        voting_date: date | None,
        reason: int | None = None,
        station: Station | None = None,
        reprint: bool = False,
        layout: DeclarationLayout | None = None,
        printed_at: datetime | None = None,
    ) -> DeclarationForm:
        """Check the inputs against the package and gather what the form shows; raise DeclarationError if wrong."""
        layout = layout or definition.declaration
        if layout.paper not in ("A4", "A5"):
            raise DeclarationError(f"declaration.paper: {layout.paper!r} is not A4 or A5")
        if reason is not None and reason not in REASONS:
            raise DeclarationError(f"reason: {reason!r} is not one of the 事由 1..6")
        if voting_date is not None and voting_date >= definition.election_day:
            raise DeclarationError(
                f"voting_date: {voting_date.isoformat()} is not before the election day "
                f"{definition.election_day.isoformat()} (a 宣誓書 is for early voting)"
            )
        ids = layout.elections or tuple(e.id for e in definition.ordered_elections())
        elections = []
        for eid in ids:
            try:
                elections.append(definition.election(eid))
            except KeyError:
                raise DeclarationError(f"declaration.elections: unknown election {eid!r}") from None
        elections.sort(key=lambda e: e.order)
        shown_voter = voter if layout.prefill else None
        precinct_label = ""
        if shown_voter is not None:
            try:
                precinct = definition.precinct(shown_voter.precinct)
            except KeyError:
                raise DeclarationError(
                    f"voter {shown_voter.code}: 投票区 {shown_voter.precinct!r} is not in the election package"
                ) from None
            precinct_label = f"{precinct.code}　{precinct.name}"
        at = printed_at or datetime.now(UTC)
        if at.tzinfo is None:
            raise DeclarationError("printed_at: must be timezone-aware")
        return cls(
            title=layout.title,
            heading=layout.heading,
            paper=layout.paper,
            committee_name=definition.committee_name,
            elections=tuple(elections),
            election_day=definition.election_day,
            voting_date=voting_date,
            reason=reason,
            voter=shown_voter,
            precinct_label=precinct_label,
            station_name=station.name if station else "",
            reprint=reprint,
            printed_at=at,
        )


def render_declaration(
    definition: ElectionDefinition,
    *,
    voter: Voter | None,
    voting_date: date | None,
    reason: int | None = None,
    station: Station | None = None,
    reprint: bool = False,
    layout: DeclarationLayout | None = None,
    printed_at: datetime | None = None,
) -> bytes:
    """The 宣誓書 as PDF bytes, IPAex embedded.

    ``voter`` None (or a layout with ``prefill = false``) prints the form blank for handwriting. ``reason`` is the 事由
    chosen at the desk (1..6), circled on the form; None leaves the numbers for the voter to circle. ``reprint`` marks
    the form 再印刷 so a second copy can never pass for the first. ``layout`` overrides the package's design.
    """
    form = DeclarationForm.build(
        definition,
        voter=voter,
        voting_date=voting_date,
        reason=reason,
        station=station,
        reprint=reprint,
        layout=layout,
        printed_at=printed_at,
    )
    return draw_declaration(form)


def draw_declaration(form: DeclarationForm) -> bytes:
    """Lay out an already validated form on one page and return the PDF."""
    register_fonts()
    pagesize = A4 if form.paper == "A4" else A5
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=pagesize, pageCompression=1, invariant=True, initialFontName=GOTHIC, initialFontSize=10)
    c.setTitle(form.title + ("（再印刷）" if form.reprint else ""))
    c.setAuthor(form.committee_name)
    c.setCreator("Uketsuke")
    scale = pagesize[0] / (_PAGE_W_MM * mm)
    c.scale(scale, scale)
    _Page(c, form).draw()
    c.showPage()
    c.save()
    return buf.getvalue()


class _Page:
    """Draws on A4 millimetre coordinates measured from the top-left corner, as a form designer would."""

    LEFT = 18.0
    RIGHT = _PAGE_W_MM - 18.0

    def __init__(self, c: Canvas, form: DeclarationForm) -> None:
        self.c = c
        self.f = form
        self.width = self.RIGHT - self.LEFT

    # -- primitives ------------------------------------------------------------------------------------------------
    def _y(self, top_mm: float) -> float:
        return (_PAGE_H_MM - top_mm) * mm

    def text(self, x: float, top: float, s: str, size: float, font: str = MINCHO, align: str = "left") -> None:
        self.c.setFont(font, size)
        if align == "center":
            self.c.drawCentredString(x * mm, self._y(top), s)
        elif align == "right":
            self.c.drawRightString(x * mm, self._y(top), s)
        else:
            self.c.drawString(x * mm, self._y(top), s)

    def rect(self, x: float, top: float, w: float, h: float, width: float = 0.6) -> None:
        self.c.setLineWidth(width)
        self.c.rect(x * mm, self._y(top + h), w * mm, h * mm)

    def hline(self, x1: float, x2: float, top: float, width: float = 0.5) -> None:
        self.c.setLineWidth(width)
        self.c.line(x1 * mm, self._y(top), x2 * mm, self._y(top))

    def vline(self, x: float, top: float, bottom: float, width: float = 0.5) -> None:
        self.c.setLineWidth(width)
        self.c.line(x * mm, self._y(top), x * mm, self._y(bottom))

    def paragraph(self, x: float, top: float, width: float, s: str, size: float, font: str = MINCHO) -> float:
        """Wrap Japanese text (CJK line breaking, so no word is needed to break on); return its height in mm."""
        style = ParagraphStyle("p", fontName=font, fontSize=size, leading=size * 1.45, wordWrap="CJK")
        p = Paragraph(escape(s), style)
        _, h = p.wrapOn(self.c, width * mm, 200 * mm)
        p.drawOn(self.c, x * mm, self._y(top) - h)
        return float(h) / mm

    # -- the form ----------------------------------------------------------------------------------------------------
    def draw(self) -> None:
        f = self.f
        if f.reprint:
            self._reprint_stamp()
        self.text(_PAGE_W_MM / 2, 26, f.title, 22, GOTHIC, align="center")
        top = self._elections(34)
        top += 3
        top += self.paragraph(self.LEFT, top, self.width, f.heading, 11.5)
        top += 4
        self.text(self.RIGHT, top + 4, "宣誓年月日　" + _date_or_blank(f.voting_date), 11.5, align="right")
        top = self._reasons(top + 10)
        top = self._voter(top + 6)
        top = self._signature(top + 5)
        self.text(self.LEFT, top + 9, f"{f.committee_name}委員長　様", 12.5)
        self._office_box(top + 16)
        footer = f"印刷　{format_wareki(f.printed_at.astimezone(JST).date())} {f.printed_at.astimezone(JST):%H:%M}"
        if f.station_name:
            footer = f"{f.station_name}　" + footer
        self.c.setFillColor(_GREY)
        self.text(self.RIGHT, _PAGE_H_MM - 8, footer, 7.5, GOTHIC, align="right")
        self.c.setFillColor(black)

    def _reprint_stamp(self) -> None:
        self.c.saveState()
        self.c.setStrokeColor(_RED)
        self.c.setFillColor(_RED)
        self.rect(self.RIGHT - 30, 9, 30, 10, width=1.4)
        self.text(self.RIGHT - 15, 16.5, "再印刷", 14, GOTHIC, align="center")
        self.c.restoreState()

    def _elections(self, top: float) -> float:
        """The election names (real forms list up to 9) with the election day; more than four go in two columns so
        the page never overflows."""
        f = self.f
        columns = 2 if len(f.elections) > 4 else 1
        rows = -(-len(f.elections) // columns)
        row_h = 7.0 if columns == 1 else 6.0
        size = 11.5 if columns == 1 else 10.0
        h = row_h * rows + 2
        label_w = 28.0
        col_w = (self.width - label_w) / columns
        self.rect(self.LEFT, top, self.width, h + 7.0)
        self.vline(self.LEFT + label_w, top, top + h + 7.0)
        self.text(self.LEFT + label_w / 2, top + h / 2 + 2, "選挙の名称", 10.5, GOTHIC, align="center")
        for i, e in enumerate(f.elections):
            x = self.LEFT + label_w + 4 + (i // rows) * col_w
            self.text(x, top + row_h - 1 + (i % rows) * row_h, e.name, size)
        self.hline(self.LEFT, self.RIGHT, top + h)
        self.text(self.LEFT + label_w / 2, top + h + 5, "選挙期日", 10.5, GOTHIC, align="center")
        self.text(self.LEFT + label_w + 4, top + h + 5, format_wareki(f.election_day), 11.5)
        return top + h + 7.0

    def _reasons(self, top: float) -> float:
        f = self.f
        if f.reason is None:
            caption = "事由（該当する番号を一つ○で囲んでください）"
        else:
            caption = "事由（申し立てた番号に○を付しています）"
        self.text(self.LEFT, top, caption, 10.5, GOTHIC)
        top += 2.5
        num_w = 12.0
        mark_w = 12.0
        text_x = self.LEFT + num_w + mark_w
        start = top
        for n, wording in REASONS.items():
            # Measure first: the long item 3 wraps onto two or three lines.
            h = self.paragraph(text_x + 2, top + 1.8, self.RIGHT - text_x - 4, wording, 10) + 3.6
            h = max(h, 9.0)
            self.text(self.LEFT + num_w / 2, top + h / 2 + 1.6, str(n), 13, GOTHIC, align="center")
            if f.reason == n:
                self.c.setLineWidth(1.2)
                self.c.circle((self.LEFT + num_w / 2) * mm, self._y(top + h / 2), 4.2 * mm)
                self.text(self.LEFT + num_w + mark_w / 2, top + h / 2 + 1.4, "該当", 9, GOTHIC, align="center")
            self.hline(self.LEFT, self.RIGHT, top + h)
            top += h
        self.rect(self.LEFT, start, self.width, top - start)
        self.vline(self.LEFT + num_w, start, top)
        self.vline(text_x, start, top)
        return top

    def _voter(self, top: float) -> float:
        """住所・カナ・氏名・生年月日: printed from the register, or empty cells to write in."""
        v = self.f.voter
        label_w = 28.0
        rows: list[tuple[str, str, float]] = [
            ("住所", _address(v) if v else "", 14.0),
            ("フリガナ", v.kana if v else "", 7.5),
            ("氏名", v.name if v else "", 12.0),
            ("生年月日", format_wareki(v.birth_date) if v else "明治・大正・昭和・平成　　　年　　　月　　　日", 9.0),
        ]
        start = top
        for label, value, h in rows:
            self.text(self.LEFT + label_w / 2, top + h / 2 + 1.6, label, 10.5, GOTHIC, align="center")
            if label == "住所" and value:
                self.paragraph(self.LEFT + label_w + 3, top + 2.2, self.width - label_w - 6, value, 11)
            elif value:
                size = 15.0 if label == "氏名" else 10.5
                font = MINCHO if label != "フリガナ" else GOTHIC
                self.text(self.LEFT + label_w + 4, top + h / 2 + size * 0.13, value, size, font)
            top += h
            self.hline(self.LEFT, self.RIGHT, top)
        self.rect(self.LEFT, start, self.width, top - start)
        self.vline(self.LEFT + label_w, start, top)
        return top

    def _signature(self, top: float) -> float:
        label_w = 28.0
        h = 16.0
        self.rect(self.LEFT, top, self.width, h, width=0.9)
        self.vline(self.LEFT + label_w, top, top + h)
        self.text(self.LEFT + label_w / 2, top + 7, "署名", 10.5, GOTHIC, align="center")
        self.text(self.LEFT + label_w / 2, top + 12, "（自署）", 8.5, GOTHIC, align="center")
        self.c.setFillColor(_GREY)
        self.text(
            self.RIGHT - 2, top + h - 2, "上記の事由に該当する見込みであることに相違ありません。", 7.5, align="right"
        )
        self.c.setFillColor(black)
        return top + h

    def _office_box(self, top: float) -> None:
        """事務処理欄: filled by the kiosk from the register, or left for the clerk."""
        f = self.f
        v = f.voter
        cells: Sequence[tuple[str, str]] = (
            ("投票区", f.precinct_label),
            ("名簿", f"第{v.volume}冊　{v.page}頁　{v.line}行" if v else "第　　冊　　頁　　行"),
            ("識別コード", v.code if v else ""),
            ("受付", f.station_name),
        )
        self.text(self.LEFT, top, "※事務処理欄（記入しないでください）", 8.5, GOTHIC)
        top += 2
        h = 8.0
        label_w = 20.0
        col_w = self.width / 2
        for i, (label, value) in enumerate(cells):
            x = self.LEFT + (i % 2) * col_w
            t = top + (i // 2) * h
            self.rect(x, t, col_w, h, width=0.4)
            self.vline(x + label_w, t, t + h, width=0.4)
            self.text(x + label_w / 2, t + 5.3, label, 8.5, GOTHIC, align="center")
            if value:
                self.text(x + label_w + 2.5, t + 5.3, value, 9, GOTHIC)


def _address(v: Voter) -> str:
    return f"{v.address}　{v.address_extra}" if v.address_extra else v.address


def _date_or_blank(d: date | None) -> str:
    return format_wareki(d) if d else _BLANK_DATE
