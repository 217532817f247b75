"""照合番号B: one builder, a test per form the sources name."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reader.collation import (
    BIRTH_FORM,
    BirthForm,
    CollationInputError,
    CollationUnverifiedError,
    build_collation_b,
    era_yymmdd,
)


@pytest.mark.parametrize(
    ("birth", "yymmdd"),
    [
        (date(1980, 2, 17), "550217"),  # the doc's test card: 昭和55年2月17日
        (date(1926, 12, 25), "011225"),  # 昭和元年
        (date(1926, 12, 24), "151224"),  # 大正15年
        (date(1989, 1, 7), "640107"),  # 昭和64年, last day
        (date(1989, 1, 8), "010108"),  # 平成元年
        (date(2019, 4, 30), "310430"),  # 平成31年
        (date(2019, 5, 1), "010501"),  # 令和元年
        (date(1912, 7, 30), "010730"),  # 大正元年
    ],
)
def test_era_yymmdd(birth: date, yymmdd: str) -> None:
    assert era_yymmdd(birth) == yymmdd


def test_majority_form_is_the_default() -> None:
    assert BIRTH_FORM is BirthForm.ERA_YYMMDD
    assert build_collation_b(date(1980, 2, 17), 2035, "2285") == "55021720352285"  # the doc's example


def test_gregorian_form_of_the_single_source() -> None:
    number = build_collation_b(date(1980, 2, 17), 2035, "2285", form=BirthForm.GREGORIAN_YYYYMMDD)
    assert number == "1980021720352285"


def test_foreign_residents_are_unverified() -> None:
    with pytest.raises(CollationUnverifiedError, match="foreign resident"):
        build_collation_b(date(1980, 2, 17), 2035, "2285", foreign_resident=True)


@pytest.mark.parametrize(
    ("code", "year"),
    [("228", 2035), ("22855", 2035), ("22a5", 2035), ("２２８５", 2035), ("2285", 1999), ("2285", 2100)],
)
def test_bad_inputs(code: str, year: int) -> None:
    with pytest.raises(CollationInputError):
        build_collation_b(date(1980, 2, 17), year, code)


def test_before_meiji() -> None:
    with pytest.raises(CollationInputError, match="明治"):
        era_yymmdd(date(1860, 1, 1))


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(2016, 2099),
    st.from_regex(r"\A[0-9]{4}\Z"),
)
def test_always_14_digits(birth: date, year: int, code: str) -> None:
    number = build_collation_b(birth, year, code)
    assert len(number) == 14 and number.isdigit()
    assert number[6:] == f"{year}{code}"
    assert number[2:6] == birth.strftime("%m%d")
