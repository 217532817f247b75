"""The APDU channel's Le dialogue and the piecewise file reader, with scripted cards and random responses."""

from __future__ import annotations

import pytest
from card_support import ScriptedTransport, h
from hypothesis import given, settings
from hypothesis import strategies as st

from reader.apdu import (
    CardChannel,
    CardDataError,
    CardStatusError,
    LinkCapabilities,
    read_binary,
    read_binary_extended,
    read_fields,
    read_record,
    select_aid,
    select_ef,
    verify,
)
from reader.tlv import encode_tlv
from reader.transport import CommunicationError, ReaderError

OK = 0x9000


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        (select_aid(bytes.fromhex("D3921000310001010408")), "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"),
        (select_ef(0x0011), "00 A4 02 0C 02 00 11"),
        (verify(), "00 20 00 80"),
        (verify(b"1234"), "00 20 00 80 04 31 32 33 34"),
        (read_binary(0, 256), "00 B0 00 00 00"),
        (read_binary(0x7FFF, 1), "00 B0 7F FF 01"),
        (read_record(1), "00 B2 01 04 00"),
        (read_binary_extended(0x0123, 3000), "00 B0 01 23 00 0B B8"),
    ],
)
def test_command_builders(apdu: bytes, expected: str) -> None:
    assert apdu == h(expected)


@pytest.mark.parametrize(
    "call",
    [
        lambda: read_binary(0x8000, 1),
        lambda: read_binary(0, 0),
        lambda: read_binary(0, 257),
        lambda: select_aid(b"1"),
        lambda: verify(b""),
        lambda: read_record(0),
    ],
)
def test_builders_refuse_out_of_range(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_61xx_fetches_the_rest_with_get_response() -> None:
    t = ScriptedTransport([(h("00 B0 00 00 00"), b"ab", 0x6103), (h("00 C0 00 00 03"), b"cde", OK)])
    assert CardChannel(t).send(h("00 B0 00 00 00")) == (b"abcde", OK)
    t.assert_done()


def test_6cxx_resends_with_the_right_le_once() -> None:
    t = ScriptedTransport([(h("00 B0 00 00 00"), b"", 0x6C05), (h("00 B0 00 00 05"), b"12345", OK)])
    assert CardChannel(t).send(h("00 B0 00 00 00")) == (b"12345", OK)
    t.assert_done()
    t = ScriptedTransport([(h("00 B0 00 00 00"), b"", 0x6C05), (h("00 B0 00 00 05"), b"", 0x6C04)])
    with pytest.raises(CardStatusError):
        CardChannel(t).send(h("00 B0 00 00 00"))


def test_6f00_only_on_the_first_command_and_never_for_verify() -> None:
    t = ScriptedTransport([(verify(b"1234"), b"", 0x6F00)])
    assert CardChannel(t).send(verify(b"1234")) == (b"", 0x6F00)
    t = ScriptedTransport([(select_ef(2), b"", OK), (select_ef(2), b"", 0x6F00)])
    ch = CardChannel(t)
    ch.send(select_ef(2))
    assert ch.send(select_ef(2)) == (b"", 0x6F00)


def test_endless_61xx_is_an_error_not_a_hang() -> None:
    class Endless:
        calls = 0

        def transmit(self, apdu: bytes) -> tuple[bytes, int]:
            self.calls += 1
            return b"x", 0x6101

    e = Endless()
    with pytest.raises(CardStatusError):
        CardChannel(e).send(h("00 B0 00 00 00"))
    assert e.calls < 200


def file_of(children: list[tuple[int, bytes]], pad: int = 20) -> bytes:
    return encode_tlv(0xFF20, b"".join(encode_tlv(t, v) for t, v in children)) + b"\xff" * pad


class FileCard:
    """Answers READ BINARY from a byte string like a card: 6282 at a short end, 6B00 past it."""

    def __init__(self, content: bytes, short_sw: int = 0x6282, extended: bool | None = False) -> None:
        self.content = content
        self.short_sw = short_sw
        self.extended = extended  # True: takes extended Le; False: answers 6700; None: the reader refuses to send
        self.reads: list[tuple[int, int]] = []

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        assert apdu[1] == 0xB0
        offset, le = (apdu[2] << 8) | apdu[3], apdu[4] or 256
        if len(apdu) == 7:
            if self.extended is None:
                raise CommunicationError("reader refused the frame", 0x80100016)
            if not self.extended:
                return b"", 0x6700
            le = int.from_bytes(apdu[5:7], "big")
        self.reads.append((offset, le))
        if offset >= len(self.content):
            return b"", 0x6B00
        chunk = self.content[offset : offset + le]
        if len(chunk) < le:
            return (b"", 0x6C00 | len(chunk)) if self.short_sw == 0x6C00 else (chunk, self.short_sw)
        return chunk, OK


def test_read_fields_skips_what_is_not_wanted() -> None:
    content = file_of([(0xDF21, bytes(10)), (0xDF25, bytes(2000)), (0xDF27, b"photo" * 100), (0xDF28, bytes(256))])
    card = FileCard(content)
    channel = CardChannel(card, caps=LinkCapabilities(extended_length=False))
    assert read_fields(channel, [0xDF27]) == {0xDF27: b"photo" * 100}
    # FF20 header 5 bytes, DF21 13, DF25 5 + 2000: DF27 starts at 2023. The head, a jump over DF25 to DF27, and the
    # rest of the photo; nothing of DF25's value or of DF28 beyond what those reads cover.
    assert card.reads == [(0, 256), (2023, 256), (2279, 256)]


@pytest.mark.parametrize("short_sw", [0x6282, 0x6C00])
def test_small_file_ending_early(short_sw: int) -> None:
    content = file_of([(0xDF22, b"abc")], pad=0)
    card = FileCard(content, short_sw)
    assert read_fields(CardChannel(card), [0xDF22]) == {0xDF22: b"abc"}


def test_file_shorter_than_its_length_says() -> None:
    content = file_of([(0xDF22, b"abc" * 200)], pad=0)[:300]
    with pytest.raises(CardDataError, match="file ends"):
        read_fields(CardChannel(FileCard(content)), [0xDF22])


def test_missing_field() -> None:
    with pytest.raises(CardDataError, match="missing fields: DF27"):
        read_fields(CardChannel(FileCard(file_of([(0xDF22, b"x")]))), [0xDF27])


# --- properties: whatever the card answers, a typed error or a result, in bounded time --------------------------

responses = st.tuples(
    st.binary(max_size=300),
    st.one_of(
        st.sampled_from([0x9000, 0x6282, 0x6B00, 0x6982, 0x6A82, 0x6700, 0x6F00, 0x6100, 0x6C00, 0x6C10, 0x6110]),
        st.integers(min_value=0, max_value=0xFFFF),
    ),
)


class RandomCard:
    def __init__(self, answers: list[tuple[bytes, int]]) -> None:
        self.answers = answers
        self.calls = 0

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.calls += 1
        if not self.answers:
            return b"", 0x6B00  # end of file from here on, so a read always ends
        return self.answers.pop(0)


@settings(max_examples=300, deadline=None)
@given(st.lists(responses, max_size=40), st.sets(st.sampled_from([0xDF22, 0xDF23, 0xDF27]), min_size=1))
def test_read_fields_never_crashes(answers: list[tuple[bytes, int]], wanted: set[int]) -> None:
    card = RandomCard(list(answers))
    try:
        found = read_fields(CardChannel(card), wanted)
    except ReaderError:
        pass
    else:
        assert set(found) == wanted
    assert card.calls <= len(answers) + 200


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0xDF21, 0xDF22, 0xDF25, 0xDF27]), st.binary(max_size=700)),
        min_size=1,
        max_size=5,
        unique_by=lambda c: c[0],
    ),
    st.integers(min_value=1, max_value=4000),
)
def test_truncated_files_give_typed_errors(children: list[tuple[int, bytes]], cut: int) -> None:
    content = file_of(children, pad=0)
    card = FileCard(content[:cut])
    wanted = [t for t, _ in children]
    try:
        found = read_fields(CardChannel(card), wanted)
    except ReaderError:
        assert cut < len(content)
    else:
        assert found == dict(children)


