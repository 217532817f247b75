"""Issuance, reconciliation and station reports checked against event lists built here: voids, reissues, conflicts."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable
from datetime import date, time

import pytest
from documents_support import at, check_in, decision_check_in, definition_dict, ev, make_voter
from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.events import Event, EventType
from ballots.issuance import apply_voids, ballot_issuance
from ballots.model import ElectionDefinition, Sex, decision_holder_key
from ballots.reports import (
    early_voting_reasons,
    hourly_turnout,
    registered_counts,
    report_csv,
    report_pdf,
    sexes_from_register,
    station_record,
)

V = [f"{n:015d}" for n in range(20)]  # register keys; even numbers are men, odd numbers women below
SEXES = {code: (Sex.MALE if i % 2 == 0 else Sex.FEMALE) for i, code in enumerate(V)}
E = "shu-sho"


def stock(n: int, day: int = 2, election: str = E, eid: str | None = None) -> Event:
    return ev(EventType.STOCK_RECEIVED, at(day, "08:00"), election=election, staff="m01", eid=eid, count=n)


def void(target: str, day: int = 5, hhmm: str = "15:00") -> Event:
    return ev(EventType.VOID, at(day, hhmm), staff="m01", target=target, reason="誤って受付")


def reissue(voter: str, hhmm: str = "11:00", day: int = 5) -> Event:
    return ev(EventType.BALLOT_REISSUED, at(day, hhmm), voter=voter, election=E, reason="書き損じ")


# Each case: events, then the expected figures of election shu-sho at E01 on 12/5 and the mismatch kinds.
CASES: dict[str, tuple[list[Event], dict[str, int], set[str]]] = {
    "plain": (
        [stock(10), *(check_in(at(5, f"1{i}:00"), V[i], E) for i in range(3))],
        {"voters": 3, "check_ins": 3, "reissued": 0, "issued": 3, "remaining": 7, "voided_check_ins": 0},
        set(),
    ),
    "voided check-in": (
        [stock(10), *(check_in(at(5, f"1{i}:00"), V[i], E, eid=f"c{i}") for i in range(3)), void("c1")],
        {"voters": 2, "check_ins": 2, "issued": 2, "remaining": 8, "voided_check_ins": 1},
        set(),
    ),
    "reissue": (
        [stock(10), check_in(at(5, "10:00"), V[0], E), check_in(at(5, "10:10"), V[1], E), reissue(V[1])],
        {"voters": 2, "check_ins": 2, "reissued": 1, "issued": 3, "remaining": 7},
        set(),
    ),
    "reissue without check-in": (
        [stock(10), reissue(V[4])],
        {"voters": 0, "reissued": 1, "remaining": 9},
        {"reissue_without_check_in"},
    ),
    "offline conflict": (
        [
            stock(10),
            check_in(at(5, "10:00"), V[0], E, eid="a"),
            check_in(at(5, "10:03"), V[0], E, eid="b"),  # second kiosk, offline, same voter
            check_in(at(5, "10:05"), V[1], E),
        ],
        {"voters": 2, "check_ins": 3, "issued": 3, "remaining": 7},
        {"conflict", "check_ins_exceed_voters"},
    ),
    "conflict resolved by void": (
        [
            stock(10),
            check_in(at(5, "10:00"), V[0], E, eid="a"),
            check_in(at(5, "10:03"), V[0], E, eid="b"),
            void("b"),
        ],
        {"voters": 1, "check_ins": 1, "remaining": 9, "voided_check_ins": 1},
        set(),
    ),
    "conflict with another station": (
        [
            stock(10),
            check_in(at(4, "10:00"), V[0], E, station="D01", kind="day"),
            check_in(at(5, "10:03"), V[0], E),
        ],
        # counted as a voter where they came first (D01); E01 still handed over a ballot
        {"voters": 0, "check_ins": 1, "remaining": 9},
        {"conflict", "check_ins_exceed_voters"},
    ),
    "stock exceeded": (
        [stock(2), *(check_in(at(5, f"1{i}:00"), V[i], E) for i in range(3))],
        {"issued": 3, "remaining": -1},
        {"stock_exceeded"},
    ),
    "no stock": ([check_in(at(5, "10:00"), V[0], E)], {"issued": 1, "stock_received": 0}, {"no_stock"}),
    "counted remaining differs": (
        [
            stock(10),
            check_in(at(5, "10:00"), V[0], E),
            ev(EventType.STATION_CLOSED, at(5, "20:00"), staff="m01", ballots_remaining={E: 8, "shu-hi": 0}),
        ],
        {"remaining": 9, "counted_remaining": 8},
        {"count_differs"},
    ),
    "void of unknown event": (
        [stock(10), check_in(at(5, "10:00"), V[0], E), void("nope")],
        {"voters": 1, "remaining": 9},
        {"void_unknown_target"},
    ),
    "voided stock": ([stock(10, eid="s1"), stock(5), void("s1")], {"stock_received": 5, "remaining": 5}, set()),
    "earlier days carried": (
        [
            stock(10),
            check_in(at(3, "10:00"), V[0], E),
            check_in(at(4, "10:00"), V[1], E),
            check_in(at(5, "10:00"), V[2], E),
        ],
        {"issued_before": 2, "check_ins": 1, "voters": 1, "remaining": 7},
        set(),
    ),
    "JST day boundary": (
        # 00:30 JST on 12/5 is 15:30 UTC on 12/4: it belongs to 12/5
        [stock(10), check_in(at(5, "00:30"), V[0], E), check_in(at(4, "23:59"), V[1], E)],
        {"check_ins": 1, "issued_before": 1, "remaining": 8},
        set(),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_issuance_and_reconciliation(definition: ElectionDefinition, case: str) -> None:
    events, expected, kinds = CASES[case]
    report = ballot_issuance(events, definition, station_id="E01", day=date(2026, 12, 5))
    row = report.for_election(E)
    for name, value in expected.items():
        assert getattr(row, name) == value, f"{case}: {name}"
    found = {m.kind for m in report.mismatches if m.election in (E, None)}
    assert found == kinds, case
    # every mismatch is shown in the station record's PDF and CSV too
    record = station_record(events, definition, SEXES, station_id="E01", day=date(2026, 12, 5))
    assert {m.kind for m in record.mismatches if m.election in (E, None)} == kinds


def test_station_record_figures_by_sex(definition: ElectionDefinition) -> None:
    day5 = date(2026, 12, 5)
    events = [
        ev(EventType.STATION_OPENED, at(5, "08:30"), staff="m01"),
        ev(EventType.STAFF_SIGN_IN, at(5, "08:20"), staff="m01"),
        ev(EventType.STAFF_SIGN_IN, at(5, "08:21"), staff="c01"),
        ev(EventType.STAFF_SIGN_IN, at(5, "12:00"), staff="c01"),  # signs in again after lunch: one person
        stock(100),
        stock(100, election="shu-hi"),
        *(check_in(at(5, "09:00"), V[i], E) for i in (0, 1, 2, 3, 6)),
        *(check_in(at(5, "09:01"), V[i], "shu-hi") for i in (0, 1, 2, 3)),
        check_in(at(5, "09:30"), V[8], E, eid="wrong"),
        void("wrong"),
        check_in(at(5, "10:00"), V[5], E, kind="absentee"),
        reissue(V[1]),
        ev(EventType.PROXY_VOTE, at(5, "09:00"), voter=V[2], helpers=["c01", "c02"]),  # whole visit
        ev(EventType.BRAILLE, at(5, "09:00"), voter=V[0], election=E),
        ev(EventType.REFUSAL, at(5, "11:00"), voter=V[4], reason="本人確認できず", article="法50条"),
        ev(EventType.PROVISIONAL, at(5, "11:30"), voter=V[6], reason="本人確認に異議", outcome="仮投票"),
        check_in(at(4, "09:00"), V[9], E),  # another day
        check_in(at(5, "09:00"), V[10], E, station="D01", kind="day"),  # another station
        ev(EventType.STATION_CLOSED, at(5, "20:00"), staff="m01"),
    ]
    register = [make_voter(i, sex=SEXES[V[i]], precinct="001" if i < 15 else "002") for i in range(20)]
    rec = station_record(
        events, definition, sexes_from_register(register), station_id="E01", day=day5, register=register
    )
    sho = rec.elections[0]
    assert sho.election == E
    assert (sho.voters.male, sho.voters.female, sho.voters.total) == (3, 3, 6)  # 0,2,6 / 1,3,5
    assert (sho.absentee.male, sho.absentee.female) == (0, 1)
    assert (sho.refused.male, sho.refused.total) == (1, 1)
    assert (sho.provisional.male, sho.provisional.total) == (1, 1)
    assert (sho.braille.male, sho.braille.total) == (1, 1)
    assert (sho.proxy.male, sho.proxy.total) == (1, 1)
    assert sho.registered is not None and sho.registered.total == 20  # early station: the whole register
    hi = rec.elections[1]
    assert hi.voters.total == 4 and hi.proxy.total == 1 and hi.braille.total == 0
    assert rec.staff == ("投票管理者　一", "受付　花子")
    assert rec.opened_at == at(5, "08:30") and rec.closed_at == at(5, "20:00")
    assert rec.proxies == (("09:00", "全選挙", V[2], "受付　花子、事務　次郎"),)
    assert rec.reissues == (("11:00", "小選挙区", V[1], "書き損じ"),)
    row = rec.issuance.for_election(E)
    assert (row.check_ins, row.reissued, row.issued_before, row.remaining, row.voided_check_ins) == (6, 1, 1, 92, 1)
    assert rec.mismatches == ()


def test_registered_counts_respect_station_scope_and_bars(definition: ElectionDefinition) -> None:
    from ballots.model import ElectionKind

    register = [
        make_voter(1, sex=Sex.MALE, precinct="001"),
        make_voter(2, sex=Sex.FEMALE, precinct="001", moved=True, barred_kinds=frozenset({ElectionKind.NATIONAL})),
        make_voter(3, sex=Sex.FEMALE, precinct="002"),
    ]
    day1 = registered_counts(register, definition, "D01")[E]
    assert (day1.male, day1.female) == (1, 0)
    early = registered_counts(register, definition, "E01")[E]
    assert (early.male, early.female) == (1, 1)


# -- who the key is: register voter, 決定書等所持者 (法42条1項ただし書), unknown ---------------------------------------

REF = "令和8年選管決定第12号"
DH = decision_holder_key(REF)  # 900000000000812: not in the register, the synthetic key of the decision
UNKNOWN = "123456789012345"  # neither in the register nor of the decision-holder form


def _declared(check_in_event: Event) -> list[Event]:
    """The 宣誓書 the kiosk records before an early check-in, then the check-in."""
    declaration = ev(EventType.DECLARATION, check_in_event.at, voter=check_in_event.voter, reason=1, reprint=False)
    return [declaration, check_in_event]


# Each case: the check-in of one person at E01 on 12/5 (小選挙区), then the expected 投票者数 (男, 女, 計), the
# 決定書又は判決書により投票した者 line (男, 女, 計) and the mismatch kinds on every report.
WHO: dict[str, tuple[Event, tuple[int, int, int], tuple[int, int, int], set[str]]] = {
    "register voter": (check_in(at(5, "10:00"), V[1], E), (0, 1, 1), (0, 0, 0), set()),
    "decision holder, sex recorded": (decision_check_in(at(5, "10:00"), REF, E, sex="F"), (0, 1, 1), (0, 1, 1), set()),
    "decision holder, no sex recorded": (decision_check_in(at(5, "10:00"), REF, E), (0, 0, 1), (0, 0, 1), set()),
    "unknown key": (check_in(at(5, "10:00"), UNKNOWN, E), (0, 0, 1), (0, 0, 0), {"unknown_voter"}),
    # keys that only look like a decision holder's: the check-in does not carry the decision that makes the key
    "decision form, no reference": (check_in(at(5, "10:00"), DH, E), (0, 0, 1), (0, 0, 1), {"decision_unverified"}),
    "decision form, other reference": (
        decision_check_in(at(5, "10:00"), "令和8年選管決定第13号", E, key=DH),
        (0, 0, 1),
        (0, 0, 1),
        {"decision_unverified"},
    ),
    "decision holder, unreadable sex": (
        decision_check_in(at(5, "10:00"), REF, E, sex="女性"),
        (0, 0, 1),
        (0, 0, 1),
        {"decision_sex_unreadable"},
    ),
}


@pytest.mark.parametrize("case", list(WHO))
def test_station_record_counts_each_kind_of_voter(definition: ElectionDefinition, case: str) -> None:
    check_in_event, voters, decision_line, kinds = WHO[case]
    events = [stock(5), *_declared(check_in_event)]
    rec = station_record(events, definition, SEXES, station_id="E01", day=date(2026, 12, 5))
    sho = rec.elections[0]
    assert (sho.voters.male, sho.voters.female, sho.voters.total) == voters
    dh = sho.decision_holders
    assert (dh.male, dh.female, dh.total) == decision_line
    assert {m.kind for m in rec.mismatches} == kinds
    assert all(m.voter == check_in_event.voter for m in rec.mismatches)
    assert rec.issuance.for_election(E).voters == 1  # whoever it is, one ballot went to one voter
    assert len(rec.decisions) == decision_line[2]


@pytest.mark.parametrize("case", list(WHO))
def test_hourly_and_reasons_count_each_kind_of_voter(definition: ElectionDefinition, case: str) -> None:
    check_in_event, voters, _decision_line, kinds = WHO[case]
    events = _declared(check_in_event)
    hourly = hourly_turnout(events, definition, SEXES, day=date(2026, 12, 5), station_id="E01")
    final = hourly.counts[(E, "E01")][-1]
    assert (final.male, final.female, final.total) == voters
    assert {m.kind for m in hourly.mismatches} == kinds
    reasons = early_voting_reasons(events, definition, SEXES, station_id="E01")
    (row,) = reasons.rows
    assert (row.voters.male, row.voters.female, row.voters.total) == voters
    assert dict(row.reasons) == {"1": 1}  # the decision holder's 宣誓書 is recorded under the synthetic key too
    assert {m.kind for m in reasons.mismatches} == kinds


@pytest.mark.parametrize(
    ("voter", "kinds"),
    [(V[4], set()), (DH, set()), (UNKNOWN, {"unknown_voter"})],
    ids=["register voter", "decision holder", "unknown key"],
)
def test_refusal_without_check_in_is_flagged_only_for_an_unknown_key(
    definition: ElectionDefinition, voter: str, kinds: set[str]
) -> None:
    # A decision holder refused before any ballot was handed over has no check-in to carry the decision: the form
    # of the key is what there is, and it is enough not to call them unknown.
    events = [ev(EventType.REFUSAL, at(5, "11:00"), voter=voter, reason="決定書の提示なし", article="法42条")]
    rec = station_record(events, definition, SEXES, station_id="E01", day=date(2026, 12, 5))
    assert rec.elections[0].refused.total == 1 and rec.elections[0].voters.total == 0
    assert {m.kind for m in rec.mismatches} == kinds


@pytest.mark.parametrize(
    "case", ["register voter", "decision holder, sex recorded", "decision holder, no sex recorded", "unknown key"]
)
def test_station_record_pdf_and_csv_show_decision_holders(
    definition: ElectionDefinition, pdf_text: Callable[..., str], case: str
) -> None:
    check_in_event, voters, decision_line, kinds = WHO[case]
    events = [stock(10), stock(10, election="shu-hi"), *_declared(check_in_event)]
    if check_in_event.voter == DH:  # the same person's second ballot: one line in the list, counted per election
        events.append(decision_check_in(at(5, "10:01"), REF, "shu-hi", sex=check_in_event.data.get("decision_sex")))
    rec = station_record(events, definition, SEXES, station_id="E01", day=date(2026, 12, 5))
    flat = "".join(pdf_text(report_pdf(rec)).split())
    assert "うち決定書又は判決書により投票した者" in flat  # the 投票録 line is there whether or not anyone used it
    assert "公職選挙法第42条第1項ただし書" in flat
    if decision_line[2]:
        assert (
            "令和8年選管決定第12号" in flat and DH in flat and "投票管理者一" in flat and "小選挙区、比例代表" in flat
        )
        assert "該当者はありません" not in flat
    else:
        assert "該当者はありません" in flat
    assert ("選挙人名簿にありません" in flat) == ("unknown_voter" in kinds)
    assert ("投票者数のうち性別不明" in flat) == (voters[2] > voters[0] + voters[1])
    rows = list(csv.reader(io.StringIO(report_csv(rec).decode("utf-8-sig"))))
    by_item = {r[2]: r[3:] for r in rows if r[0] == E}
    assert by_item["投票者数"] == [str(n) for n in voters]
    assert by_item["決定書又は判決書により投票した者"] == [str(n) for n in decision_line]
    assert by_item["投票者数のうち性別不明"] == ["", "", str(voters[2] - voters[0] - voters[1])]
    assert {r[2] for r in rows if r[2].startswith("不一致:")} == {f"不一致:{k}" for k in kinds}


def test_unknown_station_is_refused(definition: ElectionDefinition) -> None:
    with pytest.raises(KeyError, match="X99"):
        station_record([], definition, SEXES, station_id="X99")


def test_hourly_turnout_is_cumulative_at_the_package_times(definition: ElectionDefinition) -> None:
    events = [
        check_in(at(5, "09:30"), V[0], E, station="D01", kind="day"),
        check_in(at(5, "11:59"), V[1], E, station="D01", kind="day"),
        check_in(at(5, "12:00"), V[2], E, station="D02", kind="day"),  # exactly at a reporting time: counted then
        check_in(at(5, "13:00"), V[2], E, station="D01", kind="day"),  # offline duplicate: counted once
        check_in(at(5, "19:30"), V[3], E, station="D02", kind="day"),
        check_in(at(5, "20:30"), V[5], E, station="D02", kind="day"),  # after the last time: only in 最終
        check_in(at(4, "10:00"), V[4], E, station="D01", kind="day"),  # another day
    ]
    report = hourly_turnout(events, definition, SEXES, day=date(2026, 12, 5))
    total = report.counts[(E, "")]
    assert [c.male for c in total] == [1, 2, 2, 2, 2, 2, 2]
    assert [c.female for c in total] == [0, 1, 1, 1, 1, 2, 3]
    d01 = report.counts[(E, "D01")]
    assert [c.total for c in d01] == [1, 2, 2, 2, 2, 2, 2]
    assert report.stations == ("D01", "D02")
    one = hourly_turnout(events, definition, SEXES, day=date(2026, 12, 5), station_id="D02", times=[time(12, 0)])
    assert [c.total for c in one.counts[(E, "D02")]] == [1, 3]


def test_reasons_by_day_and_reason_with_previous(pdf_text: Callable[..., str]) -> None:
    definition = ElectionDefinition.from_toml_dict(
        definition_dict(reports={"hourly_times": ["12:00"], "previous": {"early_voters": {E: 2}}})
    )

    def declare(voter: str, reason: int, day: int, hhmm: str) -> Event:
        return ev(EventType.DECLARATION, at(day, hhmm), voter=voter, reason=reason, reprint=False)

    events = [
        declare(V[0], 1, 4, "09:00"),
        check_in(at(4, "09:01"), V[0], E),
        declare(V[1], 3, 4, "10:00"),
        check_in(at(4, "10:01"), V[1], E),
        declare(V[2], 3, 5, "00:20"),
        check_in(at(5, "00:30"), V[2], E),  # 12/5 in JST though 12/4 in UTC
        declare(V[3], 2, 5, "09:00"),
        declare(V[3], 6, 5, "09:05"),  # a corrected, reprinted 宣誓書: the latest one counts
        check_in(at(5, "09:06"), V[3], E),
        check_in(at(5, "11:00"), V[4], E),  # no 宣誓書 recorded
        check_in(at(5, "12:00"), V[5], E, kind="day", station="D01"),  # not early
    ]
    rep = early_voting_reasons(events, definition, SEXES)
    rows = [(r.election, r.day.day, r.voters.male, r.voters.female, dict(r.reasons)) for r in rep.rows]
    assert rows == [
        (E, 4, 1, 1, {"1": 1, "3": 1}),
        (E, 5, 2, 1, {"3": 1, "6": 1, "不明": 1}),
    ]
    total = rep.totals(E)
    assert total is not None and total.voters.total == 5
    assert [m.kind for m in rep.mismatches] == ["no_declaration"]
    flat = "".join(pdf_text(report_pdf(rep)).split())
    assert "期日前投票事由調書" in flat and "前回" in flat and "+3" in flat
    rows_csv = list(csv.reader(io.StringIO(report_csv(rep).decode("utf-8-sig"))))
    assert rows_csv[0][:5] == ["選挙ID", "日付", "男", "女", "計"]
    assert rows_csv[2] == [E, "2026-12-05", "2", "1", "3", "0", "0", "1", "0", "0", "1", "1"]


def test_station_record_pdf_and_csv(
    definition: ElectionDefinition, pdf_text: Callable[..., str], render_pages: Callable[[bytes], int]
) -> None:
    events = [
        stock(10),
        check_in(at(5, "10:00"), V[0], E, eid="a"),
        check_in(at(5, "10:02"), V[0], E, eid="b"),
        check_in(at(5, "10:05"), V[1], E),
        reissue(V[1]),
    ]
    rec = station_record(events, definition, SEXES, station_id="E01", day=date(2026, 12, 5))
    pdf = report_pdf(rec)
    assert render_pages(pdf) >= 1
    flat = "".join(pdf_text(pdf).split())
    for expected in (
        "期日前投票録",
        "市役所本庁舎期日前投票所",
        "令和8年12月5日",
        "投票者数",
        "二重交付",
        "書き損じ",
        "投票用紙の照合",
    ):
        assert expected in flat, expected
    rows = list(csv.reader(io.StringIO(report_csv(rec).decode("utf-8-sig"))))
    assert rows[0] == ["選挙ID", "選挙", "項目", "男", "女", "計"]
    assert [E, "衆議院小選挙区選出議員選挙", "投票者数", "1", "1", "2"] in rows
    assert [E, "衆議院小選挙区選出議員選挙", "交付数計", "", "", "4"] in rows
    assert any(r[2] == "不一致:conflict" for r in rows)


def test_hourly_pdf_renders(
    definition: ElectionDefinition, render_pages: Callable[[bytes], int], pdf_text: Callable[..., str]
) -> None:
    events = [check_in(at(5, "09:30"), V[i], E, station="D01", kind="day") for i in range(4)]
    rep = hourly_turnout(events, definition, SEXES, day=date(2026, 12, 5))
    pdf = report_pdf(rep)
    assert render_pages(pdf) >= 1
    flat = "".join(pdf_text(pdf).split())
    assert "時間別投票者数" in flat and "10:00" in flat and "最終" in flat


# -- properties ------------------------------------------------------------------------------------------------------

_actions = st.lists(
    st.tuples(
        st.sampled_from(["check_in", "check_in", "check_in", "reissue", "void"]),
        st.integers(0, 5),  # voter
        st.integers(2, 6),  # day
        st.sampled_from(["E01", "D01"]),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(actions=_actions)
def test_counts_add_up_for_any_event_history(
    definition: ElectionDefinition, actions: list[tuple[str, int, int, str]]
) -> None:
    events: list[Event] = [stock(100)]
    for i, (kind, voter, day, station) in enumerate(actions):
        when = at(day, f"{10 + i // 60:02d}:{i % 60:02d}")
        if kind == "check_in":
            events.append(check_in(when, V[voter], E, station=station, eid=f"e{i}"))
        elif kind == "reissue":
            events.append(
                ev(
                    EventType.BALLOT_REISSUED,
                    when,
                    station=station,
                    voter=V[voter],
                    election=E,
                    reason="汚損",
                    eid=f"e{i}",
                )
            )
        elif i:
            events.append(void(f"e{voter * 7 % i}", day=day, hhmm=when.astimezone().strftime("%H:%M")))
    whole = ballot_issuance(events, definition).for_election(E)
    active = apply_voids(events).events
    standing = [e for e in active if e.type is EventType.CHECK_IN]
    assert whole.check_ins == len(standing)
    assert whole.voters == len({e.voter for e in standing})
    assert whole.issued == whole.check_ins + whole.reissued
    assert whole.remaining == 100 - whole.issued
    assert whole.check_ins - whole.voters == sum(len(c.check_ins) - 1 for c in whole.conflicts)
    # the days of the period add up to the whole, and each day's remaining chains to the next day's
    days = [ballot_issuance(events, definition, day=date(2026, 12, d)).for_election(E) for d in range(1, 8)]
    assert sum(d.issued for d in days) == whole.issued
    assert sum(d.voters for d in days) == whole.voters
    for before, after in itertools.pairwise(days):
        received = after.stock_received - before.stock_received
        assert after.remaining == before.remaining + received - after.issued
