"""The current My Number card (issued since 2016): 券面事項入力補助AP, 券面事項確認AP and the common card AP.

Legal rule: the individual number is never read. This module never selects text-AP EF 0001 or visual-AP EF 0005 and
never uses 照合番号A (EF 0013/0014); the privacy tests check every path's APDU trace for that.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from reader import tlv
from reader.apdu import (
    SW_AUTH_BLOCKED,
    SW_BLOCKED,
    SW_FILE_NOT_FOUND,
    SW_OK,
    CardChannel,
    CardDataError,
    CardStatusError,
    read_fields,
    read_record,
    select_aid,
    select_ef,
    verify,
)
from reader.collation import BIRTH_FORM, BirthForm, build_collation_b
from reader.outcomes import BasicInfo, Failure, InvalidInput, NotMyNumberCard, SecretBlocked, SecretKind, WrongSecret
from reader.profiles import App, CardProfile

__all__ = [
    "AID_COMMON",
    "AID_JPKI",
    "AID_TEXT",
    "AID_VISUAL",
    "COMMON_EXPIRY_IN_RECORD",
    "Gen1Profile",
    "parse_basic_info",
    "parse_common_expiry",
]

AID_JPKI = bytes.fromhex("D392F000260100000001")
AID_TEXT = bytes.fromhex("D3921000310001010408")  # 券面事項入力補助AP
AID_VISUAL = bytes.fromhex("D3921000310001010402")  # 券面事項確認AP
AID_COMMON = bytes.fromhex("D3921000310001010100")  # 共通カードAP

# Text AP files.
EF_TEXT_BASIC = 0x0002
EF_TEXT_PIN = 0x0011  # 4-digit PIN, 3 tries
EF_TEXT_COLLATION_B = 0x0015
# Visual AP files.
EF_VISUAL_FACE = 0x0002
EF_VISUAL_COLLATION_B = 0x0012
# Common AP.
EF_COMMON_CARD = 0x0001

TAG_OUTER = 0xFF20
TAG_NAME, TAG_ADDRESS, TAG_BIRTH, TAG_SEX = 0xDF22, 0xDF23, 0xDF24, 0xDF25
TAG_PHOTO = 0xDF27

# Uncertain (single source): the common AP's EF 0001 record 1 carries card serial, municipality code and expiry date,
# the expiry as the last 8 ASCII digits (YYYYMMDD) of the record's TLV value. Another source shows only a serial there.
# When this is False, or the record does not end in a plausible date, the clerk types the expiry year.
COMMON_EXPIRY_IN_RECORD = True

_APPS = {App.TEXT: AID_TEXT, App.VISUAL: AID_VISUAL, App.COMMON: AID_COMMON}
# Status words a card gives for an application or file it does not have.
_ABSENT = {SW_FILE_NOT_FOUND, 0x6A86, 0x6A87, 0x6D00, 0x6E00, 0x6A80}


def parse_basic_info(fields: dict[int, bytes]) -> BasicInfo:
    """The basic 4 info from the children of text-AP EF 0002. Raises ``CardDataError`` for undecodable values."""
    try:
        name = fields[TAG_NAME].decode("utf-8")
        address = fields[TAG_ADDRESS].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CardDataError(f"name or address is not UTF-8 (byte {exc.start})") from None
    birth = _parse_yyyymmdd(fields[TAG_BIRTH], "birth date")
    raw_sex = fields[TAG_SEX]
    # Any byte the spec does not name becomes a code BasicInfo reports as unknown; never fail on it.
    sex = raw_sex.decode("ascii") if raw_sex.isascii() else raw_sex.hex().upper()
    return BasicInfo(name=name, address=address, birth_date=birth, sex_code=sex)


def _parse_yyyymmdd(raw: bytes, what: str) -> date:
    # Messages leave the value out: it is personal data and error details end up in logs.
    if len(raw) != 8 or not raw.isdigit():
        raise CardDataError(f"{what} is not 8 ASCII digits (YYYYMMDD), {len(raw)} bytes")
    text = raw.decode("ascii")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise CardDataError(f"{what} is not a real date") from None


def parse_common_expiry(record: bytes, *, expiry_in_record: bool = COMMON_EXPIRY_IN_RECORD) -> int | None:
    """The expiry year from common-AP EF 0001 record 1, or ``None`` when this card does not carry it there."""
    if not expiry_in_record:
        return None
    try:
        items = tlv.parse_tlvs(record)
    except tlv.TlvError:
        return None
    if not items:
        return None
    tail = items[0].value[-8:]
    try:
        expiry = _parse_yyyymmdd(tail, "expiry")
    except CardDataError:
        return None
    # A serial number can end in eight digits too; only a date in the card's possible lifetime counts.
    return expiry.year if 2016 <= expiry.year <= 2099 else None


class Gen1Profile(CardProfile):
    """The current-generation card."""

    name: ClassVar[str] = "mynumber-2016"

    def __init__(self, channel: CardChannel, selected: bytes | None = None) -> None:
        super().__init__(channel)
        self.selected = selected  # AID of the selected application; saves re-selecting it

    @classmethod
    def probe(cls, channel: CardChannel, first: App) -> Gen1Profile | None:
        """SELECT the application for ``first``; this card generation is present when that succeeds."""
        aid = _APPS[first]
        _data, sw = channel.send(select_aid(aid))
        if sw == SW_OK:
            return cls(channel, aid)
        if sw in _ABSENT:
            return None
        raise CardStatusError("SELECT application", sw)

    # --- helpers ------------------------------------------------------------------------------------------------

    def _select_app(self, aid: bytes) -> Failure | None:
        if self.selected == aid:
            return None
        self.selected = None
        _data, sw = self.channel.send(select_aid(aid))
        if sw in _ABSENT:
            return NotMyNumberCard()
        if sw != SW_OK:
            raise CardStatusError("SELECT application", sw)
        self.selected = aid
        return None

    def _select_ef(self, fid: int) -> Failure | None:
        _data, sw = self.channel.send(select_ef(fid))
        if sw in _ABSENT:
            # A My Number card has every file we select; a card without them is something else.
            return NotMyNumberCard()
        if sw != SW_OK:
            raise CardStatusError("SELECT file", sw)
        return None

    def _verify(self, aid: bytes, pin_fid: int, secret: str, kind: SecretKind) -> Failure | None:
        """Select the PIN file, ask for the tries left, then VERIFY exactly once. Never retried."""
        failure = self._select_app(aid) or self._select_ef(pin_fid)
        if failure:
            return failure
        _data, sw = self.channel.send(verify())
        if sw == 0x63C0 or sw in (SW_BLOCKED, SW_AUTH_BLOCKED):
            return SecretBlocked(kind)
        # 63Cx: x tries left; 9000: already verified (we still check the typed secret); 6300: no counter.
        if not (sw & 0xFFF0 == 0x63C0 or sw in (SW_OK, 0x6300)):
            raise CardStatusError("VERIFY (tries left)", sw)
        _data, sw = self.channel.send(verify(secret.encode("ascii")))
        if sw == SW_OK:
            return None
        if sw == 0x63C0 or sw in (SW_BLOCKED, SW_AUTH_BLOCKED):
            return SecretBlocked(kind)
        if sw & 0xFFF0 == 0x63C0:
            return WrongSecret(kind, sw & 0x0F)
        if sw == 0x6300:
            return WrongSecret(kind, None)
        if sw == 0x6700:
            return InvalidInput("桁数がカードと合いません")
        raise CardStatusError("VERIFY", sw)

    def _read_basic(self) -> BasicInfo | Failure:
        failure = self._select_ef(EF_TEXT_BASIC)
        if failure:
            return failure
        return parse_basic_info(read_fields(self.channel, (TAG_NAME, TAG_ADDRESS, TAG_BIRTH, TAG_SEX)))

    # --- interface ----------------------------------------------------------------------------------------------

    def read_basic_with_pin(self, pin: str) -> BasicInfo | Failure:
        """Path 1: text AP, PIN EF 0011, then EF 0002."""
        return self._verify(AID_TEXT, EF_TEXT_PIN, pin, SecretKind.PIN) or self._read_basic()

    def read_basic_with_collation(self, number: str) -> BasicInfo | Failure:
        """Path 2, text part: text AP, 照合番号B EF 0015, then EF 0002."""
        return self._verify(AID_TEXT, EF_TEXT_COLLATION_B, number, SecretKind.COLLATION_B) or self._read_basic()

    def read_photo_with_collation(self, number: str) -> bytes | Failure:
        """Visual AP, 照合番号B EF 0012, then only as much of EF 0002 as reaches the end of the photo (DF27)."""
        failure = self._verify(AID_VISUAL, EF_VISUAL_COLLATION_B, number, SecretKind.COLLATION_B)
        failure = failure or self._select_ef(EF_VISUAL_FACE)
        if failure:
            return failure
        return read_fields(self.channel, (TAG_PHOTO,))[TAG_PHOTO]

    def read_expiry_year(self) -> int | None:
        """Common AP EF 0001 record 1, readable without a secret on the cards the single source describes."""
        if self._select_app(AID_COMMON):
            return None
        _data, sw = self.channel.send(select_ef(EF_COMMON_CARD))
        if sw != SW_OK:
            return None
        data, sw = self.channel.send(read_record(1))
        if sw != SW_OK:
            return None
        return parse_common_expiry(data)

    def collation_number(self, birth_date: date, expiry_year: int, security_code: str, foreign_resident: bool) -> str:
        """照合番号B per reader.collation."""
        return build_collation_b(birth_date, expiry_year, security_code, foreign_resident=foreign_resident)

    def collation_number_valid(self, number: str) -> bool:
        """14 digits in the era form, 16 in the Gregorian form."""
        length = 14 if BIRTH_FORM is BirthForm.ERA_YYMMDD else 16
        return len(number) == length and number.isascii() and number.isdigit()
