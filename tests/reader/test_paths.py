"""Exact APDU sequences of every read path, against a scripted card that checks each command was sent."""

from __future__ import annotations

import io
from datetime import date

import pytest
from card_support import ScriptedTransport, h
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from reader.outcomes import (
    CardFault,
    CardRead,
    ExpiryNeeded,
    InvalidInput,
    NotMyNumberCard,
    Outcome,
    PhotoRead,
    SecretBlocked,
    SecretKind,
    WrongSecret,
)
from reader.service import CardSession
from reader.tlv import encode_tlv, parse_header

SEL_TEXT = h("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08")
SEL_VISUAL = h("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02")
SEL_COMMON = h("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 01 00")
SEL_0011 = h("00 A4 02 0C 02 00 11")
SEL_0015 = h("00 A4 02 0C 02 00 15")
SEL_0012 = h("00 A4 02 0C 02 00 12")
SEL_0002 = h("00 A4 02 0C 02 00 02")
SEL_0001 = h("00 A4 02 0C 02 00 01")
TRIES = h("00 20 00 80")
VERIFY_PIN = h("00 20 00 80 04") + b"1234"
NUMBER_B = b"55021720302285"
VERIFY_B = h("00 20 00 80 0E") + NUMBER_B
READ_RECORD_1 = h("00 B2 01 04 00")
OK = 0x9000

BIRTH = date(1980, 2, 17)
NAME = "髙橋　太郎"
ADDRESS = "東京都架空市本町１丁目２番３号"


def text_file(sex: bytes = b"1") -> bytes:
    inner = (
        encode_tlv(0xDF21, bytes(8))
        + encode_tlv(0xDF22, NAME.encode())
        + encode_tlv(0xDF23, ADDRESS.encode())
        + encode_tlv(0xDF24, b"19800217")
        + encode_tlv(0xDF25, sex)
    )
    return encode_tlv(0xFF20, inner) + b"\xff" * 40


def photo_jp2() -> bytes:
    out = io.BytesIO()
    Image.new("L", (40, 50), 128).save(out, format="JPEG2000")
    return out.getvalue()


def face_file(photo: bytes, name_image: bytes = b"\x00" * 600) -> bytes:
    inner = (
        encode_tlv(0xDF21, bytes(18))
        + encode_tlv(0xDF22, b"19800217")
        + encode_tlv(0xDF23, b"1")
        + encode_tlv(0xDF24, bytes(270))
        + encode_tlv(0xDF25, name_image)
        + encode_tlv(0xDF26, bytes(100))
        + encode_tlv(0xDF27, photo)
        + encode_tlv(0xDF28, bytes(256))
        + encode_tlv(0xDF29, b"20300217")
        + encode_tlv(0xDF2A, bytes(50))
    )
    return encode_tlv(0xFF20, inner) + b"\xff" * 100


def reads(content: bytes, plan: list[tuple[int, int]]) -> list[tuple[bytes, bytes, int]]:
    """READ BINARY steps (offset, Le) answered from ``content``."""
    out = []
    for offset, le in plan:
        out.append((bytes([0, 0xB0, offset >> 8, offset & 0xFF, le & 0xFF]), content[offset : offset + le], OK))
    return out


def session(script: list[tuple[bytes, bytes, int]]) -> tuple[CardSession, ScriptedTransport]:
    t = ScriptedTransport(script)
    return CardSession(lambda: t), t


def expected_photo_plan(face: bytes) -> list[tuple[int, int]]:
    """The minimal READ BINARY plan, worked out here independently of the reader: a 256-byte head, a jump to each
    later header the reads so far do not cover, then the photo up to the end of DF27, never past the outer TLV."""
    _tag, hlen, vlen = parse_header(face)
    end = hlen + vlen
    have = set(range(min(256, len(face))))
    plan = [(0, 256)]

    def fetch(start: int, stop: int) -> None:
        for i in range(start, stop):
            if i not in have:
                le = min(256, end - i)
                plan.append((i, le))
                have.update(range(i, i + le))

    pos = hlen
    while True:
        fetch(pos, min(pos + 9, end))  # a header is at most 9 bytes
        tag, chl, cvl = parse_header(face, pos)
        if tag == 0xDF27:
            fetch(pos + chl, pos + chl + cvl)
            return plan
        pos += chl + cvl


def test_path1_pin_exact_sequence() -> None:
    content = text_file()
    s, t = session(
        [
            (SEL_TEXT, b"", OK),
            (SEL_0011, b"", OK),
            (TRIES, b"", 0x63C3),
            (VERIFY_PIN, b"", OK),
            (SEL_0002, b"", OK),
            *reads(content, [(0, 256)]),
        ]
    )
    outcome = s.read_with_pin("1234")
    t.assert_done()
    assert isinstance(outcome, CardRead)
    assert outcome.info.name == NAME and outcome.info.address == ADDRESS
    assert outcome.info.birth_date == date(1980, 2, 17) and outcome.info.sex_code == "1"
    assert outcome.photo is None
    s.close()
    assert t.closed


