"""kiosk.workflow: every transition as a table row (actions in, screen + recorded events + effects out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reception_support import EARLY_DAY, ELECTION_DAY, local, make_desk, make_voter, voted

from ballots.events import CheckInKind, Event, EventType, validate_event
from ballots.model import AbsenteeStatus, ElectionKind, Sex, Voter, decision_holder_key, is_decision_holder_key
from ballots.rules import VotedRecord
from kiosk.workflow import (
    Action,
    BarcodeScanned,
    Braille,
    Cancel,
    CandidateChosen,
    CardRead,
    Claim,
    ClaimAnswer,
    ClaimAnswered,
    ClaimStatus,
    Confirmed,
    DecisionHolder,
    Desk,
    Effect,
    FindVoter,
    Finish,
    HistoryLoaded,
    IdSource,
    LoadHistory,
    ManagerAuth,
    ManagerOverride,
    ManualSearch,
    NotThisPerson,
    PhotoChecked,
    PrintDeclaration,
    Provisional,
    ProxyVote,
    ReasonChosen,
    ReceptionState,
    Record,
    Refuse,
    Reissue,
    Reprint,
    Screen,
    SignIn,
    SignOut,
    UnlockStaff,
    Void,
    VotersFound,
    allowed_actions,
    initial_state,
    sign_in_failures_from,
    step,
)

ALL = ("shu-sho", "shu-hi", "shinsa", "ken", "shi")
V = make_voter()
OTHER = make_voter(code="100000000000002", name="高橋　太郎", address="東京都架空市本町１丁目２番４号")
BOSS = ManagerAuth("m01", "9999")
CLERK_AS_BOSS = ManagerAuth("c01", "1111")
BAD_PIN = ManagerAuth("m01", "0000")


@dataclass
class Run:
    """The outcome of a sequence of actions."""

    state: ReceptionState
    effects: list[Effect] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def events(self) -> list[EventType]:
        return [e.type for eff in self.effects if isinstance(eff, Record) for e in eff.events]

    def recorded(self, type_: EventType) -> list[Event]:
        return [e for eff in self.effects if isinstance(eff, Record) for e in eff.events if e.type is type_]


def run(desk: Desk, actions: Sequence[Action], now: datetime) -> Run:
    state = initial_state()
    out = Run(state)
    for action in actions:
        t = step(desk, state, action, now)
        state = t.state
        out.effects.extend(t.effects)
        if state.error:
            out.errors.append(state.error)
    out.state = state
    return out


def history(voter: Voter = V, *records: VotedRecord) -> HistoryLoaded:
    return HistoryLoaded(voter.code, tuple(records))


def accepted(*ids: str, voter: Voter = V) -> ClaimAnswered:
    return ClaimAnswered(voter.code, {i: ClaimAnswer(ClaimStatus.ACCEPTED) for i in ids})


def offline(*ids: str, voter: Voter = V) -> ClaimAnswered:
    return ClaimAnswered(voter.code, {i: ClaimAnswer(ClaimStatus.OFFLINE) for i in ids})


SIGN = [SignIn("c01", "1111")]
FOUND = [*SIGN, BarcodeScanned("100000000000001"), VotersFound((V,), exact=True)]
CHECK = [*FOUND, Confirmed()]
EARLY_ISSUED = [*CHECK, history(), ReasonChosen(2), accepted(*ALL)]
DAY_ISSUED = [*CHECK, history(), accepted(*ALL)]
ALREADY = [*CHECK, history(V, voted("shu-sho", "E01", date(2026, 12, 5)), voted("shu-hi", "E01", date(2026, 12, 5)))]
FULLY = [*CHECK, history(V, *(voted(e, "E01", date(2026, 12, 9)) for e in ALL))]
ABSENT_V = make_voter(absentee=AbsenteeStatus.ISSUED)
ABSENTEE = [*SIGN, BarcodeScanned(ABSENT_V.code), VotersFound((ABSENT_V,), exact=True), Confirmed(), history(ABSENT_V)]
T = EventType

# (id, station, when, actions, screen, recorded event types, error substring or None)
ROWS: list[tuple[str, str, date, list[Action], Screen, list[EventType], str | None]] = [
    ("sign-in", "E01", EARLY_DAY, SIGN, Screen.READY, [T.STAFF_SIGN_IN], None),
    ("sign-in-wrong-pin", "E01", EARLY_DAY, [SignIn("c01", "9999")], Screen.SIGNED_OUT, [T.STAFF_SIGN_IN_FAILED],
     "あと4回"),
    ("sign-in-fifth-wrong-pin-locks", "E01", EARLY_DAY, [SignIn("c01", "9")] * 5, Screen.SIGNED_OUT,
     [T.STAFF_SIGN_IN_FAILED] * 5, "ロックされています"),
    ("sign-in-locked-even-with-right-pin", "E01", EARLY_DAY, [*[SignIn("c01", "9")] * 5, SignIn("c01", "1111")],
     Screen.SIGNED_OUT, [T.STAFF_SIGN_IN_FAILED] * 6, "ロックされています"),
    ("sign-in-success-resets-count", "E01", EARLY_DAY,
     [*[SignIn("c01", "9")] * 4, SignIn("c01", "1111"), SignOut(), SignIn("c01", "9")], Screen.SIGNED_OUT,
     [*[T.STAFF_SIGN_IN_FAILED] * 4, T.STAFF_SIGN_IN, T.STAFF_SIGN_OUT, T.STAFF_SIGN_IN_FAILED], "あと4回"),
    ("sign-in-lock-is-per-staff-id", "E01", EARLY_DAY, [*[SignIn("c01", "9")] * 5, SignIn("c02", "2222")],
     Screen.READY, [*[T.STAFF_SIGN_IN_FAILED] * 5, T.STAFF_SIGN_IN], "ロックされています"),
    ("manager-unlocks-then-clerk-signs-in", "E01", EARLY_DAY,
     [*[SignIn("c01", "9")] * 5, SignIn("m01", "9999"), UnlockStaff(BOSS, "c01"), SignOut(), SignIn("c01", "1111")],
     Screen.READY, [*[T.STAFF_SIGN_IN_FAILED] * 5, T.STAFF_SIGN_IN, T.STAFF_UNLOCKED, T.STAFF_SIGN_OUT,
                    T.STAFF_SIGN_IN], "ロックされています"),
    ("unlock-needs-a-manager-pin", "E01", EARLY_DAY,
     [*[SignIn("c01", "9")] * 5, SignIn("m01", "9999"), UnlockStaff(BAD_PIN, "c01")], Screen.READY,
     [*[T.STAFF_SIGN_IN_FAILED] * 5, T.STAFF_SIGN_IN], "PINが違います"),
    ("unlock-of-an-unlocked-id-refused", "E01", EARLY_DAY, [SignIn("m01", "9999"), UnlockStaff(BOSS, "c01")],
     Screen.READY, [T.STAFF_SIGN_IN], "ロックされていません"),
    ("unlock-of-an-unknown-id-refused", "E01", EARLY_DAY, [SignIn("m01", "9999"), UnlockStaff(BOSS, "zz")],
     Screen.READY, [T.STAFF_SIGN_IN], "登録されていません"),
    ("pin-card-read-offers-photo", "E01", EARLY_DAY,
     [*SIGN, CardRead(V.name, V.address, V.birth_date, "1"), VotersFound((V,), exact=True), PhotoChecked()],
     Screen.CONFIRM_IDENTITY, [T.STAFF_SIGN_IN, T.RECORD_VIEWED], None),
    ("photo-read-refused-when-photo-came-with-card", "E01", EARLY_DAY,
     [*SIGN, CardRead(V.name, V.address, V.birth_date, "1", photo=True), VotersFound((V,), exact=True),
      PhotoChecked()], Screen.CONFIRM_IDENTITY, [T.STAFF_SIGN_IN, T.RECORD_VIEWED], "顔写真はすでに"),
    ("photo-read-refused-for-entry-ticket", "E01", EARLY_DAY, [*FOUND, PhotoChecked()], Screen.CONFIRM_IDENTITY,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED], "この確認方法では読めません"),
    ("sign-in-unknown-staff", "E01", EARLY_DAY, [SignIn("x9", "1111")], Screen.SIGNED_OUT, [], "登録されていません"),
    ("nothing-before-sign-in", "E01", EARLY_DAY, [BarcodeScanned("100000000000001")], Screen.SIGNED_OUT, [],
     "この画面では"),
    ("handover-to-next-clerk", "E01", EARLY_DAY, [*SIGN, SignIn("c02", "2222")], Screen.READY,
     [T.STAFF_SIGN_IN, T.STAFF_SIGN_OUT, T.STAFF_SIGN_IN], None),
    ("sign-out", "E01", EARLY_DAY, [*SIGN, SignOut()], Screen.SIGNED_OUT, [T.STAFF_SIGN_IN, T.STAFF_SIGN_OUT], None),
    ("barcode-garbage", "E01", EARLY_DAY, [*SIGN, BarcodeScanned("12AB")], Screen.READY, [T.STAFF_SIGN_IN],
     "バーコード"),
    ("barcode-full-width-digits", "E01", EARLY_DAY, [*SIGN, BarcodeScanned("１０００００００００００００１９９")],
     Screen.SEARCHING, [T.STAFF_SIGN_IN], None),
    ("manual-search-empty", "E01", EARLY_DAY, [*SIGN, ManualSearch("  ")], Screen.READY, [T.STAFF_SIGN_IN], "入力"),
    ("manual-search-birth-date-only", "E01", EARLY_DAY, [*SIGN, ManualSearch("", date(1986, 4, 1))], Screen.SEARCHING,
     [T.STAFF_SIGN_IN], None),
    ("card-read", "E01", EARLY_DAY, [*SIGN, CardRead("髙橋　太郎", V.address, V.birth_date, "1")], Screen.SEARCHING,
     [T.STAFF_SIGN_IN], None),
    ("not-in-register", "E01", EARLY_DAY, [*SIGN, ManualSearch("ヤマダ"), VotersFound(())], Screen.NOT_FOUND,
     [T.STAFF_SIGN_IN], None),
    ("unique-match-shows-record", "E01", EARLY_DAY, FOUND, Screen.CONFIRM_IDENTITY,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED], None),
    ("one-candidate-not-definitive-is-not-accepted", "E01", EARLY_DAY,
     [*SIGN, ManualSearch("タカハシ"), VotersFound((V,), exact=False)], Screen.CHOOSE_CANDIDATE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED], None),
    ("ambiguous-card-match-clerk-chooses", "E01", EARLY_DAY,
     [*SIGN, ManualSearch("タカハシ"), VotersFound((V, OTHER), exact=True)], Screen.CHOOSE_CANDIDATE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.RECORD_VIEWED], None),
    ("candidate-chosen", "E01", EARLY_DAY,
     [*SIGN, ManualSearch("タカハシ"), VotersFound((V, OTHER)), CandidateChosen(OTHER.code)], Screen.CONFIRM_IDENTITY,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.RECORD_VIEWED, T.RECORD_VIEWED], None),
    ("candidate-not-offered", "E01", EARLY_DAY,
     [*SIGN, ManualSearch("タカハシ"), VotersFound((V, OTHER)), CandidateChosen("999999999999999")],
     Screen.CHOOSE_CANDIDATE, [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.RECORD_VIEWED], "候補の中にありません"),
    ("confirmed-loads-history", "E01", EARLY_DAY, CHECK, Screen.CHECKING, [T.STAFF_SIGN_IN, T.RECORD_VIEWED], None),
    ("history-of-someone-else", "E01", EARLY_DAY, [*CHECK, history(OTHER)], Screen.CHECKING,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED], "別の選挙人"),
    ("cancel-mid-way", "E01", EARLY_DAY, [*CHECK, Cancel()], Screen.READY, [T.STAFF_SIGN_IN, T.RECORD_VIEWED], None),
    ("not-this-person", "E01", EARLY_DAY, [*FOUND, NotThisPerson()], Screen.IDENTITY_DOUBT,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED], None),
    ("doubt-refused", "E01", EARLY_DAY, [*FOUND, NotThisPerson(), Refuse(BOSS, "本人と認められない", "法50条")],
     Screen.READY, [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.REFUSAL], None),
    ("refusal-needs-a-manager", "E01", EARLY_DAY, [*FOUND, NotThisPerson(), Refuse(CLERK_AS_BOSS, "x", "法50条")],
     Screen.IDENTITY_DOUBT, [T.STAFF_SIGN_IN, T.RECORD_VIEWED], "投票管理者ではありません"),
    ("refusal-wrong-manager-pin", "E01", EARLY_DAY, [*FOUND, NotThisPerson(), Refuse(BAD_PIN, "x", "法50条")],
     Screen.IDENTITY_DOUBT, [T.STAFF_SIGN_IN, T.RECORD_VIEWED], "PINが違います"),
    ("refusal-needs-article", "E01", EARLY_DAY, [*FOUND, NotThisPerson(), Refuse(BOSS, "本人と認められない", "")],
     Screen.IDENTITY_DOUBT, [T.STAFF_SIGN_IN, T.RECORD_VIEWED], "根拠条文"),
    ("provisional-vote", "D01", ELECTION_DAY,
     [*FOUND, NotThisPerson(), Provisional(BOSS, "選挙人が本人であると主張"), history()], Screen.ISSUE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.PROVISIONAL], None),
    ("early-asks-reason", "E01", EARLY_DAY, [*CHECK, history()], Screen.CHOOSE_REASON,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED], None),
    ("reason-out-of-range", "E01", EARLY_DAY, [*CHECK, history(), ReasonChosen(7)], Screen.CHOOSE_REASON,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED], "1から6"),
    ("reason-then-claim", "E01", EARLY_DAY, [*CHECK, history(), ReasonChosen(2)], Screen.CLAIMING,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED], None),
    ("early-issued", "E01", EARLY_DAY, EARLY_ISSUED, Screen.ISSUE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.DECLARATION, *[T.CHECK_IN] * 5], None),
    ("day-no-reason-needed", "D01", ELECTION_DAY, [*CHECK, history()], Screen.CLAIMING,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED], None),
    ("day-issued", "D01", ELECTION_DAY, DAY_ISSUED, Screen.ISSUE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, *[T.CHECK_IN] * 5], None),
    ("already-voted-stops", "D01", ELECTION_DAY, ALREADY, Screen.STOP,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN], None),
    ("partly-voted-clerk-continues-with-the-rest", "D01", ELECTION_DAY, [*ALREADY, Confirmed()], Screen.CLAIMING,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN], None),
    ("partly-voted-issued-only-the-rest", "D01", ELECTION_DAY,
     [*ALREADY, Confirmed(), accepted("shinsa", "ken", "shi")], Screen.ISSUE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN, *[T.CHECK_IN] * 3], None),
    ("fully-voted-clerk-cannot-continue", "D01", ELECTION_DAY, [*FULLY, Confirmed()], Screen.STOP,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN], "投票管理者だけ"),
    ("absentee-issued-clerk-cannot-continue", "D01", ELECTION_DAY, [*ABSENTEE, Confirmed()], Screen.STOP,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN], "投票管理者が判断"),
    ("fully-voted-clerk-cannot-search-next", "D01", ELECTION_DAY, [*FULLY, BarcodeScanned(V.code)], Screen.STOP,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN], "この画面では"),
    ("already-voted-sent-away", "D01", ELECTION_DAY, [*ALREADY, Finish()], Screen.READY,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN], None),
    ("already-voted-refused", "D01", ELECTION_DAY, [*ALREADY, Refuse(BOSS, "投票済み", "法44条")], Screen.READY,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN, T.REFUSAL], None),
    ("override-needs-reason", "D01", ELECTION_DAY, [*ALREADY, ManagerOverride(BOSS, " ")], Screen.STOP,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN], "理由"),
    ("override-needs-manager", "D01", ELECTION_DAY, [*ALREADY, ManagerOverride(CLERK_AS_BOSS, "記録誤り")],
     Screen.STOP, [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN], "投票管理者ではありません"),
    ("override-claims-the-rest", "D01", ELECTION_DAY, [*ALREADY, ManagerOverride(BOSS, "前回記録は誤登録と確認")],
     Screen.CLAIMING, [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN, T.OVERRIDE], None),
    ("override-then-issued", "D01", ELECTION_DAY,
     [*ALREADY, ManagerOverride(BOSS, "前回記録は誤登録と確認"), accepted("shinsa", "ken", "shi")], Screen.ISSUE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN, T.OVERRIDE, *[T.CHECK_IN] * 5], None),
    ("server-knows-a-vote", "D01", ELECTION_DAY,
     [*CHECK, history(), ClaimAnswered(V.code, {"shu-sho": ClaimAnswer(ClaimStatus.ALREADY_VOTED, voted("shu-sho")),
                                                **{e: ClaimAnswer(ClaimStatus.ACCEPTED) for e in ALL[1:]}})],
     Screen.STOP, [T.STAFF_SIGN_IN, T.RECORD_VIEWED, T.STOP_SHOWN], None),
    ("claim-answer-for-someone-else", "D01", ELECTION_DAY, [*CHECK, history(), accepted(*ALL, voter=OTHER)],
     Screen.CLAIMING, [T.STAFF_SIGN_IN, T.RECORD_VIEWED], "別の選挙人"),
    ("claim-answer-for-unclaimed-election", "D01", ELECTION_DAY,
     [*CHECK, history(), ClaimAnswered(V.code, {"zzz": ClaimAnswer(ClaimStatus.ACCEPTED)})],
     Screen.CLAIMING, [T.STAFF_SIGN_IN, T.RECORD_VIEWED], "登録していない選挙"),
    ("server-refused-request-cancel", "D01", ELECTION_DAY, [*CHECK, history(), Cancel()], Screen.READY,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED], None),
    ("offline-allowed", "D01", ELECTION_DAY, [*CHECK, history(), offline(*ALL)], Screen.ISSUE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, *[T.CHECK_IN] * 5], None),
    ("wrong-station", "D02", ELECTION_DAY, [*CHECK, history()], Screen.REFUSED, [T.STAFF_SIGN_IN, T.RECORD_VIEWED],
     None),
    ("wrong-station-sent-away", "D02", ELECTION_DAY, [*CHECK, history(), Finish()], Screen.READY,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED], None),
    ("proxy-vote", "D01", ELECTION_DAY, [*DAY_ISSUED, ProxyVote(BOSS, ("c01", "c02"))], Screen.ISSUE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, *[T.CHECK_IN] * 5, T.PROXY_VOTE], None),
    ("proxy-vote-same-helper-twice", "D01", ELECTION_DAY, [*DAY_ISSUED, ProxyVote(BOSS, ("c01", "c01"))],
     Screen.ISSUE, [T.STAFF_SIGN_IN, T.RECORD_VIEWED, *[T.CHECK_IN] * 5], "異なる2名"),
    ("proxy-vote-unknown-helper", "D01", ELECTION_DAY, [*DAY_ISSUED, ProxyVote(BOSS, ("c01", "zz"))], Screen.ISSUE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, *[T.CHECK_IN] * 5], "補助者の職員ID"),
    ("braille", "D01", ELECTION_DAY, [*DAY_ISSUED, Braille(BOSS)], Screen.ISSUE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, *[T.CHECK_IN] * 5, T.BRAILLE], None),
    ("braille-twice", "D01", ELECTION_DAY, [*DAY_ISSUED, Braille(BOSS), Braille(BOSS)], Screen.ISSUE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, *[T.CHECK_IN] * 5, T.BRAILLE], "記録済み"),
    ("reissue", "D01", ELECTION_DAY, [*DAY_ISSUED, Reissue(BOSS, "shu-hi", "書き損じ")], Screen.ISSUE,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, *[T.CHECK_IN] * 5, T.BALLOT_REISSUED], None),
    ("reissue-of-a-ballot-not-given", "D01", ELECTION_DAY, [*DAY_ISSUED, Reissue(BOSS, "nope", "書き損じ")],
     Screen.ISSUE, [T.STAFF_SIGN_IN, T.RECORD_VIEWED, *[T.CHECK_IN] * 5], "再交付できません"),
    ("finish-after-issue", "D01", ELECTION_DAY, [*DAY_ISSUED, Finish()], Screen.READY,
     [T.STAFF_SIGN_IN, T.RECORD_VIEWED, *[T.CHECK_IN] * 5], None),
    ("void", "D01", ELECTION_DAY, [*SIGN, Void(BOSS, "e0003", "誤って登録")], Screen.READY,
     [T.STAFF_SIGN_IN, T.VOID], None),
    ("void-needs-reason", "D01", ELECTION_DAY, [*SIGN, Void(BOSS, "e0003", "")], Screen.READY, [T.STAFF_SIGN_IN],
     "取消しの理由"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("station", "day", "actions", "screen", "events", "error"), [pytest.param(*r[1:], id=r[0]) for r in ROWS]
)
def test_transition_table(
    station: str,
    day: date,
    actions: list[Action],
    screen: Screen,
    events: list[EventType],
    error: str | None,
) -> None:
    result = run(make_desk(station), actions, local(day))
    assert result.state.screen is screen
    assert result.events == events
    if error is None:
        assert result.errors == []
    else:
        assert result.errors and error in result.errors[-1]
    # Every event the machine asks to record is valid, names the desk's station and a real member of staff.
    for eff in result.effects:
        if isinstance(eff, Record):
            for ev in eff.events:
                validate_event(ev)
                assert ev.station_id == station and ev.staff_id in {"c01", "c02", "m01", "m02"}
    # Every screen has a title and a notice for the clerk.
    assert result.state.title and result.state.notice


def test_bad_input_changes_nothing() -> None:
    desk = make_desk("D01")
    state = run(desk, CHECK, local(ELECTION_DAY)).state
    t = step(desk, state, ReasonChosen(3), local(ELECTION_DAY))
    assert t.effects == ()
    assert t.state == type(state)(**{**_fields(state), "error": t.state.error})
    assert t.state.error and "事由選択" in t.state.error


def _claimed(r: Run) -> tuple[str, tuple[str, ...]]:
    claim = r.effects[-1]
    assert isinstance(claim, Claim)
    return claim.voter_code, claim.elections


def _fields(state: ReceptionState) -> dict[str, object]:
    return {f: getattr(state, f) for f in state.__dataclass_fields__}


def test_lookups_are_asked_for_not_done() -> None:
    desk = make_desk("E01")
    r = run(desk, [*SIGN, BarcodeScanned("A100000000000001123A")], local(EARLY_DAY))
    assert r.effects[-1] == FindVoter(IdSource.BARCODE, barcode="100000000000001")
    r = run(desk, [*SIGN, ManualSearch("タカハシ", date(1986, 4, 1))], local(EARLY_DAY))
    assert r.effects[-1] == FindVoter(IdSource.MANUAL, text="タカハシ", birth_date=date(1986, 4, 1))
    r = run(desk, CHECK, local(EARLY_DAY))
    assert r.effects[-1] == LoadHistory(V.code)


def test_record_viewed_says_who_and_why() -> None:
    r = run(make_desk("E01"), FOUND, local(EARLY_DAY))
    (viewed,) = r.recorded(EventType.RECORD_VIEWED)
    assert viewed.staff_id == "c01" and viewed.voter == V.code
    assert viewed.data == {"purpose": "本人確認", "source": "barcode", "identity": "entry_ticket"}
    assert viewed.at == local(EARLY_DAY)


def test_early_voting_prints_declaration_and_records_reason() -> None:
    r = run(make_desk("E01"), EARLY_ISSUED, local(EARLY_DAY))
    (printed,) = [e for e in r.effects if isinstance(e, PrintDeclaration)]
    assert printed.reason == 2 and printed.voter == V and printed.on == EARLY_DAY
    assert [e.id for e in printed.elections] == list(ALL)
    (decl,) = r.recorded(EventType.DECLARATION)
    assert decl.data == {"reason": 2, "reprint": False}
    checkins = r.recorded(EventType.CHECK_IN)
    assert [c.election for c in checkins] == list(ALL)
    assert all(c.data["kind"] == CheckInKind.EARLY.value and c.data["claim"] == "accepted" for c in checkins)
    assert r.state.to_issue == tuple(printed.elections)
    assert "小選挙区→比例代表→国民審査→知事→市長" in r.state.notice


def test_claim_asks_for_every_issuable_election_in_order_and_records_the_claimed_events() -> None:
    desk = make_desk("D01")
    r = run(desk, [*CHECK, history()], local(ELECTION_DAY))
    assert _claimed(r) == (V.code, ALL)
    claim = r.effects[-1]
    assert isinstance(claim, Claim)
    assert all(ev.type is EventType.CHECK_IN and ev.voter == V.code for ev in claim.check_ins)
    # The check-ins recorded after the answers are the claimed events (the server keys claims by event id).
    later = local(ELECTION_DAY, 10, 1)
    t = step(desk, r.state, accepted(*ALL), later)
    recorded = [e for eff in t.effects if isinstance(eff, Record) for e in eff.events]
    assert [e.event_id for e in recorded] == [e.event_id for e in claim.check_ins]
    assert all(e.at == local(ELECTION_DAY) for e in recorded)


def test_moved_voter_is_told_which_ballots_not_to_give() -> None:
    moved = make_voter(moved=True, barred_kinds=frozenset({ElectionKind.PREFECTURAL}))
    actions = [*SIGN, BarcodeScanned(moved.code), VotersFound((moved,), exact=True), Confirmed(), history(moved)]
    r = run(make_desk("D01"), actions, local(ELECTION_DAY))
    assert _claimed(r) == (moved.code, ("shu-sho", "shu-hi", "shinsa"))
    r = run(make_desk("D01"), [*actions, accepted("shu-sho", "shu-hi", "shinsa", voter=moved)], local(ELECTION_DAY))
    assert [e.id for e in r.state.to_issue] == ["shu-sho", "shu-hi", "shinsa"]
    assert [b.election.id for b in r.state.not_to_issue] == ["ken", "shi"]
    assert any("知事" in line and "渡さない" in line for line in r.state.lines)


def test_wrong_station_notice_names_the_right_station() -> None:
    r = run(make_desk("D02"), [*CHECK, history()], local(ELECTION_DAY))
    assert "第一小学校投票所" in r.state.notice
    assert r.state.eligibility is not None and r.state.eligibility.right_station is not None


def test_already_voted_stop_names_where_and_when_and_override_is_logged() -> None:
    desk = make_desk("D01")
    r = run(desk, FULLY, local(ELECTION_DAY))
    assert "投票済みです" in r.state.notice and "投票管理者" in r.state.notice
    assert any("令和8年12月9日" in line for line in r.state.lines)
    r = run(desk, ALREADY, local(ELECTION_DAY))
    assert "一部投票済み" in r.state.notice and "小選挙区・比例代表" in r.state.notice
    assert any("市役所本庁舎期日前投票所" in line and "令和8年12月5日" in line for line in r.state.lines)
    assert ManagerOverride in allowed_actions(r.state) and Confirmed in allowed_actions(r.state)
    full = run(desk, FULLY, local(ELECTION_DAY)).state
    assert ManagerOverride in allowed_actions(full) and Confirmed not in allowed_actions(full)

    r = run(desk, [*ALREADY, ManagerOverride(BOSS, "前回記録は誤登録と確認"), accepted("shinsa", "ken", "shi")],
            local(ELECTION_DAY))  # fmt: skip
    (override,) = r.recorded(EventType.OVERRIDE)
    assert override.staff_id == "m01"
    assert override.data["stop"] == ["already_voted"]
    assert override.data["elections"] == ["shu-sho", "shu-hi"]
    assert [x["station_id"] for x in override.data["existing"]] == ["E01", "E01"]
    by_election = {c.election: c for c in r.recorded(EventType.CHECK_IN)}
    assert by_election["shu-sho"].data["claim"] == "override"
    assert by_election["shu-sho"].data["override"] == override.event_id
    assert by_election["shinsa"].data["claim"] == "accepted"


def test_override_keeps_every_other_rule() -> None:
    """Passing an already-voted stop does not pass a wrong-station or moved-voter refusal."""
    moved = make_voter(moved=True)
    actions = [*SIGN, BarcodeScanned(moved.code), VotersFound((moved,), exact=True), Confirmed(),
               history(moved, voted("shu-sho"), voted("shi")), ManagerOverride(BOSS, "確認済み")]  # fmt: skip
    r = run(make_desk("D01"), actions, local(ELECTION_DAY))
    assert _claimed(r) == (moved.code, ("shu-hi", "shinsa", "ken"))  # shu-sho overridden, shi still refused


def test_every_stop_shown_is_logged_with_what_it_named() -> None:
    r = run(make_desk("D01"), [*FULLY, Finish()], local(ELECTION_DAY))
    (shown,) = r.recorded(EventType.STOP_SHOWN)
    assert shown.voter == V.code and shown.staff_id == "c01"
    assert shown.data["codes"] == ["already_voted"] and shown.data["elections"] == list(ALL)
    assert {x["station_id"] for x in shown.data["existing"]} == {"E01"}
    r = run(make_desk("D01"), ABSENTEE, local(ELECTION_DAY))
    (shown,) = r.recorded(EventType.STOP_SHOWN)
    assert shown.data["codes"] == ["absentee_issued"] and shown.data["existing"] == []


def test_server_already_voted_stops_with_its_record() -> None:
    rec = voted("shu-sho", "C01", ELECTION_DAY, CheckInKind.DAY)
    answer = ClaimAnswered(V.code, {"shu-sho": ClaimAnswer(ClaimStatus.ALREADY_VOTED, rec),
                                    **{e: ClaimAnswer(ClaimStatus.ACCEPTED) for e in ALL[1:]}})  # fmt: skip
    desk = make_desk("D01")
    r = run(desk, [*CHECK, history(), answer], local(ELECTION_DAY))
    assert any("駅前共通投票所" in line for line in r.state.lines)
    r = run(desk, [*CHECK, history(), answer, ManagerOverride(BOSS, "同姓同名の別人と確認")], local(ELECTION_DAY))
    # Nothing is claimed twice: the other four were accepted already, shu-sho is overridden.
    assert r.state.screen is Screen.ISSUE
    assert not any(isinstance(e, Claim) for e in r.effects[-2:])
    assert len(r.recorded(EventType.CHECK_IN)) == 5


def test_override_after_a_partly_voted_continuation_passes_only_the_new_stop() -> None:
    """Partly voted (小選挙区・比例代表), clerk continues; the server then knows a 国民審査 vote; the manager
    passes that one only — the ballots left out at the first stop are still not handed over."""
    desk = make_desk("D01")
    server_knows = ClaimAnswered(V.code, {"shinsa": ClaimAnswer(ClaimStatus.ALREADY_VOTED, voted("shinsa", "C01")),
                                          "ken": ClaimAnswer(ClaimStatus.ACCEPTED),
                                          "shi": ClaimAnswer(ClaimStatus.ACCEPTED)})  # fmt: skip
    actions = [*ALREADY, Confirmed(), server_knows]
    r = run(desk, actions, local(ELECTION_DAY))
    assert r.state.screen is Screen.STOP and "投票済みです" in r.state.notice
    r = run(desk, [*actions, ManagerOverride(BOSS, "国民審査の記録は誤登録と確認")], local(ELECTION_DAY))
    assert r.state.screen is Screen.ISSUE
    (override,) = r.recorded(EventType.OVERRIDE)
    assert override.data["elections"] == ["shinsa"]
    assert sorted(str(c.election) for c in r.recorded(EventType.CHECK_IN)) == ["ken", "shi", "shinsa"]
    assert [b.election.id for b in r.state.not_to_issue] == ["shu-sho", "shu-hi"]


def test_claim_answer_already_voted_must_say_where() -> None:
    with pytest.raises(ValueError, match="existing"):
        ClaimAnswer(ClaimStatus.ALREADY_VOTED)


@pytest.mark.parametrize(
    ("policy", "screen"), [("allow", Screen.ISSUE), ("manager", Screen.OFFLINE_CONFIRM)], ids=["allow", "manager"]
)
def test_offline_policy(policy: str, screen: Screen) -> None:
    desk = make_desk("D01", offline={"policy": policy})
    answer = ClaimAnswered(V.code, {"shu-sho": ClaimAnswer(ClaimStatus.OFFLINE),
                                    **{e: ClaimAnswer(ClaimStatus.ACCEPTED) for e in ALL[1:]}})  # fmt: skip
    r = run(desk, [*CHECK, history(), answer], local(ELECTION_DAY))
    assert r.state.screen is screen
    if screen is Screen.OFFLINE_CONFIRM:
        assert r.recorded(EventType.CHECK_IN) == []
        assert Cancel in allowed_actions(r.state)
        r = run(desk, [*CHECK, history(), answer, ManagerOverride(BOSS, "回線障害")], local(ELECTION_DAY))
        (override,) = r.recorded(EventType.OVERRIDE)
        assert override.data["stop"] == "offline" and override.data["elections"] == ["shu-sho"]
    checkins = {c.election: c.data for c in r.recorded(EventType.CHECK_IN)}
    assert checkins["shu-sho"]["offline"] is True and checkins["shu-sho"]["claim"] == "offline"
    assert checkins["shu-hi"]["offline"] is False
    if policy == "manager":
        assert checkins["shu-sho"]["offline_confirmed_by"] == "m01"


@pytest.mark.parametrize(
    "status", [AbsenteeStatus.ISSUED, AbsenteeStatus.RECEIVED], ids=["issued-not-returned", "received"]
)
def test_absentee_stops_for_the_manager(status: AbsenteeStatus) -> None:
    voter = make_voter(absentee=status)
    actions = [*SIGN, BarcodeScanned(voter.code), VotersFound((voter,), exact=True), Confirmed(), history(voter)]
    desk = make_desk("D01")
    r = run(desk, actions, local(ELECTION_DAY))
    assert r.state.screen is Screen.STOP
    r = run(desk, [*actions, ManagerOverride(BOSS, "不在者投票用紙の返還を確認")], local(ELECTION_DAY))
    (override,) = r.recorded(EventType.OVERRIDE)
    assert override.data["stop"] == [("absentee_issued" if status is AbsenteeStatus.ISSUED else "absentee_received")]
    assert _claimed(r) == (voter.code, ALL)


def test_provisional_records_no_check_in_and_claims_nothing() -> None:
    r = run(make_desk("D01"), [*FOUND, NotThisPerson(), Provisional(BOSS, "本人と主張"), history()],
            local(ELECTION_DAY))  # fmt: skip
    assert not any(isinstance(e, Claim) for e in r.effects)
    (prov,) = r.recorded(EventType.PROVISIONAL)
    assert prov.staff_id == "m01" and prov.data["reason"] == "本人と主張"
    assert prov.data["elections"] == list(ALL)
    assert r.state.to_issue and r.state.provisional


def test_proxy_vote_names_both_helpers() -> None:
    r = run(make_desk("D01"), [*DAY_ISSUED, ProxyVote(BOSS, ("c01", "c02"))], local(ELECTION_DAY))
    (proxy,) = r.recorded(EventType.PROXY_VOTE)
    assert proxy.data == {"helpers": ["c01", "c02"]} and proxy.staff_id == "m01"
    assert "受付　一郎・受付　二郎" in r.state.lines[-1]


def test_reissue_points_at_the_check_in() -> None:
    r = run(make_desk("D01"), [*DAY_ISSUED, Reissue(BOSS, "shu-hi", "書き損じ")], local(ELECTION_DAY))
    (reissue,) = r.recorded(EventType.BALLOT_REISSUED)
    check_in = {c.election: c.event_id for c in r.recorded(EventType.CHECK_IN)}["shu-hi"]
    assert reissue.data == {"reason": "書き損じ", "check_in": check_in} and reissue.election == "shu-hi"


def test_every_screen_has_a_title_and_accepts_something() -> None:
    for screen in Screen:
        state = ReceptionState(screen=screen)
        assert state.title
        assert allowed_actions(state)


def test_step_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        step(make_desk(), initial_state(), SignIn("c01", "1111"), datetime(2026, 12, 8, 10))


def test_desk_refuses_an_unknown_station() -> None:
    with pytest.raises(ValueError, match="station 'Z9'"):
        make_desk("Z9")


_ANY_TEXT = st.text(max_size=60)


@settings(max_examples=200, deadline=None)
@given(text=_ANY_TEXT, which=st.sampled_from(["barcode", "manual", "sign-in", "void", "refuse"]))
def test_property_outside_text_never_breaks_the_machine(text: str, which: str) -> None:
    """Whatever is typed or scanned: either a well-formed request comes out, or an error and nothing changes."""
    desk = make_desk("D01")
    base = run(desk, SIGN if which != "refuse" else [*FOUND, NotThisPerson()], local(ELECTION_DAY)).state
    action: Action = {
        "barcode": BarcodeScanned(text),
        "manual": ManualSearch(text),
        "sign-in": SignIn(text, text),
        "void": Void(BOSS, text, text),
        "refuse": Refuse(BOSS, text, text),
    }[which]
    t = step(desk, base, action, local(ELECTION_DAY))
    if t.state.error:
        assert t.effects == ()
        assert _fields(t.state) == {**_fields(base), "error": t.state.error}
    else:
        for eff in t.effects:
            if isinstance(eff, Record):
                for ev in eff.events:
                    validate_event(ev)
            if isinstance(eff, FindVoter) and eff.barcode is not None:
                assert eff.barcode.isdigit() and len(eff.barcode) >= 15


# --- identity: how it was confirmed is recorded (card + photo, card by PIN without photo, 入場券, search) ----------

CARD_PIN = [*SIGN, CardRead(V.name, V.address, V.birth_date, "1"), VotersFound((V,), exact=True)]
CARD_PHOTO = [*SIGN, CardRead(V.name, V.address, V.birth_date, "1", photo=True), VotersFound((V,), exact=True)]


@pytest.mark.parametrize(
    ("actions", "viewed", "identity", "notice"),
    [
        (CARD_PIN, "card_pin_no_photo", "card_pin_no_photo", "顔写真は未確認です"),
        # The record was viewed before the photo was read; the check-in says the photo was checked.
        ([*CARD_PIN, PhotoChecked()], "card_pin_no_photo", "card_photo", "顔写真・本人を確認してください"),
        (CARD_PHOTO, "card_photo", "card_photo", "顔写真・本人を確認してください"),
        (FOUND, "entry_ticket", "entry_ticket", "顔写真・本人を確認してください"),
        ([*SIGN, ManualSearch("ヤマダ"), VotersFound((V,))], None, None, "候補"),
    ],
    ids=["pin-no-photo", "pin-then-photo", "collation-photo", "entry-ticket", "search-candidates"],
)
def test_identity_is_shown_and_recorded_on_view_and_check_in(
    actions: list[Action], viewed: str | None, identity: str | None, notice: str
) -> None:
    desk = make_desk("D01")
    r = run(desk, actions, local(ELECTION_DAY))
    assert notice in r.state.notice
    if identity is None:  # the search lists candidates; the clerk chooses, then identity is "register_search"
        r = run(desk, [*actions, CandidateChosen(V.code)], local(ELECTION_DAY))
        identity = viewed = "register_search"
    assert r.recorded(EventType.RECORD_VIEWED)[-1].data["identity"] == viewed
    done = run(desk, [*actions, *([CandidateChosen(V.code)] if identity == "register_search" else []), Confirmed(),
                      history(), accepted(*ALL)], local(ELECTION_DAY))
    checkins = done.recorded(EventType.CHECK_IN)
    assert [c.election for c in checkins] == list(ALL)
    assert {c.data["identity"] for c in checkins} == {identity}
    for ev in done.recorded(EventType.CHECK_IN):
        validate_event(ev)


def test_photo_is_offered_only_while_the_pin_read_has_no_photo() -> None:
    desk = make_desk("D01")
    r = run(desk, CARD_PIN, local(ELECTION_DAY))
    assert PhotoChecked in allowed_actions(r.state)
    r = run(desk, [*CARD_PIN, PhotoChecked()], local(ELECTION_DAY))
    assert PhotoChecked not in allowed_actions(r.state)
    # Confirming without the photo is allowed (unreadable photo): the check-in then says it was not checked.
    assert Confirmed in allowed_actions(run(desk, CARD_PIN, local(ELECTION_DAY)).state)


# --- staff sign-in failures -------------------------------------------------------------------------------------


def test_sign_in_failure_logs_the_staff_id_and_never_the_pin() -> None:
    r = run(make_desk("E01"), [SignIn("c01", "4321")], local(EARLY_DAY))
    (failed,) = r.recorded(EventType.STAFF_SIGN_IN_FAILED)
    validate_event(failed)
    assert failed.staff_id == "c01" and failed.voter is None
    assert failed.data == {"attempt": 1, "locked": False}
    assert "4321" not in repr(failed.to_dict())
    assert r.state.sign_in_failures == {"c01": 1}


def test_lock_counts_survive_sign_out_voters_and_a_restart() -> None:
    desk = make_desk("E01")
    actions: list[Action] = [*[SignIn("c01", "9")] * 3, SignIn("c02", "2222"), *FOUND[1:], Cancel(), SignOut()]
    r = run(desk, actions, local(EARLY_DAY))
    assert r.state.sign_in_failures == {"c01": 3}
    events = [e for eff in r.effects if isinstance(eff, Record) for e in eff.events]
    assert sign_in_failures_from(events) == {"c01": 3}
    # A restarted desk seeded from its ledger locks on the 2 remaining wrong PINs, not on 5 more.
    state = replace(initial_state(), sign_in_failures=sign_in_failures_from(events))
    for _ in range(2):
        state = step(desk, state, SignIn("c01", "9"), local(EARLY_DAY)).state
    assert state.error is not None and "ロックされています" in state.error
    t = step(desk, state, SignIn("c01", "1111"), local(EARLY_DAY))
    assert t.state.screen is Screen.SIGNED_OUT


def test_sign_in_failures_from_resets_on_success_and_unlock() -> None:
    desk = make_desk("E01")
    actions: list[Action] = [*[SignIn("c01", "9")] * 5, SignIn("m01", "9999"), UnlockStaff(BOSS, "c01"),
                             SignIn("c02", "0"), SignIn("c02", "2222")]
    r = run(desk, actions, local(EARLY_DAY))
    events = [e for eff in r.effects if isinstance(eff, Record) for e in eff.events]
    (unlocked,) = r.recorded(EventType.STAFF_UNLOCKED)
    assert unlocked.staff_id == "m01" and unlocked.data == {"target": "c01"}
    assert sign_in_failures_from(events) == {} == dict(r.state.sign_in_failures)


# --- reprint of any 宣誓書 printed today at this desk ---------------------------------------------------------


def _first_declaration() -> Event:
    r = run(make_desk("E01"), EARLY_ISSUED, local(EARLY_DAY))
    (decl,) = r.recorded(EventType.DECLARATION)
    return decl


def test_manager_reprints_a_declaration_from_the_ready_screen() -> None:
    decl = _first_declaration()
    desk = make_desk("E01")
    r = run(desk, [*SIGN, Reprint(BOSS, decl, V)], local(EARLY_DAY))
    assert r.state.screen is Screen.READY and not r.errors
    (again,) = r.recorded(EventType.DECLARATION)
    validate_event(again)
    assert again.staff_id == "m01" and again.voter == V.code
    assert again.data == {"reason": 2, "reprint": True, "original": decl.event_id}
    (printed,) = [e for e in r.effects if isinstance(e, PrintDeclaration)]
    assert printed.reprint and printed.voter == V and printed.reason == 2 and printed.on == EARLY_DAY
    assert "再印刷" in r.state.notice


def test_reprint_on_the_issue_screen_keeps_the_voter() -> None:
    desk = make_desk("E01")
    r = run(desk, EARLY_ISSUED, local(EARLY_DAY))
    (decl,) = r.recorded(EventType.DECLARATION)
    t = step(desk, r.state, Reprint(BOSS, decl, V), local(EARLY_DAY))
    assert t.state.screen is Screen.ISSUE and t.state.voter == V and t.state.error is None


@pytest.mark.parametrize(
    ("change", "voter", "day", "error"),
    [
        ({}, OTHER, EARLY_DAY, "一致しません"),
        ({"data": {"reason": 2, "reprint": True}}, V, EARLY_DAY, "最初に印刷した"),
        ({"type": EventType.RECORD_VIEWED}, V, EARLY_DAY, "最初に印刷した"),
        ({"station_id": "E02"}, V, EARLY_DAY, "本日印刷した"),
        ({}, V, date(2026, 12, 13), "本日印刷した"),
        ({"data": {"reason": 9}}, V, EARLY_DAY, "事由"),
    ],
    ids=["other-voter", "a-reprint", "not-a-declaration", "other-station", "another-day", "bad-reason"],
)
def test_reprint_refuses_what_it_cannot_reprint(
    change: dict[str, object], voter: Voter, day: date, error: str
) -> None:
    decl = replace(_first_declaration(), **change)  # type: ignore[arg-type]
    desk = make_desk("E01")
    state = run(desk, SIGN, local(day)).state
    t = step(desk, state, Reprint(BOSS, decl, voter), local(day))
    assert t.effects == () and t.state.error is not None and error in t.state.error
    assert t.state == replace(state, error=t.state.error)


def test_reprint_needs_a_manager() -> None:
    decl = _first_declaration()
    desk = make_desk("E01")
    state = run(desk, SIGN, local(EARLY_DAY)).state
    for auth in (CLERK_AS_BOSS, BAD_PIN):
        t = step(desk, state, Reprint(auth, decl, V), local(EARLY_DAY))
        assert t.effects == () and t.state.error


# --- 決定書等所持者 (法42条ただし書): not in the register, keyed by the decision's reference ------------------------

REF = "令和8年選管決定第12号"
KEY = decision_holder_key(REF)


def _dh(ref: str = REF, auth: ManagerAuth = BOSS, sex: Sex | None = Sex.FEMALE) -> DecisionHolder:
    """The manager's 決定書等所持者 action (a woman, by the decision, unless said otherwise)."""
    return DecisionHolder(auth, ref, sex)


