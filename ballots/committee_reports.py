"""The election committee's reports, built from what the tally server's committee endpoints answer (plain data).

- ``TurnoutReport``: 時間別投票者数 in the form committees publish — cumulative voters by 男/女/計 at the package's
  reporting times (``[reports] hourly_times``), per station and in total, with the previous election's figures when
  the package gives them (``[reports] previous.hourly``).
- ``EarlyReport``: 期日前投票者数 by day and 事由 (投票事由調書), with ``previous.early_voters`` compared.
- ``ConflictsReport``: duplicate attempts stopped online and conflicts from offline work, both events of each and the
  committee's resolution notes.
- ``AccessReport``: for one voter, who viewed their record and when (and the committee's own lookups).
- ``CommitteeReport``: all of the above for the day plus every station's state and the void/override log.

Each is a ``ballots.reports.Report``: render with ``ballots.reports.report_pdf`` / ``report_csv`` (IPAex embedded,
UTF-8 CSV with BOM). Data comes in as the server's JSON (``CommitteeFacts.from_json`` and the ``rows`` lists);
nothing here talks to a server. Times are shown in JST, dates in 和暦.

``[reports] previous`` keys read here (all optional): ``hourly`` — {"HH:MM": total} for the whole municipality, or
{election id: {"HH:MM": total}}; a total may also be {male = n, female = n}. ``early_voters`` — as in
``ballots.reports``: an int, or {election id: int}.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from ballots.events import REASONS
from ballots.issuance import JST
from ballots.reports import UNKNOWN_REASON, SexCounts, Table
from ballots.wareki import format_wareki

__all__ = [
    "AccessReport",
    "CommitteeFacts",
    "CommitteeReport",
    "CommitteeReportError",
    "ConflictsReport",
    "EarlyReport",
    "ElectionFacts",
    "StationsTable",
    "TurnoutReport",
    "VoidsTable",
    "jst_hm",
]


class CommitteeReportError(ValueError):
    """Data from the server that a report cannot use; the message names the field."""


def _req(d: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(d, Mapping) or key not in d:
        raise CommitteeReportError(f"{where}: '{key}' is missing")
    return d[key]


_HHMM = re.compile(r"[0-2][0-9]:[0-5][0-9]")


def _list(d: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = _req(d, key, where)
    if not isinstance(value, list):
        raise CommitteeReportError(f"{where}: '{key}' is not a list")
    return value


def _labels(d: Mapping[str, Any], where: str) -> tuple[str, ...]:
    labels = _list(d, "labels", where)
    if not all(isinstance(x, str) for x in labels):
        raise CommitteeReportError(f"{where}: labels must be text")
    return tuple(labels)


def _parse_at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def jst_hm(text: str | None, with_date: bool = False) -> str:
    """A stored UTC instant as JST ``HH:MM`` (or ``M/D HH:MM``); '—' when absent or unreadable."""
    at = _parse_at(text)
    if at is None:
        return "—"
    local = at.astimezone(JST)
    return f"{local.month}/{local.day} {local:%H:%M}" if with_date else f"{local:%H:%M}"


def _add(c: SexCounts, sex: str, n: int) -> None:
    if sex == "M":
        c.male += n
    elif sex == "F":
        c.female += n
    else:
        c.unknown += n


# ---------------------------------------------------------------------------------------------------------------------
# Package facts


@dataclass(frozen=True, slots=True)
class ElectionFacts:
    """One election of the package."""

    id: str
    name: str
    short_name: str
    order: int


@dataclass(frozen=True, slots=True)
class CommitteeFacts:
    """What the committee's reports need of the election package (``GET /v1/committee/election``)."""

    municipality_name: str
    committee_name: str
    election_day: date
    elections: tuple[ElectionFacts, ...]
    stations: Mapping[str, str]  # id → name, package order
    staff: Mapping[str, str]
    hourly_times: tuple[time, ...]
    previous: Mapping[str, Any]
    package_hash: str = ""

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CommitteeFacts:
        """Parse the server's answer; CommitteeReportError names the first unusable field."""
        w = "election facts"
        try:
            day = date.fromisoformat(str(_req(d, "election_day", w)))
        except ValueError:
            raise CommitteeReportError(f"{w}: election_day {d['election_day']!r} is not YYYY-MM-DD") from None
        elections = []
        for i, e in enumerate(_req(d, "elections", w)):
            where = f"{w}: elections[{i}]"
            elections.append(
                ElectionFacts(
                    str(_req(e, "id", where)),
                    str(_req(e, "name", where)),
                    str(e.get("short_name") or e["name"]),
                    int(e.get("order", i)),
                )
            )
        times = []
        for i, t in enumerate(d.get("hourly_times") or ()):
            try:
                times.append(time.fromisoformat(str(t)))
            except ValueError:
                raise CommitteeReportError(f"{w}: hourly_times[{i}] {t!r} is not HH:MM") from None
        stations = {str(_req(s, "id", f"{w}: stations")): str(s.get("name", "")) for s in _req(d, "stations", w)}
        return cls(
            municipality_name=str(d.get("municipality_name", "")),
            committee_name=str(d.get("committee_name", "")),
            election_day=day,
            elections=tuple(sorted(elections, key=lambda e: e.order)),
            stations=stations,
            staff={str(k): str(v) for k, v in (d.get("staff") or {}).items()},
            hourly_times=tuple(times),
            previous=dict(d.get("previous") or {}),
            package_hash=str(d.get("package_hash", "")),
        )

    def station_name(self, station_id: str | None) -> str:
        """The station's name (its id if the package does not know it)."""
        if not station_id:
            return "—"
        return self.stations.get(station_id, station_id)

    def election_name(self, election_id: str | None, short: bool = True) -> str:
        """An election's (short) name, or its id."""
        for e in self.elections:
            if e.id == election_id:
                return e.short_name if short else e.name
        return election_id or "全選挙"

    def staff_name(self, staff_id: str | None) -> str:
        """A staff member's name, or the id."""
        return self.staff.get(staff_id or "", staff_id or "—")

    def heading(self) -> str:
        """Municipality and committee."""
        return f"{self.municipality_name}　{self.committee_name}"