def test_path2_with_expiry_typed_exact_sequence() -> None:
    content, face = text_file(), face_file(photo_jp2())
    plan = expected_photo_plan(face)
    s, t = session(
        [
            (SEL_TEXT, b"", OK),
            (SEL_0015, b"", OK),
            (TRIES, b"", 0x63CA),
            (VERIFY_B, b"", OK),
            (SEL_0002, b"", OK),
            *reads(content, [(0, 256)]),
            (SEL_VISUAL, b"", OK),
            (SEL_0012, b"", OK),
            (TRIES, b"", 0x63CA),
            (VERIFY_B, b"", OK),
            (SEL_0002, b"", OK),
            *reads(face, plan),
        ]
    )
    outcome = s.read_with_collation(date(1980, 2, 17), "2285", 2030)
    t.assert_done()
    assert isinstance(outcome, CardRead)
    assert outcome.photo is not None and outcome.photo.size == (40, 50) and outcome.photo.mode == "L"
    # The 600-byte name image was jumped over, not read.
    assert len(plan) < 1 + len(face) // 256


def test_path2_reads_expiry_from_common_ap() -> None:
    content = text_file()
    record = encode_tlv(0x30, b"AB1234567890123" + b"139999" + b"20300217")
    s, t = session(
        [
            (SEL_COMMON, b"", OK),
            (SEL_0001, b"", OK),
            (READ_RECORD_1, record, OK),
            (SEL_TEXT, b"", OK),
            (SEL_0015, b"", OK),
            (TRIES, b"", 0x63CA),
            (VERIFY_B, b"", OK),
            (SEL_0002, b"", OK),
            *reads(content, [(0, 256)]),
        ]
    )
    outcome = s.read_with_collation(date(1980, 2, 17), "2285", photo=False)
    t.assert_done()
    assert isinstance(outcome, CardRead)


@pytest.mark.parametrize(
    ("record_sw", "record"),
    [
        (0x6982, b""),  # locked without a secret
        (OK, encode_tlv(0x30, b"AB1234567890123")),  # serial only (the other source)
    ],
)
def test_path2_expiry_not_on_card_asks_the_clerk(record_sw: int, record: bytes) -> None:
    s, t = session([(SEL_COMMON, b"", OK), (SEL_0001, b"", OK), (READ_RECORD_1, record, record_sw)])
    outcome = s.read_with_collation(date(1980, 2, 17), "2285")
    t.assert_done()
    assert outcome == ExpiryNeeded()


def test_photo_after_path1_needs_only_the_security_code() -> None:
    content, face = text_file(), face_file(photo_jp2())
    s, t = session(
        [
            (SEL_TEXT, b"", OK),
            (SEL_0011, b"", OK),
            (TRIES, b"", 0x63C3),
            (VERIFY_PIN, b"", OK),
            (SEL_0002, b"", OK),
            *reads(content, [(0, 256)]),
            (SEL_VISUAL, b"", OK),
            (SEL_0012, b"", OK),
            (TRIES, b"", 0x63CA),
            (VERIFY_B, b"", OK),
            (SEL_0002, b"", OK),
            *reads(face, expected_photo_plan(face)),
        ]
    )
    read = s.read_with_pin("1234")
    assert isinstance(read, CardRead)
    photo = s.read_photo(read.info.birth_date, "2285", 2030)
    t.assert_done()
    assert isinstance(photo, PhotoRead) and photo.photo.size == (40, 50)


@pytest.mark.parametrize(
    ("verify_sw", "expected"),
    [
        (0x63C2, WrongSecret(SecretKind.PIN, 2)),
        (0x63C1, WrongSecret(SecretKind.PIN, 1)),
        (0x63C0, SecretBlocked(SecretKind.PIN)),
        (0x6984, SecretBlocked(SecretKind.PIN)),
        (0x6983, SecretBlocked(SecretKind.PIN)),
        (0x6300, WrongSecret(SecretKind.PIN, None)),
    ],
)
def test_wrong_pin_sends_one_verify_and_stops(verify_sw: int, expected: object) -> None:
    s, t = session([(SEL_TEXT, b"", OK), (SEL_0011, b"", OK), (TRIES, b"", 0x63C3), (VERIFY_PIN, b"", verify_sw)])
    assert s.read_with_pin("1234") == expected
    t.assert_done()  # and no second VERIFY: the script would have failed on it


@pytest.mark.parametrize("tries_sw", [0x63C0, 0x6984])
def test_blocked_pin_is_never_verified(tries_sw: int) -> None:
    s, t = session([(SEL_TEXT, b"", OK), (SEL_0011, b"", OK), (TRIES, b"", tries_sw)])
    assert s.read_with_pin("1234") == SecretBlocked(SecretKind.PIN)
    t.assert_done()


