"""Helpers for the document tests: a small election package definition and register entries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from ballots.events import Event, EventType
from ballots.model import Sex, Voter, decision_holder_key

JST = timezone(timedelta(hours=9))

PIN_HASH = "scrypt$16384$8$1$00ff$00ff"


def definition_dict(**overrides: Any) -> dict[str, Any]:
    """election.toml as parsed, for a two-election national package with one early and two day stations."""
    d: dict[str, Any] = {
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
            {
                "id": "shinsa",
                "kind": "国",
                "name": "最高裁判所裁判官国民審査",
                "short_name": "国民審査",
                "order": 3,
                "early_voting_start": "2026-12-06",
            },
        ],
        "precincts": [{"code": "001", "name": "第1投票区"}, {"code": "002", "name": "第2投票区"}],
        "stations": [
            {"id": "E01", "name": "市役所本庁舎期日前投票所", "kind": "early", "opens": "08:30", "closes": "20:00"},
            {"id": "D01", "name": "第1投票所", "kind": "day", "precincts": ["001"]},
            {"id": "D02", "name": "第2投票所", "kind": "day", "precincts": ["002"]},
        ],
        "staff": [
            {"id": "m01", "name": "投票管理者　一", "role": "manager", "pin_hash": PIN_HASH},
            {"id": "c01", "name": "受付　花子", "role": "clerk", "pin_hash": PIN_HASH},
            {"id": "c02", "name": "事務　次郎", "role": "clerk", "pin_hash": PIN_HASH},
        ],
        "reports": {"hourly_times": ["10:00", "12:00", "14:00", "16:00", "18:00", "20:00"]},
        "declaration": {"title": "宣誓書", "paper": "A4", "prefill": True, "elections": []},
    }
    d.update(overrides)
    return d


def make_voter(n: int, *, sex: Sex = Sex.MALE, precinct: str = "001", **kw: Any) -> Voter:
    """Register entry number ``n`` (its 識別コード is ``n`` padded to 15 digits)."""
    fields: dict[str, Any] = {
        "code": f"{n:015d}",
        "precinct": precinct,
        "volume": 1 + n // 1000,
        "page": 1 + (n % 1000) // 20,
        "line": 1 + n % 20,
        "name": f"髙橋　太郎{n}",
        "kana": f"タカハシ　タロウ{n}",
        "birth_date": date(1980, 2, 17),
        "sex": sex,
        "address": "東京都架空市本町１丁目２番３号",
        "address_extra": "",
    }
    fields.update(kw)
    return Voter(**fields)


def at(day: int, hhmm: str, month: int = 12) -> datetime:
    """A UTC event time for a JST wall-clock time in December 2026 (the test election's month)."""
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(2026, month, day, h, m, tzinfo=JST).astimezone(UTC)


def ev(
    type_: EventType,
    when: datetime,
    *,
    station: str = "E01",
    voter: str | None = None,
    election: str | None = None,
    staff: str = "c01",
    eid: str | None = None,
    **data: Any,
) -> Event:
    """An event as the reception records it."""
    kwargs: dict[str, Any] = {}
    if eid is not None:
        kwargs["event_id"] = eid
    return Event(type_, station, staff, when, voter=voter, election=election, data=data, **kwargs)


def check_in(
    when: datetime, voter: str, election: str, *, kind: str = "early", station: str = "E01", eid: str | None = None
) -> Event:
    """A ballot handed over."""
    return ev(EventType.CHECK_IN, when, station=station, voter=voter, election=election, eid=eid, kind=kind)


def decision_check_in(
    when: datetime,
    reference: str,
    election: str,
    *,
    sex: str | None = None,
    key: str | None = None,
    kind: str = "early",
    station: str = "E01",
    eid: str | None = None,
) -> Event:
    """A ballot handed over to a 決定書等所持者 as the kiosk's manager flow records it: the synthetic key of the
    decision's reference, the reference and the manager who checked it; ``sex`` (``data.decision_sex``) only when
    given. ``key`` overrides the key (for a check-in whose reference does not fit it)."""
    data: dict[str, Any] = {
        "kind": kind,
        "source": "decision",
        "identity": "decision_document",
        "decision_ref": reference,
        "decision_by": "m01",
    }
    if sex is not None:
        data["decision_sex"] = sex
    voter = key if key is not None else decision_holder_key(reference)
    return ev(EventType.CHECK_IN, when, station=station, voter=voter, election=election, eid=eid, **data)
