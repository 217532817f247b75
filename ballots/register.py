"""The voter register (選挙人名簿): CSV import with validation, and the searchable index kiosks use.

Import (``read_register`` / ``parse_register``) accepts the municipal export in CP932 or UTF-8 (with or without BOM).
Every problem is reported as ``file:line: what is wrong``; if there is any problem nothing is returned, so a register
is imported entirely or not at all.

``RegisterIndex`` is an in-memory SQLite database holding every entry with its folded matching keys and indexes. It is
built once when the election package is made (``RegisterIndex.build``), travels inside the package as a database
image (``to_bytes``), and a kiosk gets it back with ``from_bytes`` without doing any per-voter work at start-up.
"""

from __future__ import annotations

import csv
import gc
import io
import os
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ballots.matching import (
    CardMatch,
    CardQuery,
    KeyedVoter,
    fold_addresses,
    fold_kana,
    fold_kanas,
    fold_name,
    fold_names,
    is_kana,
    match_candidates,
    names_match,
)
from ballots.model import AbsenteeStatus, ElectionKind, Sex, Voter
from ballots.wareki import WarekiError, parse_wareki

__all__ = [
    "COLUMNS",
    "RegisterError",
    "RegisterIndex",
    "RegisterProblem",
    "RegisterRow",
    "code_from_barcode",
    "decode_register",
    "gc_paused",
    "parse_register",
    "parse_register_rows",
    "read_register",
    "read_register_rows",
]

# The register.csv header (docs/contracts.md). Columns may come in any order; extra columns are ignored.
COLUMNS: tuple[str, ...] = (
    "識別コード",
    "投票区",
    "冊",
    "頁",
    "行",
    "氏名",
    "カナ",
    "生年月日",
    "性別",
    "住所",
    "方書",
    "状態",
    "選挙別不可",
    "不在者",
)
MAX_REPORTED_PROBLEMS = 20
EARLIEST_BIRTH = date(1880, 1, 1)


