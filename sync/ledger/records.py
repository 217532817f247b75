"""Plain result types of the ledger: errors, check-in records, per-election status, counts, the verify report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ballots.events import CheckInKind

__all__ = ["CheckInRecord", "ElectionStatus", "LedgerCounts", "LedgerError", "ReplicaReport", "VerifyReport"]


class LedgerError(ValueError):
    """Bad input to the ledger or a ledger that cannot be used as asked; the message says what and where.

    Raised before anything is written: a refused append or replica batch leaves the database unchanged.
    """


@dataclass(frozen=True, slots=True)
class CheckInRecord:
    """One standing (not voided) check-in of a voter, from this kiosk or from the replica of another kiosk."""

    election: str
    station_id: str
    kiosk_id: str
    at: datetime
    kind: CheckInKind
    event_id: str
    offline: bool  # recorded while the server could not be reached (data.offline)
    own: bool  # recorded by this kiosk (False: pulled from the server)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["at"] = self.at.isoformat()
        d["kind"] = self.kind.value
        return d


@dataclass(frozen=True, slots=True)
class ElectionStatus:
    """What the ledger knows about one voter in one election: standing check-ins, and whether they conflict."""

    voter: str
    election: str
    checkins: tuple[CheckInRecord, ...]

    @property
    def voted(self) -> bool:
        """At least one standing check-in exists (the reception core's "already voted" stop)."""
        return bool(self.checkins)

    @property
    def conflict(self) -> bool:
        """More than one standing check-in: a double issuance the committee must see (nothing is dropped)."""
        return len(self.checkins) > 1


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    """Standing check-ins per election and kind, and events per type (own events only unless asked otherwise)."""

    checkins: dict[str, dict[str, int]]  # election → kind (early/day/absentee) → count
    voided_checkins: dict[str, int]  # election → number of check-ins voided
    events: dict[str, int]  # event type → count, voids included

    def total(self, election: str) -> int:
        """All standing check-ins of one election."""
        return sum(self.checkins.get(election, {}).values())


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Outcome of :meth:`Ledger.verify`.

    ``bad_seq`` names the first bad row by its stored ``seq`` (which is the SQLite rowid); for a row that is missing
    it is the seq that should be there. ``key_source`` says whether the caller supplied the public key ("given") or
    the key recorded in the ledger itself was used ("recorded"), which proves internal consistency only.
    """

    ok: bool
    kiosk_id: str
    checked: int
    last_seq: int
    head_hash: str
    key_source: str
    bad_seq: int | None = None
    reason: str | None = None
    acked_seq: int = 0
    recorded_key_matches: bool | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``uketsuke ledger verify --json``)."""
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        return d


@dataclass(frozen=True, slots=True)
class ReplicaReport:
    """Outcome of :meth:`Ledger.verify_replica`: the other kiosks' events this kiosk relies on when offline.

    Every row's hash is recomputed from its content and its lookup columns are compared with the signed body;
    signatures are checked for the kiosks whose public key was given (``kiosks_without_key`` lists the others).
    Adjacent seqs of one kiosk must chain. Rows deleted from the replica cannot be seen here (the replica has gaps
    by design: the server sends what was asked for); the server remains the authority on completeness.
    """

    ok: bool
    checked: int
    signatures_checked: int
    kiosks: dict[str, int]  # kiosk id → rows held
    kiosks_without_key: tuple[str, ...] = ()
    bad_kiosk_id: str | None = None
    bad_seq: int | None = None
    bad_event_id: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["kiosks_without_key"] = list(self.kiosks_without_key)
        return d
