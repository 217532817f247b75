"""Ballot issuance and reconciliation, computed from events (never from a ledger object).

Per election: ballots received (STOCK_RECEIVED), handed over with a check-in (CHECK_IN minus voided ones), reissued
(BALLOT_REISSUED, 再交付, with reasons), and what should remain. The special cases the 投票録 records — 代理投票
with its two helpers, 点字, 仮投票, 拒否 — are counted here too. Corrections are VOID events; they are applied first.

A voter with two accepted check-ins for the same election (an offline double issuance that sync found later) is a
*conflict*: both ballots were physically handed over, so both count against stock, but the voter is counted once, and
the conflict is listed so nobody can miss it.

Times: events carry UTC; the station works in Japan time, so days and hours are taken in JST.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from operator import attrgetter

from ballots.events import CheckInKind, Event, EventType
from ballots.model import ElectionDefinition

__all__ = [
    "JST",
    "ActiveEvents",
    "Conflict",
    "CountBasis",
    "ElectionIssuance",
    "IssuanceReport",
    "Mismatch",
    "apply_voids",
    "ballot_issuance",
    "count_basis",
    "day_bounds",
    "find_conflicts",
    "local_day",
]

JST = timezone(timedelta(hours=9), "JST")  # Japan has no daylight saving time

# Enum member lookups go through a descriptor on every access; the loops over 100,000s of events use these instead.
_CHECK_IN = EventType.CHECK_IN
_REISSUED = EventType.BALLOT_REISSUED
_STOCK = EventType.STOCK_RECEIVED
_VOID = EventType.VOID
_SPECIAL = frozenset({EventType.PROXY_VOTE, EventType.BRAILLE, EventType.PROVISIONAL, EventType.REFUSAL})


_JST_OFFSET = timedelta(hours=9)


def local_day(at: datetime) -> date:
    """The station's calendar day (JST) of an event time (``at`` is timezone-aware)."""
    # Adding the fixed offset to the UTC time is several times cheaper than astimezone(), and reports call this
    # once per event over whole early-voting periods.
    utc = at.astimezone(UTC) if at.utcoffset() else at
    return (utc + _JST_OFFSET).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which JST ``day`` starts and the next day starts: comparing event times against these is
    how reports select a day without converting every event's time."""
    start = datetime(day.year, day.month, day.day, tzinfo=JST).astimezone(UTC)
    return start, start + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """Something that does not add up. ``message`` is Japanese, for the 投票管理者 and the committee."""

    kind: str  # stable English key: conflict, stock_exceeded, no_stock, count_differs, …
    message: str
    election: str | None = None
    voter: str | None = None
    event_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActiveEvents:
    """Events with voids applied: ``events`` is what still stands (time order), ``voided`` maps id → the VOID,
    ``voided_events`` are the events taken back (for counting what was corrected)."""

    events: tuple[Event, ...]
    voided: Mapping[str, Event]
    voided_events: tuple[Event, ...]
    mismatches: tuple[Mismatch, ...]