# ---------------------------------------------------------------------------------------------------------------------
# 時間別投票者数


def _previous_series(previous: Mapping[str, Any], election: str) -> dict[str, int] | None:
    """``previous.hourly`` for one election: {"HH:MM": total} (a sex split is summed)."""
    raw = previous.get("hourly")
    if not isinstance(raw, Mapping) or not raw:
        return None
    if all(isinstance(v, Mapping) and not ({"male", "female"} & set(v)) for v in raw.values()):
        raw = raw.get(election)  # by election id
        if not isinstance(raw, Mapping):
            return None
    out = {}
    for k, v in raw.items():
        if isinstance(v, Mapping):
            v = sum(int(v.get(s, 0)) for s in ("male", "female"))
        if isinstance(v, int) and not isinstance(v, bool):
            out[str(k)] = v
    return out or None


@dataclass(frozen=True)
class TurnoutReport:
    """Cumulative voters by sex at each reporting time of one day, per election and station, and in total.

    ``rows`` are the server's ``[election, station, bucket, sex, count]`` with ``labels[bucket]`` the bucket's end
    ("HH:MM"); a bucket counts toward a reporting time when it ends at or before it.
    """

    facts: CommitteeFacts
    day: date
    labels: tuple[str, ...]
    rows: tuple[tuple[str, str, int, str, int], ...]

    # (election, station or None for all) → cumulative SexCounts per reporting time and 最終; computed once, because
    # the live view and the reports ask for every station (500 stations × all rows would be quadratic).
    _series: dict[tuple[str, str | None], list[SexCounts]] = field(init=False, repr=False, compare=False)

    title = "時間別投票者数（速報）"

    def __post_init__(self) -> None:
        cuts = [self._cut(t) for t in self.times]
        # bucket → first reporting time that includes it; then one pass adding each row to that time only, and a
        # running sum per series (50,000 rows for 500 stations: adding each row to every later time was the cost)
        first_of = [next((i for i, cut in enumerate(cuts) if b < cut), len(cuts)) for b in range(len(self.labels))]
        n_times = len(cuts)
        added: dict[tuple[str, str | None], list[list[int]]] = {}
        slot = {"M": 0, "F": 1}
        for e, s, b, sex, n in self.rows:
            first = first_of[b]
            if first >= n_times:
                continue
            k = slot.get(sex, 2)
            keys: tuple[tuple[str, str | None], ...] = ((e, s), (e, None))
            for key in keys:
                got = added.get(key)
                if got is None:
                    got = added[key] = [[0, 0, 0] for _ in cuts]
                got[first][k] += n
        series: dict[tuple[str, str | None], list[SexCounts]] = {}
        for series_key, per_time in added.items():
            running = [0, 0, 0]
            out = []
            for m, f, u in per_time:
                running = [running[0] + m, running[1] + f, running[2] + u]
                out.append(SexCounts(*running))
            series[series_key] = out
        object.__setattr__(self, "_series", series)

    @classmethod
    def from_json(cls, facts: CommitteeFacts, d: Mapping[str, Any]) -> TurnoutReport:
        """From ``GET /v1/committee/turnout`` (or ``overview['turnout']``)."""
        labels = _labels(d, "turnout")
        if any(not _HHMM.fullmatch(x) for x in labels):
            raise CommitteeReportError("turnout: labels must be HH:MM")
        rows = []
        for i, r in enumerate(_list(d, "rows", "turnout")):
            try:
                ok = isinstance(r, list) and len(r) == 5 and 0 <= int(r[2]) < len(labels)
                row = (str(r[0]), str(r[1]), int(r[2]), str(r[3]), int(r[4])) if ok else None
            except (TypeError, ValueError):
                row = None
            if row is None:
                raise CommitteeReportError(f"turnout: rows[{i}] is not [election, station, bucket, sex, count]")
            rows.append(row)
        try:
            day = date.fromisoformat(str(_req(d, "day", "turnout")))
        except ValueError:
            raise CommitteeReportError(f"turnout: day {d['day']!r} is not YYYY-MM-DD") from None
        return cls(facts, day, labels, tuple(rows))

    @property
    def times(self) -> tuple[str, ...]:
        """Reporting times as labels, then 最終."""
        return (*(f"{t:%H:%M}" for t in self.facts.hourly_times), "最終")

    def _cut(self, label: str) -> int:
        """Buckets [0, cut) count toward reporting time ``label``."""
        if label == "最終":
            return len(self.labels)
        return sum(1 for b in self.labels if b <= label)

    def stations(self) -> list[str]:
        """Stations with voters, in package order (unknown ids last)."""
        seen = {r[1] for r in self.rows}
        known = [s for s in self.facts.stations if s in seen]
        return known + sorted(seen - set(known))

    def cumulative(self, election: str, station: str | None) -> list[SexCounts]:
        """One SexCounts per reporting time and 最終 (``station`` None: all stations); a copy the caller may keep."""
        got = self._series.get((election, station))
        if got is None:
            return [SexCounts() for _ in self.times]
        return [SexCounts(c.male, c.female, c.unknown) for c in got]

    def hourly(self, election: str, station: str | None = None) -> list[SexCounts]:
        """Voters by sex in each JST hour (index 0..23: the hour starting then) for a chart; ``station`` None: all."""
        out = [SexCounts() for _ in range(24)]
        for e, s, b, sex, n in self.rows:
            if e != election or (station is not None and s != station):
                continue
            end = self.labels[b]
            hh, mm = int(end[:2]), int(end[3:5])
            hour = hh - 1 if mm == 0 else hh  # a bucket ending at 10:00 holds check-ins up to 10:00: the 9 o'clock hour
            _add(out[max(0, min(23, hour))], sex, n)
        return out

    def subtitle_lines(self) -> list[str]:
        """Municipality and day."""
        return [self.facts.heading(), f"対象日：{format_wareki(self.day)}（{self.day.isoformat()}）　現在の集計"]

    def tables(self) -> list[Table]:
        """Per election: rows station × 男/女/計 (then 計 and 前回), columns the reporting times."""
        out = []
        for e in self.facts.elections:
            rows: list[tuple[str, ...]] = []
            stations = self.stations()
            for st in [*stations, None] if len(stations) != 1 else stations:
                series = self.cumulative(e.id, st)
                label = self.facts.station_name(st) if st else "計"
                rows.append((label, "男", *(str(c.male) for c in series)))
                rows.append((label, "女", *(str(c.female) for c in series)))
                rows.append((label, "計", *(str(c.total) for c in series)))
            prev = _previous_series(self.facts.previous, e.id)
            if prev is not None:
                now = self.cumulative(e.id, None)
                rows.append(("前回", "計", *(str(prev[t]) if t in prev else "—" for t in self.times)))
                rows.append(
                    (
                        "前回比",
                        "計",
                        *(
                            f"{c.total - prev[t]:+d}" if t in prev else "—"
                            for t, c in zip(self.times, now, strict=True)
                        ),
                    )
                )
            if not rows:
                rows.append(("—", "計", *("0" for _ in self.times)))
            out.append(Table(e.name, ("投票所", "", *self.times), tuple(rows)))
        return out

    def csv_rows(self) -> list[list[str]]:
        """選挙ID, 投票所ID ('' = all), 時刻, 男, 女, 計 (cumulative), then 前回 rows with 投票所ID '前回'."""
        out = [["選挙ID", "投票所ID", "時刻", "男", "女", "計"]]
        for e in self.facts.elections:
            for st in [*self.stations(), None]:
                for t, c in zip(self.times, self.cumulative(e.id, st), strict=True):
                    out.append([e.id, st or "", t, *c.cells()])
            prev = _previous_series(self.facts.previous, e.id)
            for t in self.times:
                if prev is not None and t in prev:
                    out.append([e.id, "前回", t, "", "", str(prev[t])])
        return out