DECIDED = [*SIGN, _dh(), HistoryLoaded(KEY, ())]


def _accepted_key(*ids: str) -> ClaimAnswered:
    return ClaimAnswered(KEY, {i: ClaimAnswer(ClaimStatus.ACCEPTED) for i in ids})


@pytest.mark.parametrize(
    ("station", "day", "actions", "screen", "events", "error"),
    [
        ("D01", ELECTION_DAY, [*DECIDED, _accepted_key(*ALL)], Screen.ISSUE, [T.STAFF_SIGN_IN, *[T.CHECK_IN] * 5],
         None),
        ("D01", ELECTION_DAY, [*SIGN, ManualSearch("ムメイ"), VotersFound(()), _dh()],
         Screen.CHECKING, [T.STAFF_SIGN_IN], None),
        ("E01", EARLY_DAY, [*DECIDED, ReasonChosen(3), _accepted_key(*ALL)], Screen.ISSUE,
         [T.STAFF_SIGN_IN, T.DECLARATION, *[T.CHECK_IN] * 5], None),
        ("D01", ELECTION_DAY, [*SIGN, _dh(auth=CLERK_AS_BOSS)], Screen.READY, [T.STAFF_SIGN_IN],
         "投票管理者ではありません"),
        ("D01", ELECTION_DAY, [*SIGN, _dh(auth=BAD_PIN)], Screen.READY, [T.STAFF_SIGN_IN], "PINが違います"),
        ("D01", ELECTION_DAY, [*SIGN, _dh("選管決定（番号なし）")], Screen.READY, [T.STAFF_SIGN_IN],
         "数字を含む"),
        ("D01", ELECTION_DAY, [*SIGN, _dh("   ")], Screen.READY, [T.STAFF_SIGN_IN], "番号を入力"),
        ("D01", ELECTION_DAY, [*SIGN, _dh("1" * 15)], Screen.READY, [T.STAFF_SIGN_IN], "14桁まで"),
        ("D01", ELECTION_DAY, [*SIGN, _dh(sex=None)], Screen.READY, [T.STAFF_SIGN_IN], "性別（男・女）を選んで"),
        ("D01", ELECTION_DAY, [*FOUND, _dh()], Screen.CONFIRM_IDENTITY,
         [T.STAFF_SIGN_IN, T.RECORD_VIEWED], "この画面では"),
        ("D01", ELECTION_DAY, [*SIGN, _dh(), HistoryLoaded(KEY, (voted("shu-sho", "D02",
         ELECTION_DAY),))], Screen.STOP, [T.STAFF_SIGN_IN, T.STOP_SHOWN], None),
    ],
    ids=["election-day", "from-not-found", "early-blank-declaration", "clerk-cannot", "bad-pin", "no-number",
         "empty", "too-long", "no-sex", "not-while-a-voter-is-shown", "same-decision-already-voted"],
)
def test_decision_holder_table(
    station: str, day: date, actions: list[Action], screen: Screen, events: list[EventType], error: str | None
) -> None:
    r = run(make_desk(station), actions, local(day))
    assert r.state.screen is screen, r.state
    assert r.events == events
    if error is None:
        assert r.errors == []
    else:
        assert r.errors and error in r.errors[-1]
    for eff in r.effects:
        if isinstance(eff, Record):
            for ev in eff.events:
                validate_event(ev)
                assert ev.voter in (None, KEY, V.code)
                assert "氏名" not in repr(ev.data)


