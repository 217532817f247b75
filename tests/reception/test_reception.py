"""kiosk.reception: the workflow run against a real register index, a real ledger and the memory printer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from reception_support import EARLY_DAY, ELECTION_DAY, local, make_desk, make_voter

from ballots.events import CheckInKind, Event, EventType, new_event_id
from ballots.model import Sex
from ballots.printing import MemoryPrinter, PrinterProblem, PrintService
from ballots.register import RegisterIndex
from ballots.rules import VotedRecord
from kiosk.reception import Reception, ReceptionError, claim_with
from kiosk.workflow import (
    BarcodeScanned,
    CandidateChosen,
    CardRead,
    ClaimAnswer,
    ClaimStatus,
    Confirmed,
    DecisionHolder,
    Finish,
    ManagerAuth,
    ManagerOverride,
    ManualSearch,
    ReasonChosen,
    Reprint,
    Screen,
    SignIn,
    SignOut,
)
from sync.keys import generate_key
from sync.ledger import Ledger

TARO = make_voter()
# Same name in the new form, another address and birth date: a manual search for タカハシ finds both.
TARO2 = make_voter(
    code="100000000000002", name="高橋　太郎", birth_date=date(1990, 5, 5), address="東京都架空市東町３番"
)
HANAKO = make_voter(
    code="100000000000003",
    name="山田　花子",
    kana="ヤマダ　ハナコ",
    precinct="002",
    sex=Sex.FEMALE,
    birth_date=date(1975, 3, 3),
    address="東京都架空市西町５番６号",
    address_extra="",
)
BOSS = ManagerAuth("m01", "9999")


class Clock:
    """A settable clock (the reception reads time only through it)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "ledger.db", kiosk_id="K1", key=generate_key()) as led:
        yield led


@pytest.fixture
def register() -> RegisterIndex:
    return RegisterIndex.from_voters([TARO, TARO2, HANAKO])


def make_reception(
    station: str,
    register: RegisterIndex,
    ledger: Ledger,
    at: datetime,
    claim: Callable[[Event], ClaimAnswer] | None = None,
    printer: MemoryPrinter | None = None,
) -> tuple[Reception, Clock]:
    clock = Clock(at)
    service = PrintService(printer or MemoryPrinter())
    rec = Reception(make_desk(station), register, ledger, claim=claim, printer=service, clock=clock)
    rec.handle(SignIn("c01", "1111"))
    return rec, clock


def test_early_voter_by_barcode_end_to_end(register: RegisterIndex, ledger: Ledger) -> None:
    printer = MemoryPrinter()
    rec, _ = make_reception("E01", register, ledger, local(EARLY_DAY), printer=printer)
    assert rec.handle(BarcodeScanned(TARO.code + "0042")).state.screen is Screen.CONFIRM_IDENTITY
    assert rec.handle(Confirmed()).state.screen is Screen.CHOOSE_REASON
    report = rec.handle(ReasonChosen(1))
    assert report.state.screen is Screen.ISSUE
    # No server configured: every claim is offline and the check-ins say so.
    assert {a.status for a in report.claims.values()} == {ClaimStatus.OFFLINE}
    stored = ledger.events()
    assert [e.type for e in stored] == [
        EventType.STAFF_SIGN_IN,
        EventType.RECORD_VIEWED,
        EventType.DECLARATION,
        *[EventType.CHECK_IN] * 5,
    ]
    assert all(e.data["offline"] is True for e in stored if e.type is EventType.CHECK_IN)
    (job,) = printer.jobs
    assert job.pdf is not None and job.pdf.startswith(b"%PDF")
    assert report.printed and report.printed[0].title == f"宣誓書-{TARO.code}"
    assert ledger.verify().ok


def test_second_visit_is_stopped_from_the_ledger(register: RegisterIndex, ledger: Ledger) -> None:
    """The classic incident: first without the 入場券 (manual search), then again with it."""
    rec, clock = make_reception("D01", register, ledger, local(ELECTION_DAY, 9))
    report = rec.handle(ManualSearch("たかはし"))
    assert report.state.screen is Screen.CHOOSE_CANDIDATE
    assert {v.code for v in report.state.candidates} == {TARO.code, TARO2.code}
    rec.handle(CandidateChosen(TARO.code))
    assert rec.handle(Confirmed()).state.screen is Screen.ISSUE
    rec.handle(Finish())

    clock.at = local(ELECTION_DAY, 11)
    rec.handle(BarcodeScanned(TARO.code))
    stop = rec.handle(Confirmed()).state
    assert stop.screen is Screen.STOP
    assert any("第一小学校投票所" in line and "9時00分" in line for line in stop.lines)
    checkins = [e for e in ledger.events() if e.type is EventType.CHECK_IN]
    assert len(checkins) == 5  # nothing more was recorded


