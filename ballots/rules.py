"""Eligibility: may this voter receive each election's ballot at this station on this date?

One pure function, :func:`assess`, decides for every election of the day at once, from the register entry, the
election package and what is known to be voted already (own ledger, replica of other stations, server answers). Each
decision carries a :class:`Code` and a short Japanese message written for the clerk at the desk.

The order of the checks matters and follows the incidents the system exists to stop: "already voted" comes first, so
a voter who already voted is never sent on to "the right station" to vote again.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from ballots.events import CheckInKind, Event, EventType
from ballots.model import (
    AbsenteeStatus,
    Election,
    ElectionDefinition,
    ElectionKind,
    Station,
    StationKind,
    Voter,
)
from ballots.wareki import format_wareki

__all__ = [
    "ADULT_AGE",
    "HARD_STOPS",
    "ISSUABLE",
    "JST",
    "MANAGER_DECIDES",
    "Code",
    "ElectionDecision",
    "Eligibility",
    "RulesError",
    "VotedRecord",
    "assess",
    "format_local_time",
]

JST = timezone(timedelta(hours=9), "JST")
ADULT_AGE = 18  # 公職選挙法9条: 年齢満十八年以上


class RulesError(ValueError):
    """The question itself is malformed (unknown station, record for an unknown election, …)."""


class Code(enum.StrEnum):
    """Why a ballot may or may not be handed over for one election."""

    ELIGIBLE = "eligible"
    DECISION_HOLDER = "decision_holder"  # not in the register but holds a 決定書/判決書 (法42条ただし書)
    ALREADY_VOTED = "already_voted"  # a check-in for this election is known (early, day, absentee; any station)
    ABSENTEE_RECEIVED = "absentee_received"  # 不在者投票 受理: already voted absentee
    ABSENTEE_ISSUED = "absentee_issued"  # 不在者投票 交付: papers out, not returned; the manager decides
    NOT_IN_REGISTER = "not_in_register"
    WRONG_STATION = "wrong_station"  # election-day station of another 投票区
    NOT_ELECTION_DAY = "not_election_day"  # day/common station used on another date
    EARLY_NOT_STARTED = "early_not_started"  # this election's early voting has not begun (e.g. 国民審査)
    EARLY_ENDED = "early_ended"  # early voting ends the day before election day
    STATION_NOT_OPEN = "station_not_open"  # outside this early station's own opening period
    UNDER_AGE = "under_age"  # under 18 on election day
    UNDER_AGE_EARLY = "under_age_early"  # 18 on election day but not yet today: absentee only
    MOVED_MUNICIPAL = "moved_municipal"  # 転出: never for a municipal election
    MOVED_OUT_OF_PREFECTURE = "moved_out_of_prefecture"  # 転出 with a 県 不可 mark
    BARRED_BY_MARK = "barred_by_mark"  # 選挙別不可 mark on the register entry


#: Codes under which the ballot is handed over.
ISSUABLE = frozenset({Code.ELIGIBLE, Code.DECISION_HOLDER})
#: Codes that stop the flow on a full-screen notice; only the manager can continue, with a reason (logged).
HARD_STOPS = frozenset({Code.ALREADY_VOTED, Code.ABSENTEE_RECEIVED})
#: Codes that are neither yes nor no: the manager decides (continue with a reason, or refuse).
MANAGER_DECIDES = frozenset({Code.ABSENTEE_ISSUED})

_KIND_LABEL = {CheckInKind.EARLY: "期日前投票", CheckInKind.DAY: "当日投票", CheckInKind.ABSENTEE: "不在者投票"}


def format_local_time(at: datetime) -> str:
    """令和8年12月13日 10時05分 in Japan time, for notices."""
    local = at.astimezone(JST)
    return f"{format_wareki(local.date())} {local.hour}時{local.minute:02d}分"


@dataclass(frozen=True, slots=True)
class VotedRecord:
    """A known check-in of this voter: which election, where, when (UTC) and how; ``offline`` if not yet confirmed."""

    election: str
    station_id: str
    at: datetime
    kind: CheckInKind
    offline: bool = False
    event_id: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise RulesError(f"voted record for {self.election!r}: time must be timezone-aware")

    @classmethod
    def from_event(cls, event: Event) -> VotedRecord:
        """The record of a CHECK_IN event (RulesError for any other type)."""
        if event.type is not EventType.CHECK_IN or not event.election:
            raise RulesError(f"event {event.event_id}: not a check-in ({event.type.value})")
        return cls(
            election=event.election,
            station_id=event.station_id,
            at=event.at,
            kind=CheckInKind(event.data["kind"]),
            offline=bool(event.data.get("offline", False)),
            event_id=event.event_id,
        )

    def describe(self, definition: ElectionDefinition) -> str:
        """Where and when, in Japanese: 市役所本庁舎期日前投票所、令和8年12月5日 10時05分、期日前投票."""
        try:
            where = definition.station(self.station_id).name
        except KeyError:
            where = f"投票所 {self.station_id}"
        return f"{where}、{format_local_time(self.at)}、{_KIND_LABEL[self.kind]}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for event data and notices)."""
        return {
            "election": self.election,
            "station_id": self.station_id,
            "at": self.at.astimezone(UTC).isoformat(),
            "kind": self.kind.value,
            "offline": self.offline,
            "event_id": self.event_id,
        }