@dataclass(frozen=True, slots=True)
class RegisterProblem:
    """One problem in a register file."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class RegisterError(ValueError):
    """The register cannot be imported; ``problems`` lists each ``file:line: what is wrong`` (the first ones)."""

    def __init__(self, problems: list[RegisterProblem], truncated: bool = False) -> None:
        self.problems = problems
        text = "\n".join(str(p) for p in problems)
        if truncated:
            text += f"\n(stopped after {len(problems)} problems; nothing was imported)"
        elif len(problems) > 1:
            text += f"\n({len(problems)} problems; nothing was imported)"
        super().__init__(text)


# ---------------------------------------------------------------------------------------------------------------
# decoding


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_register(data: bytes, source: str) -> str:
    """Decode a register file: UTF-8 (BOM optional) or CP932. Anything else is a RegisterError naming the line."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RegisterError(
            [RegisterProblem(source, 1, "UTF-16 is not accepted; export the register as CP932 or UTF-8")]
        )
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            line = _line_of(data, exc.start + 3)
            raise RegisterError(
                [RegisterProblem(source, line, f"invalid UTF-8 (byte 0x{data[exc.start + 3]:02x}) in a UTF-8 file")]
            ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8_exc:
        try:
            return data.decode("cp932")
        except UnicodeDecodeError as cp932_exc:
            # Report the CP932 failure if UTF-8 failed earlier (likely a CP932 file), else the UTF-8 one.
            if cp932_exc.start >= utf8_exc.start:
                offset, what = cp932_exc.start, "CP932"
            else:
                offset, what = utf8_exc.start, "UTF-8"
            line = _line_of(data, offset)
            raise RegisterError(
                [
                    RegisterProblem(
                        source,
                        line,
                        f"wrong encoding: byte 0x{data[offset]:02x} is neither UTF-8 nor CP932 (as {what}); "
                        "export the register as CP932 or UTF-8",
                    )
                ]
            ) from None


# ---------------------------------------------------------------------------------------------------------------
# field parsers: each returns the value or raises _FieldError with the message for the clerk


class _FieldError(ValueError):
    """One field is wrong; the message is what the clerk reads after ``file:line:``."""


_SEX = {"男": Sex.MALE, "女": Sex.FEMALE, "1": Sex.MALE, "2": Sex.FEMALE, "M": Sex.MALE, "F": Sex.FEMALE}
_ABSENTEE = {"": None} | {s.value: s for s in AbsenteeStatus}
_KIND_CHARS = {k.value: k for k in ElectionKind}
_BARRED_SEPARATORS = re.compile(r"[\s・,、/／]|不可")
_KANA_OK = re.compile(r"[\u30A1-\u30FA\u30FC\u30FB\u30FD\u30FE＝= ]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_YMD = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})|([0-9]{4})([0-9]{2})([0-9]{2})")
_HIRA_TO_KATA = {c: c + 0x60 for c in range(0x3041, 0x3097)}


def _nfkc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _code(text: str) -> str:
    s = _nfkc(text.strip())
    if len(s) != 15 or not s.isdigit() or not s.isascii():
        raise _FieldError(f"識別コード must be 15 digits, got {text!r}")
    return s


def _positive(text: str, column: str) -> int:
    s = _nfkc(text.strip())
    if not s.isdigit() or not s.isascii():
        raise _FieldError(f"{column} must be a positive integer, got {text!r}")
    value = int(s)
    if value < 1:
        raise _FieldError(f"{column} must be a positive integer, got {text!r}")
    return value


def _name(text: str, column: str) -> str:
    parts = text.split()  # str.split() also splits on U+3000
    if not parts:
        raise _FieldError(f"{column} is empty")
    if _CONTROL.search(text):
        raise _FieldError(f"{column} contains a control character")
    return "\u3000".join(parts)


def _text(text: str, column: str, *, required: bool) -> str:
    s = text.strip()
    if required and not s:
        raise _FieldError(f"{column} is empty")
    if _CONTROL.search(s):
        raise _FieldError(f"{column} contains a control character")
    return s


def _kana(text: str) -> str:
    s = _nfkc(text).translate(_HIRA_TO_KATA)
    parts = s.split()
    if not parts:
        raise _FieldError("カナ is empty")
    joined = " ".join(parts)
    if not _KANA_OK.fullmatch(joined):
        bad = next(c for c in joined if not _KANA_OK.fullmatch(c))
        raise _FieldError(f"カナ must be katakana, found {bad!r} in {text!r}")
    return "\u3000".join(parts)


def parse_birth_date(text: str, today: date | None = None) -> date:
    """A 生年月日 as exported: ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYYMMDD`` or 和暦 (``昭和55年2月17日``).

    Raises ValueError saying what is wrong (not a date, impossible date, in the future, before 1880).
    """
    s = _nfkc(text.strip())
    if not s:
        raise _FieldError("生年月日 is empty")
    m = _YMD.fullmatch(s)
    if m is None and not (s[:2] in ("明治", "大正", "昭和", "平成", "令和") or s[0] in "MTSHRmtshr"):
        raise _FieldError(f"生年月日 {text!r} is not a date (YYYY-MM-DD, YYYYMMDD or 和暦)")
    try:
        if m:
            y, mo, d = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(4), m.group(5), m.group(6))
            value = date(int(y), int(mo), int(d))
        else:
            value = parse_wareki(s)
    except (ValueError, WarekiError):
        raise _FieldError(f"生年月日 {text!r} is not a real date") from None
    if value < EARLIEST_BIRTH or value > (today or date.today()):
        raise _FieldError(f"生年月日 {text!r} is out of range ({EARLIEST_BIRTH.isoformat()} to today)")
    return value


def _sex(text: str) -> Sex:
    s = _nfkc(text.strip())
    try:
        return _SEX[s]
    except KeyError:
        raise _FieldError(f"性別 must be 男 or 女 (or 1/2), got {text!r}") from None


