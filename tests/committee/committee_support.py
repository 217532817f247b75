"""The committee tests' election: a package, a small register, a CA with kiosk and committee certificates, and a
seeded reception day (early voting, election day, a conflict, a refused claim, a void, an override, record views)
that kiosks record in real ledgers and push to a real server over mutual TLS."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ballots.events import Event, EventType
from ballots.model import ElectionDefinition, Sex, Voter, decision_holder_key
from sync import keys, pki
from sync.client import ClientTLS, SyncClient
from sync.ledger import Ledger

JST = timezone(timedelta(hours=9))
PIN_HASH = "scrypt$16384$8$1$00ff$00ff"
HOURLY = ["10:00", "12:00", "14:00", "16:00", "18:00", "19:30", "20:00"]
PREVIOUS = {"hourly": {"10:00": 2, "12:00": 4, "14:00": 6, "16:00": 8, "18:00": 9, "20:00": 12}, "early_voters": 7}

DEFINITION: dict[str, Any] = {
    "election_day": "2026-12-13",
    "municipality": {
        "code": "139999",
        "name": "架空市",
        "prefecture": "東京都",
        "committee_name": "架空市選挙管理委員会",
    },
    "elections": [
        {
            "id": "shu-sho",
            "kind": "国",
            "name": "衆議院小選挙区選出議員選挙",
            "short_name": "小選挙区",
            "order": 1,
            "early_voting_start": "2026-12-02",
        },
        {
            "id": "shu-hi",
            "kind": "国",
            "name": "衆議院比例代表選出議員選挙",
            "short_name": "比例代表",
            "order": 2,
            "early_voting_start": "2026-12-02",
        },
    ],
    "precincts": [
        {"code": "001", "name": "第1投票区"},
        {"code": "002", "name": "第2投票区"},
        {"code": "003", "name": "第3投票区"},
    ],
    "stations": [
        {"id": "E01", "name": "市役所本庁舎期日前投票所", "kind": "early", "opens": "08:30", "closes": "20:00"},
        {"id": "D01", "name": "第1投票所", "kind": "day", "precincts": ["001"]},
        {"id": "D02", "name": "第2投票所", "kind": "day", "precincts": ["002"]},
        {"id": "D03", "name": "第3投票所", "kind": "day", "precincts": ["003"]},
    ],
    "staff": [
        {"id": "m01", "name": "投票管理者　一", "role": "manager", "pin_hash": PIN_HASH},
        {"id": "c01", "name": "受付　花子", "role": "clerk", "pin_hash": PIN_HASH},
    ],
    "reports": {"hourly_times": HOURLY, "previous": PREVIOUS},
}


def voter_code(n: int) -> str:
    """Register key of voter ``n``."""
    return f"{n:015d}"


def make_voter(n: int) -> Voter:
    """Voter ``n``: even numbers men, odd women; a third of them not on the register (sex unknown to reports)."""
    return Voter(
        code=voter_code(n),
        precinct="001" if n % 2 else "002",
        volume=1,
        page=1 + n // 20,
        line=1 + n % 20,
        name=f"髙橋　太郎{n}",
        kana=f"タカハシ　タロウ{n}",
        birth_date=date(1980, 2, 17),
        sex=Sex.MALE if n % 2 == 0 else Sex.FEMALE,
        address="東京都架空市本町１丁目２番３号",
    )


class SmallRegister:
    """The register as the server uses it (``by_code`` and iteration), holding voters 0..59."""

    def __init__(self) -> None:
        self.voters = {voter_code(n): make_voter(n) for n in range(60)}

    def by_code(self, code: str) -> Voter | None:
        return self.voters.get(code)

    def __iter__(self) -> Iterator[Voter]:
        return iter(self.voters.values())

    def __len__(self) -> int:
        return len(self.voters)


@dataclass(frozen=True)
class Package:
    """What the server reads of an opened election package."""

    definition: ElectionDefinition
    package_hash: str
    register: Any


def make_package() -> Package:
    """The committee tests' package."""
    definition = ElectionDefinition.from_toml_dict(DEFINITION)
    return Package(definition, hashlib.sha256(b"committee-test").hexdigest(), SmallRegister())


