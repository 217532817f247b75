"""kiosk.workflow under arbitrary action sequences: the double-voting invariants hold whatever the clerk presses.

Hypothesis drives one desk with random actions (clerk, manager with right or wrong PINs, lookups, history and claim
answers with random content). Invariants checked after every step:
- ``step`` never raises and every event it asks to record is valid;
- a CHECK_IN is only ever recorded for an election that was issuable for the voter at that moment, or that a
  manager OVERRIDE recorded earlier in the same visit named;
- within one visit no election gets two check-ins, and none the clerk left out as already voted;
- a bad action changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reception_support import EARLY_DAY, ELECTION_DAY, local, make_desk, make_voter, voted

from ballots.events import CheckInKind, EventType, validate_event
from ballots.model import AbsenteeStatus, ElectionKind
from kiosk.workflow import (
    Action,
    BarcodeScanned,
    Braille,
    Cancel,
    CandidateChosen,
    Claim,
    ClaimAnswer,
    ClaimAnswered,
    ClaimStatus,
    Confirmed,
    FindVoter,
    Finish,
    HistoryLoaded,
    LoadHistory,
    ManagerAuth,
    ManagerOverride,
    NotThisPerson,
    Provisional,
    ProxyVote,
    ReasonChosen,
    ReceptionState,
    Record,
    Refuse,
    Reissue,
    Screen,
    SignIn,
    SignOut,
    Void,
    VotersFound,
    initial_state,
    step,
)

ALL = ("shu-sho", "shu-hi", "shinsa", "ken", "shi")
VOTERS = (
    make_voter(),
    make_voter(code="100000000000002", moved=True, barred_kinds=frozenset({ElectionKind.PREFECTURAL})),
    make_voter(code="100000000000003", absentee=AbsenteeStatus.ISSUED),
    make_voter(code="100000000000004", precinct="002"),
    make_voter(code="100000000000005", birth_date=date(2008, 12, 14)),
)
MANAGERS = st.sampled_from([ManagerAuth("m01", "9999"), ManagerAuth("m01", "0000"), ManagerAuth("c01", "1111")])
RECORDS = st.lists(
    st.builds(
        voted,
        st.sampled_from(ALL),
        st.sampled_from(["E01", "D01", "C01"]),
        st.sampled_from([date(2026, 12, 5), ELECTION_DAY]),
        st.sampled_from(list(CheckInKind)),
    ),
    max_size=3,
)


def _answer(elections: list[str], statuses: list[ClaimStatus], record_station: str) -> dict[str, ClaimAnswer]:
    out = {}
    for eid, status in zip(elections, statuses, strict=False):
        existing = voted(eid, record_station) if status is ClaimStatus.ALREADY_VOTED else None
        out[eid] = ClaimAnswer(status, existing)
    return out


ACTIONS: st.SearchStrategy[Action] = st.one_of(
    st.builds(SignIn, st.sampled_from(["c01", "m01", "zz"]), st.sampled_from(["1111", "9999", "0000"])),
    st.just(SignOut()),
    st.builds(BarcodeScanned, st.sampled_from([v.code for v in VOTERS] + ["12"])),
    st.builds(
        VotersFound,
        st.lists(st.sampled_from(VOTERS), max_size=3, unique=True).map(tuple),
        st.booleans(),
    ),
    st.builds(CandidateChosen, st.sampled_from([v.code for v in VOTERS])),
    st.just(Confirmed()),
    st.just(NotThisPerson()),
    st.builds(lambda code, recs: HistoryLoaded(code, tuple(recs)), st.sampled_from([v.code for v in VOTERS]), RECORDS),
    st.builds(ReasonChosen, st.integers(0, 7)),
    st.builds(
        lambda code, eids, statuses, station: ClaimAnswered(code, _answer(eids, statuses, station)),
        st.sampled_from([v.code for v in VOTERS]),
        st.lists(st.sampled_from(ALL), max_size=5, unique=True),
        st.lists(st.sampled_from(list(ClaimStatus)), min_size=5, max_size=5),
        st.sampled_from(["E01", "C01"]),
    ),
    st.builds(ManagerOverride, MANAGERS, st.sampled_from(["確認済み", ""])),
    st.builds(Refuse, MANAGERS, st.just("本人と認められない"), st.sampled_from(["法50条", ""])),
    st.builds(Provisional, MANAGERS, st.just("本人と主張")),
    st.builds(ProxyVote, MANAGERS, st.sampled_from([("c01", "c02"), ("c01", "c01")])),
    st.builds(Braille, MANAGERS),
    st.builds(Reissue, MANAGERS, st.sampled_from(ALL), st.just("書き損じ")),
    st.builds(Void, MANAGERS, st.just("e0001"), st.just("誤登録")),
    st.just(Finish()),
    st.just(Cancel()),
)


@dataclass
class Visit:
    """What one voter's visit has produced so far."""

    overridden: set[str] = field(default_factory=set)
    checked_in: set[str] = field(default_factory=set)