@dataclass(frozen=True, slots=True)
class ElectionDecision:
    """The decision for one election: a code, the clerk's message and, for already-voted, the record found."""

    election: Election
    code: Code
    message: str
    voted: VotedRecord | None = None

    @property
    def issuable(self) -> bool:
        """True when this election's ballot may be handed over."""
        return self.code in ISSUABLE

    @property
    def hard_stop(self) -> bool:
        """True when the flow must stop for the manager (already voted)."""
        return self.code in HARD_STOPS


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Decisions for every election of the day, in ballot order, for one voter at one station on one date."""

    voter_code: str | None
    station: Station
    on: date
    kind: CheckInKind  # how a ballot handed over here today is recorded
    decisions: tuple[ElectionDecision, ...]
    right_station: Station | None = None  # for WRONG_STATION: where this voter votes on election day

    @property
    def issuable(self) -> tuple[Election, ...]:
        """Elections whose ballot may be handed over, in ballot order."""
        return tuple(d.election for d in self.decisions if d.issuable)

    @property
    def refused(self) -> tuple[ElectionDecision, ...]:
        """Decisions whose ballot must NOT be handed over."""
        return tuple(d for d in self.decisions if not d.issuable)

    @property
    def hard_stops(self) -> tuple[ElectionDecision, ...]:
        """Already-voted decisions (the flow stops; only the manager continues)."""
        return tuple(d for d in self.decisions if d.hard_stop)

    @property
    def manager_decides(self) -> tuple[ElectionDecision, ...]:
        """Decisions the manager must take (absentee papers issued, not returned)."""
        return tuple(d for d in self.decisions if d.code in MANAGER_DECIDES)

    def decision(self, election_id: str) -> ElectionDecision:
        """The decision for one election (KeyError if the package has no such election)."""
        for d in self.decisions:
            if d.election.id == election_id:
                return d
        raise KeyError(election_id)

    def codes(self) -> Mapping[str, Code]:
        """election id → code (handy for logs and tests)."""
        return {d.election.id: d.code for d in self.decisions}


def assess(
    definition: ElectionDefinition,
    station_id: str,
    on: date,
    voter: Voter | None,
    voted: Iterable[VotedRecord] = (),
    *,
    decision_holder: bool = False,
) -> Eligibility:
    """Decide, for every election of the day, whether ``voter`` may receive its ballot at ``station_id`` on ``on``.

    ``voter`` is None when the person is not in the register; with ``decision_holder`` (a court or committee decision
    under 法42条ただし書) they may still vote at an election-day station. ``voted`` is everything known voted by this
    voter (voids already applied). Raises RulesError when the station or a record's election is unknown.
    """
    try:
        station = definition.station(station_id)
    except KeyError:
        raise RulesError(f"station {station_id!r} is not in the election package") from None
    election_ids = {e.id for e in definition.elections}
    by_election: dict[str, VotedRecord] = {}
    for rec in voted:
        if rec.election not in election_ids:
            raise RulesError(f"voted record names election {rec.election!r}, which is not in the election package")
        # The earliest record is the one to name: it is the vote that counts.
        if rec.election not in by_election or rec.at < by_election[rec.election].at:
            by_election[rec.election] = rec

    kind = CheckInKind.EARLY if station.kind is StationKind.EARLY else CheckInKind.DAY
    right_station = None
    if voter is not None and station.kind is StationKind.DAY and voter.precinct not in station.precincts:
        right_station = definition.day_station_for(voter.precinct)

    decisions = tuple(
        _decide(definition, station, on, voter, e, by_election.get(e.id), decision_holder, right_station)
        for e in definition.ordered_elections()
    )
    return Eligibility(
        voter_code=voter.code if voter else None,
        station=station,
        on=on,
        kind=kind,
        decisions=decisions,
        right_station=right_station,
    )


def _decide(
    definition: ElectionDefinition,
    station: Station,
    on: date,
    voter: Voter | None,
    election: Election,
    record: VotedRecord | None,
    decision_holder: bool,
    right_station: Station | None,
) -> ElectionDecision:
    short = election.short_name

    def no(code: Code, message: str) -> ElectionDecision:
        return ElectionDecision(election, code, f"{short}：{message}", record if code is Code.ALREADY_VOTED else None)

    # 1. Already voted anywhere known: first, so nobody is sent elsewhere to vote twice.
    if record is not None:
        return no(Code.ALREADY_VOTED, f"投票済みです（{record.describe(definition)}）")
    if voter is not None and voter.absentee is AbsenteeStatus.RECEIVED:
        return no(Code.ABSENTEE_RECEIVED, "不在者投票を受理済みです（投票済み）")

    # 2. Is this station open to this voter today?
    scope = _station_scope(definition, station, on, voter, election, right_station)
    if scope is not None:
        return no(*scope)

    # 3. Not in the register.
    if voter is None:
        if decision_holder:
            message = f"{short}：決定書等所持者として交付（法42条ただし書）"
            return ElectionDecision(election, Code.DECISION_HOLDER, message)
        return no(Code.NOT_IN_REGISTER, "選挙人名簿に登録されていません")

    # 4. Age, by 年齢計算ニ関スル法律 (Voter.age_on): 18 on election day; early voters must already be 18 today.
    if voter.age_on(definition.election_day) < ADULT_AGE:
        return no(Code.UNDER_AGE, "選挙期日に満18歳未満のため投票できません")
    if station.kind is StationKind.EARLY and voter.age_on(on) < ADULT_AGE:
        return no(Code.UNDER_AGE_EARLY, "本日満18歳未満のため期日前投票はできません（不在者投票は可）")

    # 5. Moved voters and per-election marks.
    if voter.moved and election.kind is ElectionKind.MUNICIPAL:
        return no(Code.MOVED_MUNICIPAL, "転出者は市区町村の選挙に投票できません")
    if election.kind in voter.barred_kinds:
        if voter.moved and election.kind is ElectionKind.PREFECTURAL:
            return no(Code.MOVED_OUT_OF_PREFECTURE, "県外への転出者のため投票できません")
        return no(Code.BARRED_BY_MARK, f"名簿に「{election.kind.value}不可」の表示があるため投票できません")

    # 6. Absentee papers issued and not returned: neither yes nor no.
    if voter.absentee is AbsenteeStatus.ISSUED:
        return no(Code.ABSENTEE_ISSUED, "不在者投票用紙を交付済み・未返還です。投票管理者の判断が必要です")

    message = f"{short}：交付"
    if voter.moved and election.kind is ElectionKind.PREFECTURAL:
        message += "（転出者：県内に引き続き住所があることを確認）"
    elif voter.moved:
        message += "（転出者）"
    return ElectionDecision(election, Code.ELIGIBLE, message)


def _station_scope(
    definition: ElectionDefinition,
    station: Station,
    on: date,
    voter: Voter | None,
    election: Election,
    right_station: Station | None,
) -> tuple[Code, str] | None:
    day = definition.election_day
    if station.kind is StationKind.EARLY:
        if on >= day:
            return Code.EARLY_ENDED, "期日前投票期間は選挙期日の前日までです"
        if on < election.early_voting_start:
            return Code.EARLY_NOT_STARTED, f"期日前投票は{format_wareki(election.early_voting_start)}からです"
        if (station.early_from and on < station.early_from) or (station.early_until and on > station.early_until):
            start = format_wareki(station.early_from) if station.early_from else ""
            end = format_wareki(station.early_until) if station.early_until else ""
            return Code.STATION_NOT_OPEN, f"この期日前投票所の開設期間外です（{start}〜{end}）"
        return None
    if on != day:
        return Code.NOT_ELECTION_DAY, f"この投票所で投票できるのは選挙期日（{format_wareki(day)}）だけです"
    if station.kind is StationKind.DAY and voter is not None and voter.precinct not in station.precincts:
        try:
            precinct = definition.precinct(voter.precinct).name
        except KeyError:
            precinct = voter.precinct
        where = right_station.name if right_station else "選挙管理委員会に確認"
        return Code.WRONG_STATION, f"{precinct}の選挙人です。投票所は「{where}」です"
    return None
