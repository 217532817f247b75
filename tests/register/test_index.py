"""RegisterIndex: exact lookups, card match through the index, prefix search, and the database image round trip."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date

import pytest

from ballots.matching import MatchStatus
from ballots.model import ElectionKind, Sex, Voter
from ballots.register import RegisterError, RegisterIndex, code_from_barcode

HOME = "東京都架空市本町１丁目２番３号"


def v(
    code: int, name: str, kana: str, birth: date, sex: Sex = Sex.MALE, address: str = HOME, extra: str = "",
    precinct: str = "001",
) -> Voter:  # fmt: skip
    return Voter(f"{code:015d}", precinct, 1, 1, code % 25 + 1, name, kana, birth, sex, address, extra)


VOTERS = [
    v(1, "髙橋　太郎", "タカハシ　タロウ", date(1980, 2, 17)),
    v(2, "高橋　太郎", "タカハシ　タロウ", date(1975, 6, 1), address="東京都架空市栄町２丁目１番１号"),
    v(3, "髙橋　花子", "タカハシ　ハナコ", date(1980, 2, 17), Sex.FEMALE),
    v(4, "山﨑　健", "ヤマザキ　ケン", date(1990, 1, 1), precinct="002"),
    v(5, "佐藤　さくら", "サトウ　サクラ", date(2000, 3, 3), Sex.FEMALE, extra="コーポ青葉２０３号室"),
    v(6, "佐藤　翔", "サトウ　ショウ", date(2000, 3, 3), extra="コーポ青葉２０３号室"),
    v(7, "齋藤　實", "サイトウ　ミノル", date(1950, 5, 5), precinct="002"),
    Voter(
        "000000000000008",
        "001",
        2,
        3,
        4,
        "渡邊　誠",
        "ワタナベ　マコト",
        date(1960, 7, 7),
        Sex.MALE,
        "東京都架空市本町１丁目９番９号",
        moved=True,
        barred_kinds=frozenset({ElectionKind.MUNICIPAL}),
    ),
]


@pytest.fixture(scope="module")
def index() -> RegisterIndex:
    return RegisterIndex.build(VOTERS)


def test_len_iteration_and_counts(index: RegisterIndex) -> None:
    assert len(index) == len(VOTERS)
    assert list(index) == sorted(VOTERS, key=lambda x: x.code)
    assert index.counts() == {"001": {Sex.MALE: 4, Sex.FEMALE: 2}, "002": {Sex.MALE: 2, Sex.FEMALE: 0}}
    assert "000000000000004" in index and "000000000000099" not in index


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("000000000000001", "000000000000001"),
        ("０" * 14 + "１", "000000000000001"),
        ("000000000000001 0042", "000000000000001"),  # register-extract number after the code
        ("A0000000000000080000123A", "000000000000008"),  # Codabar start/stop characters
        ("000-00000000000-8", "000000000000008"),
    ],
)
def test_by_barcode(index: RegisterIndex, text: str, expected: str) -> None:
    found = index.by_barcode(text)
    assert found is not None and found.code == expected
    assert code_from_barcode(text) == expected


@pytest.mark.parametrize("text", ["", "12345", "00000000000000X", "A12345A", "ＡＢＣ"])
def test_malformed_barcode_is_an_error(index: RegisterIndex, text: str) -> None:
    with pytest.raises(ValueError, match="barcode"):
        index.by_barcode(text)


def test_by_code_exact(index: RegisterIndex) -> None:
    moved = index.by_code("000000000000008")
    assert moved == VOTERS[7] and moved.moved and moved.barred_kinds == {ElectionKind.MUNICIPAL}
    assert index.by_code("999999999999999") is None
    with pytest.raises(ValueError, match="15 digits"):
        index.by_code("1")


@pytest.mark.parametrize(
    ("query", "birth", "expected"),
    [
        ("タカハシ", None, [1, 2, 3]),
        ("たかはし　た", None, [1, 2]),
        ("ﾀｶﾊｼ", date(1980, 2, 17), [1, 3]),
        ("高橋", None, [1, 2, 3]),  # the new form finds the old form
        ("髙橋　花", None, [3]),
        ("山崎", None, [4]),
        ("斎藤", None, [7]),
        ("サトウ　ショウ", None, [6]),
        ("シヨウ", None, []),  # prefix of the whole kana only
        ("サトウシヨウ", None, [6]),  # small kana written large
        ("", date(2000, 3, 3), [5, 6]),
        ("タナカ", None, []),
        ("佐藤", date(1999, 1, 1), []),
    ],
)
def test_search(index: RegisterIndex, query: str, birth: date | None, expected: list[int]) -> None:
    assert sorted(int(x.code) for x in index.search(query, birth)) == expected


def test_search_limit_and_order(index: RegisterIndex) -> None:
    found = index.search("タカハシ", limit=2)
    assert [x.kana for x in found] == ["タカハシ\u3000タロウ", "タカハシ\u3000タロウ"]
    with pytest.raises(ValueError, match="birth date"):
        index.search("  ")
    with pytest.raises(ValueError, match="limit"):
        index.search("タ", limit=0)


@pytest.mark.parametrize(
    ("card", "status", "code"),
    [
        (("高橋　太郎", "東京都架空市本町一丁目２－３", "1980-02-17", "1"), MatchStatus.UNIQUE, 1),
        (("高橋　花子", "東京都架空市本町１丁目２番３号", "1980-02-17", "2"), MatchStatus.UNIQUE, 3),
        (("高橋　太郎", "東京都架空市本町１丁目２番３号", "1980-02-17", "9"), MatchStatus.AMBIGUOUS, None),
        (("佐藤　翔", "東京都架空市本町1-2-3 コーポ青葉203", "2000-03-03", "1"), MatchStatus.UNIQUE, 6),
        (("佐藤　翔", "東京都架空市本町1-2-3 コーポ青葉203", "2000-03-03", "9"), MatchStatus.AMBIGUOUS, None),
        (("渡辺　誠", "東京都架空市本町１丁目９番９号", "1960-07-07", "1"), MatchStatus.UNIQUE, 8),
        (("高橋　太郎", "東京都架空市栄町２丁目１番１号", "1975-06-02", "1"), MatchStatus.AMBIGUOUS, None),
        (("田中　一", "東京都架空市港町１丁目１番１号", "1970-01-01", "1"), MatchStatus.NONE, None),
    ],
)
def test_match_card_through_the_index(
    index: RegisterIndex, card: tuple[str, str, str, str], status: MatchStatus, code: int | None
) -> None:
    m = index.match_card(*card)
    assert m.status is status
    assert (int(m.voter.code) if m.voter else None) == code


def test_birth_date_typo_offers_same_name_elsewhere(index: RegisterIndex) -> None:
    m = index.match_card("高橋　太郎", "東京都架空市栄町２丁目１番１号", date(1975, 6, 2), "1")
    assert m.voter is None and [int(c.voter.code) for c in m.candidates] == [2]


def test_image_round_trip_is_read_only(index: RegisterIndex) -> None:
    copy = RegisterIndex.from_bytes(index.to_bytes())
    assert list(copy) == list(index)
    assert copy.match_card("高橋　太郎", "東京都架空市本町１丁目２番３号", "1980-02-17", "1").voter == VOTERS[0]
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|query_only|read-only|attempt to write"):
        copy._conn.execute("DELETE FROM voter")


@pytest.mark.parametrize("image", [b"", b"not a database at all" * 100, b"SQLite format 3\x00" + bytes(200)])
def test_garbage_image_is_refused(image: bytes) -> None:
    with pytest.raises(RegisterError):
        RegisterIndex.from_bytes(image)


def test_duplicate_codes_are_refused_when_building() -> None:
    with pytest.raises(RegisterError, match="duplicate"):
        RegisterIndex.build([VOTERS[0], VOTERS[0]])


def test_concurrent_lookups_from_threads(index: RegisterIndex) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                assert index.by_code("000000000000004") == VOTERS[3]
                assert len(index.search("タカハシ")) == 3
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