def test_wrong_collation_b_on_text_ap_stops_before_the_photo() -> None:
    s, t = session([(SEL_TEXT, b"", OK), (SEL_0015, b"", OK), (TRIES, b"", 0x63CA), (VERIFY_B, b"", 0x63C9)])
    assert s.read_with_collation(date(1980, 2, 17), "2285", 2030) == WrongSecret(SecretKind.COLLATION_B, 9)
    t.assert_done()


def test_already_verified_still_checks_the_typed_pin() -> None:
    s, t = session([(SEL_TEXT, b"", OK), (SEL_0011, b"", OK), (TRIES, b"", OK), (VERIFY_PIN, b"", 0x63C2)])
    assert s.read_with_pin("1234") == WrongSecret(SecretKind.PIN, 2)
    t.assert_done()


@pytest.mark.parametrize("sw", [0x6A82, 0x6D00, 0x6E00])
def test_not_a_my_number_card(sw: int) -> None:
    s, t = session([(SEL_TEXT, b"", sw)])
    assert s.read_with_pin("1234") == NotMyNumberCard()
    t.assert_done()


@pytest.mark.parametrize("pin", ["123", "12345", "abcd", "１２３４", ""])
def test_malformed_pin_sends_nothing(pin: str) -> None:
    s, t = session([])
    outcome = s.read_with_pin(pin)
    assert isinstance(outcome, InvalidInput)
    assert t.sent == []


def test_bad_security_code_spends_no_try() -> None:
    s, t = session([(SEL_TEXT, b"", OK)])
    outcome = s.read_with_collation(date(1980, 2, 17), "22a5", 2030)
    assert isinstance(outcome, InvalidInput)
    t.assert_done()  # only the probe SELECT: no VERIFY


def test_power_up_6f00_is_resent_once() -> None:
    content = text_file()
    s, t = session(
        [
            (SEL_TEXT, b"", 0x6F00),
            (SEL_TEXT, b"", OK),
            (SEL_0011, b"", OK),
            (TRIES, b"", 0x63C3),
            (VERIFY_PIN, b"", OK),
            (SEL_0002, b"", OK),
            *reads(content, [(0, 256)]),
        ]
    )
    assert isinstance(s.read_with_pin("1234"), CardRead)
    t.assert_done()


def test_unexpected_status_is_a_card_fault_and_restarts_from_select() -> None:
    content = text_file()
    s, t = session(
        [
            (SEL_TEXT, b"", OK),
            (SEL_0011, b"", 0x6581),  # memory failure: not in the protocol
            (SEL_TEXT, b"", OK),
            (SEL_0011, b"", OK),
            (TRIES, b"", 0x63C3),
            (VERIFY_PIN, b"", OK),
            (SEL_0002, b"", OK),
            *reads(content, [(0, 256)]),
        ]
    )
    assert isinstance(s.read_with_pin("1234"), CardFault)
    assert isinstance(s.read_with_pin("1234"), CardRead)
    t.assert_done()


@pytest.mark.parametrize(
    ("code", "label", "known"),
    [("1", "男", True), ("2", "女", True), ("9", "適用不能", True), ("3", "不明", False), ("0", "不明", False)],
)
def test_sex_codes(code: str, label: str, known: bool) -> None:
    content = text_file(code.encode())
    s, _t = session(
        [
            (SEL_TEXT, b"", OK),
            (SEL_0011, b"", OK),
            (TRIES, b"", 0x63C3),
            (VERIFY_PIN, b"", OK),
            (SEL_0002, b"", OK),
            *reads(content, [(0, 256)]),
        ]
    )
    outcome = s.read_with_pin("1234")
    assert isinstance(outcome, CardRead)
    assert (outcome.info.sex_code, outcome.info.sex_label, outcome.info.sex_known) == (code, label, known)


def test_long_text_file_is_read_in_chunks_with_long_lengths() -> None:
    """An address long enough for an 82-length outer tag and an 81-length child: read in 256-byte chunks."""
    address = "東京都架空市本町" + "１" * 100
    inner = (
        encode_tlv(0xDF21, bytes(8))
        + encode_tlv(0xDF22, NAME.encode())
        + encode_tlv(0xDF23, address.encode())
        + encode_tlv(0xDF24, b"19800217")
        + encode_tlv(0xDF25, b"2")
    )
    content = encode_tlv(0xFF20, inner) + b"\xff" * 10
    assert content[2] == 0x82
    end = len(content) - 10
    s, t = session(
        [
            (SEL_TEXT, b"", OK),
            (SEL_0011, b"", OK),
            (TRIES, b"", 0x63C3),
            (VERIFY_PIN, b"", OK),
            (SEL_0002, b"", OK),
            *reads(content, [(0, 256), (256, min(256, end - 256))]),
        ]
    )
    outcome = s.read_with_pin("1234")
    t.assert_done()
    assert isinstance(outcome, CardRead) and outcome.info.address == address


