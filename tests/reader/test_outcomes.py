"""Outcomes: every failure tells the clerk, in Japanese, what to do; every reader error maps to one."""

from __future__ import annotations

from datetime import date

import pytest

from reader.apdu import CardDataError, CardStatusError
from reader.collation import CollationInputError, CollationUnverifiedError
from reader.outcomes import (
    BasicInfo,
    CardFault,
    CardRemoved,
    CardReset,
    CollationUnverified,
    ExpiryNeeded,
    Failure,
    InvalidInput,
    NoCard,
    NoReader,
    NotMyNumberCard,
    ReaderBusy,
    ReaderTimeout,
    ReaderUnplugged,
    SecretBlocked,
    SecretKind,
    ServiceUnavailable,
    WrongSecret,
    failure_for_error,
)
from reader.tlv import TlvError
from reader.transport import (
    CardRemovedError,
    CardResetError,
    CommunicationError,
    NoCardError,
    NoReaderError,
    ReaderTimeoutError,
    ReaderUnpluggedError,
    ServiceUnavailableError,
    SharingViolationError,
)

FAILURES: list[Failure] = [
    WrongSecret(SecretKind.PIN, 2),
    WrongSecret(SecretKind.PIN, 1),
    WrongSecret(SecretKind.COLLATION_B, 9),
    WrongSecret(SecretKind.PIN, None),
    SecretBlocked(SecretKind.PIN),
    SecretBlocked(SecretKind.COLLATION_B),
    CardRemoved(),
    CardReset(),
    NoCard(),
    NotMyNumberCard(),
    ReaderUnplugged(),
    NoReader(),
    ServiceUnavailable(),
    ReaderTimeout(),
    ReaderBusy(),
    ExpiryNeeded(),
    CollationUnverified(),
    InvalidInput("暗証番号は4桁の数字です"),
    CardFault("READ BINARY: card answered 6581"),
]


def _japanese(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: type(f).__name__)
def test_every_failure_has_a_short_japanese_message(failure: Failure) -> None:
    text = failure.message
    assert not failure.ok
    assert _japanese(text) and len(text) <= 80
    assert "0x" not in text and "READ BINARY" not in text  # technical detail stays in the log


@pytest.mark.parametrize(
    ("failure", "fragment"),
    [
        (WrongSecret(SecretKind.PIN, 2), "残り2回"),
        (WrongSecret(SecretKind.PIN, 1), "ロックされます"),
        (SecretBlocked(SecretKind.PIN), "市区町村窓口での再設定が必要です"),
        (CardRemoved(), "カードを置き直してください"),
        (ServiceUnavailable(), "pcscd"),
        (ExpiryNeeded(), "有効期限"),
    ],
)
def test_messages_say_what_to_do(failure: Failure, fragment: str) -> None:
    assert fragment in failure.message


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (CardRemovedError("x", 0x80100069), CardRemoved()),
        (CardResetError("x", 0x80100068), CardReset()),
        (NoCardError("x", 0x8010000C), NoCard()),
        (ServiceUnavailableError("x", 0x8010001D), ServiceUnavailable()),
        (SharingViolationError("x", 0x8010000B), ReaderBusy()),
        (ReaderUnpluggedError("x", 0x80100017), ReaderUnplugged()),
        (NoReaderError("x"), NoReader()),
        (ReaderTimeoutError("x", 0x8010000A), ReaderTimeout()),
        (CollationUnverifiedError("x"), CollationUnverified()),
    ],
)
def test_error_mapping(error: Exception, expected: Failure) -> None:
    assert failure_for_error(error) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        (CommunicationError("x", 0x80100016), CardFault),
        (CardStatusError("SELECT", 0x6581), CardFault),
        (CardDataError("missing"), CardFault),
        (TlvError("bad", 3), CardFault),
        (CollationInputError("bad"), InvalidInput),
    ],
)
def test_error_mapping_with_detail(error: Exception, cls: type) -> None:
    assert isinstance(failure_for_error(error), cls)  # type: ignore[arg-type]


def test_basic_info_json_matches_the_contract() -> None:
    info = BasicInfo("髙橋　太郎", "東京都架空市本町１丁目２番３号", date(1980, 2, 17), "1")
    assert info.to_json() == {
        "name": "髙橋　太郎",
        "address": "東京都架空市本町１丁目２番３号",
        "birth_date": "1980-02-17",
        "sex": "1",
    }