# ---------------------------------------------------------------------------------------------------------------------
# 投票事由調書


@dataclass(frozen=True, slots=True)
class EarlyReport:
    """Early voters by election, day, sex and 事由 (``rows``: [election, day bucket, sex, reason, count])."""

    facts: CommitteeFacts
    labels: tuple[str, ...]  # ISO dates per bucket
    rows: tuple[tuple[str, int, str, str, int], ...]

    title = "期日前投票者数・投票事由調書"

    @classmethod
    def from_json(cls, facts: CommitteeFacts, d: Mapping[str, Any]) -> EarlyReport:
        """From ``GET /v1/committee/early``."""
        labels = _labels(d, "early")
        for x in labels:
            try:
                date.fromisoformat(x)
            except ValueError:
                raise CommitteeReportError(f"early: label {x!r} is not YYYY-MM-DD") from None
        rows = []
        for i, r in enumerate(_list(d, "rows", "early")):
            try:
                ok = isinstance(r, list) and len(r) == 5 and 0 <= int(r[1]) < len(labels)
                row = (str(r[0]), int(r[1]), str(r[2]), str(r[3]), int(r[4])) if ok else None
            except (TypeError, ValueError):
                row = None
            if row is None:
                raise CommitteeReportError(f"early: rows[{i}] is not [election, day, sex, reason, count]")
            rows.append(row)
        return cls(facts, labels, tuple(rows))

    @staticmethod
    def reason_keys() -> list[str]:
        """'1'..'6', then 不明 (no 宣誓書 recorded)."""
        return [str(k) for k in REASONS] + [UNKNOWN_REASON]

    def by_day(self, election: str) -> dict[str, tuple[SexCounts, dict[str, int]]]:
        """ISO day → (voters by sex, voters by 事由)."""
        out: dict[str, tuple[SexCounts, dict[str, int]]] = {}
        for e, b, sex, reason, n in self.rows:
            if e != election:
                continue
            day = self.labels[b]
            cell = out.setdefault(day, (SexCounts(), defaultdict(int)))
            _add(cell[0], sex, n)
            cell[1][reason if reason in REASONS_KEYS else UNKNOWN_REASON] += n
        return dict(sorted(out.items()))

    def total(self, election: str) -> SexCounts:
        """The whole early period."""
        total = SexCounts()
        for e, _b, sex, _r, n in self.rows:
            if e == election:
                _add(total, sex, n)
        return total

    def previous(self, election: str) -> int | None:
        """``previous.early_voters``: an int for the package or {election id: int}."""
        prev = self.facts.previous.get("early_voters")
        if isinstance(prev, Mapping):
            prev = prev.get(election)
        return prev if isinstance(prev, int) and not isinstance(prev, bool) else None

    def subtitle_lines(self) -> list[str]:
        """Municipality and election day."""
        return [self.facts.heading(), f"選挙期日：{format_wareki(self.facts.election_day)}"]

    def tables(self) -> list[Table]:
        """Per election: a row per day (男/女/計 and 事由), 計, and 前回/増減 when known."""
        keys = self.reason_keys()
        head = ("日", "男", "女", "計", *(f"事由{k}" for k in keys[:-1]), "不明")
        out = []
        for e in self.facts.elections:
            rows: list[tuple[str, ...]] = []
            reasons_total: dict[str, int] = defaultdict(int)
            for day, (sc, reasons) in self.by_day(e.id).items():
                d = date.fromisoformat(day)
                rows.append((f"{d.month}/{d.day}", *sc.cells(), *(str(reasons.get(k, 0)) for k in keys)))
                for k, n in reasons.items():
                    reasons_total[k] += n
            total = self.total(e.id)
            rows.append(("計", *total.cells(), *(str(reasons_total.get(k, 0)) for k in keys)))
            prev = self.previous(e.id)
            if prev is not None:
                rows.append(("前回", "", "", str(prev), *([""] * len(keys))))
                rows.append(("増減", "", "", f"{total.total - prev:+d}", *([""] * len(keys))))
            out.append(Table(e.name, head, tuple(rows)))
        return out

    def csv_rows(self) -> list[list[str]]:
        """選挙ID, 日付, 男, 女, 計, 事由1..6, 不明."""
        keys = self.reason_keys()
        out = [["選挙ID", "日付", "男", "女", "計", *(f"事由{k}" for k in keys[:-1]), "不明"]]
        for e in self.facts.elections:
            for day, (sc, reasons) in self.by_day(e.id).items():
                out.append([e.id, day, *sc.cells(), *(str(reasons.get(k, 0)) for k in keys)])
        return out


