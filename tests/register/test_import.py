"""Register CSV import: encodings, accepted forms, and every refusal with ``file:line: what``."""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ballots.model import AbsenteeStatus, ElectionKind, Sex, Voter
from ballots.register import (
    COLUMNS,
    RegisterError,
    decode_register,
    parse_register,
    read_register,
)

from .conftest import HEADER, ROW, csv_text

PRECINCTS = ["001", "002"]
TODAY = date(2026, 11, 28)


def write(tmp_path: Path, text: str, encoding: str = "cp932") -> Path:
    path = tmp_path / "register.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["cp932", "utf-8", "utf-8-sig"])
def test_encodings_give_the_same_voters(tmp_path: Path, encoding: str) -> None:
    # 髙 and 﨑 are in CP932 (NEC/IBM extensions) and must survive the round trip.
    text = csv_text(
        ROW,
        "139999000000002,002,1,1,2,山﨑　花子,ヤマザキ　ハナコ,1990-12-01,女,"
        "東京都架空市栄町３丁目１番１号,メゾン桜１０１号室,,,",
    )
    voters = read_register(write(tmp_path, text, encoding), PRECINCTS, today=TODAY)
    assert [v.name for v in voters] == ["髙橋\u3000太郎", "山﨑\u3000花子"]
    assert voters[1].address_extra == "メゾン桜１０１号室"
    assert voters[0] == Voter(
        code="139999000000001",
        precinct="001",
        volume=1,
        page=1,
        line=1,
        name="髙橋\u3000太郎",
        kana="タカハシ\u3000タロウ",
        birth_date=date(1980, 2, 17),
        sex=Sex.MALE,
        address="東京都架空市本町１丁目２番３号",
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("生年月日", "19800217", date(1980, 2, 17)),
        ("生年月日", "1980/2/17", date(1980, 2, 17)),
        ("生年月日", "昭和55年2月17日", date(1980, 2, 17)),
        ("生年月日", "S55.2.17", date(1980, 2, 17)),
        ("生年月日", "１９８０－０２－１７", date(1980, 2, 17)),
        ("性別", "1", Sex.MALE),
        ("性別", "2", Sex.FEMALE),
        ("性別", "女", Sex.FEMALE),
        ("カナ", "たかはし　たろう", "タカハシ\u3000タロウ"),
        ("カナ", "ﾀｶﾊｼ ﾀﾛｳ", "タカハシ\u3000タロウ"),
        ("氏名", " 髙橋  太郎 ", "髙橋\u3000太郎"),
        ("識別コード", "１３９９９９００００００００１", "139999000000001"),
        ("冊", "０３", 3),
        ("選挙別不可", "県・市", frozenset({ElectionKind.PREFECTURAL, ElectionKind.MUNICIPAL})),
        ("選挙別不可", "市不可", frozenset({ElectionKind.MUNICIPAL})),
        ("状態", "転出", True),
        ("不在者", "交付", AbsenteeStatus.ISSUED),
        ("不在者", "返還", AbsenteeStatus.RETURNED),
    ],
)
def test_accepted_forms(field: str, value: str, expected: object) -> None:
    row = ROW.split(",")
    row[COLUMNS.index(field)] = value
    voter = parse_register(csv_text(",".join(row)), "r.csv", PRECINCTS, today=TODAY)[0]
    attribute = {
        "生年月日": "birth_date",
        "性別": "sex",
        "カナ": "kana",
        "氏名": "name",
        "識別コード": "code",
        "冊": "volume",
        "選挙別不可": "barred_kinds",
        "状態": "moved",
        "不在者": "absentee",
    }[field]
    assert getattr(voter, attribute) == expected


def test_columns_in_any_order_and_extra_columns_ignored() -> None:
    order = [*reversed(COLUMNS), "世帯主"]
    values = dict(zip(COLUMNS, ROW.split(","), strict=True))
    text = csv_text(",".join(values.get(c, "髙橋　太郎") for c in order), header=",".join(order))
    assert parse_register(text, "r.csv", PRECINCTS, today=TODAY)[0].code == "139999000000001"


def _with(field: str, value: str, row: str = ROW) -> str:
    cells = row.split(",")
    cells[COLUMNS.index(field)] = value
    return ",".join(cells)


ROW2 = _with("識別コード", "139999000000002")