def _moved(text: str) -> bool:
    s = text.strip()
    if s == "":
        return False
    if s == "転出":
        return True
    raise _FieldError(f"状態 must be empty or 転出, got {text!r}")


_BARRED_CACHE: dict[str, frozenset[ElectionKind]] = {}


def _barred(text: str) -> frozenset[ElectionKind]:
    cached = _BARRED_CACHE.get(text)
    if cached is not None:
        return cached
    s = _BARRED_SEPARATORS.sub("", _nfkc(text))
    kinds = set()
    for ch in s:
        kind = _KIND_CHARS.get(ch)
        if kind is None:
            raise _FieldError(f"選挙別不可 may only contain 国, 県 and 市, got {text!r}")
        kinds.add(kind)
    result = frozenset(kinds)
    _BARRED_CACHE[text] = result
    return result


def _absentee(text: str) -> AbsenteeStatus | None:
    s = text.strip()
    try:
        return _ABSENTEE[s]
    except KeyError:
        raise _FieldError(f"不在者 must be empty, 交付, 受理 or 返還, got {text!r}") from None


# ---------------------------------------------------------------------------------------------------------------
# import


# One register row in the index's column order: (code int, 投票区, 冊, 頁, 行, 氏名, カナ, birth YYYYMMDD int,
# sex M/F, 住所, 方書, moved 0/1, barred kinds e.g. "県市", 不在者 or None).
RegisterRow = tuple[int, str, int, int, int, str, str, int, str, str, str, int, str, str | None]
_CODES = re.compile(r"[0-9]{15}(?:,[0-9]{15})*")


def _column_converters(precincts: frozenset[str] | None, today: date) -> tuple[Callable[[str], object], ...]:
    """Converters for columns 2..14 (everything but 識別コード), in COLUMNS order; each raises _FieldError."""

    def precinct(text: str) -> str:
        code = _nfkc(text.strip())
        if not code:
            raise _FieldError("投票区 is empty")
        if precincts is not None and code not in precincts:
            raise _FieldError(f"unknown 投票区 {text!r} (not a precinct of election.toml)")
        return code

    def birth(text: str) -> int:
        d = parse_birth_date(text, today)
        return d.year * 10000 + d.month * 100 + d.day

    return (
        precinct,
        lambda t: _positive(t, "冊"),
        lambda t: _positive(t, "頁"),
        lambda t: _positive(t, "行"),
        lambda t: _name(t, "氏名"),
        _kana,
        birth,
        lambda t: _sex(t).value,
        lambda t: _text(t, "住所", required=True),
        lambda t: _text(t, "方書", required=False),
        lambda t: int(_moved(t)),
        lambda t: _barred_text(_barred(t)),
        lambda t: a.value if (a := _absentee(t)) else None,
    )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of small acyclic objects (rows, tuples, strings).

    Each collection would walk every live container; at a million rows that costs more than the parsing itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_register_rows(
    text: str, source: str, precincts: Collection[str] | None = None, *, today: date | None = None
) -> list[RegisterRow]:
    """Parse decoded register CSV text into index rows (see ``_parse_rows``)."""
    with gc_paused():
        return _parse_rows(text, source, precincts, today)


