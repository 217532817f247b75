"""PC/SC through pyscard — the only module that imports ``smartcard``.

``list_readers`` and ``PcscConnector`` (exclusive connection while reading, SCARD_UNPOWER_CARD on close) map every
PC/SC return code to a ``TransportError`` subclass. ``PcscMonitor`` watches readers and cards coming and going on its
own thread and calls a plain callable with ``MonitorEvent`` values: no Qt here, so a UI forwards them into its event
loop (a Qt signal emitted from that callable is thread-safe).

The low-level ``smartcard.scard`` API is used rather than pyscard's observer classes: it returns the raw codes we must
map, and one ``SCardGetStatusChange`` loop covers readers, cards and the service going away.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from smartcard import scard

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
    TransportError,
)

__all__ = [
    "EventKind",
    "MonitorEvent",
    "PcscConnection",
    "PcscConnector",
    "PcscMonitor",
    "error_for_code",
    "list_readers",
]

log = logging.getLogger(__name__)

# Every PC/SC code the reader can meet, and what it means for us.
_ERRORS: dict[int, type[TransportError]] = {
    0x80100069: CardRemovedError,  # SCARD_W_REMOVED_CARD
    0x80100067: CardRemovedError,  # SCARD_W_UNPOWERED_CARD: the card lost power, i.e. left the field
    0x8010000C: NoCardError,  # SCARD_E_NO_SMARTCARD
    0x80100068: CardResetError,  # SCARD_W_RESET_CARD
    0x8010001D: ServiceUnavailableError,  # SCARD_E_NO_SERVICE
    0x8010001E: ServiceUnavailableError,  # SCARD_E_SERVICE_STOPPED
    0x8010000B: SharingViolationError,  # SCARD_E_SHARING_VIOLATION
    0x80100009: ReaderUnpluggedError,  # SCARD_E_UNKNOWN_READER
    0x80100017: ReaderUnpluggedError,  # SCARD_E_READER_UNAVAILABLE
    0x8010002E: NoReaderError,  # SCARD_E_NO_READERS_AVAILABLE
    0x8010000A: ReaderTimeoutError,  # SCARD_E_TIMEOUT
    0x80100066: ReaderTimeoutError,  # SCARD_W_UNRESPONSIVE_CARD
    0x80100016: CommunicationError,  # SCARD_E_NOT_TRANSACTED
    0x80100013: CommunicationError,  # SCARD_F_COMM_ERROR
    0x8010002F: CommunicationError,  # SCARD_E_COMM_DATA_LOST
    0x80100065: CommunicationError,  # SCARD_W_UNSUPPORTED_CARD
    0x8010000F: CommunicationError,  # SCARD_E_PROTO_MISMATCH
}

_PNP = "\\\\?PnP?\\Notification"  # pcsc-lite's pseudo reader that changes when readers come and go


def error_for_code(code: int, doing: str) -> TransportError:
    """The exception for PC/SC return ``code`` while ``doing`` something (e.g. ``"connect"``)."""
    code &= 0xFFFFFFFF
    cls = _ERRORS.get(code, CommunicationError)
    try:
        text = scard.SCardGetErrorMessage(code)
    except Exception:  # pragma: no cover - only the message text is lost
        text = "PC/SC error"
    return cls(f"{doing}: {text} (0x{code:08X})", code)


def _check(code: int, doing: str) -> None:
    if code != scard.SCARD_S_SUCCESS:
        raise error_for_code(code, doing)


def _context() -> int:
    code, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    _check(code, "connect to pcscd")
    return int(ctx)


def _readers(ctx: int) -> list[str]:
    code, readers = scard.SCardListReaders(ctx, [])
    if code in (scard.SCARD_E_NO_READERS_AVAILABLE, scard.SCARD_E_READER_UNAVAILABLE):
        return []
    _check(code, "list readers")
    return list(readers)


def list_readers() -> list[str]:
    """Names of the connected readers (empty when none). Raises ``ServiceUnavailableError`` without pcscd."""
    ctx = _context()
    try:
        return _readers(ctx)
    finally:
        scard.SCardReleaseContext(ctx)


class PcscConnection:
    """An exclusive connection to the card in one reader; ``close`` unpowers the card (SCARD_UNPOWER_CARD)."""

    def __init__(self, ctx: int, card: int, protocol: int, reader: str) -> None:
        self._ctx = ctx
        self._card: int | None = card
        self._protocol = protocol
        self.reader = reader

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one APDU; PC/SC errors raise the mapped ``TransportError``."""
        if self._card is None:
            raise CardRemovedError("connection already closed")
        code, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
        _check(code, "transmit")
        if len(response) < 2:
            # pcscd reports success with no bytes when the card stops answering mid-command (vpcd: card pulled).
            raise CardRemovedError(f"transmit: response of {len(response)} bytes has no status word")
        raw = bytes(response)
        return raw[:-2], int.from_bytes(raw[-2:], "big")

    def close(self) -> None:
        """Disconnect with unpower, so no verified state survives to the next voter; then release the context."""
        card, self._card = self._card, None
        if card is not None:
            code = scard.SCardDisconnect(card, scard.SCARD_UNPOWER_CARD)
            if code != scard.SCARD_S_SUCCESS:
                # The card is usually just gone; unpowering it is then moot. Not an error for the voter.
                log.info("disconnect: 0x%08X", code & 0xFFFFFFFF)
            scard.SCardReleaseContext(self._ctx)