REASONS_KEYS = frozenset(str(k) for k in REASONS)


# ---------------------------------------------------------------------------------------------------------------------
# Stations, duplicates and conflicts, voids, access


@dataclass(frozen=True, slots=True)
class StationsTable:
    """Every kiosk's state (``GET /v1/committee/stations``)."""

    facts: CommitteeFacts
    rows: tuple[Mapping[str, Any], ...]

    def table(self) -> Table:
        """投票所端末の状態."""
        out = []
        for r in self.rows:
            skew = r.get("skew_ms")
            match = r.get("package_match")
            out.append(
                (
                    self.facts.station_name(r.get("station_id")),
                    str(r.get("kiosk_id") or "（未接続）"),
                    "接続中" if r.get("online") else "未接続",
                    jst_hm(r.get("last_seen"), with_date=True),
                    "—" if r.get("pending") is None else str(r["pending"]),
                    "—" if match is None else ("一致" if match else "不一致"),
                    "—" if skew is None else f"{float(skew) / 1000:+.1f}秒",
                )
            )
        return Table(
            "投票所端末の状態",
            ("投票所", "端末", "状態", "最終通信", "未送信", "パッケージ", "時刻のずれ"),
            tuple(out) or (("—", "", "", "", "", "", ""),),
        )

    def csv_rows(self) -> list[list[str]]:
        """One row per kiosk (ids and raw values)."""
        cols = ["station_id", "kiosk_id", "online", "last_seen", "pending", "package_match", "skew_ms"]
        return [cols] + [["" if r.get(c) is None else str(r.get(c)) for c in cols] for r in self.rows]