def _parse_rows(text: str, source: str, precincts: Collection[str] | None, today: date | None) -> list[RegisterRow]:
    """Parse decoded register CSV text into index rows; ``precincts`` are election.toml's 投票区 codes (None: any).

    Raises RegisterError listing the first problems in line order (``source:line: what``); returns rows only if there
    are none. The work is done column by column: values repeat a lot in a register (dates, page numbers, household
    addresses), so each distinct value is converted once and the rest is bulk mapping — a million rows in seconds.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise RegisterError([RegisterProblem(source, 1, "the file is empty (expected a header row)")]) from None
    except csv.Error as exc:
        raise RegisterError([RegisterProblem(source, 1, f"malformed header row: {exc}")]) from None
    names = [unicodedata.normalize("NFKC", h).strip().lstrip("\ufeff") for h in header]
    position: dict[str, int] = {}
    header_problems = []
    for i, h in enumerate(names):
        if h in position and h in COLUMNS:
            header_problems.append(RegisterProblem(source, 1, f"column {h} appears twice"))
        position.setdefault(h, i)
    missing = [c for c in COLUMNS if c not in position]
    if missing:
        header_problems.append(
            RegisterProblem(source, 1, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        )
    if header_problems:
        raise RegisterError(header_problems)

    # Pass 1: records and their line numbers; only the shape is checked here.
    problems: list[tuple[int, str]] = []
    width = len(header)
    records: list[list[str]] = []
    lines: list[int] = []
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                problems.append((line, f"expected {width} fields, found {len(row)}"))
                if len(problems) >= MAX_REPORTED_PROBLEMS:
                    break
                continue
            records.append(row)
            lines.append(line)
    except csv.Error as exc:
        problems.append((reader.line_num, f"malformed row: {exc}"))
    if not records and not problems:
        raise RegisterError([RegisterProblem(source, line, "the register has no voters")])
    columns = list(zip(*records, strict=True)) if records else [() for _ in range(width)]
    del records

    # Pass 2: 識別コード — 15 ASCII digits, unique. Checked on the joined column in one regex run.
    raw_codes: Sequence[str] = columns[position[COLUMNS[0]]]
    codes: list[int] = []
    if _CODES.fullmatch(",".join(raw_codes)):
        codes = list(map(int, raw_codes))
    else:
        for i, raw in enumerate(raw_codes):
            try:
                codes.append(int(_code(raw)))
            except _FieldError as exc:
                codes.append(-1 - i)  # unique placeholder so the duplicate check below stays meaningful
                problems.append((lines[i], str(exc)))
    if len(set(codes)) != len(codes):
        first: dict[int, int] = {}
        for i, code in enumerate(codes):
            seen = first.setdefault(code, lines[i])
            if seen != lines[i]:
                problems.append((lines[i], f"duplicate 識別コード {code:015d} (first on line {seen})"))

    # Pass 3: every other column, each distinct value converted once.
    converted: list[Sequence[object]] = [codes]
    converters = _column_converters(frozenset(precincts) if precincts is not None else None, today or date.today())
    for column, convert in zip(COLUMNS[1:], converters, strict=True):
        values: Sequence[str] = columns[position[column]]
        table: dict[str, object] = {}
        bad: dict[str, str] = {}
        for distinct in set(values):
            try:
                table[distinct] = convert(distinct)
            except _FieldError as exc:
                bad[distinct] = str(exc)
        if bad:
            problems.extend((lines[i], bad[v]) for i, v in enumerate(values) if v in bad)
            continue
        converted.append(list(map(table.__getitem__, values)))

    if problems:
        problems.sort()
        shown = [RegisterProblem(source, ln, msg) for ln, msg in problems[:MAX_REPORTED_PROBLEMS]]
        raise RegisterError(shown, truncated=len(problems) > MAX_REPORTED_PROBLEMS)
    return list(zip(*converted, strict=True))


def parse_register(
    text: str, source: str, precincts: Collection[str] | None = None, *, today: date | None = None
) -> list[Voter]:
    """Parse decoded register CSV text into voters (see ``parse_register_rows`` for the rules and errors)."""
    return [_voter_from_row(r) for r in parse_register_rows(text, source, precincts, today=today)]


def read_register_rows(
    path: str | os.PathLike[str], precincts: Collection[str] | None = None, *, today: date | None = None
) -> list[RegisterRow]:
    """Read and validate a register CSV file (CP932 or UTF-8) into index rows. Errors name ``path:line``."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RegisterError([RegisterProblem(source, 0, f"cannot read: {exc.strerror}")]) from None
    return parse_register_rows(decode_register(data, source), source, precincts, today=today)


def read_register(
    path: str | os.PathLike[str], precincts: Collection[str] | None = None, *, today: date | None = None
) -> list[Voter]:
    """Read and validate a register CSV file (CP932 or UTF-8) into voters. Errors name ``path:line``."""
    return [_voter_from_row(r) for r in read_register_rows(path, precincts, today=today)]


