"""Japanese era (和暦) dates: display for voters and clerks, parsing of era dates typed at the desk."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

__all__ = ["ERAS", "Era", "WarekiError", "era_of", "era_yymmdd", "format_wareki", "parse_wareki"]


@dataclass(frozen=True, slots=True)
class Era:
    """One era: its kanji name, one-letter abbreviation and first day."""

    name: str
    letter: str
    start: date


# Newest first, so the first era whose start is on or before a date is that date's era.
ERAS: tuple[Era, ...] = (
    Era("令和", "R", date(2019, 5, 1)),
    Era("平成", "H", date(1989, 1, 8)),
    Era("昭和", "S", date(1926, 12, 25)),
    Era("大正", "T", date(1912, 7, 30)),
    Era("明治", "M", date(1868, 1, 25)),
)


class WarekiError(ValueError):
    """A date that cannot be expressed or parsed as an era date."""


def era_of(d: date) -> tuple[Era, int]:
    """Return the era of ``d`` and the year within it (1 for the first year, 元年)."""
    for era in ERAS:
        if d >= era.start:
            return era, d.year - era.start.year + 1
    raise WarekiError(f"{d.isoformat()} is before 明治")


def format_wareki(d: date, *, gannen: bool = True, with_gregorian: bool = False) -> str:
    """Format as 令和7年11月27日 (元年 for year 1 unless ``gannen`` is false)."""
    era, year = era_of(d)
    y = "元" if (year == 1 and gannen) else str(year)
    text = f"{era.name}{y}年{d.month}月{d.day}日"
    if with_gregorian:
        text += f"（{d.year}年）"
    return text


def era_yymmdd(d: date) -> str:
    """The 6-digit era date used in 照合番号B: era year (2 digits), month, day; e.g. 昭和55年2月17日 → 550217."""
    _, year = era_of(d)
    return f"{year:02d}{d.month:02d}{d.day:02d}"


_ERA_BY_KEY = {e.name: e for e in ERAS} | {e.letter: e for e in ERAS} | {e.letter.lower(): e for e in ERAS}
_PATTERN = re.compile(
    r"^\s*(?P<era>明治|大正|昭和|平成|令和|[MTSHRmtshr])\.?\s*(?P<y>元|\d{1,2})\s*[年./-]\s*(?P<m>\d{1,2})\s*[月./-]\s*"
    r"(?P<d>\d{1,2})\s*日?\s*$"
)


def parse_wareki(text: str) -> date:
    """Parse 昭和55年2月17日, S55.2.17, H1-1-8 or 令和元年5月1日; the date must lie inside the named era."""
    m = _PATTERN.match(unicodedata.normalize("NFKC", text))
    if not m:
        raise WarekiError(f"not an era date: {text!r}")
    era = _ERA_BY_KEY[m["era"]]
    year = 1 if m["y"] == "元" else int(m["y"])
    if year < 1:
        raise WarekiError(f"era year must be 1 or more: {text!r}")
    try:
        d = date(era.start.year + year - 1, int(m["m"]), int(m["d"]))
    except ValueError as exc:
        raise WarekiError(f"impossible date {text!r}: {exc}") from None
    if era_of(d)[0] is not era:
        raise WarekiError(f"{text!r} is outside the {era.name} era")
    return d
