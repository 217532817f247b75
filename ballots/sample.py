"""A synthetic municipality for demos, tests and benchmarks (``uketsuke sample``).

Writes into one directory: ``election.toml`` (from ``resources/sample/election.toml``, scaled), ``register.csv`` in
CP932 as municipal systems export it, the committee's Ed25519 key pair (``committee.key`` / ``committee.pub``, PEM),
``passphrase.txt`` for the package encryption, ``README.txt`` with the staff PINs (a demo: they are printed on
purpose), and ``personas/`` with card personas for the software card plus a greyscale JPEG 2000 face per persona.

Everything is derived from ``seed``: the same arguments give byte-identical files (keys included; demo only).
The register is written in one pass over households with precomputed pools, so a million voters take seconds.
"""

from __future__ import annotations

import csv
import json
import math
import random
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import tomli_w
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballots.matching import KANJI_FOLDS
from ballots.model import ElectionDefinition
from ballots.register import COLUMNS, gc_paused
from ballots.resources import resource_path
from ballots.staff import hash_pin
from ballots.wareki import era_yymmdd

__all__ = ["SampleError", "SampleResult", "generate_sample", "template_path"]

_FW = str.maketrans("0123456789", "０１２３４５６７８９")
_KANJI_NUM = ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]

# (family name, kana, relative frequency). Old forms sit next to their common forms so the register holds the same
# name spelled both ways (髙橋 and 高橋 …). Every entry must be encodable in CP932 (a test checks it).
FAMILY_NAMES: tuple[tuple[str, str, int], ...] = (
    ("佐藤", "サトウ", 60),
    ("鈴木", "スズキ", 55),
    ("高橋", "タカハシ", 40),
    ("髙橋", "タカハシ", 12),
    ("田中", "タナカ", 40),
    ("伊藤", "イトウ", 35),
    ("渡辺", "ワタナベ", 25),
    ("渡邊", "ワタナベ", 8),
    ("渡邉", "ワタナベ", 8),
    ("山本", "ヤマモト", 33),
    ("中村", "ナカムラ", 32),
    ("小林", "コバヤシ", 31),
    ("加藤", "カトウ", 26),
    ("吉田", "ヨシダ", 25),
    ("山田", "ヤマダ", 24),
    ("佐々木", "ササキ", 20),
    ("山口", "ヤマグチ", 19),
    ("斎藤", "サイトウ", 10),
    ("齋藤", "サイトウ", 6),
    ("齊藤", "サイトウ", 4),
    ("斉藤", "サイトウ", 6),
    ("松本", "マツモト", 18),
    ("井上", "イノウエ", 17),
    ("木村", "キムラ", 17),
    ("林", "ハヤシ", 16),
    ("清水", "シミズ", 15),
    ("山崎", "ヤマザキ", 12),
    ("山﨑", "ヤマザキ", 5),
    ("森", "モリ", 14),
    ("池田", "イケダ", 13),
    ("橋本", "ハシモト", 13),
    ("阿部", "アベ", 13),
    ("石川", "イシカワ", 12),
    ("山下", "ヤマシタ", 12),
    ("中島", "ナカジマ", 10),
    ("中嶋", "ナカジマ", 3),
    ("石井", "イシイ", 11),
    ("小川", "オガワ", 11),
    ("前田", "マエダ", 11),
    ("岡田", "オカダ", 11),
    ("長谷川", "ハセガワ", 11),
    ("藤田", "フジタ", 10),
    ("後藤", "ゴトウ", 10),
    ("近藤", "コンドウ", 10),
    ("村上", "ムラカミ", 9),
    ("遠藤", "エンドウ", 9),
    ("青木", "アオキ", 9),
    ("坂本", "サカモト", 9),
    ("浜田", "ハマダ", 5),
    ("濵田", "ハマダ", 3),
    ("濱田", "ハマダ", 3),
    ("徳永", "トクナガ", 4),
    ("德永", "トクナガ", 2),
    ("宮崎", "ミヤザキ", 6),
    ("宮﨑", "ミヤザキ", 3),
    ("高木", "タカギ", 6),
    ("髙木", "タカギ", 2),
    ("岩崎", "イワサキ", 5),
    ("岩﨑", "イワサキ", 2),
    ("桜井", "サクライ", 4),
    ("櫻井", "サクライ", 2),
    ("広瀬", "ヒロセ", 3),
    ("廣瀬", "ヒロセ", 2),
    ("沢田", "サワダ", 4),
    ("澤田", "サワダ", 2),
    ("黒田", "クロダ", 4),
    ("黑田", "クロダ", 1),
    ("島田", "シマダ", 5),
    ("嶋田", "シマダ", 2),
    ("富田", "トミタ", 4),
    ("冨田", "トミタ", 2),
    ("真鍋", "マナベ", 2),
    ("眞鍋", "マナベ", 1),
    ("辺見", "ヘンミ", 1),
    ("邊見", "ヘンミ", 1),
    ("国分", "コクブン", 2),
    ("國分", "コクブン", 1),
    ("長澤", "ナガサワ", 2),
    ("長沢", "ナガサワ", 3),
    ("福田", "フクダ", 8),
    ("西村", "ニシムラ", 8),
    ("太田", "オオタ", 8),
    ("三浦", "ミウラ", 8),
    ("藤原", "フジワラ", 8),
    ("岡本", "オカモト", 8),
    ("松田", "マツダ", 8),
    ("中川", "ナカガワ", 8),
    ("原田", "ハラダ", 8),
    ("小野", "オノ", 8),
    ("田村", "タムラ", 8),
    ("竹内", "タケウチ", 7),
    ("金子", "カネコ", 7),
    ("和田", "ワダ", 7),
    ("中山", "ナカヤマ", 7),
    ("石田", "イシダ", 7),
    ("上田", "ウエダ", 7),
    ("森田", "モリタ", 7),
    ("柴田", "シバタ", 6),
    ("酒井", "サカイ", 6),
    ("工藤", "クドウ", 6),
    ("横山", "ヨコヤマ", 6),
    ("宮本", "ミヤモト", 6),
    ("内田", "ウチダ", 6),
    ("安藤", "アンドウ", 6),
    ("谷口", "タニグチ", 6),
    ("大野", "オオノ", 6),
    ("丸山", "マルヤマ", 5),
    ("今井", "イマイ", 5),
    ("河野", "コウノ", 5),
    ("藤本", "フジモト", 5),
    ("村田", "ムラタ", 5),
    ("武田", "タケダ", 5),
    ("上野", "ウエノ", 5),
    ("杉山", "スギヤマ", 5),
    ("増田", "マスダ", 5),
    ("平野", "ヒラノ", 5),
    ("大塚", "オオツカ", 5),
    ("千葉", "チバ", 5),
    ("久保", "クボ", 5),
    ("松井", "マツイ", 5),
    ("小島", "コジマ", 5),
    ("野口", "ノグチ", 5),
    ("松尾", "マツオ", 4),
    ("野村", "ノムラ", 4),
    ("木下", "キノシタ", 4),
    ("菊地", "キクチ", 4),
    ("佐野", "サノ", 4),
    ("大西", "オオニシ", 4),
    ("杉本", "スギモト", 4),
    ("新井", "アライ", 4),
    ("浜口", "ハマグチ", 2),
    ("濱口", "ハマグチ", 1),
)
# (given name, kana, relative frequency)
MALE_NAMES: tuple[tuple[str, str, int], ...] = (
    ("太郎", "タロウ", 8),
    ("一郎", "イチロウ", 6),
    ("健", "ケン", 5),
    ("翔太", "ショウタ", 6),
    ("大輔", "ダイスケ", 6),
    ("浩", "ヒロシ", 6),
    ("誠", "マコト", 6),
    ("隆", "タカシ", 6),
    ("茂", "シゲル", 5),
    ("勝", "マサル", 5),
    ("清", "キヨシ", 5),
    ("博", "ヒロシ", 5),
    ("拓也", "タクヤ", 5),
    ("翔", "ショウ", 4),
    ("蓮", "レン", 4),
    ("悠真", "ユウマ", 4),
    ("陽翔", "ハルト", 4),
    ("湊", "ミナト", 3),
    ("健太", "ケンタ", 5),
    ("和也", "カズヤ", 5),
    ("直樹", "ナオキ", 5),
    ("秀樹", "ヒデキ", 4),
    ("達也", "タツヤ", 5),
    ("正", "タダシ", 4),
    ("実", "ミノル", 3),
    ("實", "ミノル", 1),
    ("徳太郎", "トクタロウ", 1),
    ("德太郎", "トクタロウ", 1),
    ("龍之介", "リュウノスケ", 2),
    ("竜之介", "リュウノスケ", 2),
    ("昭", "アキラ", 4),
    ("進", "ススム", 3),
    ("修", "オサム", 4),
    ("豊", "ユタカ", 3),
    ("豐", "ユタカ", 1),
    ("将太", "ショウタ", 3),
    ("將太", "ショウタ", 1),
    ("雄一", "ユウイチ", 4),
    ("亮", "リョウ", 4),
)
FEMALE_NAMES: tuple[tuple[str, str, int], ...] = (
    ("花子", "ハナコ", 5),
    ("幸子", "サチコ", 6),
    ("恵子", "ケイコ", 6),
    ("惠子", "ケイコ", 2),
    ("洋子", "ヨウコ", 6),
    ("和子", "カズコ", 6),
    ("美穂", "ミホ", 5),
    ("陽菜", "ヒナ", 4),
    ("結衣", "ユイ", 4),
    ("さくら", "サクラ", 4),
    ("葵", "アオイ", 4),
    ("美咲", "ミサキ", 5),
    ("由美子", "ユミコ", 5),
    ("久美子", "クミコ", 5),
    ("真由美", "マユミ", 4),
    ("眞由美", "マユミ", 1),
    ("愛", "アイ", 4),
    ("彩", "アヤ", 4),
    ("奈々", "ナナ", 3),
    ("優子", "ユウコ", 5),
    ("京子", "キョウコ", 5),
    ("節子", "セツコ", 4),
    ("栄子", "エイコ", 3),
    ("榮子", "エイコ", 1),
    ("静香", "シズカ", 3),
    ("靜香", "シズカ", 1),
    ("千尋", "チヒロ", 3),
    ("明美", "アケミ", 4),
    ("直子", "ナオコ", 4),
    ("智子", "トモコ", 5),
    ("ひかり", "ヒカリ", 2),
    ("桜子", "サクラコ", 2),
    ("櫻子", "サクラコ", 1),
    ("紀子", "ノリコ", 4),
    ("舞", "マイ", 3),
)
TOWNS: tuple[str, ...] = (
    "本町",
    "栄町",
    "緑町",
    "旭町",
    "中央",
    "東町",
    "西町",
    "南町",
    "北町",
    "若葉",
    "桜台",
    "青葉台",
    "松原",
    "富士見",
    "日の出町",
    "港町",
    "新町",
    "宮前",
    "城山",
    "泉",
    "霞ケ丘",
    "柳町",
    "高砂",
    "朝日町",
    "千歳",
    "清水",
    "平和台",
    "大和町",
    "春日",
    "住吉",
    "元町",
    "三和",
    "錦町",
    "寿町",
    "昭和町",
    "幸町",
    "美園",
    "弥生町",
    "相生町",
    "白山",
)
BUILDINGS: tuple[str, ...] = (
    "コーポ青葉",
    "メゾン桜",
    "ハイツ緑",
    "パークハウス",
    "グランドール",
    "サンライズ",
    "ロイヤルマンション",
    "フラット",
    "レジデンス",
    "アーバンコート",
    "シティハイツ",
    "ヴィラ",
    "エステート",
    "カーサ",
    "ガーデンテラス",
)
SCHOOLS: tuple[str, ...] = ("小学校", "中学校", "公民館", "地区センター", "コミュニティ会館")
STAFF_FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田")
STAFF_GIVEN = ("一郎", "花子", "次郎", "洋子", "健", "恵子", "誠", "美穂", "浩", "幸子", "翔太", "陽菜")

