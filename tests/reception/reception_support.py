"""Shared helpers of the reception tests: a small election (five elections, five stations, four staff).

Dates: election day 2026-12-13 (令和8年); early voting 2026-12-02 .. 12-12; 国民審査 and the 市 election from 12-07.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

from ballots.events import CheckInKind
from ballots.model import ElectionDefinition, Sex, Voter
from ballots.rules import JST, VotedRecord
from kiosk.workflow import Desk

ELECTION_DAY = date(2026, 12, 13)
EARLY_DAY = date(2026, 12, 8)
PINS = {"c01": "1111", "c02": "2222", "m01": "9999", "m02": "8888"}


def definition_dict(**overrides: Any) -> dict[str, Any]:
    """election.toml as parsed TOML; keyword overrides replace top-level sections."""
    fake_hash = "scrypt$16384$8$1$00$00"
    data: dict[str, Any] = {
        "election_day": ELECTION_DAY.isoformat(),
        "municipality": {"code": "139999", "name": "架空市", "prefecture": "東京都"},
        "elections": [
            {"id": "shu-sho", "kind": "国", "name": "衆議院小選挙区選出議員選挙", "short_name": "小選挙区",
             "order": 1, "early_voting_start": "2026-12-02"},
            {"id": "shu-hi", "kind": "国", "name": "衆議院比例代表選出議員選挙", "short_name": "比例代表",
             "order": 2, "early_voting_start": "2026-12-02"},
            {"id": "shinsa", "kind": "国", "name": "最高裁判所裁判官国民審査", "short_name": "国民審査",
             "order": 3, "early_voting_start": "2026-12-07"},
            {"id": "ken", "kind": "県", "name": "東京都知事選挙", "short_name": "知事",
             "order": 4, "early_voting_start": "2026-12-02"},
            {"id": "shi", "kind": "市", "name": "架空市長選挙", "short_name": "市長",
             "order": 5, "early_voting_start": "2026-12-07"},
        ],
        "precincts": [{"code": "001", "name": "第1投票区"}, {"code": "002", "name": "第2投票区"},
                      {"code": "003", "name": "第3投票区"}],
        "stations": [
            {"id": "E01", "name": "市役所本庁舎期日前投票所", "kind": "early"},
            {"id": "E02", "name": "駅前出張所期日前投票所", "kind": "early", "early_from": "2026-12-08",
             "early_until": "2026-12-10"},
            {"id": "D01", "name": "第一小学校投票所", "kind": "day", "precincts": ["001"]},
            {"id": "D02", "name": "第二公民館投票所", "kind": "day", "precincts": ["002"]},
            {"id": "C01", "name": "駅前共通投票所", "kind": "common"},
        ],
        "staff": [
            {"id": "c01", "name": "受付　一郎", "role": "clerk", "pin_hash": fake_hash},
            {"id": "c02", "name": "受付　二郎", "role": "clerk", "pin_hash": fake_hash},
            {"id": "m01", "name": "管理　花子", "role": "manager", "pin_hash": fake_hash.replace("$00$00", "$01$01")},
            {"id": "m02", "name": "管理　次郎", "role": "manager", "pin_hash": fake_hash.replace("$00$00", "$02$02")},
        ],
        "offline": {"policy": "allow"},
    }  # fmt: skip
    data.update(overrides)
    return data


def make_definition(**overrides: Any) -> ElectionDefinition:
    """The test election, validated by the real parser."""
    return ElectionDefinition.from_toml_dict(definition_dict(**overrides))


def fake_verify_pin(pin_hash: str, pin: str) -> bool:
    """Injected PIN check: the test staff's hashes differ only in their salt field, mapped to PINS here."""
    salt = pin_hash.split("$")[4]
    expected = {"00": {"1111", "2222"}, "01": {"9999"}, "02": {"8888"}}[salt]
    return pin in expected


def make_voter(**overrides: Any) -> Voter:
    """A 40-year-old voter of 投票区 001; override any field."""
    base = Voter(
        code="100000000000001",
        precinct="001",
        volume=1,
        page=2,
        line=3,
        name="髙橋　太郎",
        kana="タカハシ　タロウ",
        birth_date=date(1986, 4, 1),
        sex=Sex.MALE,
        address="東京都架空市本町１丁目２番３号",
        address_extra="本町ハイツ１０１",
    )
    return replace(base, **overrides)


def local(d: date, hour: int = 10, minute: int = 0) -> datetime:
    """A Japan-time moment as timezone-aware UTC."""
    return datetime.combine(d, time(hour, minute), tzinfo=JST).astimezone(UTC)


def voted(
    election: str, station: str = "E01", d: date = EARLY_DAY, kind: CheckInKind = CheckInKind.EARLY
) -> VotedRecord:
    """A known check-in."""
    return VotedRecord(election=election, station_id=station, at=local(d, 9, 30), kind=kind, event_id=f"ev-{election}")


class Counter:
    """Stable event ids e0001, e0002, … so expectations can name them."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"e{self.n:04d}"


def make_desk(station: str = "E01", **overrides: Any) -> Desk:
    """A desk at ``station`` with the injected PIN check and counter ids."""
    return Desk(
        definition=make_definition(**overrides), station_id=station, kiosk_id="K1", verify_pin=fake_verify_pin,
        new_id=Counter(),
    )  # fmt: skip