PHOTO = bytes(range(256)) * 12  # 3072 bytes: twelve short reads' worth


def photo_file() -> bytes:
    return file_of([(0xDF21, bytes(10)), (0xDF25, bytes(700)), (0xDF27, PHOTO), (0xDF28, bytes(256))])


def test_extended_length_reads_the_photo_in_one_command() -> None:
    content = photo_file()
    card = FileCard(content, extended=True)
    caps = LinkCapabilities()
    assert read_fields(CardChannel(card, caps=caps), [0xDF27]) == {0xDF27: PHOTO}
    # Head; jump to DF27's header; the rest of the photo in one extended read of exactly what is missing.
    # FF20 82 xx xx (5) + DF21 (3 + 10) + DF25 82 02 BC (5 + 700) = 723; DF27 82 0C 00 (5) + 3072 ends at 3800.
    assert card.reads == [(0, 256), (723, 256), (979, 3800 - 979)]
    assert caps.extended_length is True


@pytest.mark.parametrize("refusal", [False, None], ids=["card answers 6700", "reader refuses the frame"])
def test_extended_length_falls_back_to_short_reads_for_good(refusal: bool | None) -> None:
    content = photo_file()
    caps = LinkCapabilities()
    card = FileCard(content, extended=refusal)
    assert read_fields(CardChannel(card, caps=caps), [0xDF27]) == {0xDF27: PHOTO}
    assert caps.extended_length is False
    assert all(le <= 256 for _, le in card.reads)
    again = FileCard(content, extended=refusal)
    read_fields(CardChannel(again, caps=caps), [0xDF27])
    assert len(again.reads) == len(card.reads)  # no second attempt: the refusal is remembered
