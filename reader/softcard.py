"""The software My Number card: a persona's data laid out and encoded as on a real card, answering real status words.

Used in-process as a ``Connection`` (``SoftwareCard.connector()``) and, through reader.vpcd, as a card in pcscd's
virtual reader. Files: text AP (EF 0001 number — present, never read by us —, EF 0002 basic 4 info, EF 0003, PIN
EF 0011, 照合番号A EF 0014, 照合番号B EF 0015), visual AP (EF 0002 card face, EF 0005 number image, 照合番号B EF 0012,
照合番号A EF 0013), the common AP (EF 0001 record 1) and an empty JPKI AP. Verified states last until power-off; a warm
reset keeps them, as on the real card.

The DF21 "offset table" of both EF 0002 files is our own encoding (2-byte offsets of the following children from the
start of the file): its real format is not published, and the reader never relies on it.
"""

from __future__ import annotations

import enum
import hashlib
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from PIL import Image

from reader.collation import build_collation_b
from reader.profiles.gen1 import AID_COMMON, AID_JPKI, AID_TEXT, AID_VISUAL
from reader.tlv import encode_tlv
from reader.transport import CardRemovedError, Connection, NoCardError

__all__ = [
    "ATR",
    "CommonRecord",
    "LinkLatency",
    "Persona",
    "PersonaError",
    "SoftwareCard",
]

# A contactless-style ATR (3B 8x 80 01 …, T=1) with our own historical bytes and a correct TCK.
_ATR_BODY = bytes.fromhex("3B88800155B3C0DE0000000000")


def _with_tck(body: bytes) -> bytes:
    tck = 0
    for b in body[1:]:
        tck ^= b
    return body + bytes([tck])


ATR = _with_tck(_ATR_BODY)

SW_OK = 0x9000


class PersonaError(ValueError):
    """A persona file that cannot make a card; the message names the file and the field."""


class CommonRecord(enum.Enum):
    """What the common AP's EF 0001 record 1 holds — the single-source claim and the variants we must survive."""

    WITH_EXPIRY = "with-expiry"  # serial + municipality code + expiry YYYYMMDD, readable without a PIN
    SERIAL_ONLY = "serial-only"  # only a serial number (as another source shows)
    LOCKED = "locked"  # not readable without a secret (6982)


@dataclass(frozen=True, slots=True)
class LinkLatency:
    """A contactless link: ``bitrate`` bits/s both ways (424 kbit/s on common cards) plus a fixed cost per APDU for
    framing, reader firmware and USB. The per-APDU figure is an assumption; no timing is published for the card."""

    bitrate: int = 424_000
    per_apdu_s: float = 0.002

    def delay(self, command_len: int, response_len: int) -> float:
        """Seconds one exchange takes on the link."""
        return self.per_apdu_s + (command_len + response_len) * 8 / self.bitrate


