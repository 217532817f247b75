"""Folding for register matching, and the card-to-register match decision.

Folded keys are for *matching only*; what is shown to clerks and printed is always the text as registered.

Folding (all keys): Unicode NFKC (full-width ASCII and half-width kana become canonical), hiragana → katakana, every
kind of space removed, and old-form / variant kanji mapped to the common form (``KANJI_FOLDS``: 髙→高, 﨑→崎, 邊→辺 …).
Kana keys also fold small kana to large and ヂ/ヅ to ジ/ズ, because older registers wrote シヨウ for ショウ.
Address keys also unify the ways a block number is written (１丁目２番３号, 一丁目2-3, 1丁目2番地の3 → 1-2-3) and
drop the prefecture, which a card prints and a municipal export may omit.

``match_candidates`` decides from the voters born on the card's birth date whether exactly one register entry is the
card holder; it never returns a single voter when another entry could equally be the person.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from ballots.model import Sex, Voter

__all__ = [
    "KANJI_FOLDS",
    "AddressMatch",
    "Candidate",
    "CardMatch",
    "MatchStatus",
    "address_match",
    "card_sex",
    "fold_address",
    "fold_addresses",
    "fold_kana",
    "fold_kanas",
    "fold_name",
    "fold_names",
    "full_address_key",
    "is_kana",
    "match_candidates",
    "names_match",
]

# Old-form (旧字体) and variant kanji common in resident records → the form a card or a clerk is likely to use.
# Several old forms can fold to one new form; folding is one-way and only ever applied to both sides of a comparison.
KANJI_FOLDS: dict[str, str] = {
    "髙": "高",
    "﨑": "崎",
    "嵜": "崎",
    "碕": "崎",
    "邊": "辺",
    "邉": "辺",
    # 斉 is a different character in the register, but 齋/齊/斎/斉藤 are spelled interchangeably on cards and forms.
    "齋": "斎",
    "齊": "斎",
    "斉": "斎",
    "德": "徳",
    "濵": "浜",
    "濱": "浜",
    "國": "国",
    "圀": "国",
    "澤": "沢",
    "廣": "広",
    "櫻": "桜",
    "藏": "蔵",
    "淺": "浅",
    "嶋": "島",
    "嶌": "島",
    "冨": "富",
    "桒": "桑",
    "槇": "槙",
    "眞": "真",
    "圓": "円",
    "萬": "万",
    "實": "実",
    "惠": "恵",
    "榮": "栄",
    "壽": "寿",
    "龍": "竜",
    "瀧": "滝",
    "黑": "黒",
    "曾": "曽",
    "莊": "荘",
    "禮": "礼",
    "戶": "戸",
    "靜": "静",
    "將": "将",
    "應": "応",
    "會": "会",
    "條": "条",
    "來": "来",
    "與": "与",
    "傳": "伝",
    "鐵": "鉄",
    "豐": "豊",
    "彌": "弥",
    "學": "学",
    "縣": "県",
    "兒": "児",
    "驛": "駅",
    "關": "関",
    "鷗": "鴎",
    "籠": "篭",
    "淵": "渕",
    "嶽": "岳",
    "峯": "峰",
    "舘": "館",
    "埜": "野",
    "巖": "巌",
    "繪": "絵",
    "當": "当",
    "驒": "騨",
    "蘆": "芦",
    "邨": "村",
    "晉": "晋",
    "鹽": "塩",
    "聰": "聡",
    "稻": "稲",
    "增": "増",
    "盡": "尽",
    "桺": "柳",
    "栁": "柳",
}

# Folding works on many values joined by newlines at once (the index folds a million names in one pass), so the
# patterns never cross a newline: "spaces" are whitespace other than \n, and the prefecture anchor is per line.
_SPACES = re.compile(r"[^\S\n]+")
_KATAKANA_SHIFT = 0x60  # ぁ (U+3041) .. ゖ (U+3096) → ァ (U+30A1) .. ヶ (U+30F6)
_HIRA_TO_KATA = {c: c + _KATAKANA_SHIFT for c in range(0x3041, 0x3097)} | {0x309D: 0x30FD, 0x309E: 0x30FE}
# ヵ/ヶ (and their hiragana ゕ/ゖ) are read カ/ケ in names and places (霞ヶ丘 = 霞ケ丘).
_SMALL_KA_KE = {"ヶ": "ケ", "ヵ": "カ", "ゖ": "ケ", "ゕ": "カ"}
_NAME_TABLE = str.maketrans(KANJI_FOLDS | {chr(k): chr(v) for k, v in _HIRA_TO_KATA.items()} | _SMALL_KA_KE)
_SMALL_TO_LARGE = str.maketrans(
    "ァィゥェォッャュョヮヵヶヂヅヰヱヲ",
    "アイウエオツヤユヨワカケジズイエオ",
)
_KANA_CHARS = re.compile(r"[\u30A1-\u30FA\u30FC\u30FD\u30FE]+")

_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CHOME_KANJI = re.compile(r"([一二三四五六七八九十〇]+)丁目")
_PREFECTURE = re.compile(r"^(?:東京都|北海道|京都府|大阪府|[^\d\s]{2,3}県)", re.MULTILINE)
_DIGIT_SPACE_DIGIT = re.compile(r"(?<=\d)[^\S\n]+(?=\d)")
_ROOM = re.compile(r"(?<=\d)号室")
# A number followed by a block word or any dash ends one component of the block address. Lookbehind and a literal
# replacement keep the substitution inside the regex engine (no per-match Python call).
_BLOCK_PART = re.compile(r"(?<=\d)(?:丁目|番地の?|番の?|号|の|ノ|[-‐‑‒–—―−ーｰ])")
_DASH_NOT_BETWEEN_DIGITS = re.compile(r"-(?!\d)")


def _one(text: str) -> str:
    # A single value must not be split by the batch pipelines.
    return text.replace("\n", " ") if "\n" in text else text


def _fold_names_joined(joined: str) -> str:
    s = _SPACES.sub("", unicodedata.normalize("NFKC", joined).translate(_NAME_TABLE))
    # Removing a space can put a combining mark next to a letter again (A ́ → Á): fold until stable, so a key
    # folds to itself. Real names are normalised after one pass; the check is cheap.
    return s if unicodedata.is_normalized("NFKC", s) else _fold_names_joined(s)


def _fold_kana_joined(joined: str) -> str:
    s = _SPACES.sub("", unicodedata.normalize("NFKC", joined).translate(_NAME_TABLE)).translate(_SMALL_TO_LARGE)
    return s if unicodedata.is_normalized("NFKC", s) else _fold_kana_joined(s)


def _kanji_number(text: str) -> str:
    """一 → 1, 十二 → 12, 二十 → 20 (丁目 numbers are small)."""
    if "十" not in text:
        return "".join(str(_KANJI_DIGITS[c]) for c in text)
    tens, _, ones = text.partition("十")
    value = (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)
    return str(value)


def _fold_addresses_joined(joined: str) -> str:
    # A space between two numbers separates them (本町1-2-3 203 is room 203); other spaces mean nothing.
    s = _SPACES.sub("", _DIGIT_SPACE_DIGIT.sub("-", unicodedata.normalize("NFKC", joined)))
    s = _PREFECTURE.sub("", s)
    if "丁目" in s:
        s = _CHOME_KANJI.sub(lambda m: _kanji_number(m.group(1)) + "丁目", s)
    s = _ROOM.sub("", s)
    s = _BLOCK_PART.sub("-", s)
    s = _DASH_NOT_BETWEEN_DIGITS.sub("", s)
    return s.translate(_NAME_TABLE)


def _batch(texts: Sequence[str], fold: Callable[[str], str]) -> list[str]:
    if not texts:
        return []
    keys = fold("\n".join(_one(t) for t in texts)).split("\n")
    if len(keys) != len(texts):  # pragma: no cover - the pipelines never add or remove newlines
        raise AssertionError("folding changed the number of values")
    return keys


def fold_name(text: str) -> str:
    """Matching key of a name written in kanji (or kana): NFKC, old forms folded, hiragana → katakana, no spaces."""
    return _fold_names_joined(_one(text))


def fold_kana(text: str) -> str:
    """Matching key of a カナ reading: NFKC, hiragana → katakana, small kana → large, ヂ/ヅ → ジ/ズ, no spaces."""
    return _fold_kana_joined(_one(text))


def fold_address(text: str) -> str:
    """Matching key of an address (with or without 方書): 東京都架空市本町一丁目２番地の３ → 架空市本町1-2-3."""
    return _fold_addresses_joined(_one(text))


def fold_names(texts: Sequence[str]) -> list[str]:
    """``fold_name`` of many values in one pass (same results, much faster for a whole register)."""
    return _batch(texts, _fold_names_joined)


def fold_kanas(texts: Sequence[str]) -> list[str]:
    """``fold_kana`` of many values in one pass."""
    return _batch(texts, _fold_kana_joined)


def fold_addresses(texts: Sequence[str]) -> list[str]:
    """``fold_address`` of many values in one pass."""
    return _batch(texts, _fold_addresses_joined)


def is_kana(text: str) -> bool:
    """True if ``text`` (hiragana or katakana, any width, spaces allowed) is a kana query rather than kanji."""
    key = fold_kana(text)
    return bool(key) and _KANA_CHARS.fullmatch(key) is not None


def full_address_key(address: str, extra: str) -> str:
    """Matching key of 住所 followed by 方書, folded as a card that prints both would be."""
    return fold_address(f"{address} {extra}") if extra else fold_address(address)


def names_match(card_key: str, register_key: str) -> bool:
    """Folded names equal; a card's substitute mark 〓 (for a character it cannot print) matches any one character."""
    if card_key == register_key:
        return True
    if "〓" not in card_key or len(card_key) != len(register_key):
        return False
    return all(c == r or c == "〓" for c, r in zip(card_key, register_key, strict=True))


