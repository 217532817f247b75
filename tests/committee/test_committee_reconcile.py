"""The committee's figures reconcile with the seeded ledgers: kiosks pushed real sealed events to a real server over
mutual TLS (SQLite and PostgreSQL); every number is compared with what was seeded and with the station reports
(``ballots.reports``) computed independently from the same events."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from committee_support import (
    E_HI,
    E_SHO,
    ELECTION_DAY,
    PKI,
    UNREGISTERED,
    Package,
    Seeded,
    voter_code,
)

from ballots.committee_reports import TurnoutReport
from ballots.events import EventType
from ballots.reports import early_voting_reasons, hourly_turnout, sexes_from_register
from kiosk.committee_client import CommitteeClient, CommitteeClientError, CommitteeTLS
from sync.client import ClientTLS
from sync.server.runner import EmbeddedServer


def test_turnout_matches_the_station_reports_at_every_time(
    committee: CommitteeClient, seeded: Seeded, package: Package
) -> None:
    report = committee.turnout(ELECTION_DAY)
    sexes = sexes_from_register(package.register)
    expected = hourly_turnout(seeded.all_events(), package.definition, sexes, day=ELECTION_DAY)
    assert report.times == (*(f"{t:%H:%M}" for t in package.definition.hourly_times), "最終")
    compared = 0
    for (election, station), series in expected.counts.items():
        got = report.cumulative(election, station or None)
        assert [(c.male, c.female, c.total) for c in got] == [(c.male, c.female, c.total) for c in series], (
            election,
            station,
        )
        compared += 1
    assert compared == 6  # two elections × (D01, D02, all)


@pytest.mark.parametrize(
    ("election", "station", "at_time", "male", "female", "total"),
    [
        # D01: voters 10..19 at D01A_TIMES, 20..24 at D01B_TIMES; voter 12's second 小選挙区 check-in not counted.
        (E_SHO, "D01", "10:00", 3, 2, 5),  # 07:05 v10, 08:00 v20, 09:00 v21, 09:59 v11, 10:00 v12
        (E_SHO, "D01", "最終", 8, 7, 15),
        (E_HI, "D01", "19:30", 8, 6, 14),  # everyone but v19 (19:45)
        # D02: voters 30..35 and the unregistered voter (in 計 only).
        (E_SHO, "D02", "10:00", 1, 0, 1),
        (E_SHO, "D02", "19:30", 3, 2, 6),  # 19:31 v35 not yet
        (E_SHO, "D02", "最終", 3, 3, 7),
        (E_SHO, None, "最終", 11, 10, 22),
        # 比例 at D02 also has the 決定書等所持者 (12:30), a woman by the decision: in 女 and 計, not unknown.
        (E_HI, "D02", "12:00", 2, 1, 4),
        (E_HI, "D02", "最終", 3, 4, 8),
    ],
)
def test_turnout_figures_are_what_was_seeded(
    committee: CommitteeClient,
    election: str,
    station: str | None,
    at_time: str,
    male: int,
    female: int,
    total: int,
) -> None:
    report = committee.turnout(ELECTION_DAY)
    c = report.cumulative(election, station)[report.times.index(at_time)]
    assert (c.male, c.female, c.total) == (male, female, total)


def test_early_voting_by_day_and_reason_matches(committee: CommitteeClient, seeded: Seeded, package: Package) -> None:
    early = committee.early()
    sexes = sexes_from_register(package.register)
    expected = early_voting_reasons(seeded.all_events(), package.definition, sexes)
    for e in (E_SHO, E_HI):
        got = early.by_day(e)
        want = {r.day.isoformat(): r for r in expected.rows if r.election == e}
        assert set(got) == set(want)
        for day, (sc, reasons) in got.items():
            w = want[day]
            assert (sc.male, sc.female, sc.total) == (w.voters.male, w.voters.female, w.voters.total)
            assert {k: n for k, n in reasons.items() if n} == {k: n for k, n in w.reasons.items() if n}
    # seeded: 5 + 5 小選挙区, 5 + 4 比例 (voter 9's voided); voter 3 swore no 宣誓書
    assert early.total(E_SHO).total == 10 and early.total(E_HI).total == 9
    assert early.by_day(E_SHO)["2026-12-05"][1]["不明"] == 1
    # 12/6: voters 5..9 — voter 6's voided second 宣誓書 (事由5) does not count, voter 8's arrived after the check-in
    assert {k: n for k, n in early.by_day(E_SHO)["2026-12-06"][1].items() if n} == {"6": 1, "1": 1, "2": 2, "4": 1}
    assert early.previous(E_SHO) == 7


def test_the_refused_claim_and_the_conflict_are_recorded_with_both_events(
    committee: CommitteeClient, seeded: Seeded
) -> None:
    dup = committee.duplicates()
    (refusal,) = dup.refusals
    assert refusal["voter"] == seeded.refused_voter and refusal["station_id"] == "D02"
    assert refusal["holder_station"] == "D01" and refusal["holder"]["kiosk_id"] == "K-D01a"
    (conflict,) = dup.conflicts
    assert conflict["voter"] == seeded.conflict_voter and conflict["election"] == E_SHO
    assert conflict["first"]["kiosk_id"] == "K-D01a" and conflict["second"]["kiosk_id"] == "K-D01b"
    assert conflict["second"]["offline"] is True
    assert not conflict["first_voided"] and not conflict["second_voided"]


def test_a_resolution_note_is_stored_with_its_author_and_time(committee: CommitteeClient) -> None:
    conflict_id = int(committee.duplicates().conflicts[0]["id"])
    written = committee.add_note("conflict", conflict_id, "第1投票所の管理者に確認済み。二重交付として報告。")
    assert written["author"] == "committee-1"
    notes = next(c for c in committee.duplicates().conflicts if c["id"] == conflict_id)["notes"]
    assert notes[-1]["note"].startswith("第1投票所") and notes[-1]["author"] == "committee-1" and notes[-1]["at"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"subject": "conflict", "subject_id": 999999, "note": "x"}, 404),
        ({"subject": "refusal", "subject_id": 999999, "note": "x"}, 404),
        ({"subject": "ballot", "subject_id": 1, "note": "x"}, 422),
        ({"subject": "conflict", "subject_id": 1, "note": ""}, 422),
        ({"subject": "conflict", "subject_id": 1, "note": "x" * 2001}, 422),
    ],
)
def test_bad_notes_are_refused_and_change_nothing(
    committee: CommitteeClient, body: dict[str, object], status: int
) -> None:
    before = committee.duplicates()
    with pytest.raises(CommitteeClientError) as err:
        committee.add_note(str(body["subject"]), int(body["subject_id"]), str(body["note"]))  # type: ignore[call-overload]
    assert err.value.status == status
    assert committee.duplicates() == before


def test_void_and_override_log(committee: CommitteeClient, seeded: Seeded) -> None:
    rows = committee.voids()
    kinds = [(r["type"], r["station_id"], r["staff_id"]) for r in rows]
    assert kinds == [("void", "E01", "m01"), ("void", "E01", "m01"), ("override", "D02", "m01")]
    assert rows[0]["target_type"] == EventType.DECLARATION.value and rows[0]["reason"] == "事由の誤り"
    assert rows[1]["target_type"] == EventType.CHECK_IN.value and rows[1]["reason"] == "誤って受付"
    assert rows[2]["voter"] == seeded.refused_voter and rows[2]["stop"] == "already_voted"


def test_record_views_of_one_voter_and_the_lookup_itself_is_recorded(
    committee: CommitteeClient, seeded: Seeded
) -> None:
    first = committee.access(seeded.viewed_voter)
    assert [(v["station_id"], v["kiosk_id"], v["purpose"]) for v in first.views] == [
        ("D01", "K-D01a", "本人確認"),
        ("D02", "K-D02", "検索"),
    ]
    second = committee.access(seeded.viewed_voter)
    assert len(second.lookups) == len(first.lookups) + 1
    assert second.lookups[-1]["client_id"] == "committee-1"
    assert committee.access(voter_code(UNREGISTERED)).views == ()


def test_station_states(
    committee: CommitteeClient, server: EmbeddedServer, committee_pki: PKI, package: Package
) -> None:
    # A kiosk that holds another election's package is refused and shows as a mismatch.
    tls = ClientTLS.from_dir(committee_pki.kiosk("K-WRONG"))
    with httpx.Client(base_url=server.url, verify=tls.ssl_context(), headers={"X-Uketsuke-Package": "0" * 64}) as c:
        r = c.post(
            "/v1/heartbeat",
            json={"pending": 0, "replica_cursor": 0, "client_time": "2026-12-13T01:00:00+00:00"},
        )
        assert r.status_code == 409
    rows = {r["kiosk_id"] or r["station_id"]: r for r in committee.stations()}
    for k in ("K-E01", "K-E01b", "K-D01a", "K-D01b", "K-D02"):
        assert rows[k]["online"] and rows[k]["pending"] == 0 and rows[k]["package_match"] is True
        assert rows[k]["skew_ms"] is not None
    assert rows["K-WRONG"]["package_match"] is False and not rows["K-WRONG"]["online"]
    assert rows["D03"]["kiosk_id"] is None and rows["D03"]["station_name"] == "第3投票所"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/committee/election"),
        ("GET", "/v1/committee/stations"),
        ("GET", "/v1/committee/overview"),
        ("GET", "/v1/committee/turnout"),
        ("GET", "/v1/committee/early"),
        ("GET", "/v1/committee/duplicates"),
        ("GET", "/v1/committee/voids"),
        ("POST", "/v1/committee/access"),
        ("POST", "/v1/committee/notes"),
    ],
)
def test_a_kiosk_certificate_is_refused(
    server: EmbeddedServer, committee_pki: PKI, package: Package, seeded: Seeded, method: str, path: str
) -> None:
    tls = ClientTLS.from_dir(committee_pki.kiosk("K-D01a"))
    with httpx.Client(
        base_url=server.url, verify=tls.ssl_context(), headers={"X-Uketsuke-Package": package.package_hash}
    ) as c:
        body = {"voter": seeded.viewed_voter} if path.endswith("access") else None
        r = c.request(method, path, json=body)
    assert r.status_code == 403 and "committee certificate required" in r.text


def test_the_client_refuses_a_wrong_ca_before_sending_anything(
    server: EmbeddedServer, committee_pki: PKI, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = PKI(tmp_path_factory.mktemp("other-ca"))
    tls = CommitteeTLS.from_dirs(committee_pki.committee(), ca=other.ca)
    with CommitteeClient(server.url, tls) as c, pytest.raises(CommitteeClientError, match="cannot reach"):
        c.facts()


def test_turnout_of_a_day_without_voters_is_zero(committee: CommitteeClient) -> None:
    report: TurnoutReport = committee.turnout(date(2026, 12, 1))
    assert report.rows == () and report.cumulative(E_SHO, None)[-1].total == 0