@dataclass
class PcscConnector:
    """Connects to ``reader`` (a name), or to the first reader with a card in it when ``reader`` is ``None``."""

    reader: str | None = None

    def __call__(self) -> PcscConnection:
        """Open an exclusive connection. Raises ``NoReaderError``, ``NoCardError``, ``ServiceUnavailableError`` …"""
        ctx = _context()
        try:
            names = _readers(ctx)
            if self.reader is not None:
                if self.reader not in names:
                    raise NoReaderError(f"reader {self.reader!r} is not connected")
                candidates = [self.reader]
            elif not names:
                raise NoReaderError("no card reader is connected")
            else:
                candidates = names
            last: TransportError = NoCardError("no card in any reader")
            for name in candidates:
                code, card, protocol = scard.SCardConnect(
                    ctx, name, scard.SCARD_SHARE_EXCLUSIVE, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
                )
                if code == scard.SCARD_S_SUCCESS:
                    return PcscConnection(ctx, card, protocol, name)
                last = error_for_code(code, f"connect to {name!r}")
                if self.reader is None and isinstance(last, NoCardError | CommunicationError):
                    continue  # try the next reader
                raise last
            raise last
        except BaseException:
            scard.SCardReleaseContext(ctx)
            raise


class EventKind(enum.Enum):
    """What changed."""

    READER_ADDED = "reader-added"
    READER_REMOVED = "reader-removed"
    CARD_INSERTED = "card-inserted"
    CARD_REMOVED = "card-removed"
    SERVICE_LOST = "service-lost"  # pcscd went away; the monitor keeps trying to reconnect


@dataclass(frozen=True, slots=True)
class MonitorEvent:
    """One change seen by the monitor; ``reader`` is empty for SERVICE_LOST."""

    kind: EventKind
    reader: str = ""
    atr: bytes = b""


class PcscMonitor:
    """Watches readers and cards on a background thread and calls ``callback(event)`` from that thread.

    The callback must return quickly and must not touch UI objects directly (forward to the UI thread instead).
    Cards already present at start are reported as inserted. ``stop`` ends the thread within ``poll_ms``.
    """

    def __init__(self, callback: Callable[[MonitorEvent], None], poll_ms: int = 500) -> None:
        self._callback = callback
        self._poll_ms = poll_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pcsc-monitor", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop watching and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5 + self._poll_ms / 1000)
            self._thread = None

    def _emit(self, event: MonitorEvent) -> None:
        try:
            self._callback(event)
        except Exception:
            # A faulty callback must not kill the monitor: the kiosk would stop seeing cards.
            log.exception("monitor callback failed for %s", event.kind.value)

    def _run(self) -> None:
        present: dict[str, bytes | None] = {}  # reader → ATR of the card in it (None: empty)
        service_ok = True
        while not self._stop.is_set():
            try:
                ctx = _context()
            except TransportError:
                if service_ok:
                    service_ok = False
                    for name in list(present):
                        self._emit(MonitorEvent(EventKind.READER_REMOVED, name))
                    present.clear()
                    self._emit(MonitorEvent(EventKind.SERVICE_LOST))
                self._stop.wait(self._poll_ms / 1000)
                continue
            service_ok = True
            try:
                self._watch(ctx, present)
            except TransportError as exc:
                log.info("monitor: %s", exc)
            finally:
                scard.SCardReleaseContext(ctx)

    def _watch(self, ctx: int, present: dict[str, bytes | None]) -> None:
        states: dict[str, int] = {}
        while not self._stop.is_set():
            names = _readers(ctx)
            for name in [n for n in present if n not in names]:
                if present.pop(name) is not None:
                    self._emit(MonitorEvent(EventKind.CARD_REMOVED, name))
                self._emit(MonitorEvent(EventKind.READER_REMOVED, name))
                states.pop(name, None)
            for name in names:
                if name not in present:
                    present[name] = None
                    states[name] = scard.SCARD_STATE_UNAWARE
                    self._emit(MonitorEvent(EventKind.READER_ADDED, name))
            query = [(n, states[n]) for n in names] + [(_PNP, states.get(_PNP, scard.SCARD_STATE_UNAWARE))]
            code, result = scard.SCardGetStatusChange(ctx, self._poll_ms, query)
            if code == scard.SCARD_E_TIMEOUT:
                continue
            if code in (scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE):
                continue  # a reader vanished between listing and waiting: list again
            _check(code, "watch readers")
            for name, event_state, atr in result:
                states[name] = event_state & ~scard.SCARD_STATE_CHANGED
                if name == _PNP:
                    continue
                has_card = bool(event_state & scard.SCARD_STATE_PRESENT) and not event_state & scard.SCARD_STATE_MUTE
                before = present.get(name)
                if has_card and before is None:
                    present[name] = bytes(atr)
                    self._emit(MonitorEvent(EventKind.CARD_INSERTED, name, bytes(atr)))
                elif not has_card and before is not None:
                    present[name] = None
                    self._emit(MonitorEvent(EventKind.CARD_REMOVED, name))