HOUSEHOLD_SIZES = (1, 2, 3, 4, 5)
HOUSEHOLD_WEIGHTS = (30, 35, 18, 12, 5)
VOTERS_PER_PRECINCT = 5000
MAX_PRECINCTS = 200
LINES_PER_PAGE = 25
PAGES_PER_VOLUME = 40
MOVED_RATE = 0.006
ABSENTEE_RATE = 0.004
TWIN_RATE = 0.02  # of households of 3 or more
APARTMENT_RATE = 0.35

SCENARIOS: tuple[str, ...] = (
    "plain",  # a voter whose card matches the register exactly
    "new_form_on_card",  # register spells the name with an old form, the card with the new form
    "twin_same_sex",  # a same-sex twin: same birth date, sex and address as another entry (never auto-matched)
    "sex_unspecified",  # the card's sex is 9 (not applicable)
    "moved_within_prefecture",  # 転出, may not vote in the 市 election
    "moved_out_of_prefecture",  # 転出, may not vote in 県 and 市 elections
    "absentee_issued",  # absentee papers issued and not returned
    "turns_18_before_election_day",  # 18 on election day but not during early voting
    "address_written_differently",  # card writes the block address another way (一丁目, 2-3)
    "not_registered",  # a card holder who is not in this register
)


class SampleError(ValueError):
    """The sample cannot be generated with these arguments."""


