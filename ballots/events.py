"""Domain events as plain data. The ledger (sync/) stores, chains and signs them; reports read them as data.

An event names the voter by register key (識別コード), never by name. Corrections are new events (VOID), never edits.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["REASONS", "CheckInKind", "Event", "EventError", "EventType", "new_event_id", "validate_event"]


class EventError(ValueError):
    """An event whose fields do not fit its type."""


class EventType(enum.StrEnum):
    """Every kind of thing the station records."""

    CHECK_IN = "check_in"  # one per (voter, election): the ballot for that election was handed over
    VOID = "void"  # manager voids an earlier event (data.target = event_id, data.reason)
    DECLARATION = "declaration"  # 宣誓書 printed (data.reason 1..6, data.reprint)
    BALLOT_REISSUED = "ballot_reissued"  # 再交付 (data.reason)
    PROVISIONAL = "provisional"  # 仮投票 (data.reason, data.outcome)
    REFUSAL = "refusal"  # 拒否 (data.reason, data.article)
    PROXY_VOTE = "proxy_vote"  # 代理投票 (data.helpers: two staff ids)
    BRAILLE = "braille"  # 点字投票
    OVERRIDE = "override"  # manager continued past a hard stop (data.stop, data.reason, data.existing)
    STOP_SHOWN = "stop_shown"  # a hard stop (already voted, absentee papers out) was shown (data.codes, .existing)
    STAFF_SIGN_IN = "staff_sign_in"
    STAFF_SIGN_OUT = "staff_sign_out"
    STAFF_SIGN_IN_FAILED = "staff_sign_in_failed"  # wrong PIN for staff_id (data.attempt, data.locked; never the PIN)
    STAFF_UNLOCKED = "staff_unlocked"  # a manager (staff_id) lifted a sign-in lock (data.target: the staff id)
    RECORD_VIEWED = "record_viewed"  # a voter's record was shown (data.purpose)
    STOCK_RECEIVED = "stock_received"  # ballot stock received for an election (data.count)
    STATION_OPENED = "station_opened"  # opening check done (data.test_mode)
    STATION_CLOSED = "station_closed"


class CheckInKind(enum.StrEnum):
    """How the vote is cast: early (期日前), on election day, or recorded absentee (不在者)."""

    EARLY = "early"
    DAY = "day"
    ABSENTEE = "absentee"


# 期日前投票の事由 (公職選挙法48条の2第1項各号), exact wording for the 宣誓書.
REASONS: Mapping[int, str] = {
    1: "職務若しくは業務又は総務省令で定める用務に従事すること。",
    2: "用務（前号の総務省令で定めるものを除く。）又は事故のためその属する投票区の区域外に旅行又は滞在をすること。",
    3: "疾病、負傷、妊娠、老衰若しくは身体の障害のため若しくは産褥にあるため歩行が困難であること又は刑事施設、労役場、"
    "監置場、少年院若しくは少年鑑別所に収容されていること。",
    4: "交通至難の島その他の地で総務省令で定める地域に居住していること又は当該地域に滞在をすること。",
    5: "その属する投票区のある市町村の区域外の住所に居住していること。",
    6: "天災又は悪天候により投票所に到達することが困難であること。",
}


def new_event_id() -> str:
    """A fresh globally unique event id (pushes are idempotent by it)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened at a desk. ``at`` is timezone-aware UTC; ``data`` holds type-specific fields."""

    type: EventType
    station_id: str
    staff_id: str
    at: datetime
    voter: str | None = None
    election: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=new_event_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ledger's canonical body is built from this)."""
        return {
            "event_id": self.event_id,
            "type": self.type.value,
            "station_id": self.station_id,
            "staff_id": self.staff_id,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "voter": self.voter,
            "election": self.election,
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Event:
        """Inverse of to_dict; validates, raising EventError on anything malformed."""
        try:
            at = datetime.fromisoformat(d["at"])
            if at.tzinfo is None:
                raise EventError("event 'at' must carry a timezone")
            ev = cls(
                type=EventType(d["type"]),
                station_id=str(d["station_id"]),
                staff_id=str(d["staff_id"]),
                at=at.astimezone(UTC),
                voter=d.get("voter"),
                election=d.get("election"),
                data=dict(d.get("data") or {}),
                event_id=str(d["event_id"]),
            )
        except EventError:
            raise
        except (KeyError, ValueError, TypeError) as exc:
            raise EventError(f"malformed event: {exc!r}") from None
        validate_event(ev)
        return ev


_NEEDS_VOTER = {
    EventType.CHECK_IN,
    EventType.DECLARATION,
    EventType.BALLOT_REISSUED,
    EventType.PROXY_VOTE,
    EventType.BRAILLE,
    EventType.OVERRIDE,
    EventType.STOP_SHOWN,
    EventType.RECORD_VIEWED,
    EventType.REFUSAL,
}
_NEEDS_ELECTION = {EventType.CHECK_IN, EventType.BALLOT_REISSUED, EventType.STOCK_RECEIVED}
_CHECKIN_KINDS = frozenset(k.value for k in CheckInKind)


def validate_event(ev: Event) -> None:
    """Raise EventError if the event's fields do not fit its type."""
    if not ev.event_id or len(ev.event_id) > 64:
        raise EventError("event_id must be 1–64 characters")
    if ev.at.tzinfo is None:
        raise EventError("event time must be timezone-aware")
    if ev.type in _NEEDS_VOTER and not ev.voter:
        raise EventError(f"{ev.type.value}: voter is required")
    if ev.type in _NEEDS_ELECTION and not ev.election:
        raise EventError(f"{ev.type.value}: election is required")
    d = ev.data
    if ev.type is EventType.CHECK_IN:
        if d.get("kind") not in _CHECKIN_KINDS:
            raise EventError("check_in: data.kind must be early, day or absentee")
    elif ev.type is EventType.VOID:
        if not d.get("target") or not d.get("reason"):
            raise EventError("void: data.target and data.reason are required")
    elif ev.type is EventType.DECLARATION:
        if d.get("reason") not in REASONS:
            raise EventError("declaration: data.reason must be 1..6")
    elif ev.type is EventType.PROXY_VOTE:
        helpers = d.get("helpers")
        if not isinstance(helpers, list | tuple) or len(helpers) != 2 or len(set(helpers)) != 2:
            raise EventError("proxy_vote: data.helpers must name two different staff")
    elif ev.type in (EventType.BALLOT_REISSUED, EventType.REFUSAL, EventType.PROVISIONAL, EventType.OVERRIDE):
        if not d.get("reason"):
            raise EventError(f"{ev.type.value}: data.reason is required")
    elif ev.type is EventType.STAFF_SIGN_IN_FAILED:
        attempt = d.get("attempt")
        if not ev.staff_id or not isinstance(attempt, int) or isinstance(attempt, bool) or attempt <= 0:
            raise EventError("staff_sign_in_failed: staff_id and a positive data.attempt are required")
        if any("pin" in str(k).lower() for k in d):
            raise EventError("staff_sign_in_failed: data must never carry the PIN")
    elif ev.type is EventType.STAFF_UNLOCKED:
        if not ev.staff_id or not d.get("target"):
            raise EventError("staff_unlocked: staff_id (the manager) and data.target are required")
    elif ev.type is EventType.STOCK_RECEIVED:
        count = d.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            raise EventError("stock_received: data.count must be a positive integer")
