"""The reader service the kiosk calls: one ``CardSession`` per voter, typed outcomes, card unpowered at the end.

Blocking calls: run them on a background thread (never the UI thread). A session is not shared between threads.
After any transport error the session drops the connection; its next call reconnects and starts again from SELECT
application, as the card requires.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from datetime import date
from types import TracebackType
from typing import TypeVar

from PIL import Image

from reader.apdu import CardChannel, CardDataError, LinkCapabilities
from reader.collation import CollationInputError, CollationUnverifiedError
from reader.outcomes import (
    CardRead,
    ExpiryNeeded,
    Failure,
    InvalidInput,
    NotMyNumberCard,
    Outcome,
    PhotoRead,
    failure_for_error,
)
from reader.profiles import PROFILES, App, CardProfile
from reader.transport import Connection, ReaderError, TransportError

__all__ = ["CardReader", "CardSession", "decode_photo"]

log = logging.getLogger(__name__)

Connector = Callable[[], Connection]
_O = TypeVar("_O", bound=Outcome)


def decode_photo(data: bytes) -> Image.Image:
    """Decode the card's JPEG 2000 face photo into an in-memory image. Raises ``CardDataError`` for anything else."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG2000"]) as img:
            img.load()
            return img.copy()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        # Pillow raises several types for corrupt input; all mean the same here.
        raise CardDataError(f"face photo is not a readable JPEG 2000 image ({type(exc).__name__})") from None


def _pin_ok(pin: str) -> bool:
    return len(pin) == 4 and pin.isascii() and pin.isdigit()


class CardSession:
    """The card of one voter. Use as a context manager or call ``close`` when the voter leaves (unpowers the card)."""

    def __init__(
        self,
        connect: Connector,
        profiles: Sequence[type[CardProfile]] = PROFILES,
        caps: LinkCapabilities | None = None,
    ) -> None:
        self._connect = connect
        self._profiles = tuple(profiles)
        self._caps = caps if caps is not None else LinkCapabilities()
        self._conn: Connection | None = None
        self._profile: CardProfile | None = None

    def __enter__(self) -> CardSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect and unpower the card: verified states end here."""
        conn, self._conn, self._profile = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            except TransportError as exc:
                # The card may already be gone; unpowering it is then moot.
                log.info("card close failed: %s", type(exc).__name__)

    def _profile_for(self, first: App) -> CardProfile | Failure:
        if self._profile is not None:
            return self._profile
        if self._conn is None:
            self._conn = self._connect()
        channel = CardChannel(self._conn, caps=self._caps)
        for cls in self._profiles:
            profile = cls.probe(channel, first)
            if profile is not None:
                self._profile = profile
                log.info("card profile %s", cls.name)
                return profile
        return NotMyNumberCard()

    def _guard(self, what: str, op: Callable[[], _O | Failure]) -> _O | Failure:
        """Run ``op``; map reader exceptions to outcomes and drop the connection after transport errors."""
        try:
            outcome = op()
        except ReaderError as exc:
            if isinstance(exc, TransportError):
                self.close()
            else:
                # Protocol state is unknown after a surprise answer: restart from SELECT application next time.
                self._profile = None
            outcome = failure_for_error(exc)
            log.warning("card %s failed: %s (%s)", what, type(outcome).__name__, type(exc).__name__)
            return outcome
        log.info("card %s: %s", what, type(outcome).__name__)
        return outcome

    # --- path 1 -------------------------------------------------------------------------------------------------

    def read_with_pin(self, pin: str) -> CardRead | Failure:
        """Path 1: the voter's 4-digit PIN → basic 4 info. A malformed PIN is refused before anything is sent."""
        if not _pin_ok(pin):
            return InvalidInput("暗証番号は4桁の数字です")

        def op() -> CardRead | Failure:
            profile = self._profile_for(App.TEXT)
            if isinstance(profile, Failure):
                return profile
            info = profile.read_basic_with_pin(pin)
            return info if isinstance(info, Failure) else CardRead(info)

        return self._guard("read (PIN)", op)

    # --- path 2 -------------------------------------------------------------------------------------------------

    def _number(
        self, birth_date: date, security_code: str, expiry_year: int | None, foreign_resident: bool
    ) -> tuple[CardProfile, str] | Failure:
        first = App.COMMON if expiry_year is None else App.TEXT
        profile = self._profile_for(first)
        if isinstance(profile, Failure):
            return profile
        if expiry_year is None:
            expiry_year = profile.read_expiry_year()
            if expiry_year is None:
                return ExpiryNeeded()
        try:
            return profile, profile.collation_number(birth_date, expiry_year, security_code, foreign_resident)
        except (CollationInputError, CollationUnverifiedError) as exc:
            return failure_for_error(exc)

    def read_with_collation(
        self,
        birth_date: date,
        security_code: str,
        expiry_year: int | None = None,
        *,
        photo: bool = True,
        foreign_resident: bool = False,
    ) -> CardRead | Failure:
        """Path 2: 照合番号B from the birth date, the security code and the expiry year (read from the card when not
        given) → basic 4 info and, with ``photo``, the face photo."""

        def op() -> CardRead | Failure:
            built = self._number(birth_date, security_code, expiry_year, foreign_resident)
            if isinstance(built, Failure):
                return built
            return self._read_collation(*built, photo)

        return self._guard("read (collation B)", op)

    def read_with_collation_number(self, number: str, *, photo: bool = True) -> CardRead | Failure:
        """Path 2 with a complete 照合番号B (diagnostics; the kiosk builds it with ``read_with_collation``)."""

        def op() -> CardRead | Failure:
            profile = self._profile_for(App.TEXT)
            if isinstance(profile, Failure):
                return profile
            if not profile.collation_number_valid(number):
                return InvalidInput("照合番号Bの桁数が違います")
            return self._read_collation(profile, number, photo)

        return self._guard("read (collation B)", op)

    def _read_collation(self, profile: CardProfile, number: str, photo: bool) -> CardRead | Failure:
        info = profile.read_basic_with_collation(number)
        if isinstance(info, Failure):
            return info
        if not photo:
            return CardRead(info)
        encoded = profile.read_photo_with_collation(number)
        if isinstance(encoded, Failure):
            return encoded
        return CardRead(info, decode_photo(encoded))

    # --- photo after path 1 -------------------------------------------------------------------------------------

    def read_photo(
        self,
        birth_date: date,
        security_code: str,
        expiry_year: int | None = None,
        *,
        foreign_resident: bool = False,
    ) -> PhotoRead | Failure:
        """The face photo after path 1: the birth date is known, the clerk types the security code."""

        def op() -> PhotoRead | Failure:
            built = self._number(birth_date, security_code, expiry_year, foreign_resident)
            if isinstance(built, Failure):
                return built
            profile, number = built
            encoded = profile.read_photo_with_collation(number)
            if isinstance(encoded, Failure):
                return encoded
            return PhotoRead(decode_photo(encoded))

        return self._guard("read photo", op)