CLERK_ACTIONS: st.SearchStrategy[Action] = st.one_of(
    st.builds(BarcodeScanned, st.sampled_from([v.code for v in VOTERS] + ["12"])),
    st.builds(CandidateChosen, st.sampled_from([v.code for v in VOTERS])),
    st.just(Confirmed()),
    st.just(Confirmed()),
    st.just(NotThisPerson()),
    st.builds(ReasonChosen, st.integers(0, 7)),
    st.builds(ManagerOverride, MANAGERS, st.sampled_from(["確認済み", ""])),
    st.builds(Refuse, MANAGERS, st.just("本人と認められない"), st.sampled_from(["法50条", ""])),
    st.builds(Provisional, MANAGERS, st.just("本人と主張")),
    st.builds(ProxyVote, MANAGERS, st.sampled_from([("c01", "c02"), ("c01", "c01")])),
    st.builds(Braille, MANAGERS),
    st.builds(Reissue, MANAGERS, st.sampled_from(ALL), st.just("書き損じ")),
    st.builds(Void, MANAGERS, st.just("e0001"), st.just("誤登録")),
    st.just(Finish()),
    st.just(Cancel()),
    st.just(SignOut()),
    st.builds(SignIn, st.sampled_from(["c01", "m01", "zz"]), st.sampled_from(["1111", "9999", "0000"])),
)


def _answer_for(data: st.DataObject, eff: object) -> Action | None:
    """What the outside world might answer to an effect: consistent in shape, arbitrary in content."""
    if isinstance(eff, FindVoter):
        found = data.draw(st.lists(st.sampled_from(VOTERS), max_size=3, unique=True))
        return VotersFound(tuple(found), data.draw(st.booleans()))
    if isinstance(eff, LoadHistory):
        return HistoryLoaded(eff.voter_code, tuple(data.draw(RECORDS)))
    if isinstance(eff, Claim):
        statuses = data.draw(
            st.lists(st.sampled_from(list(ClaimStatus)), min_size=len(eff.elections), max_size=len(eff.elections))
        )
        station = data.draw(st.sampled_from(["E01", "C01"]))
        return ClaimAnswered(eff.voter_code, _answer(list(eff.elections), statuses, station))
    return None


BOSS = ManagerAuth("m01", "9999")