def noisy_photo() -> bytes:
    """A JPEG 2000 photo of a couple of kilobytes (noise does not compress)."""
    out = io.BytesIO()
    Image.frombytes("L", (48, 48), bytes((i * 7919) % 251 for i in range(48 * 48))).save(out, format="JPEG2000")
    return out.getvalue()


def ext_read(offset: int, le: int, content: bytes, sw: int = OK) -> tuple[bytes, bytes, int]:
    command = bytes([0, 0xB0, offset >> 8, offset & 0xFF, 0, le >> 8, le & 0xFF])
    return command, content[offset : offset + le] if sw == OK else b"", sw


def photo_steps(face: bytes) -> list[tuple[bytes, bytes, int]]:
    return [
        (SEL_VISUAL, b"", OK),
        (SEL_0012, b"", OK),
        (TRIES, b"", 0x63CA),
        (VERIFY_B, b"", OK),
        (SEL_0002, b"", OK),
        # face_file layout: DF25's header at 316, DF26's at 921, DF27's at 1024, the photo from 1029.
        *reads(face, [(0, 256), (316, 256), (921, 256)]),
    ]


def test_photo_rest_in_one_extended_read() -> None:
    photo = noisy_photo()
    face = face_file(photo)
    assert face[1024:1027] == h("DF 27 82") and len(photo) > 600
    end = 1029 + len(photo)
    s, t = session([(SEL_TEXT, b"", OK), *photo_steps(face), ext_read(1177, end - 1177, face)])
    # Start at the text AP (the probe), as after path 1: the photo alone.
    outcome = s.read_photo(BIRTH, "2285", 2030)
    t.assert_done()
    assert isinstance(outcome, PhotoRead) and outcome.photo.size == (48, 48)


def test_photo_falls_back_to_short_reads_when_extended_is_refused() -> None:
    photo = noisy_photo()
    face = face_file(photo)
    end = 1029 + len(photo)
    shorts = [(offset, 256) for offset in range(1177, end, 256)]
    s, t = session(
        [(SEL_TEXT, b"", OK), *photo_steps(face), ext_read(1177, end - 1177, face, 0x6700), *reads(face, shorts)]
    )
    outcome = s.read_photo(BIRTH, "2285", 2030)
    t.assert_done()
    assert isinstance(outcome, PhotoRead)


class AnyCard:
    """Answers every command with the next drawn response, then 6A82 for ever."""

    def __init__(self, answers: list[tuple[bytes, int]]) -> None:
        self.answers = answers
        self.calls = 0

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.calls += 1
        return self.answers.pop(0) if self.answers else (b"", 0x6A82)

    def close(self) -> None:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(max_size=300),
            st.one_of(
                st.sampled_from([0x9000, 0x63C2, 0x63C0, 0x6984, 0x6982, 0x6A82, 0x6F00, 0x6282, 0x6B00, 0x6110]),
                st.integers(0, 0xFFFF),
            ),
        ),
        max_size=30,
    ),
    st.sampled_from(["pin", "collation", "photo"]),
)
def test_any_card_answer_gives_an_outcome(answers: list[tuple[bytes, int]], path: str) -> None:
    card = AnyCard(list(answers))
    s = CardSession(lambda: card)
    outcome: Outcome
    if path == "pin":
        outcome = s.read_with_pin("1234")
    elif path == "collation":
        outcome = s.read_with_collation(BIRTH, "2285")
    else:
        outcome = s.read_photo(BIRTH, "2285", 2030)
    assert isinstance(outcome, Outcome)
    assert card.calls <= len(answers) + 300


@pytest.mark.parametrize("birth", [b"1980021X", b"19800231", b"1980"])
def test_bad_birth_date_on_card_is_a_fault_that_does_not_repeat_the_value(birth: bytes) -> None:
    inner = (
        encode_tlv(0xDF22, NAME.encode())
        + encode_tlv(0xDF23, ADDRESS.encode())
        + encode_tlv(0xDF24, birth)
        + encode_tlv(0xDF25, b"1")
    )
    content = encode_tlv(0xFF20, inner)
    s, t = session(
        [
            (SEL_TEXT, b"", OK),
            (SEL_0011, b"", OK),
            (TRIES, b"", 0x63C3),
            (VERIFY_PIN, b"", OK),
            (SEL_0002, b"", OK),
            (h("00 B0 00 00 00"), content, 0x6282),
        ]
    )
    outcome = s.read_with_pin("1234")
    t.assert_done()
    assert isinstance(outcome, CardFault)
    assert birth.decode() not in outcome.detail