def test_search_by_birth_date_alone_lists_everyone_born_that_day(register: RegisterIndex, ledger: Ledger) -> None:
    rec, _ = make_reception("D01", register, ledger, local(ELECTION_DAY))
    state = rec.handle(ManualSearch("", TARO.birth_date)).state
    assert state.screen is Screen.CHOOSE_CANDIDATE
    assert [v.code for v in state.candidates] == [TARO.code]


def test_card_read_unique_match_and_wrong_station(register: RegisterIndex, ledger: Ledger) -> None:
    rec, _ = make_reception("D01", register, ledger, local(ELECTION_DAY))
    report = rec.handle(CardRead("山田　花子", HANAKO.address, HANAKO.birth_date, "2"))
    assert report.state.screen is Screen.CONFIRM_IDENTITY and report.state.voter == HANAKO
    state = rec.handle(Confirmed()).state
    assert state.screen is Screen.REFUSED and "第二公民館投票所" in state.notice


def test_barcode_not_in_register(register: RegisterIndex, ledger: Ledger) -> None:
    rec, _ = make_reception("D01", register, ledger, local(ELECTION_DAY))
    assert rec.handle(BarcodeScanned("999999999999999")).state.screen is Screen.NOT_FOUND


def test_server_answers_are_used_and_override_is_recorded(register: RegisterIndex, ledger: Ledger) -> None:
    elsewhere = VotedRecord("shu-sho", "C01", local(ELECTION_DAY, 8), CheckInKind.DAY, event_id="x1")
    claimed: list[Event] = []

    def server(ev: Event) -> ClaimAnswer:
        claimed.append(ev)
        if ev.election == "shu-sho":
            return ClaimAnswer(ClaimStatus.ALREADY_VOTED, elsewhere)
        return ClaimAnswer(ClaimStatus.ACCEPTED)

    rec, _ = make_reception("D01", register, ledger, local(ELECTION_DAY, 10), claim=server)
    rec.handle(BarcodeScanned(TARO.code))
    state = rec.handle(Confirmed()).state
    assert state.screen is Screen.STOP and any("駅前共通投票所" in line for line in state.lines)
    assert not [e for e in ledger.events() if e.type is EventType.CHECK_IN]
    state = rec.handle(ManagerOverride(BOSS, "共通投票所の誤登録を電話で確認")).state
    assert state.screen is Screen.ISSUE
    assert len(claimed) == 5  # the override claims nothing again
    types = [e.type for e in ledger.events()]
    assert types.count(EventType.OVERRIDE) == 1 and types.count(EventType.CHECK_IN) == 5
    stored = {e.event_id for e in ledger.events()}
    assert {e.event_id for e in claimed if e.election != "shu-sho"} <= stored


def test_server_refusing_the_request_is_shown_not_ignored(register: RegisterIndex, ledger: Ledger) -> None:
    def refusing(ev: Event) -> ClaimAnswer:
        raise ReceptionError("package hash mismatch (409)")

    rec, _ = make_reception("D01", register, ledger, local(ELECTION_DAY), claim=refusing)
    rec.handle(BarcodeScanned(TARO.code))
    state = rec.handle(Confirmed()).state
    assert state.screen is Screen.CLAIMING
    assert state.error and "package hash mismatch" in state.error
    assert not [e for e in ledger.events() if e.type is EventType.CHECK_IN]


def test_printer_failure_does_not_stop_the_reception(register: RegisterIndex, ledger: Ledger) -> None:
    printer = MemoryPrinter()
    printer.problem = PrinterProblem.OUT_OF_PAPER
    rec, _ = make_reception("E01", register, ledger, local(EARLY_DAY), printer=printer)
    rec.handle(BarcodeScanned(TARO.code))
    rec.handle(Confirmed())
    report = rec.handle(ReasonChosen(3))
    assert report.state.screen is Screen.ISSUE
    assert report.printed and report.printed[0].status.value == "failed"


def test_ledger_refusal_keeps_the_desk_where_it_was(register: RegisterIndex, tmp_path: Path) -> None:
    led = Ledger.open(tmp_path / "l.db", kiosk_id="K1", key=generate_key())
    led.close()
    readonly = Ledger.open_readonly(tmp_path / "l.db")
    rec = Reception(make_desk("D01"), register, readonly, clock=Clock(local(ELECTION_DAY)))
    report = rec.handle(SignIn("c01", "1111"))
    assert report.state.screen is Screen.SIGNED_OUT
    assert report.state.error and "記録できませんでした" in report.state.error