@dataclass(frozen=True, slots=True)
class Persona:
    """A demo or test card holder (docs/contracts.md "Card persona"). ``photo`` is the JPEG 2000 file's bytes."""

    name: str
    address: str
    birth_date: date
    sex: str
    expiry: date
    security_code: str
    pin: str
    collation_b: str
    photo: bytes = field(repr=False)
    kana: str = ""
    register_code: str = ""

    @classmethod
    def from_file(cls, path: str | Path) -> Persona:
        """Load and validate a persona JSON file; ``photo`` is resolved relative to it."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PersonaError(f"{path}: cannot read persona: {exc}") from None
        if not isinstance(raw, dict):
            raise PersonaError(f"{path}: persona must be a JSON object")
        return cls.from_dict(raw, base=path.parent, where=str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, base: Path, where: str = "persona") -> Persona:
        """Validate a persona mapping; every error names ``where`` and the field."""

        def text(key: str, required: bool = True) -> str:
            value = raw.get(key)
            if value is None and not required:
                return ""  # e.g. "register_code": null for a card holder who is not on the register
            if not isinstance(value, str) or (required and not value):
                raise PersonaError(f"{where}: field {key!r} must be a non-empty string")
            return value

        def digits(key: str, n: int) -> str:
            value = text(key)
            if len(value) != n or not value.isascii() or not value.isdigit():
                raise PersonaError(f"{where}: field {key!r} must be {n} digits")
            return value

        def day(key: str) -> date:
            value = text(key)
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise PersonaError(f"{where}: field {key!r} must be a date YYYY-MM-DD, got {value!r}") from None

        sex = text("sex")
        if len(sex) != 1 or not sex.isascii():
            raise PersonaError(f"{where}: field 'sex' must be one ASCII character (1, 2 or 9)")
        birth, expiry = day("birth_date"), day("expiry")
        security = digits("security_code", 4)
        collation = raw.get("collation_b") or build_collation_b(birth, expiry.year, security)
        if not isinstance(collation, str) or not collation.isascii() or not collation.isdigit():
            raise PersonaError(f"{where}: field 'collation_b' must be digits")
        photo_path = base / text("photo")
        try:
            photo = photo_path.read_bytes()
        except OSError as exc:
            raise PersonaError(f"{where}: field 'photo': cannot read {photo_path}: {exc.strerror}") from None
        try:
            with Image.open(io.BytesIO(photo), formats=["JPEG2000"]) as img:
                mode = img.mode
        except (OSError, ValueError, SyntaxError) as exc:
            raise PersonaError(f"{where}: field 'photo': {photo_path} is not JPEG 2000 ({exc})") from None
        if mode != "L":
            raise PersonaError(f"{where}: field 'photo': {photo_path} must be greyscale (mode L), is {mode}")
        return cls(
            name=text("name"),
            address=text("address"),
            birth_date=birth,
            sex=sex,
            expiry=expiry,
            security_code=security,
            pin=digits("pin", 4),
            collation_b=collation,
            photo=photo,
            kana=text("kana", required=False),
            register_code=text("register_code", required=False),
        )


def _glyph_png(text: str) -> bytes:
    """A 1-bit PNG standing in for a printed text image: one 16×16 cell per character, its pixels the bits of the
    character's SHA-256 (no font needed, deterministic, different for different text)."""
    chars = text or " "
    per_line = 32
    lines = [chars[i : i + per_line] for i in range(0, len(chars), per_line)]
    img = Image.new("1", (16 * min(len(chars), per_line), 16 * len(lines)), 1)
    px = img.load()
    assert px is not None
    for row, line in enumerate(lines):
        for col, ch in enumerate(line):
            bits = int.from_bytes(hashlib.sha256(ch.encode("utf-8")).digest(), "big")
            for i in range(256):
                if bits >> i & 1:
                    px[col * 16 + i % 16, row * 16 + i // 16] = 0
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _filler(label: str, n: int) -> bytes:
    """Deterministic bytes standing in for keys, hashes and signatures we cannot produce for a software card."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def _pad(content: bytes, block: int = 256) -> bytes:
    """Pad with FF to a whole number of blocks, as the card's fixed-size files are."""
    size = (len(content) // block + 1) * block
    return content + b"\xff" * (size - len(content))


def _face_file(children: list[tuple[int, bytes]]) -> bytes:
    """``FF 20 <len> {DF21 offsets, children…}``; offsets are 2-byte positions from the start of the file."""
    encoded = [encode_tlv(tag, value) for tag, value in children]
    offsets_len = 2 * len(children)
    df21_len = len(encode_tlv(0xDF21, bytes(offsets_len)))
    inner_len = df21_len + sum(len(e) for e in encoded)
    header_len = len(encode_tlv(0xFF20, bytes(inner_len))) - inner_len
    pos = header_len + df21_len
    offsets = bytearray()
    for e in encoded:
        offsets += pos.to_bytes(2, "big")
        pos += len(e)
    return _pad(encode_tlv(0xFF20, encode_tlv(0xDF21, bytes(offsets)) + b"".join(encoded)))


@dataclass
class _Secret:
    value: bytes
    max_tries: int
    tries_left: int


@dataclass
class _File:
    data: bytes | list[bytes]  # transparent content, or records
    opened_by: tuple[int, ...] | None = ()  # secret FIDs any of which opens it; () free; None never


@dataclass
class _App:
    files: dict[int, _File] = field(default_factory=dict)
    secrets: dict[int, _Secret] = field(default_factory=dict)


class SoftwareCard:
    """A My Number card in software. ``process`` takes a command APDU and returns the response APDU."""

    def __init__(
        self,
        apps: dict[bytes, _App],
        *,
        latency: LinkLatency | None = None,
        first_apdu_6f00: bool = False,
        short_read_sw: int = 0x6282,
        extended_length: bool = True,
    ) -> None:
        self._apps = apps
        self.latency = latency
        self.first_apdu_6f00 = first_apdu_6f00  # answer 6F00 to the first command after power-up, like some cards
        self.short_read_sw = short_read_sw  # 0x6282 (data + warning) or 0x6C00 (ask for the right Le)
        self.extended_length = extended_length  # accept READ BINARY with a 3-byte Le, as the real card does
        self._lock = threading.Lock()
        self.powered = False
        self.present = True
        self.apdu_count = 0
        self.remove_after: int | None = None  # in-process: the card leaves after this many more APDUs
        self._current_app: bytes | None = None
        self._current_fid: int | None = None
        self._verified: set[tuple[bytes, int]] = set()
        self._fresh = False

    # --- construction -------------------------------------------------------------------------------------------

    @classmethod
    def from_persona(
        cls,
        path: str | Path,
        *,
        pin_tries: int = 3,
        collation_tries: int = 10,
        common_record: CommonRecord = CommonRecord.WITH_EXPIRY,
        latency: LinkLatency | None = None,
        **options: Any,
    ) -> SoftwareCard:
        """The card of the persona in JSON file ``path`` (docs/contracts.md)."""
        return cls.from_data(
            Persona.from_file(path),
            pin_tries=pin_tries,
            collation_tries=collation_tries,
            common_record=common_record,
            latency=latency,
            **options,
        )

    @classmethod
    def from_data(
        cls,
        persona: Persona,
        *,
        pin_tries: int = 3,
        collation_tries: int = 10,
        common_record: CommonRecord = CommonRecord.WITH_EXPIRY,
        latency: LinkLatency | None = None,
        **options: Any,
    ) -> SoftwareCard:
        """The card of ``persona``; tries counters and the common-AP variant are configurable (sources disagree)."""
        if not 1 <= pin_tries <= 15 or not 1 <= collation_tries <= 15:
            raise ValueError("try counters must be 1 to 15 (they are reported in one nibble)")
        p = persona
        birth = p.birth_date.strftime("%Y%m%d").encode()
        # A fake, clearly invalid number: the real one must never be on a test card either.
        number = b"000000000000"
        collation_a = number
        collation_b = p.collation_b.encode()

        text_basic = _face_file(
            [(0xDF22, p.name.encode()), (0xDF23, p.address.encode()), (0xDF24, birth), (0xDF25, p.sex.encode())]
        )
        text = _App(
            files={
                0x0001: _File(_pad(encode_tlv(0xFF10, encode_tlv(0xDF10, number))), opened_by=(0x0011, 0x0014)),
                0x0002: _File(text_basic, opened_by=(0x0011, 0x0015)),
                0x0003: _File(_pad(encode_tlv(0x30, _filler("text-hashes", 300))), opened_by=(0x0011, 0x0015)),
            },
            secrets={
                0x0011: _Secret(p.pin.encode(), pin_tries, pin_tries),
                0x0014: _Secret(collation_a, 10, 10),
                0x0015: _Secret(collation_b, collation_tries, collation_tries),
            },
        )
        face = _face_file(
            [
                (0xDF22, birth),
                (0xDF23, p.sex.encode()),
                (0xDF24, _filler("card-public-key", 270)),
                (0xDF25, _glyph_png(p.name)),
                (0xDF26, _glyph_png(p.address)),
                (0xDF27, p.photo),
                (0xDF28, _filler("signature", 256)),
                (0xDF29, p.expiry.strftime("%Y%m%d").encode()),
                (0xDF2A, _glyph_png(p.security_code)),
            ]
        )
        visual = _App(
            files={
                0x0002: _File(face, opened_by=(0x0012, 0x0013)),
                0x0005: _File(_pad(encode_tlv(0xFF30, _glyph_png(number.decode()))), opened_by=(0x0012, 0x0013)),
            },
            secrets={
                0x0012: _Secret(collation_b, collation_tries, collation_tries),
                0x0013: _Secret(collation_a, 10, 10),
            },
        )
        serial = "AB" + str(int(hashlib.sha256(p.name.encode()).hexdigest(), 16))[:13]
        if common_record is CommonRecord.WITH_EXPIRY:
            record = encode_tlv(0x30, (serial + "139999" + p.expiry.strftime("%Y%m%d")).encode())
        else:
            record = encode_tlv(0x30, serial.encode())
        opened = None if common_record is CommonRecord.LOCKED else ()
        common = _App(files={0x0001: _File([record], opened_by=opened)})
        apps = {AID_TEXT: text, AID_VISUAL: visual, AID_COMMON: common, AID_JPKI: _App()}
        return cls(apps, latency=latency, **options)

    @classmethod
    def not_my_number(cls, **options: Any) -> SoftwareCard:
        """A card with none of the My Number applications: every SELECT by AID answers 6A82."""
        return cls({}, **options)

    # --- power ------------------------------------------------------------------------------------------------

    def power_on(self) -> bytes:
        """Cold start: nothing selected, nothing verified. Returns the ATR."""
        with self._lock:
            self.powered = True
            self._current_app = self._current_fid = None
            self._verified.clear()
            self._fresh = True
            return ATR

    def power_off(self) -> None:
        """Unpower: verified states are lost."""
        with self._lock:
            self.powered = False
            self._current_app = self._current_fid = None
            self._verified.clear()

    def reset(self) -> bytes:
        """Warm reset: selections are lost, verified states are kept (as the real card does)."""
        with self._lock:
            self.powered = True
            self._current_app = self._current_fid = None
            self._fresh = True
            return ATR

    def tries_left(self, aid: bytes, fid: int) -> int:
        """The counter of a secret (for tests and the demo)."""
        return self._apps[aid].secrets[fid].tries_left

    # --- in-process connection -----------------------------------------------------------------------------------

    def insert(self) -> None:
        """Put the card on the (in-process) reader."""
        self.present = True

    def remove(self) -> None:
        """Take the card away: it loses power."""
        self.present = False
        self.power_off()

    def connector(self) -> Callable[[], Connection]:
        """A connect function for ``CardReader``: each call powers the card on and returns a connection."""

        def connect() -> Connection:
            if not self.present:
                raise NoCardError("no card on the software reader")
            self.power_on()
            return _SoftConnection(self)

        return connect

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Transport port: ``process`` split into data and status word (raises when the card is gone)."""
        if self.remove_after is not None:
            if self.remove_after <= 0:
                self.remove_after = None
                self.remove()
            else:
                self.remove_after -= 1
        if not self.present or not self.powered:
            raise CardRemovedError("the card was removed", 0x80100069)
        response = self.process(apdu)
        return response[:-2], int.from_bytes(response[-2:], "big")

    # --- APDU processing ---------------------------------------------------------------------------------------

    def process(self, apdu: bytes) -> bytes:
        """One command APDU in, response APDU (data + SW1 SW2) out; sleeps for the link when a latency is set."""
        with self._lock:
            self.apdu_count += 1
            data, sw = self._dispatch(bytes(apdu))
        response = data + sw.to_bytes(2, "big")
        if self.latency is not None:
            time.sleep(self.latency.delay(len(apdu), len(response)))
        return response

    def _dispatch(self, apdu: bytes) -> tuple[bytes, int]:
        if self._fresh:
            self._fresh = False
            if self.first_apdu_6f00:
                return b"", 0x6F00
        if len(apdu) < 4:
            return b"", 0x6700
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        data: bytes = b""
        le: int | None = None
        if len(body) == 1:
            le = body[0] or 256
        elif len(body) == 3 and body[0] == 0:
            # Case 2E: extended Le. Lc = 00 cannot start a short case 3/4 body, so this is unambiguous.
            if not self.extended_length:
                return b"", 0x6700
            le = int.from_bytes(body[1:], "big") or 65536
        elif len(body) > 1:
            lc = body[0]
            if lc == 0 or len(body) not in (1 + lc, 2 + lc):
                return b"", 0x6700  # extended-length and malformed APDUs
            data = body[1 : 1 + lc]
            if len(body) == 2 + lc:
                le = body[-1] or 256
        if cla != 0x00:
            return b"", 0x6E00
        handlers = {0xA4: self._select, 0x20: self._verify, 0xB0: self._read_binary, 0xB2: self._read_record}
        handler = handlers.get(ins)
        if handler is None:
            return b"", 0x6D00
        return handler(p1, p2, data, le)

    def _select(self, p1: int, p2: int, data: bytes, le: int | None) -> tuple[bytes, int]:
        if p2 not in (0x0C, 0x00):
            return b"", 0x6A86
        if not data:
            return b"", 0x6700
        if p1 == 0x04:
            if data not in self._apps:
                return b"", 0x6A82
            self._current_app, self._current_fid = data, None
            return b"", SW_OK
        if p1 == 0x02:
            if len(data) != 2:
                return b"", 0x6700
            app = self._apps.get(self._current_app) if self._current_app else None
            fid = int.from_bytes(data, "big")
            if app is None or (fid not in app.files and fid not in app.secrets):
                return b"", 0x6A82
            self._current_fid = fid
            return b"", SW_OK
        return b"", 0x6A86

    def _app(self) -> _App | None:
        return self._apps.get(self._current_app) if self._current_app else None

    def _verify(self, p1: int, p2: int, data: bytes, le: int | None) -> tuple[bytes, int]:
        if p1 != 0x00 or p2 != 0x80:
            return b"", 0x6A86
        app = self._app()
        if app is None or self._current_fid not in app.secrets:
            return b"", 0x6986  # no PIN file selected
        assert self._current_app is not None and self._current_fid is not None
        key = (self._current_app, self._current_fid)
        secret = app.secrets[self._current_fid]
        if not data:
            if key in self._verified:
                return b"", SW_OK
            return b"", 0x63C0 | secret.tries_left
        if secret.tries_left == 0:
            return b"", 0x6984
        if len(data) != len(secret.value):
            # The card refuses a secret of the wrong length without spending a try.
            return b"", 0x6700
        if data == secret.value:
            secret.tries_left = secret.max_tries
            self._verified.add(key)
            return b"", SW_OK
        secret.tries_left -= 1
        self._verified.discard(key)
        return b"", 0x63C0 | secret.tries_left

    def _readable(self) -> tuple[_File | None, int]:
        app = self._app()
        if app is None or self._current_fid not in app.files:
            return None, 0x6986  # no current EF
        assert self._current_app is not None
        f = app.files[self._current_fid]
        if f.opened_by is None:
            return None, 0x6982
        if f.opened_by and not any((self._current_app, fid) in self._verified for fid in f.opened_by):
            return None, 0x6982
        return f, SW_OK

    def _read_binary(self, p1: int, p2: int, data: bytes, le: int | None) -> tuple[bytes, int]:
        if p1 & 0x80:
            return b"", 0x6A86  # short-EF addressing: not offered by this card model
        if le is None or data:
            return b"", 0x6700
        f, sw = self._readable()
        if f is None:
            return b"", sw
        if not isinstance(f.data, bytes):
            return b"", 0x6981  # record file
        offset = (p1 << 8) | p2
        if offset >= len(f.data):
            return b"", 0x6B00
        chunk = f.data[offset : offset + le]
        if len(chunk) < le:
            if self.short_read_sw == 0x6C00 and le <= 256:
                return b"", 0x6C00 | len(chunk)
            return chunk, self.short_read_sw
        return chunk, SW_OK

    def _read_record(self, p1: int, p2: int, data: bytes, le: int | None) -> tuple[bytes, int]:
        if p2 != 0x04:
            return b"", 0x6A86
        if le is None or data:
            return b"", 0x6700
        f, sw = self._readable()
        if f is None:
            return b"", sw
        if isinstance(f.data, bytes):
            return b"", 0x6981
        if not 1 <= p1 <= len(f.data):
            return b"", 0x6A83
        record = f.data[p1 - 1]
        if le < len(record):
            return b"", 0x6C00 | len(record)
        return record, SW_OK


class _SoftConnection:
    """An in-process connection to a software card; ``close`` unpowers it like SCARD_UNPOWER_CARD."""

    def __init__(self, card: SoftwareCard) -> None:
        self.card = card
        self.closed = False

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one APDU to the card."""
        if self.closed:
            raise CardRemovedError("connection closed")
        return self.card.transmit(apdu)

    def close(self) -> None:
        """Unpower the card."""
        if not self.closed:
            self.closed = True
            self.card.power_off()
