"""照合番号B (collation number B): the one place that knows how it is formed.

14 ASCII digits: the birth date as era YYMMDD (昭和55年2月17日 → ``550217``), the card's expiry year
(Gregorian, 4 digits) and the 4-digit security code printed on the card face. One source claims the birth
date is Gregorian YYYYMMDD instead; the majority, confirmed on a test card, is the era form. Which form is
used is ``BIRTH_FORM`` — one constant. How the number is formed for foreign residents (whose cards print
Gregorian dates) is unverified: asking for it raises ``CollationUnverifiedError`` rather than guessing and
spending one of the voter's tries.
"""

from __future__ import annotations

import enum
from datetime import date

from reader.transport import ReaderError

__all__ = [
    "BIRTH_FORM",
    "BirthForm",
    "CollationInputError",
    "CollationUnverifiedError",
    "build_collation_b",
    "era_yymmdd",
]


class BirthForm(enum.Enum):
    """How the birth date appears in 照合番号B."""

    ERA_YYMMDD = "era-yymmdd"  # majority of sources, confirmed on a test card
    GREGORIAN_YYYYMMDD = "yyyymmdd"  # one source


# The uncertain value, in one place (see the module docstring).
BIRTH_FORM = BirthForm.ERA_YYMMDD

# Era first days, newest first. The reader may not import ballots.wareki (layering), so it keeps this small table.
_ERA_STARTS: tuple[tuple[str, date], ...] = (
    ("令和", date(2019, 5, 1)),
    ("平成", date(1989, 1, 8)),
    ("昭和", date(1926, 12, 25)),
    ("大正", date(1912, 7, 30)),
    ("明治", date(1868, 1, 25)),
)


class CollationInputError(ReaderError, ValueError):
    """An input to 照合番号B is malformed (says which one and why)."""


class CollationUnverifiedError(ReaderError):
    """The form of 照合番号B for this card is not verified; the PIN path must be used instead."""


def era_yymmdd(d: date) -> str:
    """Era year (2 digits), month and day: 昭和55年2月17日 → ``550217``, 令和元年5月1日 → ``010501``."""
    for _name, start in _ERA_STARTS:
        if d >= start:
            return f"{d.year - start.year + 1:02d}{d.month:02d}{d.day:02d}"
    raise CollationInputError(f"birth date {d.isoformat()} is before the 明治 era")


def build_collation_b(
    birth_date: date,
    expiry_year: int,
    security_code: str,
    *,
    foreign_resident: bool = False,
    form: BirthForm = BIRTH_FORM,
) -> str:
    """照合番号B from the birth date, the card's expiry year and the security code.

    Raises ``CollationInputError`` for a malformed security code or expiry year and ``CollationUnverifiedError`` for a
    foreign resident's card.
    """
    if foreign_resident:
        raise CollationUnverifiedError(
            "how 照合番号B is formed on a foreign resident's card is not verified; use the voter's PIN instead"
        )
    code = security_code.strip()
    if len(code) != 4 or not code.isascii() or not code.isdigit():
        raise CollationInputError(f"security code must be 4 digits, got {len(code)} characters")
    if not 2000 <= expiry_year <= 2099:
        raise CollationInputError(f"expiry year must be between 2000 and 2099, got {expiry_year}")
    birth = era_yymmdd(birth_date) if form is BirthForm.ERA_YYMMDD else birth_date.strftime("%Y%m%d")
    return f"{birth}{expiry_year:04d}{code}"
