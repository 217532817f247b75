"""Card generations. Each module holds one generation's ``CardProfile``; ``PROFILES`` lists them in probe order.

A profile knows its applications' AIDs, file identifiers and layouts; the reader service (reader.service) only calls
the interface below. A next-generation card (merged applications, ECDSA, no sex on the card face) plugs in as another
module implementing ``CardProfile`` and an entry in ``PROFILES``.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from datetime import date
from typing import ClassVar

from reader.apdu import CardChannel
from reader.outcomes import BasicInfo, Failure

__all__ = ["PROFILES", "App", "CardProfile"]


class App(enum.Enum):
    """The roles a card application plays for us; a profile maps each role to its AID."""

    TEXT = "text"  # basic 4 info as text
    VISUAL = "visual"  # card face: the face photo
    COMMON = "common"  # card data readable without a secret (expiry date)


class CardProfile(ABC):
    """One card generation's protocol on an open channel. Methods return values or ``Failure`` outcomes; transport
    and protocol problems raise ``ReaderError`` subclasses for the service to map."""

    name: ClassVar[str]

    def __init__(self, channel: CardChannel) -> None:
        self.channel = channel

    @classmethod
    @abstractmethod
    def probe(cls, channel: CardChannel, first: App) -> CardProfile | None:
        """Select this generation's application for role ``first``; a profile on success, ``None`` if absent.

        Probing with the application the operation needs first costs no extra APDU.
        """

    @abstractmethod
    def read_basic_with_pin(self, pin: str) -> BasicInfo | Failure:
        """Path 1: verify the voter's 4-digit PIN and read the basic 4 info."""

    @abstractmethod
    def read_basic_with_collation(self, number: str) -> BasicInfo | Failure:
        """Path 2, text part: verify 照合番号B and read the basic 4 info."""

    @abstractmethod
    def read_photo_with_collation(self, number: str) -> bytes | Failure:
        """Verify 照合番号B on the card face and return the encoded face photo."""

    @abstractmethod
    def read_expiry_year(self) -> int | None:
        """The card's expiry year when the card gives it without a secret, else ``None``."""

    @abstractmethod
    def collation_number(self, birth_date: date, expiry_year: int, security_code: str, foreign_resident: bool) -> str:
        """照合番号B as this generation forms it."""

    @abstractmethod
    def collation_number_valid(self, number: str) -> bool:
        """Whether ``number`` has this generation's 照合番号B shape (checked before spending a try)."""


def _profiles() -> tuple[type[CardProfile], ...]:
    from reader.profiles.gen1 import Gen1Profile

    # Current cards first: they are what voters bring, so the probe usually hits on the first SELECT.
    return (Gen1Profile,)


PROFILES: tuple[type[CardProfile], ...] = _profiles()
