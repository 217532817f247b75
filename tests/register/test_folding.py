"""Folding for matching: tables of the cases the desk meets, and properties over arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ballots.matching import (
    KANJI_FOLDS,
    AddressMatch,
    address_match,
    card_sex,
    fold_address,
    fold_addresses,
    fold_kana,
    fold_kanas,
    fold_name,
    fold_names,
    full_address_key,
    is_kana,
    names_match,
)
from ballots.model import Sex


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("髙橋　太郎", "高橋 太郎"),
        ("山﨑　花子", "山崎花子"),
        ("渡邊　誠", "渡辺　誠"),
        ("渡邉　誠", "渡辺　誠"),
        ("齋藤　実", "斎藤　實"),
        ("齊藤　実", "斉藤　実"),
        ("德永　健", "徳永　健"),
        ("濵田　京子", "浜田　京子"),
        ("濱田　京子", "浜田　京子"),
        ("櫻井　翔", "桜井　翔"),
        ("國分　太一", "国分　太一"),
        ("佐藤　さくら", "佐藤　サクラ"),  # hiragana and katakana given names
        ("ＳＭＩＴＨ　ＪＯＨＮ", "SMITH JOHN"),  # full-width latin
        ("佐藤\t\u3000 花子", "佐藤花子"),  # any spacing
        ("霞ヶ丘　一", "霞ケ丘　一"),
    ],
)
def test_name_forms_fold_together(a: str, b: str) -> None:
    assert fold_name(a) == fold_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("高橋　太郎", "高橋　次郎"),
        ("斎藤　実", "佐藤　実"),
        ("山崎", "山﨑一"),
    ],
)
def test_different_names_stay_different(a: str, b: str) -> None:
    assert fold_name(a) != fold_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("タカハシ　タロウ", "たかはし たろう"),
        ("ｻﾄｳ ﾊﾅｺ", "サトウ　ハナコ"),  # half-width kana
        ("ショウジ", "シヨウジ"),  # old registers wrote small kana large
        ("キョウコ", "キヨウコ"),
        ("ハットリ", "ハツトリ"),
        ("ミヂカ", "ミジカ"),
        ("ヅカ", "ズカ"),
    ],
)
def test_kana_forms_fold_together(a: str, b: str) -> None:
    assert fold_kana(a) == fold_kana(b)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("東京都架空市本町１丁目２番３号", "架空市本町1-2-3"),
        ("架空市本町一丁目２番地の３", "架空市本町1-2-3"),
        ("東京都架空市本町1-2-3", "架空市本町1-2-3"),
        ("東京都架空市本町１－２－３", "架空市本町1-2-3"),
        ("東京都架空市本町１丁目２番３号　コーポ青葉２０３号室", "架空市本町1-2-3コーポ青葉203"),
        ("架空市本町1-2-3 203", "架空市本町1-2-3-203"),
        ("大阪府大阪市北区梅田三丁目1番1号", "大阪市北区梅田3-1-1"),
        ("北海道札幌市中央区北一条西二丁目", "札幌市中央区北一条西2"),
        ("神奈川県横浜市西区みなとみらい二丁目2番1号", "横浜市西区ミナトミライ2-2-1"),
        ("架空市十二丁目5番", "架空市12-5"),
        ("架空市二十丁目5番", "架空市20-5"),
        ("架空市霞ヶ丘３番", "架空市霞ケ丘3"),
    ],
)
def test_fold_address(text: str, expected: str) -> None:
    assert fold_address(text) == expected


@pytest.mark.parametrize(
    ("card", "address", "extra", "expected"),
    [
        ("東京都架空市本町１丁目２番３号", "東京都架空市本町１丁目２番３号", "", AddressMatch.FULL),
        (
            "東京都架空市本町一丁目2-3　コーポ青葉203号室",
            "東京都架空市本町１丁目２番３号",
            "コーポ青葉２０３号室",
            AddressMatch.FULL,
        ),
        ("東京都架空市本町１丁目２番３号", "東京都架空市本町１丁目２番３号", "コーポ青葉２０３号室", AddressMatch.BASE),
        (
            "東京都架空市本町１丁目２番３号　メゾン桜１０１",
            "東京都架空市本町１丁目２番３号",
            "コーポ青葉２０３号室",
            AddressMatch.BASE,
        ),
        ("東京都架空市本町１丁目２番３４号", "東京都架空市本町１丁目２番３号", "", AddressMatch.NONE),  # 3 vs 34
        (
            "東京都架空市本町１丁目２番３－４",
            "東京都架空市本町１丁目２番３号",
            "",
            AddressMatch.NONE,
        ),  # 3-4 is another lot
        ("東京都架空市栄町１丁目２番３号", "東京都架空市本町１丁目２番３号", "", AddressMatch.NONE),
    ],
)
def test_address_match(card: str, address: str, extra: str, expected: AddressMatch) -> None:
    assert address_match(fold_address(card), fold_address(address), full_address_key(address, extra)) is expected


@pytest.mark.parametrize(
    ("card", "register", "expected"),
    [
        ("高橋太郎", "高橋太郎", True),
        ("高〓太郎", "高橋太郎", True),  # the card's substitute mark stands for one character it cannot print
        ("高〓太郎", "高橋次郎", False),
        ("高〓〓太郎", "高橋太郎", False),
        ("高橋太郎", "高〓太郎", False),  # only the card side may be a wildcard
    ],
)
def test_names_match(card: str, register: str, expected: bool) -> None:
    assert names_match(card, register) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("タカハシ", True),
        ("たかはし", True),
        ("ﾀｶﾊｼ", True),
        ("タカ ハシ", True),
        ("高橋", False),
        ("高はし", False),
        ("", False),
    ],
)
def test_is_kana(text: str, expected: bool) -> None:
    assert is_kana(text) is expected


@pytest.mark.parametrize(
    ("code", "expected"), [("1", Sex.MALE), ("2", Sex.FEMALE), ("9", None), ("", None), (None, None), ("0", None)]
)
def test_card_sex(code: str | None, expected: Sex | None) -> None:
    assert card_sex(code) is expected


def test_every_old_form_folds_to_a_different_character() -> None:
    assert all(old != new and len(old) == len(new) == 1 for old, new in KANJI_FOLDS.items())
    assert fold_name("".join(KANJI_FOLDS)) == "".join(KANJI_FOLDS.values())


text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)


@given(text)
def test_folding_is_idempotent(s: str) -> None:
    for fold in (fold_name, fold_kana):
        once = fold(s)
        assert fold(once) == once


@given(st.lists(text, max_size=8))
def test_batch_folding_equals_one_by_one(values: list[str]) -> None:
    assert fold_names(values) == [fold_name(v) for v in values]
    assert fold_kanas(values) == [fold_kana(v) for v in values]
    assert fold_addresses(values) == [fold_address(v) for v in values]


@given(st.text(alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3096), max_size=20))
def test_hiragana_and_katakana_fold_alike(s: str) -> None:
    katakana = "".join(chr(ord(c) + 0x60) for c in s)
    assert fold_kana(s) == fold_kana(katakana)
    assert fold_name(s) == fold_name(katakana)


@given(text)
def test_keys_have_no_spaces(s: str) -> None:
    for key in (fold_name(s), fold_kana(s), fold_address(s)):
        assert not any(c.isspace() for c in key)
