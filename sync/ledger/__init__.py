"""The kiosk's local ledger (append-only, hash-chained, signed events in SQLite) and its derived views.

Public API: :class:`Ledger` (``Ledger.open(path, kiosk_id=..., key=...)``, ``Ledger.open_readonly(path)``),
:func:`read_events`, and the result types :class:`CheckInRecord`, :class:`ElectionStatus`, :class:`LedgerCounts`,
:class:`VerifyReport`, :class:`ReplicaReport`, :class:`LedgerError`.
"""

from sync.ledger.records import (
    CheckInRecord,
    ElectionStatus,
    LedgerCounts,
    LedgerError,
    ReplicaReport,
    VerifyReport,
)
from sync.ledger.store import Ledger, read_events

__all__ = [
    "CheckInRecord",
    "ElectionStatus",
    "Ledger",
    "LedgerCounts",
    "LedgerError",
    "ReplicaReport",
    "VerifyReport",
    "read_events",
]
