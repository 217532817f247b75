"""The paper backup: a "voted so far" list the station prints on demand, so it can carry on by hand if terminals fail.

One line per voter who has a standing check-in, in register order (投票区, 冊, 頁, 行) — the order of the paper
register the clerks would fall back to — with the elections voted, when and where. An election-day station's list
holds the voters of its own 投票区 (including those who voted early elsewhere: exactly what it must not miss);
an early-voting station's list holds everyone.

Pages are drawn directly on the canvas with a fixed row height: a list of tens of thousands of voters must come out in
seconds, which reportlab's general table layout does not manage.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ballots.events import Event, EventType
from ballots.fonts import GOTHIC, register_fonts
from ballots.issuance import JST, apply_voids, find_conflicts
from ballots.model import ElectionDefinition, Voter
from ballots.wareki import format_wareki

__all__ = ["RegisterLookup", "VotedLine", "paper_backup_pdf", "voted_list_pdf", "voted_so_far"]

_ROWS_PER_PAGE = 32


class RegisterLookup(Protocol):
    """Anything that finds a register entry by key: ``ballots.register.RegisterIndex`` is one."""

    def by_code(self, code: str) -> Voter | None:
        """The entry with this 識別コード, or None."""
        ...


_STRIPE = Color(0.93, 0.93, 0.93)


@dataclass(frozen=True, slots=True)
class VotedLine:
    """One voter on the list. ``voter`` is None when the register does not know the key (listed last, flagged)."""

    code: str
    voter: Voter | None
    elections: tuple[str, ...]  # short names, in ballot order
    last_at: datetime
    stations: tuple[str, ...]
    conflict: bool


def voted_so_far(
    events: Iterable[Event],
    definition: ElectionDefinition,
    lookup: Callable[[str], Voter | None],
    *,
    station_id: str | None = None,
    as_of: datetime | None = None,
) -> list[VotedLine]:
    """Voters with a standing check-in up to ``as_of``, in register order, for ``station_id``'s scope.

    ``lookup`` finds a register entry by key (``RegisterIndex.by_code`` or ``dict.get``); it may return None or raise
    KeyError (or ValueError, for a malformed key) for a key it does not know.
    """
    scope = definition.precinct_scope(station_id)
    order = {e.id: e.order for e in definition.elections}
    short = {e.id: e.short_name for e in definition.elections}
    active = apply_voids(e for e in events if as_of is None or e.at <= as_of).events
    conflicts = {voter for voter, _ in find_conflicts(active)}
    by_voter: dict[str, list[Event]] = defaultdict(list)
    for ev in active:
        if ev.type is EventType.CHECK_IN and ev.voter and ev.election:
            by_voter[ev.voter].append(ev)
    lines = []
    for code, evs in by_voter.items():
        try:
            voter = lookup(code)
        except (KeyError, ValueError):  # RegisterIndex.by_code raises ValueError for a malformed key
            voter = None
        if scope is not None and (voter is None or voter.precinct not in scope):
            continue
        elections = sorted({e.election or "" for e in evs}, key=lambda eid: order.get(eid, 99))
        lines.append(
            VotedLine(
                code=code,
                voter=voter,
                elections=tuple(short.get(eid, eid) for eid in elections),
                last_at=max(e.at for e in evs),
                stations=tuple(dict.fromkeys(e.station_id for e in evs)),
                conflict=code in conflicts,
            )
        )

    def key(line: VotedLine) -> tuple[int, str, int, int, int, str]:
        v = line.voter
        if v is None:
            return (1, "", 0, 0, 0, line.code)
        return (0, v.precinct, v.volume, v.page, v.line, line.code)

    return sorted(lines, key=key)


def voted_list_pdf(
    events: Iterable[Event],
    definition: ElectionDefinition,
    lookup: Callable[[str], Voter | None],
    *,
    station_id: str | None = None,
    as_of: datetime | None = None,
) -> bytes:
    """The "voted so far" list as a PDF (A4 landscape, IPAex embedded, a header and page number on every page)."""
    register_fonts()
    moment = as_of or datetime.now(UTC)
    lines = voted_so_far(events, definition, lookup, station_id=station_id, as_of=moment)
    station_names = {s.id: s.name for s in definition.stations}
    where = station_names.get(station_id or "", "全投票所") if station_id else "全投票所"
    local = moment.astimezone(JST)
    stamp = f"{format_wareki(local.date())} {local:%H:%M} 現在"
    pages = max(1, -(-len(lines) // _ROWS_PER_PAGE))

    buf = io.BytesIO()
    size = landscape(A4)
    c = Canvas(buf, pagesize=size, pageCompression=1, invariant=True, initialFontName=GOTHIC)
    c.setTitle(f"投票済者一覧 {where}")
    width, height = size
    left, right = 10 * mm, width - 10 * mm
    columns = [  # (header, x offset in mm)
        ("投票区", 0),
        ("冊", 16),
        ("頁", 26),
        ("行", 37),
        ("氏名", 47),
        ("カナ", 97),
        ("投票済の選挙", 145),
        ("最終受付", 200),
        ("投票所", 225),
    ]
    row_h = 5.4 * mm
    for page in range(pages):
        c.setFont(GOTHIC, 14)
        c.drawString(left, height - 14 * mm, f"投票済者一覧（{where}）")
        c.setFont(GOTHIC, 9)
        c.drawRightString(right, height - 14 * mm, f"{definition.municipality_name}　{stamp}")
        c.drawString(
            left,
            height - 20 * mm,
            f"選挙期日 {format_wareki(definition.election_day)}　投票済 {len(lines)}人　"
            "※端末停止時の控え。名簿順（投票区・冊・頁・行）。＊は二重交付の疑い。",
        )
        top = height - 27 * mm
        c.setFont(GOTHIC, 8.5)
        for label, x in columns:
            c.drawString(left + x * mm, top, label)
        c.setLineWidth(0.6)
        c.line(left, top - 1.8 * mm, right, top - 1.8 * mm)
        y = top - 1.8 * mm
        for i, line in enumerate(lines[page * _ROWS_PER_PAGE : (page + 1) * _ROWS_PER_PAGE]):
            if i % 2:
                c.setFillColor(_STRIPE)
                c.rect(left, y - row_h, right - left, row_h, stroke=0, fill=1)
                c.setFillColorRGB(0, 0, 0)
            baseline = y - row_h + 1.6 * mm
            v = line.voter
            cells = [
                v.precinct if v else "？",
                str(v.volume) if v else "",
                str(v.page) if v else "",
                str(v.line) if v else "",
                (v.name if v else f"名簿にない番号 {line.code}") + ("＊" if line.conflict else ""),
                v.kana if v else "",
                "・".join(line.elections),
                f"{line.last_at.astimezone(JST):%m/%d %H:%M}",
                "・".join(station_names.get(s, s) for s in line.stations),
            ]
            c.setFont(GOTHIC, 9)
            for (_, x), text in zip(columns, cells, strict=True):
                c.drawString(left + x * mm, baseline, text)
            y -= row_h
        if not lines:
            c.drawString(left, y - row_h, "投票済の選挙人はいません。")
        c.setFont(GOTHIC, 7.5)
        c.drawRightString(right, 7 * mm, f"{page + 1} / {pages}頁")
        c.showPage()
    c.save()
    return buf.getvalue()


def paper_backup_pdf(
    definition: ElectionDefinition,
    register: RegisterLookup,
    events: Iterable[Event],
    *,
    station_id: str | None = None,
    as_of: datetime | None = None,
) -> bytes:
    """``voted_list_pdf`` for a caller holding the register object (the kiosk's "print the paper backup" button)."""
    return voted_list_pdf(events, definition, register.by_code, station_id=station_id, as_of=as_of)