@dataclass
class PKI:
    """A committee CA, the server's certificate for 127.0.0.1, kiosk and committee certificates on demand."""

    root: Path
    ca: Path = field(init=False)
    server: Path = field(init=False)

    def __post_init__(self) -> None:
        self.ca, self.server = self.root / "ca", self.root / "server"
        if not (self.ca / pki.CA_CERT).exists():
            pki.init_ca(self.ca)
            pki.issue_server(self.ca, "127.0.0.1", self.server)

    def kiosk(self, kiosk_id: str) -> Path:
        d = self.root / "kiosks" / kiosk_id
        if not (d / pki.CLIENT_CERT).exists():
            pki.issue_client(self.ca, kiosk_id, d)
        return d

    def committee(self, name: str = "committee-1") -> Path:
        d = self.root / "committee" / name
        if not (d / pki.CLIENT_CERT).exists():
            pki.issue_client(self.ca, name, d, role=pki.CertRole.COMMITTEE)
        return d


def jst(day: int, hhmm: str, month: int = 12, second: int = 0) -> datetime:
    """UTC instant of a JST wall-clock time in December 2026."""
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(2026, month, day, h, m, second, tzinfo=JST).astimezone(UTC)


def event(
    type_: EventType,
    when: datetime,
    station: str,
    *,
    voter: int | None = None,
    election: str | None = None,
    staff: str = "c01",
    **data: Any,
) -> Event:
    """An event as a desk records it."""
    return Event(
        type=type_,
        station_id=station,
        staff_id=staff,
        at=when,
        voter=None if voter is None else voter_code(voter),
        election=election,
        data=data,
    )


class Desk:
    """One kiosk: its real ledger (signed with the ledger key its certificate binds) and its sync client."""

    def __init__(self, pki_: PKI, kiosk_id: str, station: str, ledger_dir: Path, url: str, package_hash: str) -> None:
        d = pki_.kiosk(kiosk_id)
        self.station = station
        self.ledger = Ledger.open(
            ledger_dir / f"{kiosk_id}.db", kiosk_id=kiosk_id, key=keys.load_private_key(d / pki.LEDGER_KEY)
        )
        self.client = SyncClient(url, self.ledger, package_hash, station_id=station, tls=ClientTLS.from_dir(d))

    def record(self, *events: Event) -> list[Event]:
        for ev in events:
            self.ledger.append(ev)
        return list(events)

    def close(self) -> None:
        self.client.stop()
        self.ledger.close()


# ---------------------------------------------------------------------------------------------------------------------
# The seeded reception day

E_SHO, E_HI = "shu-sho", "shu-hi"
ELECTION_DAY = date(2026, 12, 13)
D01A_TIMES = ["07:05", "09:59", "10:00", "10:01", "11:30", "13:00", "15:45", "18:10", "19:30", "19:45"]
D01B_TIMES = ["08:00", "09:00", "14:00", "16:00", "17:59"]
D02_TIMES = ["07:30", "10:30", "12:00", "13:30", "19:00", "19:31"]
UNREGISTERED = 70  # checked in at D02, not on the register: counted, sex unknown
DECISION_REF = "令和8年選管決定第12号"
DECISION_HOLDER = int(decision_holder_key(DECISION_REF))  # 決定書等所持者 at D02 (比例 only), a woman per the decision


@dataclass
class Seeded:
    """What the scenario recorded: every event, by kiosk, and the ids tests look for."""

    events: dict[str, list[Event]]
    conflict_voter: str
    refused_voter: str
    viewed_voter: str

    def all_events(self) -> list[Event]:
        return [e for evs in self.events.values() for e in evs]


