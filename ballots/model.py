"""The election package's definition (election.toml) and the register's voter record, as plain immutable data.

``ElectionDefinition.from_toml_dict`` validates everything and raises ``DefinitionError`` naming the key at fault.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

__all__ = [
    "DECISION_HOLDER_PREFIX",
    "AbsenteeStatus",
    "DeclarationLayout",
    "DefinitionError",
    "Election",
    "ElectionDefinition",
    "ElectionKind",
    "OfflinePolicy",
    "Precinct",
    "Role",
    "Sex",
    "StaffAccount",
    "Station",
    "StationKind",
    "Voter",
    "decision_holder_key",
    "is_decision_holder_key",
]


class DefinitionError(ValueError):
    """election.toml is not valid; the message names the key at fault."""


class ElectionKind(enum.StrEnum):
    """国 (national), 県 (prefectural) or 市 (municipal): decides what a moved (転出) voter may vote in."""

    NATIONAL = "国"
    PREFECTURAL = "県"
    MUNICIPAL = "市"


class StationKind(enum.StrEnum):
    """期日前 (any voter of the municipality), 当日 (own 投票区 only) or 共通 (election day, any 投票区)."""

    EARLY = "early"
    DAY = "day"
    COMMON = "common"


class Sex(enum.StrEnum):
    """Register sex; reports count 男/女/計."""

    MALE = "M"
    FEMALE = "F"

    @property
    def label(self) -> str:
        """男 or 女."""
        return "男" if self is Sex.MALE else "女"


class AbsenteeStatus(enum.StrEnum):
    """不在者投票 status from the register: papers issued but not received back, received, or returned unused."""

    ISSUED = "交付"
    RECEIVED = "受理"
    RETURNED = "返還"


class OfflinePolicy(enum.StrEnum):
    """What a kiosk does when the server cannot be reached: carry on, or need the manager's confirmation."""

    ALLOW = "allow"
    MANAGER = "manager"


class Role(enum.StrEnum):
    """Staff roles: clerks receive voters; managers (投票管理者) decide overrides, voids, refusals."""

    CLERK = "clerk"
    MANAGER = "manager"


@dataclass(frozen=True, slots=True)
class Election:
    """One election of the day, e.g. 衆議院小選挙区選出議員選挙."""

    id: str
    kind: ElectionKind
    name: str
    short_name: str
    order: int  # ballots are handed over in ascending order
    early_voting_start: date


@dataclass(frozen=True, slots=True)
class Precinct:
    """A 投票区."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Station:
    """A polling station; ``precincts`` are the 投票区 an election-day station serves."""

    id: str
    name: str
    kind: StationKind
    precincts: tuple[str, ...] = ()
    opens: time = time(7, 0)
    closes: time = time(20, 0)
    early_from: date | None = None  # early stations may open later than the earliest election's start
    early_until: date | None = None


@dataclass(frozen=True, slots=True)
class StaffAccount:
    """A member of staff; ``pin_hash`` is ``scrypt$n$r$p$salt_hex$hash_hex``."""

    id: str
    name: str
    role: Role
    pin_hash: str


@dataclass(frozen=True, slots=True)
class DeclarationLayout:
    """The committee's 宣誓書 design (there is no national form)."""

    title: str = "宣誓書"
    heading: str = "私は、選挙の当日、次の事由に該当する見込みであることを宣誓します。"
    paper: str = "A4"  # A4 or A5
    prefill: bool = True  # False: print blank for handwriting
    elections: tuple[str, ...] = ()  # empty: all elections of the package


@dataclass(frozen=True, slots=True)
class ElectionDefinition:
    """Everything in election.toml."""

    municipality_code: str
    municipality_name: str
    prefecture: str
    committee_name: str
    election_day: date
    elections: tuple[Election, ...]
    precincts: tuple[Precinct, ...]
    stations: tuple[Station, ...]
    staff: tuple[StaffAccount, ...]
    hourly_times: tuple[time, ...]
    declaration: DeclarationLayout = field(default_factory=DeclarationLayout)
    offline_policy: OfflinePolicy = OfflinePolicy.ALLOW
    claim_timeout_ms: int = 1500
    previous_turnout: Mapping[str, Any] = field(default_factory=dict)

    def election(self, election_id: str) -> Election:
        """The election with this id (KeyError if none)."""
        for e in self.elections:
            if e.id == election_id:
                return e
        raise KeyError(election_id)

    def station(self, station_id: str) -> Station:
        """The station with this id (KeyError if none)."""
        for s in self.stations:
            if s.id == station_id:
                return s
        raise KeyError(station_id)

    def precinct_scope(self, station_id: str | None) -> set[str] | None:
        """The 投票区 a station's lists and counts cover: an election-day station's own; None (all) for an
        early-voting station or no station (KeyError for an unknown station id)."""
        if station_id is not None:
            st = self.station(station_id)
            if st.kind is StationKind.DAY:
                return set(st.precincts)
        return None

    def precinct(self, code: str) -> Precinct:
        """The precinct with this code (KeyError if none)."""
        for p in self.precincts:
            if p.code == code:
                return p
        raise KeyError(code)

    def staff_member(self, staff_id: str) -> StaffAccount:
        """The staff account with this id (KeyError if none)."""
        for s in self.staff:
            if s.id == staff_id:
                return s
        raise KeyError(staff_id)

    def day_station_for(self, precinct: str) -> Station | None:
        """The election-day station serving a 投票区 (None if the package names none)."""
        for s in self.stations:
            if s.kind is StationKind.DAY and precinct in s.precincts:
                return s
        return None

    def ordered_elections(self) -> tuple[Election, ...]:
        """Elections in ballot hand-over order."""
        return tuple(sorted(self.elections, key=lambda e: e.order))

    @classmethod
    def from_toml_dict(cls, data: Mapping[str, Any]) -> ElectionDefinition:
        """Build and validate from parsed election.toml; raise DefinitionError naming the bad key."""
        return _parse_definition(data)