# ---------------------------------------------------------------------------------------------------------------
# index

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE place (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE        -- a folded address key (fold_address of 住所, or of 住所 + 方書)
);
CREATE TABLE address (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL,          -- 住所 as registered (display)
    extra TEXT NOT NULL             -- 方書 as registered (display)
);
CREATE TABLE voter (
    code INTEGER PRIMARY KEY,       -- 識別コード (15 digits, stored as an integer: the rowid, no extra index)
    precinct TEXT NOT NULL,
    volume INTEGER NOT NULL,
    page INTEGER NOT NULL,
    line INTEGER NOT NULL,
    name TEXT NOT NULL,
    kana TEXT NOT NULL,
    birth INTEGER NOT NULL,         -- YYYYMMDD
    sex TEXT NOT NULL,              -- M / F
    address_id INTEGER NOT NULL REFERENCES address(id),
    moved INTEGER NOT NULL,
    barred TEXT NOT NULL,           -- election kinds barred, e.g. 県市
    absentee TEXT,                  -- 交付 / 受理 / 返還 or NULL
    name_key TEXT NOT NULL,         -- fold_name(氏名)
    kana_key TEXT NOT NULL,         -- fold_kana(カナ)
    base_id INTEGER NOT NULL REFERENCES place(id),  -- key of 住所
    full_id INTEGER NOT NULL REFERENCES place(id)   -- key of 住所 + 方書 (= base_id without 方書)
);
"""
# voter_match covers the whole card-match decision (no table lookups for the ~30 people born on a given day);
# voter_place finds the same name at the same address with another birth date (a typo in the register).
_INDEXES = """
CREATE INDEX voter_match ON voter(birth, sex, base_id, full_id, name_key);
CREATE INDEX voter_place ON voter(base_id, name_key);
CREATE INDEX voter_kana ON voter(kana_key);
CREATE INDEX voter_name ON voter(name_key);
"""
_VOTER_COLUMNS = (
    "v.code, v.precinct, v.volume, v.page, v.line, v.name, v.kana, v.birth, v.sex, a.address, a.extra, v.moved, "
    "v.barred, v.absentee"
)
_KEYED_COLUMNS = _VOTER_COLUMNS + ", v.name_key, pb.key, pf.key"
_KEYED_FROM = (
    "voter v JOIN address a ON a.id = v.address_id "
    "JOIN place pb ON pb.id = v.base_id JOIN place pf ON pf.id = v.full_id"
)
_FROM = "voter v JOIN address a ON a.id = v.address_id"
_ORDER_KINDS = {ElectionKind.NATIONAL: 0, ElectionKind.PREFECTURAL: 1, ElectionKind.MUNICIPAL: 2}
_SEX_BY_VALUE = {s.value: s for s in Sex}
_ABSENTEE_BY_VALUE: dict[str | None, AbsenteeStatus | None] = {None: None} | {s.value: s for s in AbsenteeStatus}
_CODABAR_ENDS = "ABCDabcd"


def _barred_text(kinds: frozenset[ElectionKind]) -> str:
    return "".join(k.value for k in sorted(kinds, key=_ORDER_KINDS.__getitem__))


def _voter_from_row(row: tuple[Any, ...]) -> Voter:
    birth = row[7]
    barred = row[12]
    return Voter(
        code=f"{row[0]:015d}",
        precinct=row[1],
        volume=row[2],
        page=row[3],
        line=row[4],
        name=row[5],
        kana=row[6],
        birth_date=date(birth // 10000, birth // 100 % 100, birth % 100),
        sex=_SEX_BY_VALUE[row[8]],
        address=row[9],
        address_extra=row[10],
        moved=bool(row[11]),
        barred_kinds=_BARRED_CACHE.get(barred) or _barred(barred),
        absentee=_ABSENTEE_BY_VALUE[row[13]],
    )


def _row_from_voter(v: Voter) -> RegisterRow:
    b = v.birth_date
    return (
        int(v.code),
        v.precinct,
        v.volume,
        v.page,
        v.line,
        v.name,
        v.kana,
        b.year * 10000 + b.month * 100 + b.day,
        v.sex.value,
        v.address,
        v.address_extra,
        int(v.moved),
        _barred_text(v.barred_kinds),
        v.absentee.value if v.absentee else None,
    )


def _prefix_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (UTF-8 order is code point order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def code_from_barcode(text: str) -> str:
    """The 識別コード in an 入場券 barcode: its first 15 digits (further digits, the extract number, are ignored).

    Scanners may add Codabar start/stop letters, spaces or hyphens; those are dropped. Raises ValueError if fewer
    than 15 digits remain or anything else is in the way.
    """
    s = unicodedata.normalize("NFKC", text).strip()
    if len(s) >= 2 and s[0] in _CODABAR_ENDS and s[-1] in _CODABAR_ENDS:
        s = s[1:-1]
    s = s.replace(" ", "").replace("-", "")
    if not s.isascii() or not s.isdigit() or len(s) < 15:
        raise ValueError(f"not an 入場券 barcode (expected at least 15 digits): {text!r}")
    return s[:15]


class RegisterIndex:
    """The register, searchable: exact lookup, card match and prefix search over an in-memory SQLite database.

    Safe to share between threads (one connection behind a lock; every query is a few index probes).
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        """Wrap an open register database; use ``build`` or ``from_bytes`` rather than calling this."""
        self._conn = conn
        self._lock = threading.Lock()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise RegisterError([RegisterProblem("register", 0, f"unsupported register schema version {version}")])
        self._len = int(conn.execute("SELECT count(*) FROM voter").fetchone()[0])

    # -- construction -------------------------------------------------------------------------------------------

    @classmethod
    def build(cls, voters: Iterable[Voter]) -> RegisterIndex:
        """Build the index (folded keys, indexes) from validated voters."""
        return cls.from_rows(_row_from_voter(v) for v in voters)

    @classmethod
    def from_rows(cls, rows: Iterable[RegisterRow]) -> RegisterIndex:
        """Build the index from validated rows (``read_register_rows``), the fast path for large registers."""
        with gc_paused():
            return cls._from_rows(rows)

    @classmethod
    def _from_rows(cls, rows: Iterable[RegisterRow]) -> RegisterIndex:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.executescript(_SCHEMA)
        rows = rows if isinstance(rows, list) else list(rows)
        # Households share addresses and many people share names: fold each distinct value once, all in one pass.
        names = list({r[5]: None for r in rows})
        kanas = list({r[6]: None for r in rows})
        places = list({(r[9], r[10]): None for r in rows})
        name_keys = dict(zip(names, fold_names(names), strict=True))
        kana_keys = dict(zip(kanas, fold_kanas(kanas), strict=True))
        bases = list({a: None for a, _ in places})
        base_keys = dict(zip(bases, fold_addresses(bases), strict=True))
        with_extra = [(a, e) for a, e in places if e]
        full_keys = dict(zip(with_extra, fold_addresses([f"{a} {e}" for a, e in with_extra]), strict=True))
        place_ids: dict[str, int] = {}
        for key in [*base_keys.values(), *full_keys.values()]:
            place_ids.setdefault(key, len(place_ids) + 1)
        address_ids = {place: i for i, place in enumerate(places, start=1)}
        base_of = {p: place_ids[base_keys[p[0]]] for p in places}
        full_of = {p: place_ids[full_keys[p]] if p[1] else base_of[p] for p in places}

        # Column-wise, so the per-voter work is bulk mapping rather than a Python loop.
        cols = list(zip(*rows, strict=True))
        place_column = list(zip(cols[9], cols[10], strict=True))
        voter_rows = zip(
            *cols[:9],
            map(address_ids.__getitem__, place_column),
            *cols[11:14],
            map(name_keys.__getitem__, cols[5]),
            map(kana_keys.__getitem__, cols[6]),
            map(base_of.__getitem__, place_column),
            map(full_of.__getitem__, place_column),
            strict=True,
        )
        # An in-memory database needs no journal; a big sort cache makes CREATE INDEX one in-memory sort.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -524288")
        with conn:
            try:
                conn.executemany("INSERT INTO voter VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", voter_rows)
            except sqlite3.IntegrityError as exc:
                raise RegisterError([RegisterProblem("register", 0, f"duplicate 識別コード ({exc})")]) from None
            conn.executemany("INSERT INTO address VALUES (?,?,?)", ((i, a, e) for (a, e), i in address_ids.items()))
            conn.executemany("INSERT INTO place VALUES (?,?)", ((i, k) for k, i in place_ids.items()))
            conn.executescript(_INDEXES)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return cls(conn)

    @classmethod
    def from_voters(cls, voters: Iterable[Voter]) -> RegisterIndex:
        """Alias of ``build`` for readability at call sites that already hold voters."""
        return cls.build(voters)

    @classmethod
    def from_bytes(cls, image: bytes | memoryview) -> RegisterIndex:
        """Open a database image made by ``to_bytes`` (from a verified package) in memory, read-only."""
        if len(image) < 512 or bytes(image[:16]) != b"SQLite format 3\x00":
            raise RegisterError([RegisterProblem("register", 0, "not a register database image")])
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            conn.deserialize(image)
            conn.execute("PRAGMA query_only = ON")
            return cls(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise RegisterError([RegisterProblem("register", 0, f"not a register database: {exc}")]) from None

    def to_bytes(self) -> bytes:
        """The database image, for the package."""
        with self._lock:
            return self._conn.serialize()

    def close(self) -> None:
        """Release the database."""
        with self._lock:
            self._conn.close()

    # -- queries ------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Voter]:
        """Every voter in 識別コード order (fetched in chunks so other threads are not blocked for long)."""
        last = -1
        sql = f"SELECT {_VOTER_COLUMNS} FROM {_FROM} WHERE v.code > ? ORDER BY v.code LIMIT 5000"
        while True:
            with self._lock:
                rows = self._conn.execute(sql, (last,)).fetchall()
            if not rows:
                return
            for row in rows:
                yield _voter_from_row(row)
            last = rows[-1][0]

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.by_code(code) is not None

    def by_code(self, code: str) -> Voter | None:
        """The entry with this 識別コード (15 digits), or None. Raises ValueError for a malformed code."""
        s = unicodedata.normalize("NFKC", code).strip()
        if len(s) != 15 or not s.isascii() or not s.isdigit():
            raise ValueError(f"識別コード must be 15 digits: {code!r}")
        with self._lock:
            row = self._conn.execute(f"SELECT {_VOTER_COLUMNS} FROM {_FROM} WHERE v.code = ?", (int(s),)).fetchone()
        return _voter_from_row(row) if row else None

    def by_barcode(self, text: str) -> Voter | None:
        """The entry for a scanned 入場券 barcode, or None. Raises ValueError if it is not a barcode."""
        return self.by_code(code_from_barcode(text))

    def match_card(self, name: str, address: str, birth_date: date | str, sex: str | None) -> CardMatch:
        """Match card basic information (sex as the card's code 1/2/9) against the register.

        See ``ballots.matching.match_candidates``: one voter only when nobody else could be the card holder.
        """
        birth = date.fromisoformat(birth_date) if isinstance(birth_date, str) else birth_date
        query = CardQuery.from_card(name, address, birth, sex)
        key = birth.year * 10000 + birth.month * 100 + birth.day
        card = query.address_key
        # Register keys the card address can match (see address_match): the whole key (住所, or 住所 + 方書), or a 住所
        # that the card continues with a 方書 — a prefix ending with a block number.
        keys = {card} | {
            card[:i] for i in range(1, len(card)) if card[i - 1].isdigit() and card[i] not in "-0123456789"
        }
        conn = self._conn
        with self._lock:
            places = dict(conn.execute(f"SELECT id, key FROM place WHERE key IN ({_marks(keys)})", tuple(keys)))
            exact = next((i for i, k in places.items() if k == card), None)
            # Index-only: everyone born that day, with just what the decision needs.
            same = conn.execute(
                "SELECT code, base_id, full_id, name_key FROM voter INDEXED BY voter_match WHERE birth = ?", (key,)
            ).fetchall()
            wanted = [
                code
                for code, base_id, full_id, name_key in same
                # Entries matching neither address nor name cannot change the decision: skip building them.
                if base_id in places or full_id == exact or names_match(query.name_key, name_key)
            ]
            # The same name at the same address with another birth date (a typo in the register): candidates only.
            if places:
                wanted += [
                    code
                    for code, name_key in conn.execute(
                        f"SELECT code, name_key FROM voter INDEXED BY voter_place WHERE base_id IN ({_marks(places)}) "
                        "AND birth != ?",
                        (*places, key),
                    )
                    if names_match(query.name_key, name_key)
                ]
            rows = (
                conn.execute(f"SELECT {_KEYED_COLUMNS} FROM {_KEYED_FROM} WHERE v.code IN ({_marks(wanted)})", wanted)
                if wanted
                else []
            )
            keyed = [_keyed(r) for r in rows]
        return match_candidates(
            query, [k for k in keyed if k.voter.birth_date == birth], [k for k in keyed if k.voter.birth_date != birth]
        )

    def search(self, query: str, birth_date: date | None = None, limit: int = 50) -> list[Voter]:
        """Manual search: entries whose カナ (for a kana query) or 氏名 (otherwise) starts with ``query``.

        Old forms, width, spaces and hiragana/katakana are folded, so 高橋 finds 髙橋 and たかはし finds タカハシ.
        ``birth_date`` narrows to one birth date; an empty query with a birth date lists everyone born that day.
        Results are in kana (or name) order, at most ``limit``.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        kana = is_kana(query)
        prefix = fold_kana(query) if kana else fold_name(query)
        column, index = ("kana_key", "voter_kana") if kana else ("name_key", "voter_name")
        if not prefix and birth_date is None:
            raise ValueError("give a name or kana to search for, or a birth date")
        clauses: list[str] = []
        params: list[object] = []
        if birth_date is not None:
            index = "voter_match"
            clauses.append("v.birth = ?")
            params.append(birth_date.year * 10000 + birth_date.month * 100 + birth_date.day)
        if prefix:
            clauses.append(f"v.{column} >= ? AND v.{column} < ?")
            params += [prefix, _prefix_bound(prefix)]
        sql = (
            f"SELECT {_VOTER_COLUMNS} FROM voter v INDEXED BY {index} JOIN address a ON a.id = v.address_id "
            f"WHERE {' AND '.join(clauses)} ORDER BY v.{column}, v.code LIMIT ?"
        )
        with self._lock:
            rows = self._conn.execute(sql, (*params, limit)).fetchall()
        return [_voter_from_row(r) for r in rows]

    def counts(self) -> dict[str, dict[Sex, int]]:
        """Registered voters per 投票区 and sex (for the 投票録 and turnout reports)."""
        result: dict[str, dict[Sex, int]] = {}
        with self._lock:
            rows = self._conn.execute("SELECT precinct, sex, count(*) FROM voter GROUP BY precinct, sex").fetchall()
        for precinct, sex, n in rows:
            result.setdefault(precinct, {Sex.MALE: 0, Sex.FEMALE: 0})[_SEX_BY_VALUE[sex]] = n
        return result


def _marks(values: Collection[object]) -> str:
    """SQL placeholders for an IN list."""
    return ",".join("?" * len(values))


def _keyed(row: tuple[Any, ...]) -> KeyedVoter:
    return KeyedVoter(_voter_from_row(row), row[14], row[15], row[16])