class AddressMatch(enum.IntEnum):
    """How well a card address matches a register entry (higher is better)."""

    NONE = 0
    BASE = 1  # 住所 matches; the card has no 方書 or a different one
    FULL = 2  # 住所 and 方書 both match


def address_match(card_key: str, address_key: str, full_key: str) -> AddressMatch:
    """Compare a folded card address with a register entry's folded 住所 and folded 住所+方書."""
    if card_key == full_key:
        return AddressMatch.FULL
    if card_key == address_key:
        return AddressMatch.BASE
    # The card carries a 方書 the register spells differently (or lacks): the block address must end exactly where
    # the register's 住所 ends, so 1-2-3 never matches 1-2-34.
    # ("-" is only kept between two numbers, so a following "-" means another number: 1-2-3 is not 1-2-3-4.)
    # A 方書 follows a block number, so the 住所 part must end with one.
    if (
        card_key.startswith(address_key)
        and address_key[-1:].isdigit()
        and card_key[len(address_key)] not in "-0123456789"
    ):
        return AddressMatch.BASE
    return AddressMatch.NONE


def card_sex(code: str | None) -> Sex | None:
    """The card's sex code (1 male, 2 female, 9 or anything else: not applicable / unknown)."""
    code = (code or "").strip()
    if code in ("1", "M", "男"):
        return Sex.MALE
    if code in ("2", "F", "女"):
        return Sex.FEMALE
    return None


