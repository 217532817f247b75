"""Command APDUs, status words, and the channel that handles the card's Le dialogue and reads files piecewise.

``CardChannel`` sits on a ``Transport`` and takes care of ``61 xx`` (GET RESPONSE), ``6C xx`` (resend with the right
Le) and the ``6F 00`` some cards answer to the first command after power-up. ``read_fields`` reads a BER-TLV file with
as few READ BINARY commands as possible: it parses headers as they arrive and jumps over values nobody asked for.
Short APDUs (Le ≤ 256) are the default, since every PC/SC reader accepts them. The card also accepts extended-length
READ BINARY, which fetches a whole photo in one command; ``LinkCapabilities`` tries that once per reader and falls back
to short APDUs for good when the reader or the card refuses it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from reader import tlv
from reader.transport import CommunicationError, ReaderError, Transport

__all__ = [
    "SW_BLOCKED",
    "SW_FILE_NOT_FOUND",
    "SW_OK",
    "SW_OUT_OF_RANGE",
    "SW_SECURITY",
    "SW_WARNING_EOF",
    "CardChannel",
    "CardDataError",
    "CardStatusError",
    "LinkCapabilities",
    "get_response",
    "read_binary",
    "read_binary_extended",
    "read_fields",
    "read_record",
    "select_aid",
    "select_ef",
    "verify",
]

log = logging.getLogger(__name__)

SW_OK = 0x9000
SW_WARNING_EOF = 0x6282  # end of file reached before Le bytes (data returned)
SW_OUT_OF_RANGE = 0x6B00  # offset beyond the end of the file
SW_SECURITY = 0x6982  # security status not satisfied
SW_BLOCKED = 0x6984  # reference data blocked
SW_AUTH_BLOCKED = 0x6983  # authentication method blocked
SW_FILE_NOT_FOUND = 0x6A82
SW_POWER_UP = 0x6F00  # answered by some cards to the first command after power-up

SHORT_LE_MAX = 256
EXTENDED_LE_MAX = 0xFFFF
# What a card or reader answers to an extended-length command it does not take.
_EXTENDED_REFUSED = {0x6700, 0x6D00, 0x6E00, 0x6A86, 0x6F00}
MAX_OFFSET = 0x7FFF  # READ BINARY P1P2 is a 15-bit offset (bit 16 would select by short file identifier)
# A card that keeps answering 61xx would otherwise loop forever; no response of ours is anywhere near this.
MAX_GET_RESPONSE = 128


class CardStatusError(ReaderError):
    """The card answered a status word the protocol does not allow at this point."""

    def __init__(self, command: str, sw: int) -> None:
        super().__init__(f"{command}: card answered {sw:04X}")
        self.command = command
        self.sw = sw


class CardDataError(ReaderError):
    """The card's data is not what the layout says (missing field, file too large, bad text)."""


# --- command builders -------------------------------------------------------------------------------------------


def select_aid(aid: bytes) -> bytes:
    """SELECT application by AID, no response data (P2 = 0C)."""
    if not 5 <= len(aid) <= 16:
        raise ValueError(f"AID must be 5 to 16 bytes, got {len(aid)}")
    return bytes([0x00, 0xA4, 0x04, 0x0C, len(aid)]) + aid


def select_ef(fid: int) -> bytes:
    """SELECT elementary file by its 2-byte identifier under the current application."""
    if not 0 <= fid <= 0xFFFF:
        raise ValueError(f"file id out of range: {fid:X}")
    return bytes([0x00, 0xA4, 0x02, 0x0C, 0x02]) + fid.to_bytes(2, "big")


def verify(secret: bytes | None = None) -> bytes:
    """VERIFY against the selected PIN file; without ``secret`` it only asks for the tries left (``63 Cx``)."""
    if secret is None:
        return bytes([0x00, 0x20, 0x00, 0x80])
    if not 1 <= len(secret) <= 255:
        raise ValueError("secret must be 1 to 255 bytes")
    return bytes([0x00, 0x20, 0x00, 0x80, len(secret)]) + secret


def read_binary(offset: int, le: int) -> bytes:
    """READ BINARY of ``le`` bytes (1–256; 256 is sent as ``00``) at a 15-bit offset of the selected file."""
    if not 0 <= offset <= MAX_OFFSET:
        raise ValueError(f"offset {offset} beyond the 15-bit range of READ BINARY")
    if not 1 <= le <= SHORT_LE_MAX:
        raise ValueError(f"Le must be 1 to 256, got {le}")
    return bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, le & 0xFF])