class CardReader:
    """Reads My Number cards through ``connect`` (PC/SC or the software card). Each call below is one voter's
    complete read, card unpowered afterwards; use ``session()`` to keep the card for a photo read after path 1.

    ``extended_length``: ``None`` tries extended-length READ BINARY once and remembers whether this reader takes it;
    ``False`` never tries (for a reader known to choke on it); ``True`` uses it (still falling back if refused).
    """

    def __init__(
        self,
        connect: Connector,
        profiles: Sequence[type[CardProfile]] = PROFILES,
        *,
        extended_length: bool | None = None,
    ) -> None:
        self._connect = connect
        self._profiles = tuple(profiles)
        self.caps = LinkCapabilities(extended_length)

    def session(self) -> CardSession:
        """A session for one voter; nothing is sent until its first read."""
        return CardSession(self._connect, self._profiles, self.caps)

    def read_with_pin(self, pin: str) -> CardRead | Failure:
        """Path 1 in one go."""
        with self.session() as s:
            return s.read_with_pin(pin)

    def read_with_collation(
        self,
        birth_date: date,
        security_code: str,
        expiry_year: int | None = None,
        *,
        photo: bool = True,
        foreign_resident: bool = False,
    ) -> CardRead | Failure:
        """Path 2 in one go."""
        with self.session() as s:
            return s.read_with_collation(
                birth_date, security_code, expiry_year, photo=photo, foreign_resident=foreign_resident
            )

    def read_with_collation_number(self, number: str, *, photo: bool = True) -> CardRead | Failure:
        """Path 2 with a complete 照合番号B, in one go."""
        with self.session() as s:
            return s.read_with_collation_number(number, photo=photo)
