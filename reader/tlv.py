"""Generic BER-TLV (ISO/IEC 7816-4 / X.690 definite lengths) as the My Number card uses it.

Tags of one to four bytes, lengths in short form or ``81``–``84`` long form, files padded with ``FF`` after the
last TLV. Everything malformed raises ``TlvError`` saying what and at which offset; nothing else escapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from reader.transport import ReaderError

__all__ = [
    "MAX_HEADER",
    "Tlv",
    "TlvError",
    "decode_children",
    "encode_length",
    "encode_tag",
    "encode_tlv",
    "parse_header",
    "parse_tlvs",
]

MAX_TAG_BYTES = 4
MAX_LENGTH_BYTES = 4
# The longest header we accept: a 4-byte tag and an 84 xx xx xx xx length.
MAX_HEADER = MAX_TAG_BYTES + 1 + MAX_LENGTH_BYTES
PADDING = 0xFF


class TlvError(ReaderError, ValueError):
    """Malformed BER-TLV data; ``offset`` is where in the buffer the problem was found."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at byte {offset})")
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Tlv:
    """One parsed element: ``tag`` as an integer (``0xFF20``, ``0xDF22``), its value and its header's offset."""

    tag: int
    value: bytes
    offset: int

    @property
    def constructed(self) -> bool:
        """Bit 6 of the first tag byte: the value is itself a sequence of TLVs."""
        first = self.tag
        while first > 0xFF:
            first >>= 8
        return bool(first & 0x20)


def parse_header(buf: bytes, pos: int = 0) -> tuple[int, int, int]:
    """Parse the tag and length at ``pos``; return ``(tag, header_length, value_length)``.

    Raises ``TlvError`` when the header is truncated, uses an indefinite or over-long length, or a tag longer than four
    bytes. It does not check that the value fits in ``buf``: callers reading a file piecewise need the length first.
    """
    end = len(buf)
    if pos >= end:
        raise TlvError("tag expected, data ends", pos)
    start = pos
    first = buf[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:
        # Multi-byte tag: following bytes carry 7 bits each, bit 8 set on all but the last.
        while True:
            if pos >= end:
                raise TlvError("tag truncated", start)
            if pos - start >= MAX_TAG_BYTES:
                raise TlvError("tag longer than 4 bytes", start)
            b = buf[pos]
            tag = (tag << 8) | b
            pos += 1
            if not b & 0x80:
                break
    if pos >= end:
        raise TlvError("length expected, data ends", pos)
    lb = buf[pos]
    pos += 1
    if lb < 0x80:
        length = lb
    elif lb == 0x80:
        raise TlvError("indefinite length is not allowed", pos - 1)
    else:
        count = lb & 0x7F
        if count > MAX_LENGTH_BYTES:
            raise TlvError(f"length field of {count} bytes is too long", pos - 1)
        if pos + count > end:
            raise TlvError("length truncated", pos - 1)
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    return tag, pos - start, length


def parse_tlvs(buf: bytes, *, padding: bool = True) -> list[Tlv]:
    """Parse a sequence of TLVs filling ``buf``; with ``padding``, a trailing run of ``FF`` bytes ends the data.

    A value running past the end of ``buf`` raises ``TlvError``; so does any garbage that is not all padding.
    """
    items: list[Tlv] = []
    pos = 0
    end = len(buf)
    while pos < end:
        if padding and buf[pos] == PADDING and all(b == PADDING for b in buf[pos:]):
            break
        tag, hlen, vlen = parse_header(buf, pos)
        vstart = pos + hlen
        if vstart + vlen > end:
            raise TlvError(f"value of tag {tag:X} ({vlen} bytes) runs past the end ({end - vstart} left)", pos)
        items.append(Tlv(tag, bytes(buf[vstart : vstart + vlen]), pos))
        pos = vstart + vlen
    return items


def decode_children(value: bytes) -> dict[int, bytes]:
    """The children of a constructed value as ``{tag: value}``; a repeated tag is an error (the card never repeats)."""
    children: dict[int, bytes] = {}
    for item in parse_tlvs(value, padding=False):
        if item.tag in children:
            raise TlvError(f"tag {item.tag:X} appears twice", item.offset)
        children[item.tag] = item.value
    return children


def encode_tag(tag: int) -> bytes:
    """The bytes of ``tag`` (``0xDF22`` → ``DF 22``)."""
    if tag < 0:
        raise ValueError(f"negative tag {tag}")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(length: int) -> bytes:
    """Minimal BER length: one byte below 128, else ``81 xx``, ``82 xx xx``, …"""
    if length < 0:
        raise ValueError(f"negative length {length}")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_BYTES:
        raise ValueError(f"length {length} too large")
    return bytes([0x80 | len(body)]) + body


def encode_tlv(tag: int, value: bytes) -> bytes:
    """Tag, BER length and value."""
    return encode_tag(tag) + encode_length(len(value)) + value
