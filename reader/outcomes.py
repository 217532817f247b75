"""What a card read comes to: typed values, each failure with a short Japanese message telling the clerk what to do.

Expected states — a wrong PIN, a blocked PIN, a card taken away, no reader — are values, not exceptions: the kiosk
switches on the type and shows ``message``. Only programming errors escape as exceptions.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from reader.apdu import CardDataError, CardStatusError
from reader.collation import CollationInputError, CollationUnverifiedError
from reader.tlv import TlvError
from reader.transport import (
    CardRemovedError,
    CardResetError,
    NoCardError,
    NoReaderError,
    ReaderError,
    ReaderTimeoutError,
    ReaderUnpluggedError,
    ServiceUnavailableError,
    SharingViolationError,
)

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = [
    "SEX_LABELS",
    "BasicInfo",
    "CardFault",
    "CardRead",
    "CardRemoved",
    "CardReset",
    "CollationUnverified",
    "ExpiryNeeded",
    "Failure",
    "InvalidInput",
    "NoCard",
    "NoReader",
    "NotMyNumberCard",
    "Outcome",
    "PhotoRead",
    "ReaderBusy",
    "ReaderTimeout",
    "ReaderUnplugged",
    "SecretBlocked",
    "SecretKind",
    "ServiceUnavailable",
    "WrongSecret",
    "failure_for_error",
]

# The card's sex codes. Anything else (some sources show 0 and 3) is "unknown", never an error.
SEX_LABELS = {"1": "男", "2": "女", "9": "適用不能"}


@dataclass(frozen=True, slots=True)
class BasicInfo:
    """The basic 4 information (基本4情報) as the card holds it. ``sex_code`` is the card's raw code."""

    name: str
    address: str
    birth_date: date
    sex_code: str

    @property
    def sex_label(self) -> str:
        """男 / 女 / 適用不能, or 不明 for a code the card spec does not name."""
        return SEX_LABELS.get(self.sex_code, "不明")

    @property
    def sex_known(self) -> bool:
        """Whether the code is one of 1, 2, 9."""
        return self.sex_code in SEX_LABELS

    def to_json(self) -> dict[str, str]:
        """The "Card read result" of docs/contracts.md."""
        return {
            "name": self.name,
            "address": self.address,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex_code,
        }


class SecretKind(enum.Enum):
    """Which secret a VERIFY used."""

    PIN = "pin"  # the voter's 4-digit 券面事項入力補助用暗証番号
    COLLATION_B = "collation_b"  # 照合番号B typed by the clerk


_SECRET_NAMES = {
    SecretKind.PIN: "暗証番号",
    SecretKind.COLLATION_B: "照合番号B（生年月日・有効期限・セキュリティコード）",
}


class Outcome(ABC):
    """Base of every result; ``ok`` tells success from failure, ``message`` is for the clerk."""

    __slots__ = ()
    ok: ClassVar[bool] = False

    @property
    @abstractmethod
    def message(self) -> str:
        """Short Japanese text for the clerk: what happened and what to do."""


@dataclass(frozen=True, slots=True)
class CardRead(Outcome):
    """The basic 4 info, and the face photo when it was asked for (in memory only; never write it to disk)."""

    ok: ClassVar[bool] = True
    info: BasicInfo
    photo: Image | None = field(default=None, repr=False, compare=False)

    @property
    def message(self) -> str:
        """Confirmation text."""
        return "カードを読み取りました"


@dataclass(frozen=True, slots=True)
class PhotoRead(Outcome):
    """The face photo (greyscale, decoded from JPEG 2000), in memory only."""

    ok: ClassVar[bool] = True
    photo: Image = field(repr=False, compare=False)

    @property
    def message(self) -> str:
        """Confirmation text."""
        return "顔写真を読み取りました"


class Failure(Outcome):
    """Base of every failed read."""


@dataclass(frozen=True, slots=True)
class WrongSecret(Failure):
    """The PIN or 照合番号B was wrong; ``tries_left`` more attempts remain (``None``: the card keeps no counter)."""

    kind: SecretKind
    tries_left: int | None

    @property
    def message(self) -> str:
        """Tries left, with a warning on the last one."""
        what = _SECRET_NAMES[self.kind]
        text = f"{what}が違います。"
        if self.tries_left is not None:
            text += f"残り{self.tries_left}回です。"
        if self.tries_left is not None and self.tries_left <= 1:
            text += "次に間違えるとロックされます。"
        if self.kind is SecretKind.PIN:
            return text + "入力し直すか、照合番号Bで読み取ってください"
        return text + "カード券面を見て入力内容を確かめてください"


@dataclass(frozen=True, slots=True)
class SecretBlocked(Failure):
    """The PIN or 照合番号B is blocked; only the city office can reset it."""

    kind: SecretKind

    @property
    def message(self) -> str:
        """Where to go, and how to continue today."""
        if self.kind is SecretKind.PIN:
            return "暗証番号がロックされています。市区町村窓口での再設定が必要です。照合番号Bで読み取ってください"
        return "照合番号Bがロックされています。市区町村窓口での再設定が必要です。入場券か名簿で本人確認をしてください"