def seed_day(desks: dict[str, Desk]) -> Seeded:
    """Record and push the scenario through real ledgers and sync clients (see the module docstring)."""
    out: dict[str, list[Event]] = {k: [] for k in desks}
    e01, e01b, d01a, d01b, d02 = (desks[k] for k in ("K-E01", "K-E01b", "K-D01a", "K-D01b", "K-D02"))
    # Early voting at E01: 宣誓書 then both ballots; voter 3 has no 宣誓書; voter 9's 比例 check-in is voided.
    # Voter 6 swore twice and the second 宣誓書 was voided (the first one's 事由 counts); voter 8's 宣誓書 was
    # recorded at the second desk, whose events reach the server after the check-in.
    for n in range(10):
        day, when = (5 if n < 5 else 6), f"09:{n:02d}"
        if n == 8:
            out["K-E01b"] += e01b.record(event(EventType.DECLARATION, jst(day, when), "E01", voter=n, reason=2))
        elif n != 3:
            out["K-E01"] += e01.record(event(EventType.DECLARATION, jst(day, when), "E01", voter=n, reason=n % 6 + 1))
        if n == 6:
            wrong = event(EventType.DECLARATION, jst(day, when, second=10), "E01", voter=n, reason=5)
            out["K-E01"] += e01.record(
                wrong,
                event(
                    EventType.VOID,
                    jst(day, when, second=20),
                    "E01",
                    staff="m01",
                    target=wrong.event_id,
                    reason="事由の誤り",
                ),
            )
        for el in (E_SHO, E_HI):
            out["K-E01"] += e01.record(
                event(EventType.CHECK_IN, jst(day, when, second=30), "E01", voter=n, election=el, kind="early")
            )
    target = next(e for e in out["K-E01"] if e.voter == voter_code(9) and e.election == E_HI)
    out["K-E01"] += e01.record(
        event(EventType.VOID, jst(6, "09:20"), "E01", staff="m01", target=target.event_id, reason="誤って受付")
    )
    # Election day.
    out["K-D01a"] += d01a.record(event(EventType.RECORD_VIEWED, jst(13, "09:58"), "D01", voter=11, purpose="本人確認"))
    for i, hhmm in enumerate(D01A_TIMES):
        for el in (E_SHO, E_HI):
            out["K-D01a"] += d01a.record(
                event(EventType.CHECK_IN, jst(13, hhmm), "D01", voter=10 + i, election=el, kind="day")
            )
    for i, hhmm in enumerate(D01B_TIMES):
        for el in (E_SHO, E_HI):
            out["K-D01b"] += d01b.record(
                event(EventType.CHECK_IN, jst(13, hhmm), "D01", voter=20 + i, election=el, kind="day")
            )
    # D01's second desk was offline and checked voter 12 in again for 小選挙区: a conflict once pushed.
    out["K-D01b"] += d01b.record(
        event(EventType.CHECK_IN, jst(13, "12:30"), "D01", voter=12, election=E_SHO, kind="day", offline=True)
    )
    for i, hhmm in enumerate(D02_TIMES):
        for el in (E_SHO, E_HI):
            out["K-D02"] += d02.record(
                event(EventType.CHECK_IN, jst(13, hhmm), "D02", voter=30 + i, election=el, kind="day")
            )
    for el in (E_SHO, E_HI):
        out["K-D02"] += d02.record(
            event(EventType.CHECK_IN, jst(13, "11:00"), "D02", voter=UNREGISTERED, election=el, kind="day")
        )
    out["K-D02"] += d02.record(
        event(
            EventType.CHECK_IN,
            jst(13, "12:30"),
            "D02",
            voter=DECISION_HOLDER,
            election=E_HI,
            kind="day",
            source="decision",
            identity="decision_document",
            decision_ref=DECISION_REF,
            decision_by="m01",
            decision_sex="F",
        )
    )
    out["K-D02"] += d02.record(event(EventType.RECORD_VIEWED, jst(13, "13:00"), "D02", voter=11, purpose="検索"))
    for desk in (e01, d01a, d02):
        desk.client.push_pending()
    # Voter 10 comes to D02 too: the online claim is refused (already voted at D01); the manager's override is logged.
    attempt = event(EventType.CHECK_IN, jst(13, "15:00"), "D02", voter=10, election=E_SHO, kind="day")
    outcome = d02.client.claim(attempt)
    assert outcome.status == "already_voted", outcome
    out["K-D02"] += d02.record(
        event(EventType.STOP_SHOWN, jst(13, "15:00"), "D02", voter=10, codes=["already_voted"]),
        event(
            EventType.OVERRIDE,
            jst(13, "15:01"),
            "D02",
            voter=10,
            staff="m01",
            stop="already_voted",
            reason="本人が辞退",
        ),
    )
    d02.client.push_pending()
    d01b.client.push_pending()
    e01b.client.push_pending()
    for _ in range(2):  # the second heartbeat carries the clock skew measured from the first answer
        for desk in desks.values():
            desk.client.heartbeat()
    return Seeded(out, voter_code(12), voter_code(10), voter_code(11))
