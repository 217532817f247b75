"""The transport port: one APDU in, response data and status word out, plus the errors a transport can raise.

Everything above this module (card profiles, the reader service) talks to a card only through ``Transport``; the PC/SC
implementation (reader.pcsc), the in-process software card (reader.softcard) and the scripted test transport all
implement it. Transport failures are exceptions here; the reader service turns them into outcome values
(reader.outcomes) for the clerk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "CardRemovedError",
    "CardResetError",
    "CommunicationError",
    "Connection",
    "Exchange",
    "NoCardError",
    "NoReaderError",
    "ReaderError",
    "ReaderTimeoutError",
    "ReaderUnpluggedError",
    "ServiceUnavailableError",
    "SharingViolationError",
    "TracingTransport",
    "Transport",
    "TransportError",
]


@runtime_checkable
class Transport(Protocol):
    """Sends one command APDU and returns the response data and the 16-bit status word."""

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send ``apdu``; return ``(data, sw)``. Raises ``TransportError`` when the link or the card fails."""
        ...


@runtime_checkable
class Connection(Transport, Protocol):
    """A transport to one card for one voter; ``close`` ends it and unpowers the card (verified states are lost)."""

    def close(self) -> None:
        """Disconnect and unpower the card. Safe to call twice."""
        ...


class ReaderError(Exception):
    """Root of every error raised by the reader package."""


class TransportError(ReaderError):
    """The link to the card failed; the card's state is unknown, so the next use restarts from SELECT application."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code  # the PC/SC return code when there is one


class CardRemovedError(TransportError):
    """The card left the reader field during a command (PC/SC 0x80100069 and kin)."""


class NoCardError(TransportError):
    """No card in the reader (PC/SC 0x8010000C)."""


class CardResetError(TransportError):
    """Another party reset the card (PC/SC 0x80100068); selections are gone."""


class ServiceUnavailableError(TransportError):
    """The PC/SC service (pcscd) is not running or stopped (0x8010001D, 0x8010001E)."""


class SharingViolationError(TransportError):
    """Another program holds the card (0x8010000B); we need it exclusively."""


class ReaderUnpluggedError(TransportError):
    """The reader disappeared or is unavailable (0x80100009, 0x80100017, 0x8010002E)."""


class NoReaderError(TransportError):
    """No card reader is connected at all."""


class ReaderTimeoutError(TransportError):
    """The reader or card did not answer in time (0x8010000A, unresponsive card)."""


class CommunicationError(TransportError):
    """Any other link failure (e.g. 0x80100016 not transacted, 0x80100013 comm error)."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One command and its response, as recorded by ``TracingTransport``."""

    command: bytes
    data: bytes
    sw: int

    @property
    def wire_bytes(self) -> int:
        """Bytes on the link for this exchange: command plus response data plus the two status bytes."""
        return len(self.command) + len(self.data) + 2


@dataclass
class TracingTransport:
    """Wraps a transport and records every exchange, for the privacy tests and the benchmarks.

    The trace holds card data and secrets in memory only; it must never be logged or written out.
    """

    inner: Transport
    trace: list[Exchange] = field(default_factory=list)

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Forward to the wrapped transport and record the exchange."""
        data, sw = self.inner.transmit(apdu)
        self.trace.append(Exchange(bytes(apdu), bytes(data), sw))
        return data, sw

    def close(self) -> None:
        """Close the wrapped transport when it is a connection."""
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()