@dataclass
class SampleResult:
    """What ``generate_sample`` wrote."""

    out_dir: Path
    voters: int
    precincts: int
    personas: list[Path] = field(default_factory=list)
    staff_pins: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        return {
            "out": str(self.out_dir),
            "voters": self.voters,
            "precincts": self.precincts,
            "personas": [str(p) for p in self.personas],
            "files": {
                "election": str(self.out_dir / "election.toml"),
                "register": str(self.out_dir / "register.csv"),
                "private_key": str(self.out_dir / "committee.key"),
                "public_key": str(self.out_dir / "committee.pub"),
                "passphrase": str(self.out_dir / "passphrase.txt"),
                "readme": str(self.out_dir / "README.txt"),
            },
        }


def template_path() -> Path:
    """The committed election.toml the generator starts from."""
    return resource_path("sample", "election.toml")


def _cum(weights: Sequence[int]) -> list[int]:
    total, out = 0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _dates_as_objects(data: dict[str, Any]) -> dict[str, Any]:
    """election.toml allows dates as TOML dates or as "YYYY-MM-DD" strings; make them all dates so they can shift."""

    def as_date(v: Any) -> Any:
        return date.fromisoformat(v) if isinstance(v, str) else v

    out = dict(data)
    out["election_day"] = as_date(data["election_day"])
    out["elections"] = [{**e, "early_voting_start": as_date(e["early_voting_start"])} for e in data["elections"]]
    out["stations"] = [
        {**st, **{k: as_date(st[k]) for k in ("early_from", "early_until") if k in st}} for st in data["stations"]
    ]
    return out