def read_binary_extended(offset: int, le: int) -> bytes:
    """READ BINARY with an extended Le (3 bytes: ``00 HH LL``) for up to 65535 bytes."""
    if not 0 <= offset <= MAX_OFFSET:
        raise ValueError(f"offset {offset} beyond the 15-bit range of READ BINARY")
    if not 1 <= le <= EXTENDED_LE_MAX:
        raise ValueError(f"extended Le must be 1 to 65535, got {le}")
    return bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, 0x00, le >> 8, le & 0xFF])


def read_record(number: int, le: int = SHORT_LE_MAX) -> bytes:
    """READ RECORD ``number`` of the selected file (P2 = 04: current EF, absolute record number)."""
    if not 1 <= number <= 0xFE:
        raise ValueError(f"record number out of range: {number}")
    if not 1 <= le <= SHORT_LE_MAX:
        raise ValueError(f"Le must be 1 to 256, got {le}")
    return bytes([0x00, 0xB2, number, 0x04, le & 0xFF])


def get_response(le: int) -> bytes:
    """GET RESPONSE for ``le`` bytes (after ``61 xx``)."""
    return bytes([0x00, 0xC0, 0x00, 0x00, le & 0xFF])


def _name(apdu: bytes) -> str:
    """A short name of a command for error messages (never includes its data: it may be a secret)."""
    ins = apdu[1] if len(apdu) > 1 else -1
    names = {0xA4: "SELECT", 0x20: "VERIFY", 0xB0: "READ BINARY", 0xB2: "READ RECORD", 0xC0: "GET RESPONSE"}
    return names.get(ins, f"INS {ins:02X}")


# --- channel ----------------------------------------------------------------------------------------------------


@dataclass
class LinkCapabilities:
    """What the reader + card take, learnt once and shared by every connection through the same reader.

    ``extended_length``: ``None`` not tried yet, ``True`` works, ``False`` refused (short APDUs from then on).
    """

    extended_length: bool | None = None


@dataclass
class CardChannel:
    """A transport with the card's Le dialogue handled; one per connection (it knows whether it is fresh)."""

    transport: Transport
    fresh: bool = True  # no command sent since power-up yet
    caps: LinkCapabilities = field(default_factory=LinkCapabilities)

    def send(self, apdu: bytes) -> tuple[bytes, int]:
        """Send ``apdu`` and return ``(data, sw)`` after resolving ``61 xx`` / ``6C xx`` / power-up ``6F 00``."""
        data, sw = self.transport.transmit(apdu)
        if self.fresh:
            self.fresh = False
            # Some cards answer the first command after power-up with 6F00; sending it again is safe for every
            # command we start with (a SELECT) but never for a VERIFY, which could spend a try.
            if sw == SW_POWER_UP and _name(apdu) != "VERIFY":
                data, sw = self.transport.transmit(apdu)
        if sw >> 8 == 0x6C and _name(apdu) in ("READ BINARY", "READ RECORD"):
            # Wrong Le: the card tells us how many bytes it has; ask again exactly once.
            le = sw & 0xFF or SHORT_LE_MAX
            data, sw = self.transport.transmit(apdu[:4] + bytes([le & 0xFF]))
            if sw >> 8 == 0x6C:
                raise CardStatusError(_name(apdu), sw)
        chunks = [data]
        rounds = 0
        while sw >> 8 == 0x61:
            rounds += 1
            if rounds > MAX_GET_RESPONSE:
                raise CardStatusError("GET RESPONSE (endless 61xx)", sw)
            data, sw = self.transport.transmit(get_response(sw & 0xFF))
            chunks.append(data)
        return b"".join(chunks), sw

    def expect_ok(self, apdu: bytes) -> bytes:
        """Send and require ``90 00``; any other status word raises ``CardStatusError``."""
        data, sw = self.send(apdu)
        if sw != SW_OK:
            raise CardStatusError(_name(apdu), sw)
        return data