@dataclass(frozen=True, slots=True)
class Voter:
    """One register entry. ``code`` (識別コード) is the register key used in events and logs instead of the name."""

    code: str
    precinct: str
    volume: int  # 冊
    page: int  # 頁
    line: int  # 行
    name: str  # as registered, for display: family + U+3000 + given
    kana: str
    birth_date: date
    sex: Sex
    address: str
    address_extra: str = ""  # 方書
    moved: bool = False  # 転出 mark
    barred_kinds: frozenset[ElectionKind] = frozenset()  # per-election 不可 marks, by election kind
    absentee: AbsenteeStatus | None = None

    def age_on(self, d: date) -> int:
        """Age in whole years on ``d``. By 年齢計算ニ関スル法律 one ages on the day before the birthday."""
        day_before = d + timedelta(days=1)
        years = day_before.year - self.birth_date.year
        if (day_before.month, day_before.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


# ---------------------------------------------------------------------------------------------------------------
# election.toml parsing


def _req(d: Mapping[str, Any], key: str, where: str, typ: type | tuple[type, ...] = str) -> Any:
    if key not in d:
        raise DefinitionError(f"{where}: missing key '{key}'")
    v = d[key]
    if not isinstance(v, typ) or (typ is int and isinstance(v, bool)):
        raise DefinitionError(f"{where}.{key}: expected {getattr(typ, '__name__', typ)}, got {type(v).__name__}")
    if isinstance(v, str) and not v.strip():
        raise DefinitionError(f"{where}.{key}: must not be empty")
    return v


def _date(v: Any, where: str) -> date:
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v)
        except ValueError:
            pass
    raise DefinitionError(f"{where}: expected a date YYYY-MM-DD, got {v!r}")


def _time(v: Any, where: str) -> time:
    if isinstance(v, time):
        return v
    if isinstance(v, str):
        try:
            return time.fromisoformat(v)
        except ValueError:
            pass
    raise DefinitionError(f"{where}: expected a time HH:MM, got {v!r}")


def _enum(enum_cls: type[enum.StrEnum], v: Any, where: str) -> Any:
    try:
        return enum_cls(v)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise DefinitionError(f"{where}: {v!r} is not one of {allowed}") from None


