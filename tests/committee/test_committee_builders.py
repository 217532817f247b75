"""Report builders and time buckets without a server: table tests, and property tests over whatever JSON a server
(or a man in the middle with a committee certificate) might send."""

from __future__ import annotations

import itertools
from datetime import date, time
from typing import Any

import pytest
from committee_support import DEFINITION, HOURLY
from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.committee_reports import (
    CommitteeFacts,
    CommitteeReportError,
    ConflictsReport,
    EarlyReport,
    TurnoutReport,
    jst_hm,
)
from ballots.reports import report_csv, report_pdf
from sync.server.committee import turnout_buckets

FACTS_JSON: dict[str, Any] = {
    "package_hash": "ab" * 32,
    "municipality_name": "架空市",
    "committee_name": "架空市選挙管理委員会",
    "election_day": "2026-12-13",
    "elections": [{"id": "shu-sho", "name": "衆議院小選挙区選出議員選挙", "short_name": "小選挙区", "order": 1}],
    "stations": [{"id": "D01", "name": "第1投票所"}, {"id": "D02", "name": "第2投票所"}],
    "staff": {"c01": "受付　花子"},
    "hourly_times": HOURLY,
    "previous": DEFINITION["reports"]["previous"],
}
FACTS = CommitteeFacts.from_json(FACTS_JSON)


@pytest.mark.parametrize(
    ("times", "labels_include", "count"),
    [
        ([], ["01:00", "23:00", "24:00"], 24),
        (["10:00", "20:00"], ["10:00", "20:00", "24:00"], 24),  # whole hours are already boundaries
        (["19:30"], ["19:00", "19:30", "20:00"], 25),
        (["11:15", "19:30"], ["11:15", "19:30"], 26),
    ],
)
def test_turnout_buckets_end_at_every_hour_and_reporting_time(
    times: list[str], labels_include: list[str], count: int
) -> None:
    b = turnout_buckets(date(2026, 12, 13), [time.fromisoformat(t) for t in times])
    assert len(b.labels) == count == len(b.bounds) + 1
    assert all(x in b.labels for x in labels_include)
    assert list(b.labels) == sorted(b.labels)


@pytest.mark.parametrize(
    ("text", "with_date", "expected"),
    [
        ("2026-12-13T01:00:00.000000+00:00", False, "10:00"),
        ("2026-12-12T15:00:00.000000+00:00", True, "12/13 00:00"),
        ("2026-12-13T10:00:00+09:00", False, "10:00"),
        ("", False, "—"),
        (None, False, "—"),
        ("yesterday", False, "—"),
    ],
)
def test_jst_hm(text: str | None, with_date: bool, expected: str) -> None:
    assert jst_hm(text, with_date) == expected


def _turnout(rows: list[list[Any]]) -> TurnoutReport:
    labels = list(turnout_buckets(date(2026, 12, 13), FACTS.hourly_times).labels)
    return TurnoutReport.from_json(FACTS, {"day": "2026-12-13", "labels": labels, "rows": rows})


def test_cumulative_counts_at_the_reporting_times_and_the_previous_election() -> None:
    labels = list(turnout_buckets(date(2026, 12, 13), FACTS.hourly_times).labels)
    ten = labels.index("10:00")
    r = _turnout([["shu-sho", "D01", ten, "M", 2], ["shu-sho", "D01", ten + 1, "F", 3], ["shu-sho", "D02", 0, "", 1]])
    series = r.cumulative("shu-sho", None)
    assert [(c.male, c.female, c.total) for c in series[:2]] == [(2, 0, 3), (2, 3, 6)]
    rows = {row[0]: row for row in r.tables()[0].rows if row[0] in ("前回", "前回比")}
    assert rows["前回"][2] == "2" and rows["前回比"][2] == "+1"  # 3 voters by 10:00 against 2 last time
    assert rows["前回"][r.times.index("19:30") + 2] == "—"  # no previous figure for 19:30


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"election_day": "13/12/2026"}, "election_day"),
        ({"election_day": None}, "election_day"),
        ({"hourly_times": ["25:00"]}, "hourly_times[0]"),
        ({"elections": [{"name": "x"}]}, "elections[0]: 'id' is missing"),
    ],
)
def test_bad_election_facts_name_the_field(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(CommitteeReportError, match=message.replace("[", r"\[").replace("]", r"\]")):
        CommitteeFacts.from_json({**FACTS_JSON, **patch})


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 50) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(body=_json | st.fixed_dictionaries({"day": st.just("2026-12-13"), "labels": _json, "rows": _json}))
def test_any_turnout_answer_is_a_report_or_a_named_refusal(body: Any) -> None:
    try:
        report = TurnoutReport.from_json(FACTS, body)
    except CommitteeReportError as exc:
        assert str(exc)
        return
    report.tables()
    report.csv_rows()


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["shu-sho", "other"]),
            st.sampled_from(["D01", "D02", "X"]),
            st.integers(0, 24),
            st.sampled_from(["M", "F", ""]),
            st.integers(1, 50),
        ),
        max_size=40,
    )
)
def test_final_column_is_the_sum_of_all_rows(rows: list[tuple[str, str, int, str, int]]) -> None:
    r = _turnout([list(x) for x in rows])
    expected = sum(n for e, _s, _b, _x, n in rows if e == "shu-sho")
    assert r.cumulative("shu-sho", None)[-1].total == expected
    for station in ("D01", "D02", "X"):
        series = r.cumulative("shu-sho", station)
        assert all(a.total <= b.total for a, b in itertools.pairwise(series))  # cumulative never falls


def test_reports_render_without_any_data() -> None:
    early = EarlyReport.from_json(FACTS, {"labels": [], "rows": []})
    dup = ConflictsReport.from_json(FACTS, {"refusals": [], "conflicts": []})
    for report in (_turnout([]), early, dup):
        assert report_pdf(report).startswith(b"%PDF")
        assert report_csv(report).startswith(b"\xef\xbb\xbf")