class _SparseFile:
    """The parts of the selected transparent file read so far; ``get`` reads what is missing (short or extended)."""

    def __init__(self, channel: CardChannel) -> None:
        self.channel = channel
        self.segments: list[tuple[int, bytes]] = []  # (offset, data), non-overlapping
        self.eof: int | None = None  # where the card said the file ends
        self.limit: int | None = None  # where the outer TLV ends (known after the head is parsed)

    def _covered_until(self, start: int) -> int:
        """The first offset at or after ``start`` that has not been read yet (``start`` itself when it has not)."""
        pos = start
        moved = True
        while moved:
            moved = False
            for off, data in self.segments:
                if off <= pos < off + len(data):
                    pos = off + len(data)
                    moved = True
        return pos

    def _chunk(self, start: int, end: int) -> bytes:
        out = bytearray()
        pos = start
        while pos < end:
            for off, data in self.segments:
                if off <= pos < off + len(data):
                    take = data[pos - off : min(len(data), end - off)]
                    out += take
                    pos += len(take)
                    break
            else:  # pragma: no cover - callers fill the range before asking
                raise AssertionError("range not read")
        return bytes(out)

    def get(self, start: int, length: int) -> bytes:
        """Bytes ``[start, start+length)``; raises ``CardDataError`` when the file ends first."""
        end = start + length
        while True:
            missing = self._covered_until(start)
            if missing >= end:
                return self._chunk(start, end)
            if self.eof is not None and missing >= self.eof:
                raise CardDataError(f"file ends at byte {self.eof}, data needed up to byte {end}")
            if missing > MAX_OFFSET:
                raise CardDataError(f"file data beyond byte {MAX_OFFSET} is out of READ BINARY's 15-bit offset")
            # More than one short READ BINARY's worth: one extended command instead, when the link takes it.
            big = self.limit is not None and end - missing > SHORT_LE_MAX
            if big and self.channel.caps.extended_length is not False and self._read_extended(missing, end):
                continue
            want = SHORT_LE_MAX
            if self.channel.caps.extended_length and self.limit is not None:
                # Extended reads fetch any long value in one go, so a short read need not prefetch: ask for just
                # the bytes needed (a header is 9 bytes; 256 would cost ~5 ms more at 424 kbit/s).
                want = end - missing
            if self.limit is not None:
                # Once the outer length is known, never ask for bytes past it: fewer bytes on the link, no 6282.
                want = max(1, min(want, self.limit - missing))
            data, sw = self.channel.send(read_binary(missing, want))
            if sw == SW_OK:
                if not data:
                    raise CardDataError(f"READ BINARY at {missing} returned no data")
                data = data[:want]
            elif sw == SW_WARNING_EOF:
                self.eof = missing + len(data)
                if not data:
                    continue
            elif sw == SW_OUT_OF_RANGE:
                self.eof = missing
                continue
            else:
                raise CardStatusError("READ BINARY", sw)
            self.segments.append((missing, data))

    def _read_extended(self, offset: int, end: int) -> bool:
        """One extended READ BINARY up to ``end``; ``False`` (and short APDUs from now on) when refused."""
        caps = self.channel.caps
        assert self.limit is not None
        length = min(end, self.limit) - offset
        try:
            data, sw = self.channel.send(read_binary_extended(offset, min(length, EXTENDED_LE_MAX)))
        except CommunicationError as exc:
            # The reader would not carry the frame; the card never saw it, so its state is intact.
            log.info("extended-length READ BINARY refused by the reader (%s); using short APDUs", exc)
            caps.extended_length = False
            return False
        if sw in _EXTENDED_REFUSED or (sw == SW_OK and not data):
            log.info("extended-length READ BINARY refused by the card (%04X); using short APDUs", sw)
            caps.extended_length = False
            return False
        if sw == SW_OK:
            caps.extended_length = True
            self.segments.append((offset, data[:length]))
            return True
        if sw == SW_WARNING_EOF:
            self.eof = offset + len(data)
            if data:
                self.segments.append((offset, data))
            return True
        if sw == SW_OUT_OF_RANGE:
            self.eof = offset
            return True
        raise CardStatusError("READ BINARY", sw)


def read_fields(channel: CardChannel, wanted: Iterable[int]) -> dict[int, bytes]:
    """Read the wanted children of the selected file's outer TLV (e.g. ``FF 20 {DF22, …}``) and nothing more.

    Values not wanted are skipped by offset; reading stops as soon as every wanted child is in. A wanted tag that is
    not in the file raises ``CardDataError``; malformed TLV raises ``TlvError``.
    """
    want = set(wanted)
    f = _SparseFile(channel)
    f.get(0, 1)  # one full-size read: the header and, for small files, everything
    # The header may be up to MAX_HEADER bytes; parse_header reports a header cut short by the end of the file.
    head = f.get(0, min(tlv.MAX_HEADER, f._covered_until(0)))
    _tag, hlen, vlen = tlv.parse_header(head)
    end = hlen + vlen
    f.limit = end
    pos = hlen
    found: dict[int, bytes] = {}
    while pos < end and not want <= found.keys():
        header = f.get(pos, min(tlv.MAX_HEADER, end - pos))
        tag, chlen, cvlen = tlv.parse_header(header)
        vstart = pos + chlen
        if vstart + cvlen > end:
            raise tlv.TlvError(f"value of tag {tag:X} runs past the end of its parent", pos)
        if tag in want:
            if tag in found:
                raise tlv.TlvError(f"tag {tag:X} appears twice", pos)
            found[tag] = f.get(vstart, cvlen)
        pos = vstart + cvlen
    missing = want - found.keys()
    if missing:
        raise CardDataError("missing fields: " + ", ".join(f"{t:X}" for t in sorted(missing)))
    return found
