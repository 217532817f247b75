"""ballots.rules: one table row per branch of the eligibility decision, plus properties over dates and ages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reception_support import EARLY_DAY, ELECTION_DAY, local, make_definition, make_voter, voted

from ballots.events import CheckInKind, Event, EventType
from ballots.model import AbsenteeStatus, ElectionKind
from ballots.rules import ISSUABLE, Code, RulesError, VotedRecord, assess

DEF = make_definition()
ALL = ("shu-sho", "shu-hi", "shinsa", "ken", "shi")
E = Code.ELIGIBLE


def every(code: Code) -> dict[str, Code]:
    return dict.fromkeys(ALL, code)


def codes(**by_election: Code) -> dict[str, Code]:
    """All eligible except the ones named (ids with '-' spelled with '_')."""
    out = every(E)
    out.update({k.replace("_", "-"): v for k, v in by_election.items()})
    return out


NO_KEN_SHI = {"ken": Code.MOVED_OUT_OF_PREFECTURE, "shi": Code.MOVED_MUNICIPAL}

# (id, station, date, voter overrides or None for "not in register", voted records, decision holder, expected codes)
CASES: list[tuple[str, str, date, dict[str, Any] | None, tuple[VotedRecord, ...], bool, dict[str, Code]]] = [
    ("early-all-open", "E01", EARLY_DAY, {}, (), False, every(E)),
    ("early-before-shinsa-and-shi-start", "E01", date(2026, 12, 3), {}, (), False,
     codes(shinsa=Code.EARLY_NOT_STARTED, shi=Code.EARLY_NOT_STARTED)),
    ("early-before-any-start", "E01", date(2026, 12, 1), {}, (), False, every(Code.EARLY_NOT_STARTED)),
    ("early-station-on-election-day", "E01", ELECTION_DAY, {}, (), False, every(Code.EARLY_ENDED)),
    ("early-last-day", "E01", ELECTION_DAY - timedelta(days=1), {}, (), False, every(E)),
    ("early-station-before-its-own-opening", "E02", date(2026, 12, 7), {}, (), False, every(Code.STATION_NOT_OPEN)),
    ("early-station-after-its-own-closing", "E02", date(2026, 12, 11), {}, (), False, every(Code.STATION_NOT_OPEN)),
    ("early-station-inside-its-period", "E02", date(2026, 12, 9), {}, (), False, every(E)),
    ("early-any-precinct", "E01", EARLY_DAY, {"precinct": "003"}, (), False, every(E)),
    ("day-own-precinct", "D01", ELECTION_DAY, {}, (), False, every(E)),
    ("day-station-before-election-day", "D01", EARLY_DAY, {}, (), False, every(Code.NOT_ELECTION_DAY)),
    ("day-wrong-station", "D02", ELECTION_DAY, {}, (), False, every(Code.WRONG_STATION)),
    ("day-precinct-without-station", "D01", ELECTION_DAY, {"precinct": "003"}, (), False, every(Code.WRONG_STATION)),
    ("common-any-precinct", "C01", ELECTION_DAY, {"precinct": "002"}, (), False, every(E)),
    ("common-not-before-election-day", "C01", EARLY_DAY, {}, (), False, every(Code.NOT_ELECTION_DAY)),
    ("partly-voted-comes-back", "E01", EARLY_DAY, {}, (voted("shu-sho", d=date(2026, 12, 3)),
     voted("shu-hi", d=date(2026, 12, 3)), voted("ken", d=date(2026, 12, 3))), False,
     codes(shu_sho=Code.ALREADY_VOTED, shu_hi=Code.ALREADY_VOTED, ken=Code.ALREADY_VOTED)),
    ("voted-on-the-day-elsewhere", "C01", ELECTION_DAY, {},
     tuple(voted(e, "D01", ELECTION_DAY, CheckInKind.DAY) for e in ALL), False, every(Code.ALREADY_VOTED)),
    ("voted-early-then-wrong-station", "D02", ELECTION_DAY, {}, tuple(voted(e) for e in ALL), False,
     every(Code.ALREADY_VOTED)),
    ("voted-absentee-recorded", "D01", ELECTION_DAY, {},
     (voted("shu-sho", "E01", EARLY_DAY, CheckInKind.ABSENTEE),), False, codes(shu_sho=Code.ALREADY_VOTED)),
    ("absentee-received", "D01", ELECTION_DAY, {"absentee": AbsenteeStatus.RECEIVED}, (), False,
     every(Code.ABSENTEE_RECEIVED)),
    ("absentee-issued-not-returned", "D01", ELECTION_DAY, {"absentee": AbsenteeStatus.ISSUED}, (), False,
     every(Code.ABSENTEE_ISSUED)),
    ("absentee-returned-unused", "D01", ELECTION_DAY, {"absentee": AbsenteeStatus.RETURNED}, (), False, every(E)),
    ("absentee-issued-moved-still-barred", "D01", ELECTION_DAY,
     {"absentee": AbsenteeStatus.ISSUED, "moved": True}, (), False,
     {**every(Code.ABSENTEE_ISSUED), "shi": Code.MOVED_MUNICIPAL}),
    ("not-in-register", "D01", ELECTION_DAY, None, (), False, every(Code.NOT_IN_REGISTER)),
    ("decision-holder", "D01", ELECTION_DAY, None, (), True, every(Code.DECISION_HOLDER)),
    ("decision-holder-wrong-day", "D01", EARLY_DAY, None, (), True, every(Code.NOT_ELECTION_DAY)),
    ("under-18-on-election-day", "D01", ELECTION_DAY, {"birth_date": date(2008, 12, 15)}, (), False,
     every(Code.UNDER_AGE)),
    # 年齢計算ニ関スル法律: born 2008-12-14, one is 18 from the end of 12-13 (the day before the birthday).
    ("turns-18-on-election-day", "D01", ELECTION_DAY, {"birth_date": date(2008, 12, 14)}, (), False, every(E)),
    ("turns-18-on-election-day-cannot-vote-early", "E01", EARLY_DAY, {"birth_date": date(2008, 12, 14)}, (), False,
     every(Code.UNDER_AGE_EARLY)),
    ("turned-18-today-may-vote-early", "E01", EARLY_DAY, {"birth_date": date(2008, 12, 9)}, (), False, every(E)),
    ("turns-18-tomorrow-not-yet-early", "E01", EARLY_DAY, {"birth_date": date(2008, 12, 10)}, (), False,
     every(Code.UNDER_AGE_EARLY)),
    ("moved-within-prefecture", "D01", ELECTION_DAY, {"moved": True}, (), False, codes(shi=Code.MOVED_MUNICIPAL)),
    ("moved-out-of-prefecture", "D01", ELECTION_DAY,
     {"moved": True, "barred_kinds": frozenset({ElectionKind.PREFECTURAL})}, (), False, codes(**NO_KEN_SHI)),
    ("moved-marked-ken-and-shi", "E01", EARLY_DAY,
     {"moved": True, "barred_kinds": frozenset({ElectionKind.PREFECTURAL, ElectionKind.MUNICIPAL})}, (), False,
     codes(**NO_KEN_SHI)),
    ("moved-marked-shi-only", "D01", ELECTION_DAY,
     {"moved": True, "barred_kinds": frozenset({ElectionKind.MUNICIPAL})}, (), False, codes(shi=Code.MOVED_MUNICIPAL)),
    ("mark-without-move-honoured", "D01", ELECTION_DAY, {"barred_kinds": frozenset({ElectionKind.NATIONAL})}, (),
     False, codes(shu_sho=Code.BARRED_BY_MARK, shu_hi=Code.BARRED_BY_MARK, shinsa=Code.BARRED_BY_MARK)),
    ("moved-voter-already-voted-national", "D01", ELECTION_DAY, {"moved": True},
     (voted("shu-sho"), voted("shu-hi")), False,
     codes(shu_sho=Code.ALREADY_VOTED, shu_hi=Code.ALREADY_VOTED, shi=Code.MOVED_MUNICIPAL)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("station", "on", "voter_over", "records", "holder", "expected"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_decision_table(
    station: str,
    on: date,
    voter_over: dict[str, Any] | None,
    records: tuple[VotedRecord, ...],
    holder: bool,
    expected: dict[str, Code],
) -> None:
    voter = None if voter_over is None else make_voter(**voter_over)
    result = assess(DEF, station, on, voter, records, decision_holder=holder)
    assert dict(result.codes()) == expected
    # Ballot order is the package's order, whatever the outcome.
    assert [d.election.id for d in result.decisions] == list(ALL)
    assert result.issuable == tuple(d.election for d in result.decisions if d.code in ISSUABLE)
    for d in result.decisions:
        assert d.message.startswith(d.election.short_name + "：")


def test_wrong_station_names_the_right_one() -> None:
    result = assess(DEF, "D02", ELECTION_DAY, make_voter(precinct="001"))
    assert result.right_station is not None and result.right_station.id == "D01"
    assert "第一小学校投票所" in result.decisions[0].message
    assert "第1投票区" in result.decisions[0].message


def test_wrong_station_without_a_station_for_the_precinct_says_ask_the_committee() -> None:
    result = assess(DEF, "D01", ELECTION_DAY, make_voter(precinct="003"))
    assert result.right_station is None
    assert "選挙管理委員会" in result.decisions[0].message


def test_already_voted_names_where_and_when_of_the_earliest_record() -> None:
    later = voted("shu-sho", "C01", ELECTION_DAY, CheckInKind.DAY)
    earlier = voted("shu-sho", "E01", date(2026, 12, 5))
    result = assess(DEF, "D01", ELECTION_DAY, make_voter(), [later, earlier])
    d = result.decision("shu-sho")
    assert d.code is Code.ALREADY_VOTED and d.voted == earlier and d.hard_stop
    assert "市役所本庁舎期日前投票所" in d.message
    assert "令和8年12月5日 9時30分" in d.message
    assert "期日前投票" in d.message
    assert result.hard_stops == (d,)


def test_absentee_issued_is_for_the_manager_not_a_refusal() -> None:
    result = assess(DEF, "D01", ELECTION_DAY, make_voter(absentee=AbsenteeStatus.ISSUED))
    assert len(result.manager_decides) == len(ALL)
    assert not result.issuable and not result.hard_stops
    assert "投票管理者" in result.decisions[0].message


def test_kind_follows_the_station() -> None:
    assert assess(DEF, "E01", EARLY_DAY, make_voter()).kind is CheckInKind.EARLY
    assert assess(DEF, "D01", ELECTION_DAY, make_voter()).kind is CheckInKind.DAY
    assert assess(DEF, "C01", ELECTION_DAY, make_voter()).kind is CheckInKind.DAY


def test_moved_voter_message_asks_for_the_prefecture_check() -> None:
    result = assess(DEF, "D01", ELECTION_DAY, make_voter(moved=True))
    assert "県内" in result.decision("ken").message
    assert "転出者" in result.decision("shu-sho").message


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: assess(DEF, "X99", ELECTION_DAY, make_voter()), "station 'X99'"),
        (lambda: assess(DEF, "D01", ELECTION_DAY, make_voter(), [voted("nope")]), "election 'nope'"),
        (
            lambda: VotedRecord("shu-sho", "E01", datetime(2026, 12, 8, 10), CheckInKind.EARLY),
            "timezone-aware",
        ),
    ],
    ids=["unknown-station", "unknown-election", "naive-time"],
)
def test_malformed_questions_are_refused(call: Any, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        call()


def test_voted_record_from_check_in_event() -> None:
    ev = Event(
        type=EventType.CHECK_IN,
        station_id="E01",
        staff_id="c01",
        at=local(EARLY_DAY),
        voter="100000000000001",
        election="shinsa",
        data={"kind": "early", "offline": True},
    )
    rec = VotedRecord.from_event(ev)
    assert (rec.election, rec.station_id, rec.kind, rec.offline, rec.event_id) == (
        "shinsa",
        "E01",
        CheckInKind.EARLY,
        True,
        ev.event_id,
    )
    assert rec.to_dict()["at"] == ev.at.astimezone(UTC).isoformat()
    with pytest.raises(RulesError, match="not a check-in"):
        VotedRecord.from_event(replace(ev, type=EventType.DECLARATION))


@settings(max_examples=200, deadline=None)
@given(
    birth=st.dates(min_value=date(1920, 1, 1), max_value=date(2012, 12, 31)),
    on=st.dates(min_value=date(2026, 11, 25), max_value=date(2026, 12, 20)),
    station=st.sampled_from(["E01", "E02", "D01", "D02", "C01"]),
    precinct=st.sampled_from(["001", "002", "003"]),
)
def test_property_age_and_scope(birth: date, on: date, station: str, precinct: str) -> None:
    """Whatever the date, age and place: one decision per election, and no ballot to anyone under 18 on the day."""
    voter = make_voter(birth_date=birth, precinct=precinct)
    result = assess(DEF, station, on, voter)
    assert len(result.decisions) == len(ALL)
    if voter.age_on(ELECTION_DAY) < 18:
        assert not result.issuable
    if result.issuable:
        if station.startswith("E"):
            assert on < ELECTION_DAY and voter.age_on(on) >= 18
        else:
            assert on == ELECTION_DAY
        if station in ("D01", "D02"):
            assert precinct in DEF.station(station).precincts
