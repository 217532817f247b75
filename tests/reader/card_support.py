"""Test helpers for the reader: a scripted transport that checks every APDU, and the privacy check over a trace."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from reader.profiles.gen1 import AID_TEXT, AID_VISUAL
from reader.transport import Exchange

__all__ = ["ScriptedTransport", "forbidden_commands", "h"]


def h(text: str) -> bytes:
    """Bytes from hex with spaces: ``h("00 A4 04 0C")``."""
    return bytes.fromhex(text.replace(" ", ""))


@dataclass
class ScriptedTransport:
    """Answers a fixed script of ``(expected command, response data, sw)``; any other command fails the test.

    ``assert_done`` proves every expected command was sent.
    """

    script: list[tuple[bytes, bytes, int]]
    sent: list[bytes] = field(default_factory=list)
    closed: bool = False

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Check ``apdu`` against the next expected command and answer it."""
        index = len(self.sent)
        self.sent.append(bytes(apdu))
        assert index < len(self.script), f"unexpected extra command #{index}: {apdu.hex(' ').upper()}"
        expected, data, sw = self.script[index]
        assert apdu == expected, f"command #{index}: sent {apdu.hex(' ').upper()}, expected {expected.hex(' ').upper()}"
        return data, sw

    def close(self) -> None:
        """Record that the connection was closed (the card would be unpowered)."""
        self.closed = True

    def assert_done(self) -> None:
        """Every scripted command was sent."""
        assert len(self.sent) == len(self.script), (
            f"only {len(self.sent)} of {len(self.script)} commands sent; next expected: "
            f"{self.script[len(self.sent)][0].hex(' ').upper()}"
        )


def forbidden_commands(trace: Iterable[Exchange]) -> list[str]:
    """Commands in ``trace`` that break the legal rule: SELECT of text-AP EF 0001 or visual-AP EF 0005, any VERIFY
    while 照合番号A (EF 0013/0014) is the selected file. Tracks the selected application across the trace."""
    bad: list[str] = []
    app: bytes | None = None
    ef: int | None = None
    for n, ex in enumerate(trace):
        c = ex.command
        if len(c) >= 5 and c[1] == 0xA4 and c[2] == 0x04:
            app, ef = c[5 : 5 + c[4]], None
        elif len(c) >= 7 and c[1] == 0xA4 and c[2] == 0x02:
            ef = int.from_bytes(c[5:7], "big")
            if app is not None and (app, ef) in ((AID_TEXT, 0x0001), (AID_VISUAL, 0x0005)):
                bad.append(f"#{n} SELECT EF {ef:04X} in {app.hex().upper()}")
        elif len(c) >= 4 and c[1] == 0x20 and ef in (0x0013, 0x0014):
            bad.append(f"#{n} VERIFY of EF {ef:04X}")
    return bad