def _parse_definition(data: Mapping[str, Any]) -> ElectionDefinition:
    muni = _req(data, "municipality", "election.toml", dict)
    elections = []
    for i, e in enumerate(_req(data, "elections", "election.toml", list)):
        w = f"elections[{i}]"
        elections.append(
            Election(
                id=_req(e, "id", w),
                kind=_enum(ElectionKind, _req(e, "kind", w), f"{w}.kind"),
                name=_req(e, "name", w),
                short_name=e.get("short_name", e["name"]),
                order=_req(e, "order", w, int),
                early_voting_start=_date(_req(e, "early_voting_start", w, (str, date)), f"{w}.early_voting_start"),
            )
        )
    if not elections:
        raise DefinitionError("elections: at least one election is required")
    _unique([e.id for e in elections], "elections", "id")
    _unique([str(e.order) for e in elections], "elections", "order")

    precincts = []
    for i, p in enumerate(_req(data, "precincts", "election.toml", list)):
        w = f"precincts[{i}]"
        precincts.append(Precinct(code=_req(p, "code", w), name=_req(p, "name", w)))
    _unique([p.code for p in precincts], "precincts", "code")
    precinct_codes = {p.code for p in precincts}

    stations = []
    for i, s in enumerate(_req(data, "stations", "election.toml", list)):
        w = f"stations[{i}]"
        kind = _enum(StationKind, _req(s, "kind", w), f"{w}.kind")
        served = tuple(s.get("precincts", ()))
        for code in served:
            if code not in precinct_codes:
                raise DefinitionError(f"{w}.precincts: unknown 投票区 {code!r}")
        if kind is StationKind.DAY and not served:
            raise DefinitionError(f"{w}.precincts: an election-day station must serve at least one 投票区")
        stations.append(
            Station(
                id=_req(s, "id", w),
                name=_req(s, "name", w),
                kind=kind,
                precincts=served,
                opens=_time(s.get("opens", "07:00"), f"{w}.opens"),
                closes=_time(s.get("closes", "20:00"), f"{w}.closes"),
                early_from=_date(s["early_from"], f"{w}.early_from") if "early_from" in s else None,
                early_until=_date(s["early_until"], f"{w}.early_until") if "early_until" in s else None,
            )
        )
    _unique([s.id for s in stations], "stations", "id")

    staff = []
    for i, a in enumerate(_req(data, "staff", "election.toml", list)):
        w = f"staff[{i}]"
        pin_hash = _req(a, "pin_hash", w)
        if not pin_hash.startswith("scrypt$") or pin_hash.count("$") != 5:
            raise DefinitionError(f"{w}.pin_hash: expected scrypt$n$r$p$salt$hash")
        staff.append(
            StaffAccount(
                id=_req(a, "id", w),
                name=_req(a, "name", w),
                role=_enum(Role, _req(a, "role", w), f"{w}.role"),
                pin_hash=pin_hash,
            )
        )
    _unique([a.id for a in staff], "staff", "id")

    reports = data.get("reports", {})
    hourly = tuple(_time(t, f"reports.hourly_times[{i}]") for i, t in enumerate(reports.get("hourly_times", [])))
    if list(hourly) != sorted(hourly):
        raise DefinitionError("reports.hourly_times: must be in ascending order")

    decl = data.get("declaration", {})
    paper = decl.get("paper", "A4")
    if paper not in ("A4", "A5"):
        raise DefinitionError(f"declaration.paper: {paper!r} is not A4 or A5")
    listed = tuple(decl.get("elections", ()))
    ids = {e.id for e in elections}
    for eid in listed:
        if eid not in ids:
            raise DefinitionError(f"declaration.elections: unknown election {eid!r}")
    default = DeclarationLayout()
    declaration = DeclarationLayout(
        title=decl.get("title", default.title),
        heading=decl.get("heading", default.heading),
        paper=paper,
        prefill=bool(decl.get("prefill", True)),
        elections=listed,
    )

    offline = data.get("offline", {})
    timeout = offline.get("claim_timeout_ms", 1500)
    if not isinstance(timeout, int) or not 100 <= timeout <= 30000:
        raise DefinitionError("offline.claim_timeout_ms: expected an integer from 100 to 30000")

    return ElectionDefinition(
        municipality_code=_req(muni, "code", "municipality"),
        municipality_name=_req(muni, "name", "municipality"),
        prefecture=_req(muni, "prefecture", "municipality"),
        committee_name=muni.get("committee_name", f"{muni['name']}選挙管理委員会"),
        election_day=_date(_req(data, "election_day", "election.toml", (str, date)), "election_day"),
        elections=tuple(elections),
        precincts=tuple(precincts),
        stations=tuple(stations),
        staff=tuple(staff),
        hourly_times=hourly,
        declaration=declaration,
        offline_policy=_enum(OfflinePolicy, offline.get("policy", "allow"), "offline.policy"),
        claim_timeout_ms=timeout,
        previous_turnout=dict(reports.get("previous", {})),
    )


def _unique(values: list[str], section: str, key: str) -> None:
    seen: set[str] = set()
    for i, v in enumerate(values):
        if v in seen:
            raise DefinitionError(f"{section}[{i}].{key}: duplicate {v!r}")
        seen.add(v)


#: First digit of the synthetic register key of a 決定書等所持者 (法42条ただし書: not in the register, votes on a
#: court or committee decision). docs/contracts.md: "9" + the decision reference's digits, zero-padded to 15 digits.
DECISION_HOLDER_PREFIX = "9"


def decision_holder_key(reference: str) -> str:
    """The synthetic 15-digit register key for a decision holder, derived deterministically from the decision's
    reference (e.g. 「令和8年選管決定第12号」 → every digit of it, NFKC-normalised, in order: "9" + "0000000000812").

    The same decision always gives the same key, so the server's claim keeps it one ballot per person per election.
    Raises ValueError when the reference has no digit or more than 14.
    """
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", reference) if ch in "0123456789")
    if not digits:
        raise ValueError("decision reference has no number")
    if len(digits) > 14:
        raise ValueError(f"decision reference has {len(digits)} digits; at most 14 fit a register key")
    return DECISION_HOLDER_PREFIX + digits.zfill(14)


def is_decision_holder_key(code: str) -> bool:
    """Whether ``code`` has the form of a decision holder's synthetic key (15 digits starting with the prefix)."""
    return len(code) == 15 and code.isdigit() and code.startswith(DECISION_HOLDER_PREFIX)