def test_decision_holder_events_carry_the_reference_and_never_a_name() -> None:
    r = run(make_desk("E01"), [*DECIDED, ReasonChosen(3), _accepted_key(*ALL)], local(EARLY_DAY))
    checkins = r.recorded(EventType.CHECK_IN)
    assert {c.voter for c in checkins} == {KEY} and is_decision_holder_key(KEY)
    assert all(
        c.data["decision_ref"] == REF and c.data["decision_by"] == "m01" and c.data["identity"] == "decision_document"
        and c.data["source"] == "decision" and c.data["claim"] == "accepted" and c.data["decision_sex"] == "F"
        for c in checkins
    )
    (printed,) = [e for e in r.effects if isinstance(e, PrintDeclaration)]
    assert printed.voter is None and printed.reason == 3  # a blank 宣誓書, filled in by hand
    (claim,) = [e for e in r.effects if isinstance(e, Claim)]
    assert claim.voter_code == KEY


@pytest.mark.parametrize(
    ("reference", "key"),
    [
        ("令和8年選管決定第12号", "900000000000812"),
        ("令和８年選管決定第１２号", "900000000000812"),  # full-width digits: the same decision
        ("第1号", "900000000000001"),
        ("12345678901234", "912345678901234"),
    ],
)
def test_decision_holder_key_table(reference: str, key: str) -> None:
    assert decision_holder_key(reference) == key
    assert is_decision_holder_key(key) and not is_decision_holder_key(key[1:])


@given(st.text(max_size=40))
@settings(max_examples=200)
def test_decision_holder_key_is_deterministic_or_refused(reference: str) -> None:
    try:
        key = decision_holder_key(reference)
    except ValueError:
        return
    assert key == decision_holder_key(reference)
    assert len(key) == 15 and key.isdigit() and key.startswith("9")