def _sensible(state: ReceptionState) -> st.SearchStrategy[Action]:
    """What a clerk would most likely press next on this screen (so sequences get past identification)."""
    screen = state.screen
    if screen is Screen.READY:
        return st.builds(BarcodeScanned, st.sampled_from([v.code for v in VOTERS]))
    if screen is Screen.CHOOSE_CANDIDATE:
        return st.sampled_from([CandidateChosen(v.code) for v in state.candidates])
    if screen in (Screen.CONFIRM_IDENTITY, Screen.REFUSED):
        return st.sampled_from([Confirmed(), Finish()] if screen is Screen.REFUSED else [Confirmed()])
    if screen is Screen.CHOOSE_REASON:
        return st.builds(ReasonChosen, st.integers(1, 6))
    if screen in (Screen.STOP, Screen.OFFLINE_CONFIRM):
        return st.sampled_from([ManagerOverride(BOSS, "確認済み"), Confirmed(), Finish()])
    if screen is Screen.IDENTITY_DOUBT:
        return st.sampled_from([Provisional(BOSS, "本人と主張"), Cancel()])
    return st.sampled_from([Finish(), Cancel(), Confirmed()])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    station=st.sampled_from(["E01", "D01", "C01"]),
    policy=st.sampled_from(["allow", "manager"]),
    length=st.integers(1, 40),
)
def test_invariants_hold_for_any_action_sequence(data: st.DataObject, station: str, policy: str, length: int) -> None:
    desk = make_desk(station, offline={"policy": policy})
    now = local(EARLY_DAY if station == "E01" else ELECTION_DAY)
    state: ReceptionState = step(desk, initial_state(), SignIn("c01", "1111"), now).state
    visit = Visit()
    pending: list[Action] = []
    for _ in range(length):
        # Mostly answer what the machine asked for; sometimes a person presses something in between.
        roll = data.draw(st.integers(0, 9))
        if pending and roll > 0:
            action = pending.pop(0)
        elif roll > 2:
            action = data.draw(_sensible(state))
        else:
            action = data.draw(ACTIONS if roll == 0 else CLERK_ACTIONS)
        before = state
        t = step(desk, before, action, now)
        state = t.state
        if state.error is not None:
            if t.effects:
                # The one refusal that records something: a wrong staff PIN is logged (staff id only) and counted.
                assert isinstance(action, SignIn)
                (rec,) = t.effects
                assert isinstance(rec, Record)
                assert [e.type for e in rec.events] == [EventType.STAFF_SIGN_IN_FAILED]
                assert set(rec.events[0].data) == {"attempt", "locked"}  # never the PIN typed
                assert state.sign_in_failures[rec.events[0].staff_id] == rec.events[0].data["attempt"]
                before = replace(before, sign_in_failures=state.sign_in_failures)
            assert state == ReceptionState(**{**_fields(before), "error": state.error})
            continue
        if state.screen in (Screen.READY, Screen.SIGNED_OUT, Screen.SEARCHING):
            visit = Visit()
        for eff in t.effects:
            answer = _answer_for(data, eff)
            if answer is not None:
                pending.append(answer)
            if not isinstance(eff, Record):
                continue
            for ev in eff.events:
                validate_event(ev)
                if ev.type is EventType.OVERRIDE and ev.data.get("stop") != "offline":
                    visit.overridden.update(ev.data["elections"])
                if ev.type is EventType.CHECK_IN:
                    CHECK_INS.append(1)
                    eid = str(ev.election)
                    assert eid not in visit.checked_in, "two check-ins for one election in one visit"
                    visit.checked_in.add(eid)
                    assert state.eligibility is not None
                    decision = state.eligibility.decision(eid)
                    assert decision.issuable or eid in visit.overridden, (eid, decision.code)
                    # A ballot the clerk left out as already voted (一部投票済) is never handed over later.
                    assert eid not in state.acknowledged
                    # A record saying "voted" for this election was overridden by a manager, never ignored.
                    assert all(r.election != eid for r in state.voted) or eid in visit.overridden


CHECK_INS: list[int] = []


def test_the_property_run_reached_check_ins() -> None:
    """Guard against a generator that never gets past identification (the invariants would hold vacuously)."""
    if not CHECK_INS:
        test_invariants_hold_for_any_action_sequence()
    assert len(CHECK_INS) > 50


def _fields(state: ReceptionState) -> dict[str, object]:
    return {f: getattr(state, f) for f in state.__dataclass_fields__}