@pytest.mark.parametrize(
    ("rows", "header", "line", "message"),
    [
        ([ROW, "139999000000002,001,1,1"], HEADER, 3, "expected 14 fields, found 4"),
        ([ROW, ROW], HEADER, 3, "duplicate 識別コード 139999000000001 (first on line 2)"),
        ([ROW, _with("投票区", "009", ROW2)], HEADER, 3, "unknown 投票区 '009'"),
        ([ROW, _with("生年月日", "1980-02-30", ROW2)], HEADER, 3, "生年月日 '1980-02-30' is not a real date"),
        ([_with("生年月日", "平成31年5月1日")], HEADER, 2, "not a real date"),  # 平成 ended on 4/30
        ([_with("生年月日", "2030-01-01")], HEADER, 2, "out of range"),
        ([_with("生年月日", "")], HEADER, 2, "生年月日 is empty"),
        ([_with("生年月日", "yesterday")], HEADER, 2, "is not a date"),
        ([_with("識別コード", "12345")], HEADER, 2, "識別コード must be 15 digits"),
        ([_with("識別コード", "13999900000000X")], HEADER, 2, "識別コード must be 15 digits"),
        ([_with("性別", "X")], HEADER, 2, "性別 must be 男 or 女"),
        ([_with("カナ", "高橋　タロウ")], HEADER, 2, "カナ must be katakana, found '高'"),
        ([_with("氏名", "　")], HEADER, 2, "氏名 is empty"),
        ([_with("住所", "")], HEADER, 2, "住所 is empty"),
        ([_with("冊", "0")], HEADER, 2, "冊 must be a positive integer"),
        ([_with("行", "a")], HEADER, 2, "行 must be a positive integer"),
        ([_with("状態", "死亡")], HEADER, 2, "状態 must be empty or 転出"),
        ([_with("選挙別不可", "村")], HEADER, 2, "選挙別不可 may only contain"),
        ([_with("不在者", "済")], HEADER, 2, "不在者 must be empty"),
        ([ROW], HEADER.replace(",方書", ""), 1, "missing column 方書"),
        ([ROW], HEADER.replace("識別コード,", "").replace(",方書", ""), 1, "missing columns 識別コード, 方書"),
        ([ROW], HEADER + ",氏名", 1, "column 氏名 appears twice"),
        ([ROW, '139999000000002,001,1,1,1,"unterminated'], HEADER, 3, "malformed row"),
        ([], HEADER, 1, "the register has no voters"),
    ],
)
def test_refusals_name_file_and_line(tmp_path: Path, rows: list[str], header: str, line: int, message: str) -> None:
    path = write(tmp_path, csv_text(*rows, header=header))
    with pytest.raises(RegisterError) as err:
        read_register(path, PRECINCTS, today=TODAY)
    first = err.value.problems[0]
    assert (first.file, first.line) == (str(path), line)
    assert message in first.message
    assert str(err.value).startswith(f"{path}:{line}: ")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(RegisterError, match=r"register.csv:1: the file is empty"):
        read_register(write(tmp_path, ""), PRECINCTS)


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (HEADER.encode("cp932") + b"\r\n" + ROW.replace("髙", "高").encode("euc_jp"), 2, "neither UTF-8 nor CP932"),
        (HEADER.encode("cp932") + b"\r\n" + b"\x81\xff" * 3, 2, "neither UTF-8 nor CP932"),
        (HEADER.encode("utf-16"), 1, "UTF-16 is not accepted"),
        (b"\xef\xbb\xbf" + HEADER.encode("utf-8") + b"\n" + ROW.encode("cp932"), 2, "invalid UTF-8"),
    ],
)
def test_wrong_encoding(data: bytes, line: int, message: str) -> None:
    with pytest.raises(RegisterError) as err:
        decode_register(data, "r.csv")
    assert err.value.problems[0].line == line
    assert message in str(err.value)


def test_all_problems_reported_in_line_order_and_nothing_imported() -> None:
    rows = [ROW, _with("性別", "X", ROW2), _with("投票区", "999", _with("識別コード", "139999000000003"))]
    rows.append(ROW)  # duplicate of line 2
    with pytest.raises(RegisterError) as err:
        parse_register(csv_text(*rows), "r.csv", PRECINCTS, today=TODAY)
    assert [p.line for p in err.value.problems] == [3, 4, 5]
    assert "3 problems; nothing was imported" in str(err.value)