@dataclass(frozen=True, slots=True)
class CardRemoved(Failure):
    """The card left the reader during the read."""

    @property
    def message(self) -> str:
        """Put it back."""
        return "カードが離れました。カードを置き直してください"


@dataclass(frozen=True, slots=True)
class CardReset(Failure):
    """Another party reset the card during the read."""

    @property
    def message(self) -> str:
        """Put it back and read again."""
        return "カードとの通信がリセットされました。カードを置き直してください"


@dataclass(frozen=True, slots=True)
class NoCard(Failure):
    """No card on the reader."""

    @property
    def message(self) -> str:
        """Place the card."""
        return "カードが置かれていません。カードをリーダーに置いてください"


@dataclass(frozen=True, slots=True)
class NotMyNumberCard(Failure):
    """The card has none of the applications of a known My Number card generation."""

    @property
    def message(self) -> str:
        """Ask for the right card."""
        return "マイナンバーカードではありません。マイナンバーカードを置いてください"


@dataclass(frozen=True, slots=True)
class ReaderUnplugged(Failure):
    """The reader was unplugged or became unavailable."""

    @property
    def message(self) -> str:
        """Check the cable."""
        return "カードリーダーが外れました。接続を確かめてください"


@dataclass(frozen=True, slots=True)
class NoReader(Failure):
    """No card reader is connected (or the named one is not there)."""

    @property
    def message(self) -> str:
        """Connect one."""
        return "カードリーダーが見つかりません。接続を確かめてください"


@dataclass(frozen=True, slots=True)
class ServiceUnavailable(Failure):
    """pcscd is not running."""

    @property
    def message(self) -> str:
        """Call the administrator."""
        return "カード読み取りサービス（pcscd）が動いていません。管理者に連絡してください"


@dataclass(frozen=True, slots=True)
class ReaderTimeout(Failure):
    """The reader or the card did not answer in time."""

    @property
    def message(self) -> str:
        """Put the card back."""
        return "カードの応答がありません。カードを置き直してください"


@dataclass(frozen=True, slots=True)
class ReaderBusy(Failure):
    """Another program holds the card (sharing violation)."""

    @property
    def message(self) -> str:
        """Close the other program."""
        return "カードを他のプログラムが使用中です。他のプログラムを終了するか、管理者に連絡してください"


@dataclass(frozen=True, slots=True)
class ExpiryNeeded(Failure):
    """The card does not give its expiry date without a PIN; the clerk must type the expiry year from the card face."""

    @property
    def message(self) -> str:
        """Ask for the expiry year."""
        return "カードから有効期限を読み取れません。カード券面の有効期限の年（西暦）を入力してください"


@dataclass(frozen=True, slots=True)
class CollationUnverified(Failure):
    """照合番号B cannot be formed for this card (foreign resident's card)."""

    @property
    def message(self) -> str:
        """Use the PIN instead."""
        return "このカードでは照合番号Bで読み取れません。暗証番号で読み取ってください"


@dataclass(frozen=True, slots=True)
class InvalidInput(Failure):
    """What was typed cannot be right (e.g. a PIN that is not 4 digits); nothing was sent to the card."""

    detail: str

    @property
    def message(self) -> str:
        """What is wrong with the input."""
        return f"入力が正しくありません：{self.detail}"


@dataclass(frozen=True, slots=True)
class CardFault(Failure):
    """The card answered something the protocol does not allow; ``detail`` (English) is for the log."""

    detail: str

    @property
    def message(self) -> str:
        """Retry, then escalate."""
        return "カードを読み取れませんでした。カードを置き直してください。続く場合は管理者に連絡してください"


def failure_for_error(exc: ReaderError) -> Failure:
    """The outcome the clerk sees for a reader exception."""
    table: tuple[tuple[type[ReaderError], Failure], ...] = (
        (CardRemovedError, CardRemoved()),
        (CardResetError, CardReset()),
        (NoCardError, NoCard()),
        (ServiceUnavailableError, ServiceUnavailable()),
        (SharingViolationError, ReaderBusy()),
        (ReaderUnpluggedError, ReaderUnplugged()),
        (NoReaderError, NoReader()),
        (ReaderTimeoutError, ReaderTimeout()),
        (CollationUnverifiedError, CollationUnverified()),
    )
    for cls, outcome in table:
        if isinstance(exc, cls):
            return outcome
    if isinstance(exc, CollationInputError):
        return InvalidInput("セキュリティコード（4桁）と有効期限の年（西暦4桁）を確かめてください")
    if isinstance(exc, CardStatusError | CardDataError | TlvError):
        return CardFault(str(exc))
    return CardFault(f"{type(exc).__name__}: {exc}")
