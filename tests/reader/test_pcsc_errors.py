"""Every PC/SC return code the reader can meet maps to a typed error and a clerk's message (no pcscd needed)."""

from __future__ import annotations

import pytest

from reader.outcomes import (
    CardFault,
    CardRemoved,
    CardReset,
    NoCard,
    NoReader,
    ReaderBusy,
    ReaderTimeout,
    ReaderUnplugged,
    ServiceUnavailable,
    failure_for_error,
)
from reader.pcsc import error_for_code
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


@pytest.mark.parametrize(
    ("code", "error", "outcome"),
    [
        (0x80100069, CardRemovedError, CardRemoved()),  # SCARD_W_REMOVED_CARD
        (0x80100067, CardRemovedError, CardRemoved()),  # SCARD_W_UNPOWERED_CARD
        (0x8010000C, NoCardError, NoCard()),  # SCARD_E_NO_SMARTCARD
        (0x80100068, CardResetError, CardReset()),  # SCARD_W_RESET_CARD
        (0x8010001D, ServiceUnavailableError, ServiceUnavailable()),  # SCARD_E_NO_SERVICE
        (0x8010001E, ServiceUnavailableError, ServiceUnavailable()),  # SCARD_E_SERVICE_STOPPED
        (0x8010000B, SharingViolationError, ReaderBusy()),  # SCARD_E_SHARING_VIOLATION
        (0x80100009, ReaderUnpluggedError, ReaderUnplugged()),  # SCARD_E_UNKNOWN_READER
        (0x80100017, ReaderUnpluggedError, ReaderUnplugged()),  # SCARD_E_READER_UNAVAILABLE
        (0x8010002E, NoReaderError, NoReader()),  # SCARD_E_NO_READERS_AVAILABLE
        (0x8010000A, ReaderTimeoutError, ReaderTimeout()),  # SCARD_E_TIMEOUT
        (0x80100066, ReaderTimeoutError, ReaderTimeout()),  # SCARD_W_UNRESPONSIVE_CARD
        (0x80100016, CommunicationError, None),  # SCARD_E_NOT_TRANSACTED
        (0x80100013, CommunicationError, None),  # SCARD_F_COMM_ERROR
        (0x80100014, CommunicationError, None),  # SCARD_F_UNKNOWN_ERROR: anything unlisted
        (-2146435049, ReaderUnpluggedError, ReaderUnplugged()),  # the same code as a signed 32-bit int
    ],
)
def test_pcsc_codes(code: int, error: type, outcome: object) -> None:
    exc = error_for_code(code, "transmit")
    assert type(exc) is error
    assert exc.code == code & 0xFFFFFFFF
    assert f"0x{code & 0xFFFFFFFF:08X}" in str(exc) and str(exc).startswith("transmit: ")
    mapped = failure_for_error(exc)
    if outcome is None:
        assert isinstance(mapped, CardFault)
    else:
        assert mapped == outcome