def _notes_text(notes: Sequence[Mapping[str, Any]]) -> str:
    return "／".join(f"{n.get('note')}（{n.get('author')} {jst_hm(n.get('at'), True)}）" for n in notes) or "（未記入）"


def _event_text(facts: CommitteeFacts, ev: Mapping[str, Any] | None, station: str | None, at: str | None) -> str:
    """One side of a duplicate: station, time, desk and staff, how it was recorded."""
    if ev is None:
        return f"{facts.station_name(station)} {jst_hm(at, True)}（事象未着）"
    how = "オフライン" if ev.get("offline") else "オンライン"
    kind = {"early": "期日前", "day": "当日", "absentee": "不在者"}.get(str(ev.get("kind")), str(ev.get("kind") or ""))
    # Two lines (where and when / who and how): the committee view shows them as is, PDF cells join them.
    return (
        f"{facts.station_name(ev.get('station_id'))} {jst_hm(ev.get('at'), True)}\n"
        f"端末 {ev.get('kiosk_id')}・{facts.staff_name(ev.get('staff_id'))}・{kind}{how}"
    )


@dataclass(frozen=True, slots=True)
class ConflictsReport:
    """Duplicate attempts stopped online (refused claims) and conflicts from offline work, with notes."""

    facts: CommitteeFacts
    refusals: tuple[Mapping[str, Any], ...]
    conflicts: tuple[Mapping[str, Any], ...]

    title = "二重投票の防止・重複受付の記録"

    @classmethod
    def from_json(cls, facts: CommitteeFacts, d: Mapping[str, Any]) -> ConflictsReport:
        """From ``GET /v1/committee/duplicates``."""
        return cls(facts, tuple(_req(d, "refusals", "duplicates")), tuple(_req(d, "conflicts", "duplicates")))

    def subtitle_lines(self) -> list[str]:
        """Municipality and counts."""
        open_ = sum(1 for c in self.conflicts if not c.get("notes"))
        return [
            self.facts.heading(),
            f"オンラインで防止した重複：{len(self.refusals)}件　オフライン受付の重複：{len(self.conflicts)}件"
            f"（未処理 {open_}件）",
        ]

    def tables(self) -> list[Table]:
        """Refused claims, then conflicts; both with the two events and the notes."""
        f = self.facts
        refused = tuple(
            (
                str(r["id"]),
                f.election_name(r.get("election")),
                str(r.get("voter")),
                _event_text(f, r.get("holder"), r.get("holder_station"), r.get("holder_at")),
                f"{f.station_name(r.get('station_id'))} {jst_hm(r.get('at'), True)}\n端末 {r.get('kiosk_id')}",
                _notes_text(r.get("notes") or ()),
            )
            for r in self.refusals
        )
        conflicts = tuple(
            (
                str(c["id"]),
                f.election_name(c.get("election")),
                str(c.get("voter")),
                _event_text(f, c.get("first"), c.get("first_station"), c.get("first_at"))
                + ("（取消済）" if c.get("first_voided") else ""),
                _event_text(f, c.get("second"), c.get("second_station"), c.get("second_at"))
                + ("（取消済）" if c.get("second_voided") else ""),
                _notes_text(c.get("notes") or ()),
            )
            for c in self.conflicts
        )
        return [
            Table(
                "オンラインで防止した重複（投票済みとして拒否）",
                ("番号", "選挙", "選挙人", "先の受付", "拒否された受付", "処理記録"),
                refused or (("—", "", "", "", "", "ありません"),),
            ),
            Table(
                "オフライン受付による重複（二重交付）",
                ("番号", "選挙", "選挙人", "先の受付", "後の受付", "処理記録"),
                conflicts or (("—", "", "", "", "", "ありません"),),
            ),
        ]

    def csv_rows(self) -> list[list[str]]:
        """区分, 番号, 選挙ID, 選挙人, 先の事象, 先の投票所, 先の時刻, 後の事象, 後の投票所, 後の時刻, 処理記録."""
        out = [
            [
                "区分",
                "番号",
                "選挙ID",
                "選挙人",
                "先の事象",
                "先の投票所",
                "先の時刻",
                "後の事象",
                "後の投票所",
                "後の時刻",
                "処理記録",
            ]
        ]
        # 防止: the earlier (holder) event, then the refused one; 重複: the two events of an offline double issue.
        refusal_keys = ("holder_event_id", "holder_station", "holder_at", "event_id", "station_id", "at")
        double_keys = ("first_event_id", "first_station", "first_at", "second_event_id", "second_station", "second_at")
        for kind, records, keys in (("防止", self.refusals, refusal_keys), ("重複", self.conflicts, double_keys)):
            for rec in records:
                out.append(
                    [
                        kind,
                        str(rec["id"]),
                        str(rec.get("election")),
                        str(rec.get("voter")),
                        *(str(rec.get(key)) for key in keys),
                        _notes_text(rec.get("notes") or ()),
                    ]
                )
        return out