def _shift_dates(obj: Any, delta: timedelta) -> Any:
    """Every TOML date in the template moved by ``delta`` (so --election-day keeps the schedule's shape)."""
    if isinstance(obj, date):
        return obj + delta
    if isinstance(obj, dict):
        return {k: _shift_dates(v, delta) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shift_dates(v, delta) for v in obj]
    return obj


@dataclass
class _Row:
    """A register row kept aside as a persona candidate."""

    code: str
    precinct: str
    name: str
    kana: str
    birth: date
    sex: str  # 男 / 女
    address: str
    extra: str
    moved: str
    barred: str
    absentee: str
    household_birth_peers: int = 0  # other members of the household with the same birth date
    household_same_sex_peers: int = 0


def generate_sample(
    out_dir: str | Path,
    voters: int,
    *,
    seed: int = 1,
    personas: int = 20,
    election_day: date | None = None,
    template: str | Path | None = None,
) -> SampleResult:
    """Write a sample municipality with ``voters`` register entries and ``personas`` card personas into ``out_dir``.

    ``template`` is an election.toml to start from instead of ``resources/sample/election.toml`` (e.g. one with a
    prefectural election added); its precincts, election-day stations and staff are replaced, the rest is kept.
    """
    if voters < 50:
        raise SampleError("--voters must be at least 50 (the personas need a few households)")
    if voters > 20_000_000:
        raise SampleError("--voters must be at most 20,000,000")
    if personas < 0:
        raise SampleError("--personas must not be negative")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)

    source = Path(template) if template is not None else template_path()
    try:
        with source.open("rb") as fh:
            base = tomllib.load(fh)
        ElectionDefinition.from_toml_dict(base)
    except OSError as exc:
        raise SampleError(f"{source}: cannot read the template: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise SampleError(f"{source}: not a valid election.toml: {exc}") from None
    base = _dates_as_objects(base)
    delta = timedelta(0) if election_day is None else election_day - base["election_day"]
    settings = _shift_dates(base, delta)
    day: date = settings["election_day"]
    n_precincts = max(3, min(MAX_PRECINCTS, math.ceil(voters / VOTERS_PER_PRECINCT)))
    definition, pins = _definition(settings, n_precincts, rng)

    (out / "election.toml").write_bytes(tomli_w.dumps(definition).encode("utf-8"))
    # Validate what we wrote with the real parser: a sample that the package builder would refuse is a bug here.
    ElectionDefinition.from_toml_dict(tomllib.loads((out / "election.toml").read_text("utf-8")))

    with gc_paused():
        candidates = _write_register(out / "register.csv", voters, n_precincts, day, settings, rng)
    _write_keys(out, rng)
    passphrase = "-".join(f"{rng.getrandbits(20):05x}" for _ in range(5))
    (out / "passphrase.txt").write_text(passphrase + "\n", encoding="utf-8")
    persona_paths = _write_personas(out / "personas", candidates, personas, day, rng)
    _write_readme(out, definition, pins, voters, n_precincts, persona_paths, seed)
    return SampleResult(out, voters, n_precincts, persona_paths, pins)


def _definition(
    template: dict[str, Any], n_precincts: int, rng: random.Random
) -> tuple[dict[str, Any], dict[str, str]]:
    data = {k: v for k, v in template.items() if k not in ("precincts", "stations", "staff")}
    data["precincts"] = [{"code": f"{i + 1:03d}", "name": f"第{i + 1}投票区"} for i in range(n_precincts)]
    stations = [s for s in template["stations"] if s["kind"] != "day"]
    for i in range(n_precincts):
        town = TOWNS[i % len(TOWNS)]
        stations.append(
            {
                "id": f"D{i + 1:03d}",
                "name": f"第{i + 1}投票所（架空市立{town}{SCHOOLS[i // len(TOWNS) % len(SCHOOLS)]}）",
                "kind": "day",
                "precincts": [f"{i + 1:03d}"],
                "opens": "07:00",
                "closes": "20:00",
            }
        )
    data["stations"] = stations
    # One manager and four clerks per station would be thousands of accounts; a demo needs a handful.
    staff, pins = [], {}
    roles = [
        ("m01", "manager"),
        ("m02", "manager"),
        ("c01", "clerk"),
        ("c02", "clerk"),
        ("c03", "clerk"),
        ("c04", "clerk"),
    ]
    for i, (sid, role) in enumerate(roles):
        pin = f"{rng.randrange(10000):04d}"
        pins[sid] = pin
        staff.append(
            {
                "id": sid,
                "name": f"{STAFF_FAMILY[i % len(STAFF_FAMILY)]}　{STAFF_GIVEN[i % len(STAFF_GIVEN)]}",
                "role": role,
                "pin_hash": hash_pin(pin, salt=rng.randbytes(16)),
            }
        )
    data["staff"] = staff
    return data, pins


def _chome_address(prefix: str, town: str, chome: int, ban: int, go: int) -> str:
    return f"{prefix}{town}{str(chome).translate(_FW)}丁目{str(ban).translate(_FW)}番{str(go).translate(_FW)}号"


def _write_register(
    path: Path, voters: int, n_precincts: int, day: date, template: dict[str, Any], rng: random.Random
) -> dict[str, list[_Row]]:
    """Write register.csv (CP932) and return a few rows per persona scenario."""
    muni = template["municipality"]
    prefix = f"{muni['prefecture']}{muni['name']}"
    fam_cum = _cum([w for *_, w in FAMILY_NAMES])
    male_cum = _cum([w for *_, w in MALE_NAMES])
    female_cum = _cum([w for *_, w in FEMALE_NAMES])
    size_cum = _cum(HOUSEHOLD_WEIGHTS)
    choices = rng.choices
    rand = rng.random
    # Oldest voters born 1920; the youngest turn 18 by election day (one ages the day before the birthday).
    first_birth = date(1920, 1, 1).toordinal()
    last_birth = (date(day.year - 18, day.month, day.day) + timedelta(days=1)).toordinal()
    birth_span = last_birth - first_birth + 1
    iso = [date.fromordinal(first_birth + i).isoformat() for i in range(birth_span)]
    per_precinct = [voters // n_precincts + (1 if i < voters % n_precincts else 0) for i in range(n_precincts)]
    code_base = int(muni["code"]) * 10**9
    serial = rng.randrange(10**6)
    candidates: dict[str, list[_Row]] = {s: [] for s in SCENARIOS}
    keep = max(0.0005, min(1.0, 2000 / voters))  # chance to keep an ordinary row aside as a persona candidate
    # Every persona scenario must exist even in a small register: one voter who turns 18 between early voting and
    # election day, one moved within and one out of the prefecture, one absentee 交付, and a same-sex twin pair.
    forced_young, forced_in, forced_out, forced_absentee = rng.sample(range(voters), 4)
    twin_pending = True
    young_birth = date(day.year - 18, day.month, day.day) + timedelta(days=1)
    written = 0
    header = list(COLUMNS)  # the register.csv header the importer reads

    with path.open("w", encoding="cp932", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        rows: list[list[str]] = []
        for p in range(n_precincts):
            precinct = f"{p + 1:03d}"
            town = TOWNS[p % len(TOWNS)]
            chome = p // len(TOWNS) + 1
            remaining = per_precinct[p]
            index = 0  # position in this precinct's volumes
            while remaining > 0:
                size = min(remaining, choices(HOUSEHOLD_SIZES, cum_weights=size_cum)[0])
                if twin_pending and size < 3 <= remaining:
                    size = 3
                remaining -= size
                family, family_kana, _ = FAMILY_NAMES[choices(range(len(FAMILY_NAMES)), cum_weights=fam_cum)[0]]
                ban, go = 1 + int(rand() * 30), 1 + int(rand() * 25)
                address = _chome_address(prefix, town, chome, ban, go)
                extra = ""
                if rand() < APARTMENT_RATE:
                    building = BUILDINGS[(ban * 31 + go) % len(BUILDINGS)]
                    room = (1 + int(rand() * 5)) * 100 + 1 + int(rand() * 12)
                    extra = f"{building}{str(room).translate(_FW)}号室"
                births = [int(rand() * birth_span) for _ in range(size)]
                sexes = ["男" if rand() < 0.49 else "女" for _ in range(size)]
                if size >= 3 and (twin_pending or rand() < TWIN_RATE):
                    births[2] = births[1]
                    if twin_pending or rand() < 0.5:
                        sexes[2] = sexes[1]
                    twin_pending = False
                members: list[list[str]] = []
                for m in range(size):
                    sex = sexes[m]
                    if sex == "男":
                        given, given_kana, _ = MALE_NAMES[choices(range(len(MALE_NAMES)), cum_weights=male_cum)[0]]
                    else:
                        given, given_kana, _ = FEMALE_NAMES[
                            choices(range(len(FEMALE_NAMES)), cum_weights=female_cum)[0]
                        ]
                    serial += 1 + int(rand() * 7)
                    code = f"{code_base + serial:015d}"
                    birth_iso = iso[births[m]] if written != forced_young else young_birth.isoformat()
                    moved = barred = absentee = ""
                    r = rand()
                    if written == forced_in:
                        moved, barred = "転出", "市"
                    elif written == forced_out:
                        moved, barred = "転出", "県市"
                    elif written == forced_absentee:
                        absentee = "交付"
                    elif r < MOVED_RATE:
                        moved, barred = "転出", ("市" if rand() < 0.7 else "県市")
                    elif r < MOVED_RATE + ABSENTEE_RATE:
                        a = rand()
                        absentee = "交付" if a < 0.5 else ("受理" if a < 0.9 else "返還")
                    volume = index // (LINES_PER_PAGE * PAGES_PER_VOLUME) + 1
                    page = index // LINES_PER_PAGE % PAGES_PER_VOLUME + 1
                    line = index % LINES_PER_PAGE + 1
                    index += 1
                    row = [
                        code,
                        precinct,
                        str(volume),
                        str(page),
                        str(line),
                        f"{family}\u3000{given}",
                        f"{family_kana}\u3000{given_kana}",
                        birth_iso,
                        sex,
                        address,
                        extra,
                        moved,
                        barred,
                        absentee,
                    ]
                    members.append(row)
                    if written == forced_young:
                        candidates["turns_18_before_election_day"].append(_row(row))
                    written += 1
                rows.extend(members)
                _collect(candidates, members, rand, keep)
                if len(rows) >= 50_000:
                    writer.writerows(rows)
                    rows.clear()
        writer.writerows(rows)
    return candidates


def _row(r: list[str], birth_peers: int = 0, same_sex_peers: int = 0) -> _Row:
    return _Row(
        r[0],
        r[1],
        r[5],
        r[6],
        date.fromisoformat(r[7]),
        r[8],
        r[9],
        r[10],
        r[11],
        r[12],
        r[13],
        birth_peers,
        same_sex_peers,
    )


_OLD_FORMS = frozenset(KANJI_FOLDS)
_NEW_FORMS = str.maketrans({ord(k): v for k, v in KANJI_FOLDS.items()})


def _collect(candidates: dict[str, list[_Row]], members: list[list[str]], rand: Any, keep: float) -> None:
    """Keep a few rows of each persona scenario (bounded, so memory stays flat for any register size)."""
    cap = 40
    for i, r in enumerate(members):
        peers = [o for j, o in enumerate(members) if j != i and o[7] == r[7]]
        same_sex = [o for o in peers if o[8] == r[8]]
        if same_sex and len(candidates["twin_same_sex"]) < cap:
            candidates["twin_same_sex"].append(_row(r, len(peers), len(same_sex)))
            continue
        if r[11] == "転出":
            kind = "moved_within_prefecture" if r[12] == "市" else "moved_out_of_prefecture"
            if len(candidates[kind]) < cap:
                candidates[kind].append(_row(r))
            continue
        if r[13] == "交付" and len(candidates["absentee_issued"]) < cap:
            candidates["absentee_issued"].append(_row(r))
            continue
        if r[11] or r[13] or peers or rand() >= keep:
            continue
        if any(ch in _OLD_FORMS for ch in r[5]):
            if len(candidates["new_form_on_card"]) < cap:
                candidates["new_form_on_card"].append(_row(r))
        else:
            for kind in ("plain", "sex_unspecified", "address_written_differently", "not_registered"):
                if len(candidates[kind]) < cap:
                    candidates[kind].append(_row(r))
                    break
            else:
                if len(candidates["plain"]) < 4 * cap:
                    candidates["plain"].append(_row(r))


def _write_keys(out: Path, rng: random.Random) -> None:
    key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    (out / "committee.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (out / "committee.key").chmod(0o600)
    (out / "committee.pub").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _card_address(row: _Row, variant: bool) -> str:
    """The address as a card prints it: 住所 and 方書 separated by a space; ``variant`` writes the block differently."""
    address = row.address
    if variant:
        # 本町１丁目２番３号 → 本町一丁目２－３
        head, _, rest = address.partition("丁目")
        digits = "".join(ch for ch in head[-2:] if ch.isdigit())
        n = int(digits.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
        kanji = _KANJI_NUM[n] if n <= 10 else f"十{_KANJI_NUM[n - 10]}"
        head = head[: len(head) - len(digits)] + kanji
        address = head + "丁目" + rest.replace("番", "－").replace("号", "")
    return address + ("\u3000" + row.extra if row.extra else "")


def _write_personas(
    directory: Path,
    candidates: dict[str, list[_Row]],
    count: int,
    day: date,
    rng: random.Random,
) -> list[Path]:
    if count == 0:
        return []
    photos = directory / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    chosen: list[tuple[str, _Row]] = []
    used: set[str] = set()
    plan = list(SCENARIOS) + ["plain"] * count  # stops at ``count`` personas
    pools = {k: list(v) for k, v in candidates.items()}
    for scenario in plan:
        # A scenario without a fitting voter is skipped rather than given to one that does not fit its name.
        pool = [r for r in pools.get(scenario, ()) if r.code not in used]
        if not pool:
            continue
        row = pool[rng.randrange(len(pool))]
        used.add(row.code)
        chosen.append((scenario, row))
        if len(chosen) == count:
            break

    paths = []
    for n, (scenario, row) in enumerate(chosen, start=1):
        name = row.name
        if scenario == "new_form_on_card" or (scenario == "plain" and rng.random() < 0.3):
            name = name.translate(_NEW_FORMS)
        sex = "1" if row.sex == "男" else "2"
        if scenario == "sex_unspecified":
            sex = "9"
        birth = row.birth
        kana = row.kana
        register_code: str | None = row.code
        address = _card_address(row, scenario == "address_written_differently")
        if scenario == "not_registered":
            # Someone living at a registered address who is not on the register (e.g. moved in less than three
            # months ago): the household's family name, another given name, a birth date a year earlier.
            register_code = None
            birth = date(birth.year - 1, birth.month, min(birth.day, 28))
            given, given_kana, _ = MALE_NAMES[rng.randrange(len(MALE_NAMES))]
            name = name.split("\u3000")[0] + "\u3000" + given
            kana = row.kana.split("\u3000")[0] + "\u3000" + given_kana
            sex = "1"
        # Issued in the last few years, so every persona's card is still valid on election day.
        issued = day.year - 1 - rng.randrange(4)
        age_at_issue = issued - birth.year
        expiry_year = issued + (10 if age_at_issue >= 18 else 5)
        expiry = date(expiry_year, birth.month, 28 if (birth.month == 2 and birth.day == 29) else birth.day)
        security = f"{rng.randrange(10000):04d}"
        photo_name = f"{n:06d}.jp2"
        _face(photos / photo_name, rng)
        persona = {
            "register_code": register_code,
            "scenario": scenario,
            "name": name,
            "kana": kana,
            "address": address,
            "birth_date": birth.isoformat(),
            "sex": sex,
            "expiry": expiry.isoformat(),
            "security_code": security,
            "pin": f"{rng.randrange(10000):04d}",
            "collation_b": f"{era_yymmdd(birth)}{expiry.year:04d}{security}",
            "photo": f"photos/{photo_name}",
        }
        path = directory / f"{n:03d}-{scenario}.json"
        path.write_text(json.dumps(persona, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _face(path: Path, rng: random.Random) -> None:
    """A small greyscale face-like picture (head, hair, eyes, brows, nose, mouth, shoulders) as JPEG 2000."""
    from PIL import Image, ImageDraw, ImageFilter

    w, h = 180, 240
    img = Image.new("L", (w, h), 200 + rng.randrange(40))
    d = ImageDraw.Draw(img)
    skin = 150 + rng.randrange(60)
    hair = 20 + rng.randrange(70)
    cx = w // 2 + rng.randrange(-8, 9)
    fw, fh = 52 + rng.randrange(14), 68 + rng.randrange(14)
    top = 50 + rng.randrange(12)
    d.ellipse((cx - 80, 190, cx + 80, 320), fill=60 + rng.randrange(80))  # shoulders
    d.rectangle((cx - 16, top + 2 * fh - 20, cx + 16, 205), fill=skin - 10)  # neck
    d.ellipse((cx - fw - 6, top - 14, cx + fw + 6, top + fh + 10), fill=hair)  # hair
    d.ellipse((cx - fw, top, cx + fw, top + 2 * fh), fill=skin)  # face
    if rng.random() < 0.6:
        d.chord((cx - fw - 4, top - 16, cx + fw + 4, top + fh // 2 + 10), 180, 360, fill=hair)  # fringe
    eye_y = top + fh - 6 + rng.randrange(-4, 5)
    spread = 20 + rng.randrange(8)
    for sx in (-1, 1):
        ex = cx + sx * spread
        d.ellipse((ex - 7, eye_y - 4, ex + 7, eye_y + 4), fill=235)
        d.ellipse((ex - 3, eye_y - 3, ex + 3, eye_y + 3), fill=25)
        d.line((ex - 10, eye_y - 12, ex + 10, eye_y - 13 + rng.randrange(3)), fill=hair, width=3)
    d.line((cx, eye_y + 6, cx - 4, eye_y + 26, cx + 3, eye_y + 28), fill=skin - 45, width=2)
    mouth_y = eye_y + 42 + rng.randrange(6)
    d.arc((cx - 16, mouth_y - 8, cx + 16, mouth_y + 8), 20, 160, fill=90, width=3)
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    # Rate 15 keeps the file at a few KB, like the card's own JPEG 2000 face image.
    img.save(path, "JPEG2000", quality_mode="rates", quality_layers=[15], irreversible=True)


def _write_readme(
    out: Path,
    definition: dict[str, Any],
    pins: dict[str, str],
    voters: int,
    n_precincts: int,
    personas: list[Path],
    seed: int,
) -> None:
    lines = [
        "架空市 サンプル選挙データ (Uketsuke sample municipality) — DEMO ONLY",
        "",
        f"seed {seed}: {voters} voters in {n_precincts} precincts; election day {definition['election_day']}.",
        "These keys, PINs and the passphrase are for demonstrations and tests; never use them for a real election.",
        "",
        "Files:",
        "  election.toml     election definition (elections, stations, staff with scrypt-hashed PINs)",
        "  register.csv      voter register, CP932, as a municipal system exports it",
        "  committee.key     committee Ed25519 private key (PEM) — signs the election package",
        "  committee.pub     committee Ed25519 public key (PEM) — kiosks and the server verify with it",
        "  passphrase.txt    passphrase that encrypts the register inside the package",
        f"  personas/         {len(personas)} card personas (JSON) and face photos (JPEG 2000) for the software card",
        "",
        "Staff sign-in (職員 / PIN):",
    ]
    for s in definition["staff"]:
        lines.append(f"  {s['id']:4}  {pins[s['id']]}  {s['role']:7}  {s['name']}")
    lines += [
        "",
        "Build and check the package:",
        "  uketsuke package build --election election.toml --register register.csv --key committee.key \\",
        "      --passphrase-file passphrase.txt --out election.pkg",
        "  uketsuke package verify election.pkg --pubkey committee.pub",
        "  UKETSUKE_PASSPHRASE=$(cat passphrase.txt) uketsuke register search --package election.pkg \\",
        "      --pubkey committee.pub --kana タカハシ",
        "",
    ]
    (out / "README.txt").write_text("\n".join(lines), encoding="utf-8")