def test_problem_list_is_capped() -> None:
    rows = [_with("性別", "X", _with("識別コード", f"1399990000{i:05d}")) for i in range(50)]
    with pytest.raises(RegisterError) as err:
        parse_register(csv_text(*rows), "r.csv", PRECINCTS, today=TODAY)
    assert len(err.value.problems) == 20
    assert "stopped after 20 problems" in str(err.value)


# ---------------------------------------------------------------------------------------------------------------
# properties

KANJI = "髙高橋﨑崎山田佐藤鈴木渡邊辺齋斎藤德徳濵浜太郎花子一二三本町栄"
KATAKANA = (
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワンガギグゲゴーャュョッ"
)
names = st.tuples(st.text(KANJI, min_size=1, max_size=4), st.text(KANJI, min_size=1, max_size=4)).map("\u3000".join)
kanas = st.tuples(st.text(KATAKANA, min_size=1, max_size=6), st.text(KATAKANA, min_size=1, max_size=6)).map(
    "\u3000".join
)
voters = st.builds(
    Voter,
    code=st.integers(0, 10**15 - 1).map(lambda n: f"{n:015d}"),
    precinct=st.sampled_from(PRECINCTS),
    volume=st.integers(1, 99),
    page=st.integers(1, 999),
    line=st.integers(1, 50),
    name=names,
    kana=kanas,
    birth_date=st.dates(date(1900, 1, 1), TODAY),
    sex=st.sampled_from(list(Sex)),
    address=st.text(KANJI + "１２３丁目番号", min_size=1, max_size=20),
    address_extra=st.text("コーポ青葉１２３号室", max_size=10),
    moved=st.booleans(),
    barred_kinds=st.frozensets(st.sampled_from(list(ElectionKind))),
    absentee=st.sampled_from([None, *AbsenteeStatus]),
)


def _to_csv(vs: list[Voter], order: list[str], date_style: int) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(order)
    for v in vs:
        birth = v.birth_date.isoformat() if date_style == 0 else v.birth_date.strftime("%Y%m%d")
        cells = {
            "識別コード": v.code,
            "投票区": v.precinct,
            "冊": str(v.volume),
            "頁": str(v.page),
            "行": str(v.line),
            "氏名": v.name,
            "カナ": v.kana,
            "生年月日": birth,
            "性別": v.sex.label,
            "住所": v.address,
            "方書": v.address_extra,
            "状態": "転出" if v.moved else "",
            "選挙別不可": "".join(k.value for k in v.barred_kinds),
            "不在者": v.absentee.value if v.absentee else "",
        }
        w.writerow([cells[c] for c in order])
    return out.getvalue()


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(voters, min_size=1, max_size=12, unique_by=lambda v: v.code),
    st.randoms(use_true_random=False),
    st.sampled_from(["cp932", "utf-8", "utf-8-sig"]),
    st.integers(0, 1),
)
def test_round_trip(vs: list[Voter], rnd: random.Random, encoding: str, date_style: int) -> None:
    order = list(COLUMNS)
    rnd.shuffle(order)
    data = _to_csv(vs, order, date_style).encode(encoding)
    parsed = parse_register(decode_register(data, "r.csv"), "r.csv", PRECINCTS, today=TODAY)
    assert parsed == vs


@settings(max_examples=150)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_parsed_or_refused_cleanly(data: bytes) -> None:
    try:
        text = decode_register(data, "r.csv")
        parse_register(text, "r.csv", PRECINCTS, today=TODAY)
    except RegisterError as exc:
        assert exc.problems and all(str(p).startswith("r.csv:") for p in exc.problems)


@settings(max_examples=150)
@given(st.integers(0, 10_000), st.text(max_size=3))
def test_any_single_edit_is_parsed_or_refused_with_a_line(position: int, insert: str) -> None:
    base = csv_text(ROW, ROW2)
    at = position % (len(base) + 1)
    text = base[:at] + insert + base[at:]
    try:
        voters = parse_register(text, "r.csv", PRECINCTS, today=TODAY)
    except RegisterError as exc:
        assert all(1 <= p.line <= text.count("\n") + 2 for p in exc.problems)
    else:
        assert 1 <= len(voters) <= 2