@dataclass(frozen=True, slots=True)
class VoidsTable:
    """The void and override log (``GET /v1/committee/voids``)."""

    facts: CommitteeFacts
    rows: tuple[Mapping[str, Any], ...]

    def table(self) -> Table:
        """取消・管理者判断の記録."""
        f = self.facts
        out = []
        for r in self.rows:
            if r.get("type") == "void":
                what = "取消"
                detail = f"対象：{r.get('target_type') or '不明'} {jst_hm(r.get('target_at'), True)}"
            else:
                what = "管理者判断"
                detail = f"停止：{r.get('stop') or '—'}"
            out.append(
                (
                    jst_hm(r.get("at"), True),
                    f.station_name(r.get("station_id")),
                    what,
                    f.staff_name(r.get("staff_id")),
                    str(r.get("voter") or "—"),
                    f.election_name(r.get("election")) if r.get("election") else "—",
                    str(r.get("reason") or "—"),
                    detail,
                )
            )
        return Table(
            "取消・管理者判断の記録",
            ("日時", "投票所", "区分", "管理者", "選挙人", "選挙", "理由", "内容"),
            tuple(out) or (("—", "", "", "", "", "", "ありません", ""),),
        )


@dataclass(frozen=True, slots=True)
class AccessReport:
    """For one voter: every view of their record (desk, staff, time, purpose) and every committee lookup."""

    facts: CommitteeFacts
    voter: str
    views: tuple[Mapping[str, Any], ...]
    lookups: tuple[Mapping[str, Any], ...]
    printed_for: str = ""

    title = "選挙人記録の閲覧記録"

    @classmethod
    def from_json(cls, facts: CommitteeFacts, d: Mapping[str, Any]) -> AccessReport:
        """From ``POST /v1/committee/access``."""
        return cls(
            facts,
            str(_req(d, "voter", "access")),
            tuple(_req(d, "views", "access")),
            tuple(d.get("committee_lookups") or ()),
        )

    def subtitle_lines(self) -> list[str]:
        """Municipality and the voter's register key (never a name)."""
        return [self.facts.heading(), f"選挙人（識別コード）：{self.voter}　閲覧 {len(self.views)}件"]

    def tables(self) -> list[Table]:
        """Views at the desks, then the committee's lookups."""
        f = self.facts
        views = tuple(
            (
                jst_hm(v.get("at"), True),
                f.station_name(v.get("station_id")),
                str(v.get("kiosk_id")),
                f.staff_name(v.get("staff_id")),
                str(v.get("purpose") or "—"),
            )
            for v in self.views
        )
        lookups = tuple((jst_hm(x.get("at"), True), str(x.get("client_id"))) for x in self.lookups)
        return [
            Table(
                "投票所での閲覧",
                ("日時", "投票所", "端末", "係員", "目的"),
                views or (("—", "", "", "", "閲覧の記録はありません"),),
            ),
            Table("選挙管理委員会による照会", ("日時", "照会者"), lookups or (("—", "ありません"),)),
        ]

    def csv_rows(self) -> list[list[str]]:
        """区分, 日時 (UTC ISO), 投票所ID, 端末, 係員ID, 目的."""
        out = [["区分", "日時", "投票所ID", "端末", "係員ID", "目的"]]
        for v in self.views:
            out.append(
                [
                    "閲覧",
                    str(v.get("at")),
                    str(v.get("station_id")),
                    str(v.get("kiosk_id")),
                    str(v.get("staff_id")),
                    str(v.get("purpose") or ""),
                ]
            )
        for x in self.lookups:
            out.append(["委員会照会", str(x.get("at")), "", "", str(x.get("client_id")), ""])
        return out


