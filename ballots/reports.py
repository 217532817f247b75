"""Station reports computed from events (lists of ``ballots.events.Event``), as PDF and CSV.

- ``station_record``: the 投票録 figures of one station and day, by 男/女/計, per election — registered voters (when the
  register is given), voters, among them those who voted on a 決定書 or 判決書, 仮投票, 不在者投票 received, refusals,
  点字, 代理投票 with both helpers, 再交付 with reasons, opening and closing times, staff count — and the end-of-day
  reconciliation of check-ins, ballots and stock with every mismatch listed.
- ``hourly_turnout``: voters by sex at the committee's times (``[reports] hourly_times``), per station and in total.
- ``early_voting_reasons``: the 投票事由調書 — early voters by day and by 事由, with the previous election if known.

A voter is counted once per election, at their first standing check-in: an offline double issuance found after sync
(a *conflict*) still counts both ballots against stock, and is flagged on every report whose period it touches.
Voters are identified by register key only; sex comes from the register (``sexes_from_register``).

A 決定書等所持者 (公職選挙法42条1項ただし書: not in the register, votes on a committee decision or court judgment that
they should be) is checked in under a synthetic key (``ballots.model.decision_holder_key``). Such a key is a voter
like any other here, never an "unknown voter": counted as a voter, shown on its own line of the 投票録 and, because
there is no register entry, of 不明 sex unless the check-in records one (``data.decision_sex``, ``M``/``F``). A
check-in under such a key must carry the decision's reference (``data.decision_ref``, which maps to that key);
without it the key only looks like a decision holder's, and that is a mismatch. A key that is neither in the
register nor of that form is an unknown voter: counted (the ballot was handed over) and listed as a mismatch.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Protocol
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as RLTable

from ballots.events import REASONS, CheckInKind, Event, EventType
from ballots.fonts import GOTHIC, MINCHO, register_fonts
from ballots.issuance import (
    JST,
    Conflict,
    IssuanceReport,
    Mismatch,
    ballot_issuance,
    count_basis,
    day_bounds,
    local_day,
)
from ballots.model import (
    ElectionDefinition,
    Sex,
    StationKind,
    Voter,
    decision_holder_key,
    is_decision_holder_key,
)
from ballots.wareki import format_wareki

__all__ = [
    "DECISION_HOLDERS_LABEL",
    "ElectionRecord",
    "HourlyTurnout",
    "ReasonsReport",
    "Report",
    "SexCounts",
    "StationRecord",
    "Table",
    "VoterSexes",
    "early_voting_reasons",
    "hourly_turnout",
    "registered_counts",
    "report_csv",
    "report_pdf",
    "sexes_from_register",
    "station_record",
    "voter_sexes",
]

# Enum member lookups go through a descriptor on every access; the loops over whole periods use plain names.
_CHECK_IN = EventType.CHECK_IN
_PROVISIONAL = EventType.PROVISIONAL
_REFUSAL = EventType.REFUSAL
_BRAILLE = EventType.BRAILLE
_PROXY_VOTE = EventType.PROXY_VOTE
_BALLOT_REISSUED = EventType.BALLOT_REISSUED
_STATION_OPENED = EventType.STATION_OPENED
_STATION_CLOSED = EventType.STATION_CLOSED
_STAFF_SIGN_IN = EventType.STAFF_SIGN_IN
_DECLARATION = EventType.DECLARATION
_EARLY = CheckInKind.EARLY.value
_ABSENTEE = CheckInKind.ABSENTEE.value

UNKNOWN_REASON = "不明"

#: The 投票録 line for voters not in the register who voted on a decision (法42条1項ただし書).
DECISION_HOLDERS_LABEL = "決定書又は判決書により投票した者"


@dataclass(slots=True)
class SexCounts:
    """男・女 and 不明: a key the register does not know (a mismatch), or a decision holder of no recorded sex."""

    male: int = 0
    female: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        """計."""
        return self.male + self.female + self.unknown

    def add(self, sex: Sex | None, n: int = 1) -> None:
        """Count ``n`` more people of ``sex`` (None: not known)."""
        if sex is Sex.MALE:
            self.male += n
        elif sex is Sex.FEMALE:
            self.female += n
        else:
            self.unknown += n

    def cells(self) -> list[str]:
        """男, 女, 計 as table cells (不明 folded into 計 only; reports say how many of 計 that is)."""
        return [str(self.male), str(self.female), str(self.total)]


@dataclass(frozen=True, slots=True)
class Table:
    """One table of a report: what the PDF prints under a heading."""

    heading: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


class Report(Protocol):
    """What every report offers to the renderers."""

    @property
    def title(self) -> str:
        """Document title."""
        ...

    def subtitle_lines(self) -> list[str]:
        """Lines under the title: municipality, station, period."""
        ...

    def tables(self) -> list[Table]:
        """The tables, in print order."""
        ...

    def csv_rows(self) -> list[list[str]]:
        """A tidy table for spreadsheets: header first."""
        ...


def sexes_from_register(voters: Iterable[Voter]) -> dict[str, Sex]:
    """Register key → sex, the only register fact the counts need."""
    return {v.code: v.sex for v in voters}


def registered_counts(
    voters: Iterable[Voter], definition: ElectionDefinition, station_id: str | None
) -> dict[str, SexCounts]:
    """Registered voters per election in a station's scope (an election-day station: its 投票区; otherwise all),
    leaving out moved voters whose register entry bars that kind of election."""
    scope = definition.precinct_scope(station_id)
    out = {e.id: SexCounts() for e in definition.elections}
    for v in voters:
        if scope is not None and v.precinct not in scope:
            continue
        for e in definition.elections:
            if e.kind not in v.barred_kinds:
                out[e.id].add(v.sex)
    return out


def _station_label(definition: ElectionDefinition, station_id: str | None) -> str:
    if station_id is None:
        return "全投票所"
    try:
        return definition.station(station_id).name
    except KeyError:
        return station_id


def _short_name(definition: ElectionDefinition, election_id: str) -> str:
    try:
        return definition.election(election_id).short_name
    except KeyError:
        return election_id


def _staff_label(definition: ElectionDefinition, staff_id: str) -> str:
    try:
        return definition.staff_member(staff_id).name
    except KeyError:
        return staff_id


def _hm(at: datetime | None) -> str:
    return at.astimezone(JST).strftime("%H:%M") if at else "—"


def _mismatch_table(mismatches: Sequence[Mismatch]) -> Table:
    rows = tuple((str(i), m.message) for i, m in enumerate(mismatches, 1)) or (("—", "不一致はありません"),)
    return Table("照合結果（不一致）", ("番号", "内容"), rows)


@dataclass(frozen=True, slots=True)
class VoterSexes:
    """Who a register key is, for counting: a register entry (sex from the register), a 決定書等所持者 (sex as their
    check-in recorded it, if at all) or unknown. Built by :func:`voter_sexes` from the events being counted."""

    register: Mapping[str, Sex]
    decision_sexes: Mapping[str, Sex]  # decision holder key → the sex a check-in recorded
    problems: Mapping[str, tuple[Mismatch, ...]]  # decision holder key → what does not fit on its check-ins

    def is_decision_holder(self, code: str) -> bool:
        """Not in the register and of the synthetic form ``decision_holder_key`` gives."""
        return code not in self.register and is_decision_holder_key(code)

    def sex(self, code: str | None) -> Sex | None:
        """The sex to count ``code`` under (None: 不明)."""
        if code is None:
            return None
        sex = self.register.get(code)
        return sex if sex is not None else self.decision_sexes.get(code)

    def mismatches(self, codes: Iterable[str]) -> list[Mismatch]:
        """For the keys of a report: every unknown voter, and every decision holder whose check-ins do not fit."""
        out: list[Mismatch] = []
        for c in sorted({c for c in codes if c not in self.register}):
            if is_decision_holder_key(c):
                out += self.problems.get(c, ())
            else:
                out.append(Mismatch("unknown_voter", f"選挙人 {c} が選挙人名簿にありません（性別不明）", voter=c))
        return out


def voter_sexes(sexes: Mapping[str, Sex], first_check_ins: Iterable[Event]) -> VoterSexes:
    """The register's sexes plus what the counted check-ins say about decision holders (``data.decision_ref`` that
    maps to the key, optional ``data.decision_sex`` ``M``/``F``). Only keys outside the register are looked at."""
    decision_sexes: dict[str, Sex] = {}
    problems: dict[str, list[Mismatch]] = defaultdict(list)
    for ev in first_check_ins:
        code = ev.voter
        if not code or code in sexes or not is_decision_holder_key(code):
            continue
        ref = ev.data.get("decision_ref")
        try:
            fits = isinstance(ref, str) and decision_holder_key(ref) == code
        except ValueError:
            fits = False
        if not fits:
            what = (
                f"記録された決定書・判決書の番号「{ref}」はこの識別コードに対応しません"
                if isinstance(ref, str) and ref
                else "記録に決定書・判決書の番号がありません"
            )
            problems[code].append(
                Mismatch(
                    "decision_unverified",
                    f"識別コード {code} は決定書等所持者の形式ですが、受付（{ev.election}）の{what}",
                    election=ev.election,
                    voter=code,
                    event_ids=(ev.event_id,),
                )
            )
        recorded = ev.data.get("decision_sex")
        if recorded is None or code in decision_sexes:
            continue
        try:
            decision_sexes[code] = Sex(recorded)
        except ValueError:
            problems[code].append(
                Mismatch(
                    "decision_sex_unreadable",
                    f"決定書等所持者 {code} の受付（{ev.election}）に記録された性別「{recorded}」を読めません"
                    "（男女別では不明として集計）",
                    election=ev.election,
                    voter=code,
                    event_ids=(ev.event_id,),
                )
            )
    return VoterSexes(sexes, decision_sexes, {k: tuple(v) for k, v in problems.items()})


# --------------------------------------------------------------------------------------------------------------------
# 投票録


@dataclass(slots=True)
class ElectionRecord:
    """The 投票録 figures of one election."""

    election: str
    name: str
    registered: SexCounts | None
    voters: SexCounts = field(default_factory=SexCounts)
    decision_holders: SexCounts = field(default_factory=SexCounts)  # 決定書・判決書 (among the voters)
    absentee: SexCounts = field(default_factory=SexCounts)  # 不在者投票 received (among the voters)
    provisional: SexCounts = field(default_factory=SexCounts)
    refused: SexCounts = field(default_factory=SexCounts)
    braille: SexCounts = field(default_factory=SexCounts)
    proxy: SexCounts = field(default_factory=SexCounts)

    @property
    def turnout(self) -> float | None:
        """Voters / registered, when the register was given."""
        if self.registered is None or not self.registered.total:
            return None
        return self.voters.total / self.registered.total


@dataclass(frozen=True, slots=True)
class StationRecord:
    """投票録 of one station (or all) for one day (or the whole ledger)."""

    definition: ElectionDefinition
    station_id: str | None
    day: date | None
    elections: tuple[ElectionRecord, ...]
    reissues: tuple[tuple[str, str, str, str], ...]  # time, election, voter, reason
    proxies: tuple[tuple[str, str, str, str], ...]  # time, election(s), voter, helpers
    decisions: tuple[tuple[str, str, str, str, str], ...]  # time, elections, decision reference, key, manager
    opened_at: datetime | None
    closed_at: datetime | None
    staff: tuple[str, ...]
    issuance: IssuanceReport
    mismatches: tuple[Mismatch, ...]

    @property
    def title(self) -> str:
        """期日前投票録 for an early-voting station, 投票録 otherwise."""
        early = self.station_id is not None and self._station_kind() is StationKind.EARLY
        return "期日前投票録（集計）" if early else "投票録（集計）"

    def _station_kind(self) -> StationKind | None:
        try:
            return self.definition.station(self.station_id or "").kind
        except KeyError:
            return None

    def subtitle_lines(self) -> list[str]:
        """Municipality, station, day."""
        d = self.definition
        period = format_wareki(self.day) if self.day else "全期間"
        return [
            f"{d.municipality_name}　{d.committee_name}",
            f"投票所：{_station_label(d, self.station_id)}　　対象日：{period}",
            f"選挙期日：{format_wareki(d.election_day)}",
        ]

    def tables(self) -> list[Table]:
        """Counts by sex, special cases, times and staff, ballot reconciliation, mismatches."""
        # One row per item, one 男/女/計 column group per election: how a 投票録 lays the figures side by side.
        head: list[str] = ["区分"]
        for e in self.elections:
            short = self.definition.election(e.election).short_name
            head += [f"{short} 男", f"{short} 女", f"{short} 計"]
        items = [
            ("投票者数", "voters"),
            (f"うち{DECISION_HOLDERS_LABEL}", "decision_holders"),
            ("うち不在者投票受理", "absentee"),
            ("仮投票者数", "provisional"),
            ("拒否した者", "refused"),
            ("点字投票者数", "braille"),
            ("代理投票者数", "proxy"),
        ]
        rows: list[tuple[str, ...]] = []
        if all(e.registered is not None for e in self.elections) and self.elections:
            rows.append(
                ("選挙人名簿登録者数", *(c for e in self.elections for c in (e.registered or SexCounts()).cells()))
            )
        for label, attr in items:
            rows.append((label, *(c for e in self.elections for c in getattr(e, attr).cells())))
            if attr == "decision_holders" and any(e.voters.unknown for e in self.elections):
                # 計 holds voters of no recorded sex (a decision holder, an unknown key): say how many of it they are
                rows.append(
                    (
                        "投票者数のうち性別不明（男女に含まない）",
                        *(c for e in self.elections for c in ("", "", str(e.voters.unknown))),
                    )
                )
        if all(e.turnout is not None for e in self.elections) and self.elections:
            rows.append(("投票率", *(c for e in self.elections for c in ("", "", f"{(e.turnout or 0) * 100:.2f}%"))))
        tables = [Table("投票者数等（男女別）", tuple(head), tuple(rows))]
        tables.append(
            Table(
                "投票所の開閉・従事者",
                ("項目", "内容"),
                (
                    ("開始時刻", _hm(self.opened_at)),
                    ("閉鎖時刻", _hm(self.closed_at)),
                    ("従事者数", f"{len(self.staff)}人"),
                    ("従事者", "、".join(self.staff) or "—"),
                ),
            )
        )
        tables.append(
            Table(
                "投票用紙の再交付",
                ("時刻", "選挙", "選挙人", "理由"),
                self.reissues or (("—", "", "", "再交付はありません"),),
            )
        )
        tables.append(
            Table(
                "代理投票（補助者2名）",
                ("時刻", "選挙", "選挙人", "補助者"),
                self.proxies or (("—", "", "", "代理投票はありません"),),
            )
        )
        tables.append(
            Table(
                f"{DECISION_HOLDERS_LABEL}（公職選挙法第42条第1項ただし書）",
                ("時刻", "選挙", "決定書・判決書", "仮の識別コード", "確認した投票管理者"),
                self.decisions or (("—", "", "", "", "該当者はありません"),),
            )
        )
        tables.append(_issuance_table(self.definition, self.issuance))
        tables.append(_mismatch_table(self.mismatches))
        return tables

    def csv_rows(self) -> list[list[str]]:
        """選挙ID, 選挙, 項目, 男, 女, 計 — then ballot figures as 項目 rows with the total in 計."""
        out = [["選挙ID", "選挙", "項目", "男", "女", "計"]]
        for e in self.elections:
            pairs: list[tuple[str, SexCounts]] = []
            if e.registered is not None:
                pairs.append(("選挙人名簿登録者数", e.registered))
            pairs += [
                ("投票者数", e.voters),
                (DECISION_HOLDERS_LABEL, e.decision_holders),
                ("不在者投票受理", e.absentee),
                ("仮投票者数", e.provisional),
                ("拒否者数", e.refused),
                ("点字投票者数", e.braille),
                ("代理投票者数", e.proxy),
            ]
            out += [[e.election, e.name, label, *c.cells()] for label, c in pairs]
            out.append([e.election, e.name, "投票者数のうち性別不明", "", "", str(e.voters.unknown)])
        for row in self.issuance.elections:
            name = self.definition.election(row.election).name
            for label, n in _issuance_items(row):
                out.append([row.election, name, label, "", "", str(n)])
        for m in self.mismatches:
            out.append([m.election or "", "", f"不一致:{m.kind}", "", "", m.message])
        return out


def _issuance_items(row: Any) -> list[tuple[str, int]]:
    items = [
        ("投票用紙受領数", row.stock_received),
        ("前日までの交付数", row.issued_before),
        ("受付による交付数", row.check_ins),
        ("再交付数", row.reissued),
        ("交付数計", row.issued),
        ("残数（計算）", row.remaining),
        ("取り消した受付", row.voided_check_ins),
        ("二重交付", len(row.conflicts)),
    ]
    if row.counted_remaining is not None:
        items.append(("残数（実数）", row.counted_remaining))
    return items


def _issuance_table(definition: ElectionDefinition, issuance: IssuanceReport) -> Table:
    rows = []
    for row in issuance.elections:
        e = definition.election(row.election)
        reasons = "、".join(f"{r}:{n}" for r, n in sorted(row.reissue_reasons.items())) or ""
        rows.append(
            (
                e.short_name,
                str(row.stock_received),
                str(row.issued_before),
                str(row.check_ins),
                str(row.reissued) + (f"（{reasons}）" if reasons else ""),
                str(row.remaining),
                "—" if row.counted_remaining is None else str(row.counted_remaining),
                str(row.voters),
            )
        )
    return Table(
        "投票用紙の照合",
        ("選挙", "受領", "前日まで交付", "受付交付", "再交付", "残数(計算)", "残数(実数)", "投票者数"),
        tuple(rows),
    )


def station_record(
    events: Iterable[Event],
    definition: ElectionDefinition,
    sexes: Mapping[str, Sex],
    *,
    station_id: str | None = None,
    day: date | None = None,
    register: Iterable[Voter] | None = None,
) -> StationRecord:
    """The 投票録 figures for ``station_id`` (None: all stations) on JST ``day`` (None: everything).

    ``events`` should hold everything known (own and replica): a double issuance with another station is only found
    if that station's check-in is among them. ``register``, if given, adds the registered counts and turnout.
    """
    if station_id is not None:
        definition.station(station_id)  # KeyError names an unknown station before anything is counted
    basis = count_basis(events)
    who = voter_sexes(sexes, basis.first_check_in.values())

    start, end = day_bounds(day) if day is not None else (None, None)

    def mine(ev: Event) -> bool:
        if station_id is not None and ev.station_id != station_id:
            return False
        return start is None or (start <= ev.at < end)  # type: ignore[operator]

    registered = registered_counts(register, definition, station_id) if register is not None else None
    records = {
        e.id: ElectionRecord(e.id, e.name, registered[e.id] if registered else None)
        for e in definition.ordered_elections()
    }
    seen: dict[str, set[tuple[str | None, str]]] = defaultdict(set)  # (kind of count) → {(voter, election)}
    reissues: list[tuple[str, str, str, str]] = []
    proxies: list[tuple[str, str, str, str]] = []
    opened: datetime | None = None
    closed: datetime | None = None
    staff: dict[str, None] = {}
    codes: set[str] = set()
    decisions: dict[str, tuple[str, list[str], str, str]] = {}  # key → time, elections, reference, manager

    def count_once(kind: str, ev: Event, attr: str) -> None:
        """Count a person once per election for ``kind`` (an event without election applies to all)."""
        targets = [ev.election] if ev.election in records else [e for e in records] if ev.election is None else []
        for eid in targets:
            key = (ev.voter or ev.event_id, eid)
            if key in seen[kind]:
                continue
            seen[kind].add(key)
            getattr(records[eid], attr).add(who.sex(ev.voter))

    for ev in basis.active.events:
        if not mine(ev):
            continue
        if ev.voter:
            codes.add(ev.voter)
        t = ev.type
        if t is _CHECK_IN and ev.voter and ev.election in records:
            if basis.first_check_in[(ev.voter, ev.election)] is ev:
                rec = records[ev.election]
                sex = who.sex(ev.voter)
                rec.voters.add(sex)
                if ev.data.get("kind") == _ABSENTEE:
                    rec.absentee.add(sex)
                if who.is_decision_holder(ev.voter):
                    rec.decision_holders.add(sex)
                    line = decisions.setdefault(
                        ev.voter,
                        (
                            _hm(ev.at),
                            [],
                            str(ev.data.get("decision_ref") or "（記録なし）"),
                            _staff_label(definition, str(ev.data.get("decision_by") or "")) or "—",
                        ),
                    )
                    line[1].append(definition.election(ev.election).short_name)
        elif t is _PROVISIONAL:
            count_once("provisional", ev, "provisional")
        elif t is _REFUSAL:
            count_once("refused", ev, "refused")
        elif t is _BRAILLE:
            count_once("braille", ev, "braille")
        elif t is _PROXY_VOTE:
            count_once("proxy", ev, "proxy")
            helpers = "、".join(_staff_label(definition, str(h)) for h in ev.data.get("helpers", ()))
            which = definition.election(ev.election).short_name if ev.election in records else "全選挙"
            proxies.append((_hm(ev.at), which, ev.voter or "", helpers))
        elif t is _BALLOT_REISSUED and ev.election in records:
            which = definition.election(ev.election or "").short_name
            reissues.append((_hm(ev.at), which, ev.voter or "", str(ev.data.get("reason", ""))))
        elif t is _STATION_OPENED:
            opened = ev.at if opened is None else min(opened, ev.at)
        elif t is _STATION_CLOSED:
            closed = ev.at if closed is None else max(closed, ev.at)
        if t is _STAFF_SIGN_IN:
            staff.setdefault(_staff_label(definition, ev.staff_id), None)

    issuance = ballot_issuance((), definition, station_id=station_id, day=day, basis=basis)
    mismatches = (*issuance.mismatches, *who.mismatches(codes))
    return StationRecord(
        definition=definition,
        station_id=station_id,
        day=day,
        elections=tuple(records.values()),
        reissues=tuple(reissues),
        proxies=tuple(proxies),
        decisions=tuple((at, "、".join(names), ref, key, by) for key, (at, names, ref, by) in decisions.items()),
        opened_at=opened,
        closed_at=closed,
        staff=tuple(staff),
        issuance=issuance,
        mismatches=mismatches,
    )


# --------------------------------------------------------------------------------------------------------------------
# 時間別投票者数


@dataclass(frozen=True, slots=True)
class HourlyTurnout:
    """Cumulative voters by sex at each reporting time of one day, per election and station, and in total."""

    definition: ElectionDefinition
    day: date
    times: tuple[time, ...]
    stations: tuple[str, ...]  # stations reported, in package order
    # (election, station or "" for all) → one SexCounts per time, then the day's final figure
    counts: Mapping[tuple[str, str], tuple[SexCounts, ...]]
    mismatches: tuple[Mismatch, ...]

    title = "時間別投票者数"

    def subtitle_lines(self) -> list[str]:
        """Municipality and day."""
        d = self.definition
        where = "、".join(_station_label(d, s) for s in self.stations) or "—"
        return [f"{d.municipality_name}　{d.committee_name}", f"対象日：{format_wareki(self.day)}　　投票所：{where}"]

    def _labels(self) -> list[str]:
        return [f"{t:%H:%M}" for t in self.times] + ["最終"]

    def tables(self) -> list[Table]:
        """One table per election: rows station × sex, columns the reporting times."""
        out = []
        for e in self.definition.ordered_elections():
            rows: list[tuple[str, ...]] = []
            keys = [*self.stations, ""] if len(self.stations) > 1 else list(self.stations) or [""]
            for st in keys:
                series = self.counts.get((e.id, st))
                if series is None:
                    continue
                label = _station_label(self.definition, st) if st else "計"
                rows.append((label, "男", *(str(c.male) for c in series)))
                rows.append((label, "女", *(str(c.female) for c in series)))
                rows.append((label, "計", *(str(c.total) for c in series)))
            out.append(Table(e.name, ("投票所", "", *self._labels()), tuple(rows)))
        out.append(_mismatch_table(self.mismatches))
        return out

    def csv_rows(self) -> list[list[str]]:
        """選挙ID, 投票所ID ('' = all), 時刻, 男, 女, 計."""
        out = [["選挙ID", "投票所ID", "時刻", "男", "女", "計"]]
        for (eid, st), series in self.counts.items():
            for label, c in zip(self._labels(), series, strict=True):
                out.append([eid, st, label, *c.cells()])
        return out


def hourly_turnout(
    events: Iterable[Event],
    definition: ElectionDefinition,
    sexes: Mapping[str, Sex],
    *,
    day: date,
    station_id: str | None = None,
    times: Sequence[time] | None = None,
) -> HourlyTurnout:
    """Voters (first standing check-in per voter and election) checked in by each reporting time of ``day``.

    ``times`` defaults to the package's ``[reports] hourly_times``; the last column is the day's final count.
    """
    if station_id is not None:
        definition.station(station_id)
    points = tuple(times if times is not None else definition.hourly_times)
    basis = count_basis(events)
    who = voter_sexes(sexes, basis.first_check_in.values())
    per: dict[tuple[str, str], list[SexCounts]] = {}
    stations: set[str] = set()
    codes: set[str] = set()
    n = len(points) + 1
    for (voter, eid), ev in basis.first_check_in.items():
        if station_id is not None and ev.station_id != station_id:
            continue
        local = ev.at.astimezone(JST)
        if local.date() != day:
            continue
        stations.add(ev.station_id)
        codes.add(voter)
        sex = who.sex(voter)
        # index of the first reporting time at or after the check-in; the final column always counts it
        first = next((i for i, t in enumerate(points) if local.time() <= t), len(points))
        for key in ((eid, ev.station_id), (eid, "")):
            series = per.setdefault(key, [SexCounts() for _ in range(n)])
            for i in range(first, n):
                series[i].add(sex)
    order = [s.id for s in definition.stations if s.id in stations] + sorted(
        stations - {s.id for s in definition.stations}
    )
    return HourlyTurnout(
        definition=definition,
        day=day,
        times=points,
        stations=tuple(order),
        counts={k: tuple(v) for k, v in sorted(per.items())},
        mismatches=(*basis.active.mismatches, *who.mismatches(codes)),
    )


# --------------------------------------------------------------------------------------------------------------------
# 投票事由調書


@dataclass(frozen=True, slots=True)
class ReasonsRow:
    """Early voters of one election on one day: by sex and by 事由 (1..6, or 不明 when no 宣誓書 is recorded)."""

    election: str
    day: date
    voters: SexCounts
    reasons: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class ReasonsReport:
    """期日前投票者数 by day and by 事由 (投票事由調書), with totals and the previous election's figures."""

    definition: ElectionDefinition
    station_id: str | None
    rows: tuple[ReasonsRow, ...]
    conflicts: tuple[Conflict, ...]
    mismatches: tuple[Mismatch, ...]

    title = "期日前投票事由調書"

    def subtitle_lines(self) -> list[str]:
        """Municipality and stations."""
        d = self.definition
        return [
            f"{d.municipality_name}　{d.committee_name}",
            f"投票所：{_station_label(d, self.station_id)}　　選挙期日：{format_wareki(d.election_day)}",
        ]

    @staticmethod
    def reason_keys() -> list[str]:
        """'1'..'6' then 不明."""
        return [str(k) for k in REASONS] + [UNKNOWN_REASON]

    def totals(self, election: str) -> ReasonsRow | None:
        """The whole period of one election (None if no early voter)."""
        rows = [r for r in self.rows if r.election == election]
        if not rows:
            return None
        voters = SexCounts()
        reasons: Counter[str] = Counter()
        for r in rows:
            voters.male += r.voters.male
            voters.female += r.voters.female
            voters.unknown += r.voters.unknown
            reasons.update(r.reasons)
        return ReasonsRow(election, rows[-1].day, voters, dict(reasons))

    def previous(self, election: str) -> int | None:
        """The previous election's early-voter total, from ``[reports] previous.early_voters`` (an integer for the
        whole package or a table by election id)."""
        prev = self.definition.previous_turnout.get("early_voters")
        if isinstance(prev, Mapping):
            prev = prev.get(election)
        return prev if isinstance(prev, int) and not isinstance(prev, bool) else None

    def tables(self) -> list[Table]:
        """One table per election: a row per day, then 計 and the comparison with the previous election."""
        keys = self.reason_keys()
        out = []
        for e in self.definition.ordered_elections():
            rows: list[tuple[str, ...]] = []
            for r in (r for r in self.rows if r.election == e.id):
                rows.append(
                    (f"{r.day.month}/{r.day.day}", *r.voters.cells(), *(str(r.reasons.get(k, 0)) for k in keys))
                )
            total = self.totals(e.id)
            if total is not None:
                rows.append(("計", *total.voters.cells(), *(str(total.reasons.get(k, 0)) for k in keys)))
            prev = self.previous(e.id)
            if prev is not None:
                now = total.voters.total if total else 0
                rows.append(("前回", "", "", str(prev), *([""] * len(keys))))
                rows.append(("増減", "", "", f"{now - prev:+d}", *([""] * len(keys))))
            if not rows:
                rows.append(("—", "0", "0", "0", *(["0"] * len(keys))))
            out.append(Table(e.name, ("日", "男", "女", "計", *(f"事由{k}" for k in keys[:-1]), "不明"), tuple(rows)))
        out.append(_mismatch_table(self.mismatches))
        return out

    def csv_rows(self) -> list[list[str]]:
        """選挙ID, 日付 (ISO), 男, 女, 計, 事由1..6, 不明."""
        keys = self.reason_keys()
        out = [["選挙ID", "日付", "男", "女", "計", *(f"事由{k}" for k in keys[:-1]), "不明"]]
        for r in self.rows:
            out.append([r.election, r.day.isoformat(), *r.voters.cells(), *(str(r.reasons.get(k, 0)) for k in keys)])
        return out


