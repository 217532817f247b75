"""The card-to-register match decision: one voter only when nobody else could be the card holder."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.matching import CardQuery, MatchStatus, rank_voters
from ballots.model import Sex, Voter

ADDRESS = "東京都架空市本町１丁目２番３号"
BIRTH = date(1980, 2, 17)


def voter(
    code: int, name: str, sex: Sex = Sex.MALE, birth: date = BIRTH, address: str = ADDRESS, extra: str = ""
) -> Voter:
    return Voter(
        code=f"{code:015d}",
        precinct="001",
        volume=1,
        page=1,
        line=code % 25 + 1,
        name=name,
        kana="テスト　テスト",
        birth_date=birth,
        sex=sex,
        address=address,
        address_extra=extra,
    )


TARO = voter(1, "髙橋　太郎")
JIRO_TWIN = voter(2, "髙橋　次郎")  # same-sex twin of TARO
HANAKO_TWIN = voter(3, "髙橋　花子", Sex.FEMALE)  # other-sex twin of TARO
NEIGHBOUR = voter(4, "佐藤　一郎", address="東京都架空市本町１丁目２番４号")  # same birthday, next door
FLAT_A = voter(5, "山田　健", extra="コーポ青葉２０３号室")
FLAT_B = voter(6, "鈴木　健", extra="コーポ青葉２０４号室")  # same building, same birthday, other flat
TYPO = voter(7, "齋藤　実", birth=date(1980, 2, 18))  # the register has the birth date one day off
SAITO = voter(8, "齋藤　実", birth=date(1981, 5, 5), address="東京都架空市栄町３丁目１番１号")

CARD = ("高橋　太郎", "東京都架空市本町一丁目２－３", BIRTH.isoformat(), "1")


def q(name: str, address: str = ADDRESS, birth: date = BIRTH, sex: str = "1") -> CardQuery:
    return CardQuery.from_card(name, address, birth, sex)


@pytest.mark.parametrize(
    ("case", "register", "query", "status", "expected"),
    [
        ("single entry, new form on card", [TARO, NEIGHBOUR], q("高橋　太郎"), MatchStatus.UNIQUE, TARO),
        ("address written differently", [TARO], q("高橋 太郎", "架空市本町一丁目2-3"), MatchStatus.UNIQUE, TARO),
        ("other-sex twin does not compete", [TARO, HANAKO_TWIN], q("高橋　太郎"), MatchStatus.UNIQUE, TARO),
        ("same-sex twin: ambiguous", [TARO, JIRO_TWIN], q("高橋　太郎"), MatchStatus.AMBIGUOUS, None),
        ("address matches, name differs", [TARO], q("高橋　三郎"), MatchStatus.AMBIGUOUS, None),
        (
            "name matches, address differs",
            [TARO],
            q("高橋　太郎", "東京都架空市栄町１丁目２番３号"),
            MatchStatus.AMBIGUOUS,
            None,
        ),
        ("sex differs on the card", [TARO], q("高橋　太郎", sex="2"), MatchStatus.AMBIGUOUS, None),
        ("sex 9, alone at the address", [TARO, NEIGHBOUR], q("高橋　太郎", sex="9"), MatchStatus.UNIQUE, TARO),
        ("sex 9, other-sex twin competes", [TARO, HANAKO_TWIN], q("高橋　太郎", sex="9"), MatchStatus.AMBIGUOUS, None),
        ("sex 9 needs the 方書 too", [FLAT_A], q("山田　健", sex="9"), MatchStatus.AMBIGUOUS, None),
        (
            "sex 9 with the 方書",
            [FLAT_A, FLAT_B],
            q("山田　健", ADDRESS + "　コーポ青葉203号室", sex="9"),
            MatchStatus.UNIQUE,
            FLAT_A,
        ),
        ("known sex, card without 方書", [FLAT_A], q("山田　健"), MatchStatus.UNIQUE, FLAT_A),
        ("two flats, same building, no 方書 on card", [FLAT_A, FLAT_B], q("山田　健"), MatchStatus.AMBIGUOUS, None),
        (
            "card without 方書: the flats at the address compete",
            [TARO, FLAT_B],
            q("高橋　太郎"),
            MatchStatus.AMBIGUOUS,
            None,
        ),
        (
            "card names a flat: the house does not compete",
            [TARO, FLAT_A],
            q("山田　健", ADDRESS + "　コーポ青葉２０３号室"),
            MatchStatus.UNIQUE,
            FLAT_A,
        ),
        ("substitute mark on the card", [TARO], q("高〓　太郎"), MatchStatus.UNIQUE, TARO),
        ("birth date differs: candidate only", [TYPO], q("斎藤　実"), MatchStatus.AMBIGUOUS, None),
        ("nobody plausible", [NEIGHBOUR, SAITO], q("田中　花子"), MatchStatus.NONE, None),
    ],
)
def test_match_decision(
    case: str, register: list[Voter], query: CardQuery, status: MatchStatus, expected: Voter | None
) -> None:
    m = rank_voters(query, register)
    assert m.status is status, case
    assert m.voter == expected, case
    if status is MatchStatus.UNIQUE:
        assert m.message == ""
        assert m.candidates[0].voter == expected
    else:
        assert m.message  # the clerk is told why
    if status is MatchStatus.NONE:
        assert m.candidates == ()


def test_ambiguous_twins_are_ranked_name_first_and_both_listed() -> None:
    m = rank_voters(q("高橋　次郎"), [TARO, JIRO_TWIN, NEIGHBOUR])
    assert m.status is MatchStatus.AMBIGUOUS
    assert [c.voter for c in m.candidates[:2]] == [JIRO_TWIN, TARO]
    assert m.candidates[0].name_matches and not m.candidates[1].name_matches
    assert "2名" in m.message
    assert "氏名一致" in m.candidates[0].reasons and "氏名不一致" in m.candidates[1].reasons


def test_register_typo_in_birth_date_is_offered_but_never_chosen() -> None:
    m = rank_voters(q("斎藤　実"), [TYPO, SAITO])
    assert m.voter is None
    assert m.candidates[0].voter == TYPO
    assert not m.candidates[0].birth_matches
    assert "生年月日不一致" in m.candidates[0].reasons


def test_moved_or_absentee_marks_do_not_change_the_match() -> None:
    moved = replace(TARO, moved=True)
    assert rank_voters(q("高橋　太郎"), [moved]).voter == moved


# ---------------------------------------------------------------------------------------------------------------
# properties: whatever the register holds, a look-alike never lets a match through

names_st = st.sampled_from(["髙橋　太郎", "高橋　次郎", "佐藤　花子", "山﨑　健", "渡邊　誠", "齋藤　実"])
addresses_st = st.sampled_from(
    ["東京都架空市本町１丁目２番３号", "東京都架空市本町１丁目２番４号", "東京都架空市栄町３丁目１番１号"]
)
extras_st = st.sampled_from(["", "コーポ青葉２０３号室", "コーポ青葉２０４号室"])
births_st = st.sampled_from([date(1980, 2, 17), date(1980, 2, 18), date(1990, 1, 1)])
register_st = st.lists(
    st.tuples(names_st, st.sampled_from(list(Sex)), births_st, addresses_st, extras_st), max_size=8
).map(lambda rows: [voter(i + 1, n, s, b, a, e) for i, (n, s, b, a, e) in enumerate(rows)])


@settings(max_examples=200)
@given(register_st, st.integers(0, 7), st.sampled_from(["1", "2", "9"]), st.booleans())
def test_a_look_alike_always_blocks_the_match(
    register: list[Voter], pick: int, sex_code: str, with_extra: bool
) -> None:
    if not register:
        return
    holder = register[pick % len(register)]
    address = holder.address + ("　" + holder.address_extra if with_extra and holder.address_extra else "")
    query = CardQuery.from_card(holder.name, address, holder.birth_date, sex_code)
    m = rank_voters(query, register)
    if m.voter is not None:
        # A unique answer agrees on everything the card says.
        assert m.voter.birth_date == holder.birth_date
        assert m.voter.name.replace("髙", "高") == holder.name.replace("髙", "高")
        assert sex_code == "9" or m.voter.sex.value == {"1": "M", "2": "F"}[sex_code]
    # Add someone who looks the same to the card (same birth date, sex, address and flat, other name): never unique.
    twin_sex = holder.sex if sex_code == "9" else {"1": Sex.MALE, "2": Sex.FEMALE}[sex_code]
    twin = replace(holder, code=f"{999:015d}", name="別人　一", sex=twin_sex)
    assert rank_voters(query, [*register, twin]).voter is None
