"""BER-TLV: table tests for the encodings the card uses, property tests for everything else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reader.tlv import Tlv, TlvError, decode_children, encode_length, encode_tlv, parse_header, parse_tlvs


@pytest.mark.parametrize(
    ("raw", "tag", "header_len", "value_len"),
    [
        ("DF 22 05", 0xDF22, 3, 5),
        ("FF 20 81 C8", 0xFF20, 4, 0xC8),
        ("FF 20 82 12 34", 0xFF20, 5, 0x1234),
        ("30 00", 0x30, 2, 0),
        ("5F 1F 7F", 0x5F1F, 3, 0x7F),
        ("9F 81 01 83 01 00 00", 0x9F8101, 7, 0x10000),
        ("DF 21 84 00 00 01 00", 0xDF21, 7, 256),
    ],
)
def test_headers(raw: str, tag: int, header_len: int, value_len: int) -> None:
    assert parse_header(bytes.fromhex(raw)) == (tag, header_len, value_len)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", "tag expected"),
        ("DF", "tag truncated"),
        ("DF 22", "length expected"),
        ("FF 20 80", "indefinite"),
        ("FF 20 82 01", "length truncated"),
        ("FF 20 85 00 00 00 00 01", "too long"),
        ("FF FF FF FF FF 01", "longer than 4"),
    ],
)
def test_bad_headers(raw: str, error: str) -> None:
    with pytest.raises(TlvError, match=error):
        parse_header(bytes.fromhex(raw))


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, "00"),
        (127, "7F"),
        (128, "81 80"),
        (255, "81 FF"),
        (256, "82 01 00"),
        (0xFFFF, "82 FF FF"),
        (0x10000, "83 01 00 00"),
    ],
)
def test_length_encoding(length: int, encoded: str) -> None:
    assert encode_length(length) == bytes.fromhex(encoded)


def test_padding_ends_the_data_and_garbage_does_not() -> None:
    data = encode_tlv(0xDF22, b"abc") + encode_tlv(0xDF23, b"") + b"\xff" * 30
    assert parse_tlvs(data) == [Tlv(0xDF22, b"abc", 0), Tlv(0xDF23, b"", 6)]
    with pytest.raises(TlvError):
        parse_tlvs(data + b"\x01")  # not all padding: FF FF … parsed as a tag that never ends
    with pytest.raises(TlvError):
        parse_tlvs(data, padding=False)


def test_value_past_the_end() -> None:
    with pytest.raises(TlvError, match="runs past the end"):
        parse_tlvs(bytes.fromhex("DF 22 05 41 42"))


def test_children_and_duplicates() -> None:
    assert decode_children(encode_tlv(0xDF22, b"x") + encode_tlv(0xDF24, b"y")) == {0xDF22: b"x", 0xDF24: b"y"}
    with pytest.raises(TlvError, match="twice"):
        decode_children(encode_tlv(0xDF22, b"x") + encode_tlv(0xDF22, b"y"))


def test_constructed_flag() -> None:
    assert Tlv(0xFF20, b"", 0).constructed and not Tlv(0xDF22, b"", 0).constructed


# --- properties -----------------------------------------------------------------------------------------------

tags = st.sampled_from([0x30, 0x5F1F, 0xDF21, 0xDF22, 0xDF27, 0xFF20, 0x9F8101])
elements = st.lists(st.tuples(tags, st.binary(max_size=300)), max_size=6)


@given(elements, st.integers(min_value=0, max_value=20))
def test_roundtrip(items: list[tuple[int, bytes]], padding: int) -> None:
    data = b"".join(encode_tlv(t, v) for t, v in items) + b"\xff" * padding
    parsed = parse_tlvs(data)
    assert [(p.tag, p.value) for p in parsed] == items


@given(elements.filter(bool), st.data())
def test_truncation_is_always_a_typed_error(items: list[tuple[int, bytes]], data: st.DataObject) -> None:
    full = b"".join(encode_tlv(t, v) for t, v in items)
    cut = data.draw(st.integers(min_value=1, max_value=len(full) - 1))
    try:
        parsed = parse_tlvs(full[:cut], padding=False)
    except TlvError:
        return
    # A cut exactly between elements is a valid shorter sequence.
    assert b"".join(encode_tlv(p.tag, p.value) for p in parsed) == full[:cut]


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_garbage_never_crashes(data: bytes) -> None:
    try:
        parsed = parse_tlvs(data)
    except TlvError as exc:
        assert 0 <= exc.offset <= len(data)
        return
    assert all(p.offset < len(data) for p in parsed)


@given(st.integers(min_value=0x80, max_value=0xFFFFFFFF), st.binary(max_size=40))
def test_huge_lengths_are_refused_not_allocated(length: int, tail: bytes) -> None:
    data = bytes.fromhex("DF22") + encode_length(length) + tail
    with pytest.raises(TlvError):
        parse_tlvs(data)