def early_voting_reasons(
    events: Iterable[Event],
    definition: ElectionDefinition,
    sexes: Mapping[str, Sex],
    *,
    station_id: str | None = None,
) -> ReasonsReport:
    """Early voters (first standing check-in of kind ``early``) by JST day and by the 事由 of their 宣誓書.

    The 事由 is the latest standing DECLARATION of the voter at or before the check-in; a check-in without one is
    counted under 不明 and listed as a mismatch (every early voter must have sworn a 宣誓書).
    """
    if station_id is not None:
        definition.station(station_id)
    basis = count_basis(events)
    who = voter_sexes(sexes, basis.first_check_in.values())
    declarations: dict[str, list[Event]] = defaultdict(list)
    for ev in basis.active.events:
        if ev.type is _DECLARATION and ev.voter:
            declarations[ev.voter].append(ev)  # time order, since active events are sorted
    cells: dict[tuple[str, date], tuple[SexCounts, Counter[str]]] = {}
    codes: set[str] = set()
    undeclared: list[Mismatch] = []
    for (voter, eid), ev in basis.first_check_in.items():
        if ev.data.get("kind") != _EARLY:
            continue
        if station_id is not None and ev.station_id != station_id:
            continue
        codes.add(voter)
        reason = UNKNOWN_REASON
        for decl in reversed(declarations.get(voter, ())):
            if decl.at <= ev.at:
                reason = str(decl.data.get("reason"))
                break
        if reason == UNKNOWN_REASON:
            undeclared.append(
                Mismatch(
                    "no_declaration",
                    f"選挙人 {voter} の期日前投票（{eid}）に宣誓書の記録がありません",
                    election=eid,
                    voter=voter,
                    event_ids=(ev.event_id,),
                )
            )
        key = (eid, local_day(ev.at))
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = (SexCounts(), Counter())
        cell[0].add(who.sex(voter))
        cell[1][reason] += 1
    order = {e.id: e.order for e in definition.elections}
    rows = tuple(
        ReasonsRow(eid, day, sc, dict(reasons))
        for (eid, day), (sc, reasons) in sorted(cells.items(), key=lambda kv: (order.get(kv[0][0], 0), kv[0][1]))
    )
    conflicts = tuple(
        c
        for c in basis.conflicts.values()
        if any(x.data.get("kind") == _EARLY and (station_id is None or x.station_id == station_id) for x in c.check_ins)
    )
    mismatches = (
        *basis.active.mismatches,
        *(
            Mismatch("conflict", c.describe(_short_name(definition, c.election)), election=c.election, voter=c.voter)
            for c in conflicts
        ),
        *undeclared,
        *who.mismatches(codes),
    )
    return ReasonsReport(definition, station_id, rows, conflicts, mismatches)