def apply_voids(events: Iterable[Event]) -> ActiveEvents:
    """Drop every event a VOID targets (the VOIDs themselves stay out of ``events``).

    A VOID naming an unknown event, or another VOID, changes nothing and is reported as a mismatch: corrections of
    corrections are not part of the procedure, so they need a person to look.
    """
    # Stable sort on time alone: events from one ledger keep their recorded order when their times are equal.
    all_events = sorted(events, key=attrgetter("at"))
    by_id = {e.event_id: e for e in all_events}
    voided: dict[str, Event] = {}
    problems: list[Mismatch] = []
    for ev in all_events:
        if ev.type is not _VOID:
            continue
        target_id = str(ev.data.get("target", ""))
        target = by_id.get(target_id)
        if target is None:
            problems.append(
                Mismatch(
                    "void_unknown_target",
                    f"取消の対象となる記録 {target_id} が見つかりません",
                    event_ids=(ev.event_id,),
                )
            )
        elif target.type is EventType.VOID:
            problems.append(
                Mismatch(
                    "void_of_void", f"取消の取消は扱えません（記録 {target_id}）", event_ids=(ev.event_id, target_id)
                )
            )
        else:
            voided[target_id] = ev
    active = tuple(e for e in all_events if e.type is not EventType.VOID and e.event_id not in voided)
    taken_back = tuple(by_id[i] for i in voided)
    return ActiveEvents(active, voided, taken_back, tuple(problems))


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two or more accepted check-ins of one voter for one election (found after an offline period)."""

    voter: str
    election: str
    check_ins: tuple[Event, ...]  # time order; the first is the one the voter is counted by

    @property
    def stations(self) -> tuple[str, ...]:
        """Stations involved, in time order."""
        return tuple(e.station_id for e in self.check_ins)

    def describe(self, election_label: str | None = None) -> str:
        """One Japanese line naming where and when each issuance happened."""
        where = "、".join(f"{e.station_id} {e.at.astimezone(JST):%m/%d %H:%M}" for e in self.check_ins)
        return f"二重交付：選挙人 {self.voter}／{election_label or self.election}（{where}）"


def find_conflicts(active: Sequence[Event]) -> dict[tuple[str, str], Conflict]:
    """Every (voter, election) with more than one standing check-in."""
    seen: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for ev in active:
        if ev.type is EventType.CHECK_IN and ev.voter and ev.election:
            seen[(ev.voter, ev.election)].append(ev)
    return {key: Conflict(key[0], key[1], tuple(evs)) for key, evs in seen.items() if len(evs) > 1}


@dataclass(frozen=True, slots=True)
class CountBasis:
    """What every count needs, computed once: voids applied, each (voter, election)'s first standing check-in
    (the one the voter is counted by) and the conflicts."""

    active: ActiveEvents
    first_check_in: Mapping[tuple[str, str], Event]
    conflicts: Mapping[tuple[str, str], Conflict]


def count_basis(events: Iterable[Event]) -> CountBasis:
    """Apply voids, then find first check-ins and conflicts in one pass."""
    active = apply_voids(events)
    first: dict[tuple[str, str], Event] = {}
    repeats: dict[tuple[str, str], list[Event]] = {}
    for ev in active.events:
        if ev.type is _CHECK_IN and ev.voter and ev.election:
            key = (ev.voter, ev.election)
            earlier = first.get(key)
            if earlier is None:
                first[key] = ev
            else:
                repeats.setdefault(key, [earlier]).append(ev)
    conflicts = {key: Conflict(key[0], key[1], tuple(evs)) for key, evs in repeats.items()}
    return CountBasis(active, first, conflicts)


@dataclass(frozen=True, slots=True)
class ElectionIssuance:
    """Ballot figures for one election over the period asked for (stock and remaining: as at its end)."""

    election: str
    stock_received: int  # all STOCK_RECEIVED up to the end of the period
    check_ins: int  # ballots handed over with a check-in in the period (conflicting ones included)
    voters: int  # distinct voters first checked in during the period
    reissued: int
    reissue_reasons: Mapping[str, int]
    issued_before: int  # ballots issued before the period (early stations carry stock across days)
    voided_check_ins: int
    kinds: Mapping[str, int]  # check-ins by kind: early / day / absentee
    proxy: int
    braille: int
    provisional: int
    refusals: int
    conflicts: tuple[Conflict, ...]
    counted_remaining: int | None = None  # what the station counted at close (STATION_CLOSED data)

    @property
    def issued(self) -> int:
        """Ballots that left the stock in the period: one per check-in plus every reissue."""
        return self.check_ins + self.reissued

    @property
    def remaining(self) -> int:
        """Ballots that should be left at the end of the period."""
        return self.stock_received - self.issued_before - self.issued


@dataclass(frozen=True, slots=True)
class IssuanceReport:
    """Issuance for every election of the package, plus every mismatch found."""

    station_id: str | None
    day: date | None
    elections: tuple[ElectionIssuance, ...]
    mismatches: tuple[Mismatch, ...] = field(default=())

    def for_election(self, election_id: str) -> ElectionIssuance:
        """The figures of one election (KeyError if the package has no such election)."""
        for e in self.elections:
            if e.election == election_id:
                return e
        raise KeyError(election_id)


def _applies(ev: Event, election: str) -> bool:
    # 代理投票, 点字, 仮投票 and 拒否 may be recorded once for the whole visit (election None): then they apply to
    # every election of that visit.
    return ev.election is None or ev.election == election


def ballot_issuance(
    events: Iterable[Event],
    definition: ElectionDefinition,
    *,
    station_id: str | None = None,
    day: date | None = None,
    basis: CountBasis | None = None,
) -> IssuanceReport:
    """Issuance and reconciliation per election, for one station (or all) and one JST day (or everything).

    ``basis`` lets a caller that already has one (a report computing several things) skip recomputing it.
    """
    basis = basis or count_basis(events)
    act = basis.active
    known = {e.id for e in definition.elections}
    mismatches: list[Mismatch] = list(act.mismatches)
    conflicts = basis.conflicts

    def in_station(ev: Event) -> bool:
        return station_id is None or ev.station_id == station_id

    start, end = day_bounds(day) if day is not None else (None, None)

    def in_period(ev: Event) -> bool:
        return start is None or (start <= ev.at < end)  # type: ignore[operator]

    first_check_in = basis.first_check_in

    stock: Counter[str] = Counter()
    check_ins: Counter[str] = Counter()
    voters: Counter[str] = Counter()
    issued_before: Counter[str] = Counter()
    reissued: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    specials: dict[str, Counter[EventType]] = defaultdict(Counter)
    counted: dict[str, int] = {}
    checked_in_voters: set[tuple[str, str]] = set(first_check_in)

    for ev in act.events:
        if station_id is not None and ev.station_id != station_id:
            continue
        if ev.election is not None and ev.election not in known:
            mismatches.append(
                Mismatch(
                    "unknown_election",
                    f"選挙 {ev.election} は選挙データにありません（記録 {ev.event_id}）",
                    election=ev.election,
                    event_ids=(ev.event_id,),
                )
            )
            continue
        t = ev.type
        if t is _STOCK and ev.election:
            if end is None or ev.at < end:
                stock[ev.election] += int(ev.data["count"])
        elif (t is _CHECK_IN or t is _REISSUED) and ev.election:
            if start is not None and ev.at < start:
                issued_before[ev.election] += 1
            elif end is None or ev.at < end:
                if t is _CHECK_IN:
                    check_ins[ev.election] += 1
                    kinds[ev.election][str(ev.data.get("kind", CheckInKind.DAY.value))] += 1
                    if ev.voter and first_check_in[(ev.voter, ev.election)] is ev:
                        voters[ev.election] += 1
                else:
                    reissued[ev.election] += 1
                    reasons[ev.election][str(ev.data.get("reason", ""))] += 1
                    if ev.voter and (ev.voter, ev.election) not in checked_in_voters:
                        mismatches.append(
                            Mismatch(
                                "reissue_without_check_in",
                                f"再交付の記録がありますが、選挙人 {ev.voter} の{ev.election}の受付記録がありません",
                                election=ev.election,
                                voter=ev.voter,
                                event_ids=(ev.event_id,),
                            )
                        )
        elif t in _SPECIAL:
            if in_period(ev):
                for e in definition.elections:
                    if _applies(ev, e.id):
                        specials[e.id][t] += 1
        elif t is EventType.STATION_CLOSED and in_period(ev):
            remaining = ev.data.get("ballots_remaining")
            if isinstance(remaining, Mapping):
                for eid, n in remaining.items():
                    if isinstance(n, int) and not isinstance(n, bool):
                        counted[str(eid)] = n

    voided_check_ins: Counter[str] = Counter(
        ev.election
        for ev in act.voided_events
        if ev.type is EventType.CHECK_IN and ev.election and in_station(ev) and in_period(ev)
    )

    rows = []
    for e in definition.ordered_elections():
        eid = e.id
        period_conflicts = tuple(
            c
            for (_, c_eid), c in sorted(conflicts.items())
            if c_eid == eid and any(in_station(x) and in_period(x) for x in c.check_ins)
        )
        row = ElectionIssuance(
            election=eid,
            stock_received=stock[eid],
            check_ins=check_ins[eid],
            voters=voters[eid],
            reissued=reissued[eid],
            reissue_reasons=dict(reasons[eid]),
            issued_before=issued_before[eid],
            voided_check_ins=voided_check_ins[eid],
            kinds=dict(kinds[eid]),
            proxy=specials[eid][EventType.PROXY_VOTE],
            braille=specials[eid][EventType.BRAILLE],
            provisional=specials[eid][EventType.PROVISIONAL],
            refusals=specials[eid][EventType.REFUSAL],
            conflicts=period_conflicts,
            counted_remaining=counted.get(eid),
        )
        rows.append(row)
        mismatches.extend(_reconcile(row, e.short_name))
    return IssuanceReport(station_id, day, tuple(rows), tuple(mismatches))


def _reconcile(row: ElectionIssuance, label: str) -> list[Mismatch]:
    """The end-of-day checks: ballots vs stock, ballots vs voters, counted vs computed remaining."""
    out: list[Mismatch] = []
    eid = row.election
    if row.issued and not row.stock_received:
        out.append(
            Mismatch("no_stock", f"{label}：投票用紙の受領記録がないのに{row.issued}枚交付されています", election=eid)
        )
    elif row.remaining < 0:
        out.append(
            Mismatch(
                "stock_exceeded",
                f"{label}：交付数が受領数を{-row.remaining}枚超えています（受領{row.stock_received}枚）",
                election=eid,
            )
        )
    extra = row.check_ins - row.voters
    if extra:
        out.append(
            Mismatch(
                "check_ins_exceed_voters",
                f"{label}：受付{row.check_ins}件に対し投票者{row.voters}人（差{extra}：二重交付を確認してください）",
                election=eid,
            )
        )
    for c in row.conflicts:
        out.append(
            Mismatch(
                "conflict",
                c.describe(label),
                election=eid,
                voter=c.voter,
                event_ids=tuple(e.event_id for e in c.check_ins),
            )
        )
    if row.counted_remaining is not None and row.counted_remaining != row.remaining:
        out.append(
            Mismatch(
                "count_differs",
                f"{label}：残数の実数{row.counted_remaining}枚が計算上の残数{row.remaining}枚と一致しません",
                election=eid,
            )
        )
    return out
