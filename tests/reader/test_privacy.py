"""The legal rule, proved from the APDU trace of every read path: the individual number is never touched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from card_support import forbidden_commands, h

from reader.outcomes import Outcome
from reader.service import CardReader, CardSession
from reader.softcard import CommonRecord, SoftwareCard
from reader.transport import Connection, Exchange, TracingTransport

BIRTH = date(1980, 2, 17)


def _photo_after_pin(s: CardSession) -> Outcome:
    s.read_with_pin("1234")
    return s.read_photo(BIRTH, "2285")


PATHS: dict[str, Callable[[CardSession], Outcome]] = {
    "pin": lambda s: s.read_with_pin("1234"),
    "wrong pin": lambda s: s.read_with_pin("9999"),
    "collation b, expiry from card": lambda s: s.read_with_collation(BIRTH, "2285"),
    "collation b, expiry typed": lambda s: s.read_with_collation(BIRTH, "2285", 2030),
    "collation b, no photo": lambda s: s.read_with_collation(BIRTH, "2285", 2030, photo=False),
    "collation b number": lambda s: s.read_with_collation_number("55021720302285"),
    "wrong collation b": lambda s: s.read_with_collation(BIRTH, "0000", 2030),
    "photo after pin": _photo_after_pin,
}


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("variant", [CommonRecord.WITH_EXPIRY, CommonRecord.LOCKED])
def test_no_path_touches_the_number(persona_path: Path, path: str, variant: CommonRecord) -> None:
    card = SoftwareCard.from_persona(persona_path, common_record=variant)
    traces: list[TracingTransport] = []

    def connect() -> Connection:
        t = TracingTransport(card.connector()())
        traces.append(t)
        return t

    with CardReader(connect).session() as s:
        PATHS[path](s)
    trace = [ex for t in traces for ex in t.trace]
    assert trace, "the path sent nothing"
    assert forbidden_commands(trace) == []
    # 照合番号A is the individual number sent in clear: its digits never appear in any command.
    assert all(b"000000000000" not in ex.command for ex in trace)


def test_the_check_catches_forbidden_commands() -> None:
    """The privacy check itself must be able to fail."""
    text = h("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08")
    visual = h("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02")
    common = h("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 01 00")
    ef = {n: h(f"00 A4 02 0C 02 {n:04X}") for n in (0x0001, 0x0005, 0x0013, 0x0014)}

    def trace(*commands: bytes) -> list[Exchange]:
        return [Exchange(c, b"", 0x9000) for c in commands]

    assert forbidden_commands(trace(text, ef[0x0001])) == ["#1 SELECT EF 0001 in D3921000310001010408"]
    assert len(forbidden_commands(trace(visual, ef[0x0005]))) == 1
    assert len(forbidden_commands(trace(text, ef[0x0014], h("00 20 00 80")))) == 1
    assert len(forbidden_commands(trace(visual, ef[0x0013], h("00 20 00 80 0C") + b"0" * 12))) == 1
    # EF 0001 of the common AP is allowed (expiry); so is everything in the visual AP but EF 0005.
    assert forbidden_commands(trace(common, ef[0x0001], visual, h("00 A4 02 0C 02 00 02"))) == []