# --------------------------------------------------------------------------------------------------------------------
# Rendering


def report_csv(report: Report) -> bytes:
    """The report's tidy table as CSV in UTF-8 with a BOM (so Excel on a Japanese Windows opens it correctly)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(report.csv_rows())
    return buf.getvalue().encode("utf-8-sig")


def report_pdf(report: Report, *, printed_at: datetime | None = None) -> bytes:
    """The report as a PDF (A4 landscape, IPAex embedded): title, subtitle, then every table under its heading."""
    register_fonts()
    at = (printed_at or datetime.now(UTC)).astimezone(JST)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=report.title,
        author="Uketsuke",
        invariant=True,
        initialFontName=GOTHIC,  # reportlab's default, Helvetica, would be referenced without being embedded
    )
    title = ParagraphStyle("t", fontName=GOTHIC, fontSize=16, leading=22, alignment=1)
    sub = ParagraphStyle("s", fontName=MINCHO, fontSize=9.5, leading=14, alignment=1)
    head = ParagraphStyle("h", fontName=GOTHIC, fontSize=11, leading=16, spaceBefore=6, spaceAfter=3)
    cell = ParagraphStyle("c", fontName=GOTHIC, fontSize=8.5, leading=11, wordWrap="CJK")
    story: list[Any] = [Paragraph(_esc(report.title), title)]
    story += [Paragraph(_esc(line), sub) for line in report.subtitle_lines()]
    story.append(Paragraph(_esc(f"作成　{format_wareki(at.date())} {at:%H:%M}"), sub))
    story.append(Spacer(1, 4 * mm))
    for t in report.tables():
        story.append(Paragraph(_esc(t.heading), head))
        data = [[Paragraph(_esc(c), cell) for c in t.columns]]
        data += [[Paragraph(_esc(c), cell) for c in row] for row in t.rows]
        table = RLTable(data, repeatRows=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), GOTHIC),  # reportlab's default would reference Helvetica
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        story.append(table)

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(GOTHIC, 7.5)
        canvas.drawRightString(document.pagesize[0] - 12 * mm, 7 * mm, f"{report.title}　{document.page}頁")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def _esc(s: str) -> str:
    return escape(s)