class _Outcome:
    def __init__(self, status: str, holder: dict[str, str] | None = None) -> None:
        self.status = status
        self.holder = holder


class _Client:
    """Shaped like sync.client.SyncClient.claim's answers."""

    def __init__(self, outcome: _Outcome) -> None:
        self.outcome = outcome

    def claim(self, ev: Event) -> _Outcome:
        return self.outcome


@pytest.mark.parametrize(
    "outcome",
    [_Outcome("already_voted"), _Outcome("already_voted", {"station_id": "E01"}), _Outcome("maybe")],
    ids=["already-voted-without-holder", "holder-without-time", "unknown-result"],
)
def test_claim_with_refuses_answers_it_cannot_trust(outcome: _Outcome) -> None:
    ev = Event(EventType.CHECK_IN, "D01", "c01", local(ELECTION_DAY), "100000000000001", "shu-sho", {"kind": "day"})
    with pytest.raises(ReceptionError):
        claim_with(_Client(outcome))(ev)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (_Outcome("accepted"), ClaimStatus.ACCEPTED),
        (_Outcome("offline"), ClaimStatus.OFFLINE),
        (
            _Outcome(
                "already_voted",
                {"station_id": "E01", "at": "2026-12-08T01:00:00+00:00", "kind": "early", "event_id": "abc"},
            ),
            ClaimStatus.ALREADY_VOTED,
        ),
    ],
    ids=["accepted", "offline", "already-voted"],
)
def test_claim_with_adapts_the_sync_client(outcome: _Outcome, status: ClaimStatus) -> None:
    ev = Event(EventType.CHECK_IN, "D01", "c01", local(ELECTION_DAY), "100000000000001", "shu-sho", {"kind": "day"})
    answer = claim_with(_Client(outcome))(ev)
    assert answer.status is status
    if status is ClaimStatus.ALREADY_VOTED:
        assert answer.existing is not None
        assert answer.existing.station_id == "E01" and answer.existing.kind is CheckInKind.EARLY
        assert answer.existing.at == local(EARLY_DAY, 10) - timedelta(0)
        assert replace(answer.existing, event_id=None).election == "shu-sho"


def test_reprint_prints_a_marked_form_and_records_it(register: RegisterIndex, ledger: Ledger) -> None:
    printer = MemoryPrinter()
    rec, _ = make_reception("E01", register, ledger, local(EARLY_DAY), printer=printer)
    rec.handle(BarcodeScanned(TARO.code))
    rec.handle(Confirmed())
    rec.handle(ReasonChosen(4))
    rec.handle(Finish())
    (first,) = [e for e in ledger.events() if e.type is EventType.DECLARATION]
    report = rec.handle(Reprint(BOSS, first, TARO))
    assert report.state.screen is Screen.READY and report.state.error is None
    (again,) = report.recorded
    assert again.data == {"reason": 4, "reprint": True, "original": first.event_id}
    assert [j.title for j in printer.jobs] == [f"宣誓書-{TARO.code}", f"宣誓書-{TARO.code}（再印刷）"]
    assert printer.jobs[1].pdf is not None and printer.jobs[1].pdf.startswith(b"%PDF")
    assert ledger.verify().ok


def test_sign_in_lock_is_rebuilt_from_the_ledger(register: RegisterIndex, ledger: Ledger) -> None:
    rec, _ = make_reception("E01", register, ledger, local(EARLY_DAY))
    rec.handle(SignOut())
    for _ in range(5):
        rec.handle(SignIn("c02", "0000"))
    # A restarted desk (fresh event ids, as uuid4 in production) starts with the counts from its ledger.
    desk = replace(make_desk("E01"), new_id=new_event_id)
    restarted = Reception(desk, register, ledger, clock=Clock(local(EARLY_DAY)))
    assert restarted.state.sign_in_failures == {"c02": 5}
    state = restarted.handle(SignIn("c02", "2222")).state
    assert state.screen is Screen.SIGNED_OUT and state.error is not None and "ロック" in state.error


def test_a_decision_key_that_is_a_register_entry_is_refused(ledger: Ledger) -> None:
    clash = make_voter(code="900000000000812")
    rec, _ = make_reception("D01", RegisterIndex.from_voters([clash]), ledger, local(ELECTION_DAY, 9))
    before = rec.state
    report = rec.handle(DecisionHolder(BOSS, "令和8年選管決定第12号", Sex.FEMALE))
    assert report.recorded == () and report.state.error is not None and "重なります" in report.state.error
    assert report.state == replace(before, error=report.state.error)