@dataclass(frozen=True, slots=True)
class CommitteeReport:
    """The committee's report for a day: stations, turnout, early voting, duplicates and conflicts, voids."""

    facts: CommitteeFacts
    stations: StationsTable
    turnout: TurnoutReport
    early: EarlyReport
    duplicates: ConflictsReport
    voids: VoidsTable
    generated: dict[str, str] = field(default_factory=dict)

    title = "選挙管理委員会 集計報告"

    @classmethod
    def from_json(
        cls,
        facts: CommitteeFacts,
        *,
        stations: Sequence[Mapping[str, Any]],
        turnout: Mapping[str, Any],
        early: Mapping[str, Any],
        duplicates: Mapping[str, Any],
        voids: Sequence[Mapping[str, Any]],
    ) -> CommitteeReport:
        """From the answers of the committee endpoints."""
        return cls(
            facts,
            StationsTable(facts, tuple(stations)),
            TurnoutReport.from_json(facts, turnout),
            EarlyReport.from_json(facts, early),
            ConflictsReport.from_json(facts, duplicates),
            VoidsTable(facts, tuple(voids)),
        )

    def subtitle_lines(self) -> list[str]:
        """Municipality, day, election day."""
        t = self.turnout
        return [
            self.facts.heading(),
            f"対象日：{format_wareki(t.day)}　選挙期日：{format_wareki(self.facts.election_day)}",
        ]

    def tables(self) -> list[Table]:
        """Every section in order."""
        return [
            self.stations.table(),
            *(Table(f"時間別投票者数 {x.heading}", x.columns, x.rows) for x in self.turnout.tables()),
            *(Table(f"期日前投票 {x.heading}", x.columns, x.rows) for x in self.early.tables()),
            *self.duplicates.tables(),
            self.voids.table(),
        ]

    def csv_rows(self) -> list[list[str]]:
        """One tidy table: 区分, 選挙ID, 投票所ID, 日付/時刻, 項目, 男, 女, 計."""
        out = [["区分", "選挙ID", "投票所ID", "日付・時刻", "項目", "男", "女", "計"]]
        for row in self.turnout.csv_rows()[1:]:
            eid, st, t, m, fe, tot = row
            kind = "前回" if st == "前回" else "時間別"
            out.append(
                [kind, eid, "" if st == "前回" else st, f"{self.turnout.day.isoformat()} {t}", "投票者数", m, fe, tot]
            )
        for row in self.early.csv_rows()[1:]:
            eid, day, m, fe, tot, *reasons = row
            out.append(["期日前", eid, "", day, "投票者数", m, fe, tot])
            for k, n in zip(self.early.reason_keys(), reasons, strict=True):
                out.append(["期日前", eid, "", day, f"事由{k}", "", "", n])
        for s in self.stations.rows:
            out.append(
                [
                    "端末",
                    "",
                    str(s.get("station_id") or ""),
                    str(s.get("last_seen") or ""),
                    str(s.get("kiosk_id")),
                    "",
                    "",
                    "接続中" if s.get("online") else "未接続",
                ]
            )
        out.append(["重複", "", "", "", "オンラインで防止", "", "", str(len(self.duplicates.refusals))])
        out.append(["重複", "", "", "", "オフライン受付の重複", "", "", str(len(self.duplicates.conflicts))])
        out.append(["取消", "", "", "", "取消・管理者判断", "", "", str(len(self.voids.rows))])
        return out