class MatchStatus(enum.StrEnum):
    """Outcome of a card match."""

    UNIQUE = "unique"  # exactly one entry; the clerk still confirms identity with the photo
    AMBIGUOUS = "ambiguous"  # candidates exist but none can be chosen automatically
    NONE = "none"  # nobody plausible in the register


@dataclass(frozen=True, slots=True)
class Candidate:
    """A register entry that might be the card holder, with what matched (shown to the clerk in Japanese)."""

    voter: Voter
    score: int
    address: AddressMatch
    name_matches: bool
    sex_matches: bool | None  # None when the card gives no sex
    birth_matches: bool = True
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CardMatch:
    """Result of matching card basic information against the register.

    ``voter`` is set only when status is UNIQUE; ``candidates`` is always the ranked list (best first) for the clerk.
    ``message`` says in Japanese why the match is not unique, for the clerk's screen.
    """

    status: MatchStatus
    voter: Voter | None
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)
    message: str = ""


@dataclass(frozen=True, slots=True)
class CardQuery:
    """The folded form of the card's basic information."""

    name_key: str
    address_key: str
    birth_date: date
    sex: Sex | None

    @classmethod
    def from_card(cls, name: str, address: str, birth_date: date, sex: str | None) -> CardQuery:
        """Fold what the card says."""
        return cls(fold_name(name), fold_address(address), birth_date, card_sex(sex))


@dataclass(frozen=True, slots=True)
class KeyedVoter:
    """A voter with the folded keys the index stored for it (so matching does no folding per candidate)."""

    voter: Voter
    name_key: str
    address_key: str
    full_address_key: str

    @classmethod
    def of(cls, voter: Voter) -> KeyedVoter:
        """Fold a voter's keys (used where there is no pre-built index, e.g. tests)."""
        return cls(
            voter,
            fold_name(voter.name),
            fold_address(voter.address),
            full_address_key(voter.address, voter.address_extra),
        )


def _assess(query: CardQuery, kv: KeyedVoter) -> Candidate:
    v = kv.voter
    addr = address_match(query.address_key, kv.address_key, kv.full_address_key)
    name_ok = names_match(query.name_key, kv.name_key)
    sex_ok = None if query.sex is None else v.sex is query.sex
    birth_ok = v.birth_date == query.birth_date
    reasons = []
    reasons.append("生年月日一致" if birth_ok else "生年月日不一致")
    if sex_ok is not None:
        reasons.append("性別一致" if sex_ok else "性別不一致")
    reasons.append(
        {AddressMatch.FULL: "住所・方書一致", AddressMatch.BASE: "住所一致", AddressMatch.NONE: "住所不一致"}[addr]
    )
    reasons.append("氏名一致" if name_ok else "氏名不一致")
    # Ranking weights: the register check is on birth date + sex + address, the name is the secondary check.
    score = (
        (8 if birth_ok else 0)
        + 4 * int(addr)
        + (3 if name_ok else 0)
        + (2 if sex_ok else 0)
        - (4 if sex_ok is False else 0)
    )
    return Candidate(v, score, addr, name_ok, sex_ok, birth_ok, tuple(reasons))


def match_candidates(
    query: CardQuery, same_birth: Iterable[KeyedVoter], fallback: Iterable[KeyedVoter] = ()
) -> CardMatch:
    """Decide the match from the entries born on the card's birth date (``same_birth``, any sex).

    UNIQUE only when exactly one entry agrees on birth date, sex and address *and* its folded name agrees, and no
    other entry of that birth date shares the address with a compatible sex (twins, same-birthday neighbours; when the
    card names the flat, only that flat counts). When the card gives no sex (code 9), entries of either sex compete
    and the 方書 must match too.
    ``fallback`` (e.g. same folded name, other birth dates) only ever adds candidates for the clerk, never a match.
    """
    assessed = [_assess(query, kv) for kv in same_birth]
    # Who could be the card holder: same birth date, at the address, and of the card's sex (any sex for code 9).
    located = [c for c in assessed if c.address is not AddressMatch.NONE and c.sex_matches is not False]
    # A card that names the flat (方書) rules out the other flats of the building and the building's address without a
    # flat, but not people in the same flat. A card without a 方書 says nothing about flats: everyone at the address
    # competes (it may simply not print it).
    if any(c.address is AddressMatch.FULL and c.voter.address_extra for c in located):
        located = [c for c in located if c.address is AddressMatch.FULL]
    peers = located

    def accept(c: Candidate) -> bool:
        # Without the sex the address must be exact, 方書 included: a stricter test for a weaker query.
        return c.name_matches and (query.sex is not None or c.address is AddressMatch.FULL)

    plausible = [c for c in assessed if c.address is not AddressMatch.NONE or c.name_matches]
    seen = {c.voter.code for c in plausible}
    for kv in fallback:
        if kv.voter.code not in seen:
            c = _assess(query, kv)
            if c.name_matches and c.address is not AddressMatch.NONE:
                plausible.append(c)
                seen.add(c.voter.code)
    ranked = tuple(sorted(plausible, key=lambda c: (-c.score, c.voter.code)))
    if len(peers) == 1 and accept(peers[0]):
        return CardMatch(MatchStatus.UNIQUE, peers[0].voter, ranked)
    if not ranked:
        return CardMatch(
            MatchStatus.NONE, None, (), "選挙人名簿に該当する方が見つかりません。手入力で検索してください。"
        )
    if len(peers) > 1:
        message = f"生年月日・性別・住所が同じ方が{len(peers)}名います。氏名と顔写真で本人を確認し、選択してください。"
        if query.sex is None:
            message = (
                f"性別の記載がないカードです。生年月日・住所が同じ方が{len(peers)}名います。"
                "本人を確認し、選択してください。"
            )
    elif len(peers) == 1 and query.sex is None and peers[0].name_matches:
        message = "性別の記載がないカードで方書が一致しません。候補を確認し、選択してください。"
    elif len(peers) == 1:
        message = "生年月日・性別・住所は一致しますが、氏名が一致しません。候補を確認し、選択してください。"
    else:
        message = "生年月日・性別・住所がすべて一致する方はいません。候補を確認してください。"
    return CardMatch(MatchStatus.AMBIGUOUS, None, ranked, message)


def rank_voters(query: CardQuery, voters: Sequence[Voter]) -> CardMatch:
    """Match against plain voters (folding each): for tests and small registers without an index."""
    keyed = [KeyedVoter.of(v) for v in voters]
    same = [k for k in keyed if k.voter.birth_date == query.birth_date]
    others = [k for k in keyed if k.voter.birth_date != query.birth_date]
    return match_candidates(query, same, others)
