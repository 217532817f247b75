"""The reception workflow as a pure state machine: no Qt, no I/O, no clock.

``step(desk, state, action, now)`` returns a :class:`Transition`: the new :class:`ReceptionState` and the
:data:`Effect` values the caller must carry out (record events, look voters up, claim ballots, print the 宣誓書).
Anything the machine needs from outside — register lookups, the voter's history, the server's claim answers — comes
back in as another action (``VotersFound``, ``HistoryLoaded``, ``ClaimAnswered``). kiosk/reception.py runs it
against the real register, ledger, server and printer; a UI renders ``state.screen``, ``state.title``,
``state.notice`` and ``state.lines`` and enables the buttons in :func:`allowed_actions`.

Bad input never changes anything: the state comes back as it was, with ``error`` set to a Japanese message for the
clerk, and no effects.

The flow (election-domain.md): identify (card basic 4 / 入場券 barcode / manual search) → match (exactly one, or the
clerk chooses; never auto-accept an ambiguous match) → confirm identity (face photo) → eligibility per election →
declaration reason (early voting) → claim each (election, voter) → record and hand over the ballots in order.
"Already voted" is a hard stop only a manager can pass, with a reason, which is logged as an OVERRIDE event.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from ballots.events import REASONS, CheckInKind, Event, EventType, new_event_id
from ballots.model import (
    AbsenteeStatus,
    Election,
    ElectionDefinition,
    OfflinePolicy,
    Role,
    Sex,
    StaffAccount,
    Voter,
    decision_holder_key,
)
from ballots.register import code_from_barcode
from ballots.rules import JST, Code, Eligibility, VotedRecord, assess
from ballots.wareki import format_wareki

__all__ = [
    "IDENTITY_CARD_PHOTO",
    "IDENTITY_CARD_PIN_NO_PHOTO",
    "IDENTITY_DECISION",
    "IDENTITY_ENTRY_TICKET",
    "IDENTITY_REGISTER_SEARCH",
    "MAX_SIGN_IN_FAILURES",
    "Action",
    "BallotLine",
    "BarcodeScanned",
    "Braille",
    "Cancel",
    "CandidateChosen",
    "CardQuery",
    "CardRead",
    "Claim",
    "ClaimAnswer",
    "ClaimAnswered",
    "ClaimStatus",
    "Confirmed",
    "DecisionHolder",
    "Desk",
    "Effect",
    "FindVoter",
    "Finish",
    "HistoryLoaded",
    "IdSource",
    "LoadHistory",
    "ManagerAuth",
    "ManagerOverride",
    "ManualSearch",
    "NotThisPerson",
    "PhotoChecked",
    "PrintDeclaration",
    "Provisional",
    "ProxyVote",
    "ReasonChosen",
    "ReceptionState",
    "Record",
    "Refuse",
    "Reissue",
    "Reprint",
    "Screen",
    "SignIn",
    "SignOut",
    "Transition",
    "UnlockStaff",
    "Void",
    "VotersFound",
    "allowed_actions",
    "identity_for",
    "initial_state",
    "sign_in_failures_from",
    "step",
]


# ---------------------------------------------------------------------------------------------------------------
# Context


@dataclass(frozen=True, slots=True)
class Desk:
    """What the machine is configured with: the package's definition, this station and desk, and PIN checking.

    ``verify_pin(pin_hash, pin)`` is injected (ballots.staff.verify_pin in production) so tests need no scrypt;
    ``new_id`` makes event ids (uuid4 by default; tests pass a counter for stable output).
    """

    definition: ElectionDefinition
    station_id: str
    kiosk_id: str
    verify_pin: Callable[[str, str], bool]
    new_id: Callable[[], str] = new_event_id

    def __post_init__(self) -> None:
        try:
            self.definition.station(self.station_id)
        except KeyError:
            raise ValueError(f"desk: station {self.station_id!r} is not in the election package") from None


# ---------------------------------------------------------------------------------------------------------------
# Actions: what the clerk, the manager or the outside world tells the machine


#: How identity was confirmed, recorded as ``data.identity`` on the RECORD_VIEWED and CHECK_IN events.
IDENTITY_CARD_PHOTO = "card_photo"  # card read and its face photo shown beside the record
IDENTITY_CARD_PIN_NO_PHOTO = "card_pin_no_photo"  # card read with the voter's PIN; the photo was not checked
IDENTITY_ENTRY_TICKET = "entry_ticket"  # 入場券 barcode (no photo exists)
IDENTITY_REGISTER_SEARCH = "register_search"  # name / kana / birth date search (no photo exists)
IDENTITY_DECISION = "decision_document"  # the manager checked the court / committee decision (法42条ただし書)

#: Consecutive wrong PINs after which a staff id is locked at this desk until a manager unlocks it.
MAX_SIGN_IN_FAILURES = 5


class IdSource(enum.StrEnum):
    """How the voter was identified (recorded with the view and the check-in)."""

    CARD = "card"  # マイナンバーカード basic 4 info
    BARCODE = "barcode"  # 入場券
    MANUAL = "manual"  # name / kana / birth date search
    DECISION = "decision"  # 決定書等所持者 (法42条ただし書): not in the register, a manager checked the paper decision


@dataclass(frozen=True, slots=True)
class ManagerAuth:
    """A manager's id and PIN, given with every manager action (verified each time: the act is deliberate)."""

    staff_id: str
    pin: str


@dataclass(frozen=True, slots=True)
class SignIn:
    """A member of staff signs in at the desk."""

    staff_id: str
    pin: str


@dataclass(frozen=True, slots=True)
class SignOut:
    """The signed-in member of staff leaves the desk."""


@dataclass(frozen=True, slots=True)
class CardRead:
    """Basic 4 info read from the My Number card (sex_code: 1 male, 2 female, 9 not applicable)."""

    name: str
    address: str
    birth_date: date
    sex_code: str
    # Whether the face photo came with this read (照合番号B path). The PIN path gives the basic 4 info only, so
    # the default is the conservative "no photo": identity is recorded as not checked against a photo.
    photo: bool = False


@dataclass(frozen=True, slots=True)
class PhotoChecked:
    """After a PIN read, the clerk read the face photo (security code) and it is on screen beside the record."""


@dataclass(frozen=True, slots=True)
class BarcodeScanned:
    """The 入場券 barcode: 15-digit 識別コード, optionally followed by more digits."""

    text: str


@dataclass(frozen=True, slots=True)
class ManualSearch:
    """The clerk searches by kana or kanji prefix, optionally narrowed by birth date."""

    text: str
    birth_date: date | None = None


@dataclass(frozen=True, slots=True)
class VotersFound:
    """Answer to :class:`FindVoter`: ``exact`` when the lookup itself is definitive (unique card match, barcode)."""

    candidates: tuple[Voter, ...]
    exact: bool = False


@dataclass(frozen=True, slots=True)
class CandidateChosen:
    """The clerk picked one register entry from the candidates."""

    code: str


@dataclass(frozen=True, slots=True)
class Confirmed:
    """The clerk compared the face photo / person with the record: it is this voter."""


@dataclass(frozen=True, slots=True)
class NotThisPerson:
    """Identity is in doubt: the manager decides (refusal or 仮投票, 法50条)."""


@dataclass(frozen=True, slots=True)
class HistoryLoaded:
    """Answer to :class:`LoadHistory`: every check-in known for the voter (own ledger + replica, voids applied)."""

    voter_code: str
    records: tuple[VotedRecord, ...]


@dataclass(frozen=True, slots=True)
class ReasonChosen:
    """The early voter's 事由 (1..6, 法48条の2第1項各号)."""

    reason: int


class ClaimStatus(enum.StrEnum):
    """The server's answer to a claim of (election, voter)."""

    ACCEPTED = "accepted"
    ALREADY_VOTED = "already_voted"
    OFFLINE = "offline"  # server not reachable in time (or no server): decide from the local ledger and replica


@dataclass(frozen=True, slots=True)
class ClaimAnswer:
    """One claim's outcome; ``existing`` names where and when for ALREADY_VOTED."""

    status: ClaimStatus
    existing: VotedRecord | None = None

    def __post_init__(self) -> None:
        # "Already voted" must always say where and when: the stop screen names it.
        if (self.status is ClaimStatus.ALREADY_VOTED) != (self.existing is not None):
            raise ValueError("ClaimAnswer: existing is required for already_voted and only for it")


@dataclass(frozen=True, slots=True)
class ClaimAnswered:
    """Answer to :class:`Claim`: election id → outcome."""

    voter_code: str
    answers: Mapping[str, ClaimAnswer]


@dataclass(frozen=True, slots=True)
class ManagerOverride:
    """The manager continues past a stop (already voted, absentee papers out, offline confirmation), with a reason."""

    manager: ManagerAuth
    reason: str


@dataclass(frozen=True, slots=True)
class Refuse:
    """The manager refuses the voter (拒否), with reason and legal article (e.g. 法50条)."""

    manager: ManagerAuth
    reason: str
    article: str


@dataclass(frozen=True, slots=True)
class Provisional:
    """The manager lets the voter cast a 仮投票 (sealed envelope, 法50条) because identity is disputed."""

    manager: ManagerAuth
    reason: str


@dataclass(frozen=True, slots=True)
class ProxyVote:
    """代理投票 (法48条): the manager appoints two different staff as helpers."""

    manager: ManagerAuth
    helpers: tuple[str, str]


@dataclass(frozen=True, slots=True)
class Braille:
    """点字投票 on request."""

    manager: ManagerAuth


@dataclass(frozen=True, slots=True)
class Reissue:
    """再交付: a spoiled ballot of ``election`` is exchanged, with a reason."""

    manager: ManagerAuth
    election: str
    reason: str


@dataclass(frozen=True, slots=True)
class Void:
    """The manager voids an earlier event (by id) with a reason; corrections are new events, never edits."""

    manager: ManagerAuth
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class UnlockStaff:
    """A manager lifts the sign-in lock of a staff id (locked after MAX_SIGN_IN_FAILURES wrong PINs in a row)."""

    manager: ManagerAuth
    staff_id: str


@dataclass(frozen=True, slots=True)
class DecisionHolder:
    """法42条ただし書: a person not in the register holds a court or committee decision that they may vote.

    The manager checks the paper decision and gives its reference (e.g. 「令和8年選管決定第12号」) and the sex it
    states (the 投票録 and the committee count voters by sex; with no register entry, the decision is the only source).
    The voter is keyed by :func:`ballots.model.decision_holder_key` of that reference; events carry the reference and
    the sex, never the name (the name is on the paper decision).
    """

    manager: ManagerAuth
    reference: str
    sex: Sex | None


@dataclass(frozen=True, slots=True)
class Reprint:
    """A manager reprints a 宣誓書 printed today at this desk, marked 再印刷.

    ``original`` is the DECLARATION event of the first print (from this desk's ledger) and ``voter`` its register
    entry; the caller looks both up, the machine checks they belong together and records the reprint.
    """

    manager: ManagerAuth
    original: Event
    voter: Voter


@dataclass(frozen=True, slots=True)
class Finish:
    """The clerk is done with this voter (ballots handed over, or sent away): back to the ready screen."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """Abandon the current voter before anything is recorded for them."""


Action = (
    SignIn
    | SignOut
    | CardRead
    | BarcodeScanned
    | ManualSearch
    | VotersFound
    | CandidateChosen
    | Confirmed
    | NotThisPerson
    | HistoryLoaded
    | ReasonChosen
    | ClaimAnswered
    | ManagerOverride
    | Refuse
    | Provisional
    | ProxyVote
    | Braille
    | Reissue
    | Void
    | UnlockStaff
    | DecisionHolder
    | Reprint
    | PhotoChecked
    | Finish
    | Cancel
)


# ---------------------------------------------------------------------------------------------------------------
# Effects: what the caller must do


@dataclass(frozen=True, slots=True)
class CardQuery:
    """Basic 4 info to match against the register."""

    name: str
    address: str
    birth_date: date
    sex_code: str


@dataclass(frozen=True, slots=True)
class FindVoter:
    """Look the voter up in the register; answer with :class:`VotersFound`."""

    source: IdSource
    card: CardQuery | None = None
    barcode: str | None = None
    text: str | None = None
    birth_date: date | None = None


@dataclass(frozen=True, slots=True)
class LoadHistory:
    """Load every known check-in of the voter; answer with :class:`HistoryLoaded`."""

    voter_code: str


@dataclass(frozen=True, slots=True)
class Claim:
    """Claim (election, voter) at the server for each prepared check-in; answer with :class:`ClaimAnswered`.

    The server keys the claim by the check-in's event id, so the CHECK_IN recorded afterwards is this same event
    (same id and time; ``data`` completed with the claim's outcome).
    """

    voter_code: str
    check_ins: tuple[Event, ...]

    @property
    def elections(self) -> tuple[str, ...]:
        """The elections claimed, in ballot order."""
        return tuple(str(e.election) for e in self.check_ins)


@dataclass(frozen=True, slots=True)
class Record:
    """Append these events to the ledger, in order, durably, before going on."""

    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class PrintDeclaration:
    """Print the 宣誓書 for an early voter (prefilled or blank per the package's layout; blank for a decision
    holder, who has no register entry: ``voter`` None)."""

    voter: Voter | None
    reason: int
    elections: tuple[Election, ...]
    on: date
    station_id: str
    reprint: bool = False  # printed again: the form carries 再印刷


Effect = FindVoter | LoadHistory | Claim | Record | PrintDeclaration


# ---------------------------------------------------------------------------------------------------------------
# State


class Screen(enum.StrEnum):
    """Which screen the desk shows; each has a Japanese title in :data:`TITLES`."""

    SIGNED_OUT = "signed_out"
    READY = "ready"
    SEARCHING = "searching"
    CHOOSE_CANDIDATE = "choose_candidate"
    NOT_FOUND = "not_found"
    CONFIRM_IDENTITY = "confirm_identity"
    IDENTITY_DOUBT = "identity_doubt"
    CHECKING = "checking"
    STOP = "stop"  # full-screen hard stop: already voted / absentee papers out; only the manager continues
    REFUSED = "refused"  # no ballot can be handed over here (wrong station, not eligible, …)
    CHOOSE_REASON = "choose_reason"
    CLAIMING = "claiming"
    OFFLINE_CONFIRM = "offline_confirm"
    ISSUE = "issue"  # hand over these ballots in this order; do NOT hand over those


TITLES: Mapping[Screen, str] = {
    Screen.SIGNED_OUT: "係員サインイン",
    Screen.READY: "受付待ち",
    Screen.SEARCHING: "名簿照会中",
    Screen.CHOOSE_CANDIDATE: "該当者の選択",
    Screen.NOT_FOUND: "名簿に該当なし",
    Screen.CONFIRM_IDENTITY: "本人確認",
    Screen.IDENTITY_DOUBT: "本人確認できません（投票管理者）",
    Screen.CHECKING: "投票状況確認中",
    Screen.STOP: "停止：投票管理者を呼んでください",
    Screen.REFUSED: "この投票所では交付できません",
    Screen.CHOOSE_REASON: "期日前投票の事由",
    Screen.CLAIMING: "交付登録中",
    Screen.OFFLINE_CONFIRM: "オフライン：投票管理者の確認",
    Screen.ISSUE: "投票用紙の交付",
}


@dataclass(frozen=True, slots=True)
class BallotLine:
    """One election on the issue screen: hand it over (``issue``) or not, and why."""

    election: Election
    issue: bool
    message: str
    check_in: str | None = None  # event id of the CHECK_IN recorded for it
    offline: bool = False


@dataclass(frozen=True, slots=True)
class ReceptionState:
    """Everything a desk screen needs. Frozen: every step returns a new one."""

    screen: Screen = Screen.SIGNED_OUT
    staff: StaffAccount | None = None
    source: IdSource | None = None
    candidates: tuple[Voter, ...] = ()
    voter: Voter | None = None
    voted: tuple[VotedRecord, ...] = ()
    eligibility: Eligibility | None = None
    overridden: frozenset[str] = frozenset()  # election ids a manager passed
    acknowledged: frozenset[str] = frozenset()  # voted election ids the clerk saw and left out (一部投票済)
    override_event: str | None = None
    absentee_overridden: bool = False
    provisional: bool = False
    provisional_reason: str = ""
    provisional_by: str | None = None  # the manager who allowed the 仮投票
    reason: int | None = None
    answers: Mapping[str, ClaimAnswer] = field(default_factory=dict)
    prepared: Mapping[str, Event] = field(default_factory=dict)  # claimed check-ins by election, recorded at the end
    offline_confirmed_by: str | None = None
    ballots: tuple[BallotLine, ...] = ()
    proxy_helpers: tuple[str, ...] = ()
    braille: bool = False
    reissued: tuple[str, ...] = ()
    identity: str | None = None  # IDENTITY_* for the voter at the desk
    decision_ref: str | None = None  # 決定書等所持者: the decision's reference (voter is None)
    decision_key: str | None = None  # ... and the synthetic register key derived from it
    decision_by: str | None = None  # ... and the manager who checked the decision
    decision_sex: Sex | None = None  # ... and the sex the decision states
    # Consecutive wrong PINs per staff id at this desk; kept across voters and sign-outs (a desk-level fact).
    sign_in_failures: Mapping[str, int] = field(default_factory=dict)
    notice: str = ""
    lines: tuple[str, ...] = ()
    error: str | None = None

    @property
    def title(self) -> str:
        """The screen's Japanese heading."""
        return TITLES[self.screen]

    @property
    def to_issue(self) -> tuple[Election, ...]:
        """On the issue screen: the elections whose ballot to hand over, in order."""
        return tuple(b.election for b in self.ballots if b.issue)

    @property
    def not_to_issue(self) -> tuple[BallotLine, ...]:
        """On the issue screen: the elections whose ballot must NOT be handed over, with why."""
        return tuple(b for b in self.ballots if not b.issue)


def initial_state() -> ReceptionState:
    """A desk nobody has signed in to."""
    return ReceptionState(notice="係員IDとPINを入力してください")


@dataclass(frozen=True, slots=True)
class Transition:
    """The result of one step."""

    state: ReceptionState
    effects: tuple[Effect, ...] = ()


# ---------------------------------------------------------------------------------------------------------------
# Which actions each screen accepts (for the UI's buttons and for the machine's own guard)

_VOTER_EXIT = (Cancel,)
_ALLOWED: Mapping[Screen, tuple[type, ...]] = {
    Screen.SIGNED_OUT: (SignIn,),
    Screen.READY: (SignIn, SignOut, CardRead, BarcodeScanned, ManualSearch, Void, UnlockStaff, Reprint, DecisionHolder),
    Screen.SEARCHING: (VotersFound, *_VOTER_EXIT),
    Screen.CHOOSE_CANDIDATE: (CandidateChosen, CardRead, BarcodeScanned, ManualSearch, *_VOTER_EXIT),
    Screen.NOT_FOUND: (CardRead, BarcodeScanned, ManualSearch, DecisionHolder, Finish, *_VOTER_EXIT),
    Screen.CONFIRM_IDENTITY: (Confirmed, NotThisPerson, PhotoChecked, *_VOTER_EXIT),
    Screen.IDENTITY_DOUBT: (Refuse, Provisional, *_VOTER_EXIT),
    Screen.CHECKING: (HistoryLoaded, *_VOTER_EXIT),
    Screen.STOP: (ManagerOverride, Refuse, Finish, Confirmed),  # Confirmed: only a partly voted voter's rest
    Screen.REFUSED: (Finish, Refuse),
    Screen.CHOOSE_REASON: (ReasonChosen, Refuse, *_VOTER_EXIT),
    Screen.CLAIMING: (ClaimAnswered, Cancel),  # Cancel: the server refused the request itself (shown as error)
    Screen.OFFLINE_CONFIRM: (ManagerOverride, Cancel),
    Screen.ISSUE: (ProxyVote, Braille, Reissue, Reprint, Finish),
}


def allowed_actions(state: ReceptionState) -> tuple[type, ...]:
    """The action types the current state accepts, for the UI's buttons (anything else is refused with an error).

    On the STOP screen the clerk's "continue" (Confirmed) is offered only to a partly voted voter with ballots left
    and no absentee question; a fully voted voter can be passed by the manager alone.
    """
    allowed = _ALLOWED[state.screen]
    if state.screen is Screen.CONFIRM_IDENTITY and state.identity != IDENTITY_CARD_PIN_NO_PHOTO:
        allowed = tuple(t for t in allowed if t is not PhotoChecked)
    if state.screen is Screen.STOP:
        elig = state.eligibility
        if elig is None or not elig.issuable or elig.manager_decides:
            allowed = tuple(t for t in allowed if t is not Confirmed)
    return allowed


# ---------------------------------------------------------------------------------------------------------------
# The step function


class _Refused(Exception):
    """Internal: the action is not acceptable; the message is for the clerk."""


def step(desk: Desk, state: ReceptionState, action: Action, now: datetime) -> Transition:
    """Apply one action at time ``now`` (timezone-aware): the new state and the effects to carry out.

    Never raises for bad input: an unacceptable action returns the unchanged state with ``error`` set.
    """
    if now.tzinfo is None:
        raise ValueError("step: now must be timezone-aware")
    clean = replace(state, error=None)
    if not isinstance(action, _ALLOWED[state.screen]):
        return Transition(
            replace(state, error=f"この画面では「{_ACTION_LABEL.get(type(action), '操作')}」はできません")
        )
    if state.staff is None and not isinstance(action, SignIn):
        return Transition(replace(state, error="係員がサインインしていません"))
    try:
        return _HANDLERS[type(action)](_Ctx(desk, clean, now), action)
    except _Refused as exc:
        return Transition(replace(state, error=str(exc)))


@dataclass(frozen=True, slots=True)
class _Ctx:
    desk: Desk
    state: ReceptionState
    now: datetime

    @property
    def definition(self) -> ElectionDefinition:
        return self.desk.definition

    @property
    def today(self) -> date:
        return self.now.astimezone(JST).date()

    def event(
        self,
        type_: EventType,
        *,
        staff_id: str | None = None,
        voter: str | None = None,
        election: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        staff = staff_id or (self.state.staff.id if self.state.staff else "")
        return Event(
            type=type_,
            station_id=self.desk.station_id,
            staff_id=staff,
            at=self.now,
            voter=voter,
            election=election,
            data=dict(data or {}),
            event_id=self.desk.new_id(),
        )

    def manager(self, auth: ManagerAuth) -> StaffAccount:
        """The verified manager, or _Refused."""
        try:
            account = self.definition.staff_member(auth.staff_id)
        except KeyError:
            raise _Refused(f"職員ID「{auth.staff_id}」は登録されていません") from None
        if account.role is not Role.MANAGER:
            raise _Refused(f"{account.name}さんは投票管理者ではありません")
        if not self.desk.verify_pin(account.pin_hash, auth.pin):
            raise _Refused("投票管理者のPINが違います")
        return account


def _ready(ctx: _Ctx, notice: str = "次の方どうぞ：入場券・マイナンバーカード・氏名検索") -> ReceptionState:
    """Back to the ready screen for the next voter, keeping only the signed-in staff (and the desk's lock counts)."""
    return ReceptionState(
        screen=Screen.READY, staff=ctx.state.staff, notice=notice, sign_in_failures=ctx.state.sign_in_failures
    )


def _require_text(text: str, what: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise _Refused(f"{what}を入力してください")
    if len(cleaned) > 200:
        raise _Refused(f"{what}が長すぎます（200文字まで）")
    return cleaned


def _voter_line(v: Voter) -> str:
    extra = f" {v.address_extra}" if v.address_extra else ""
    return f"{v.name}（{v.kana}）{format_wareki(v.birth_date)}生 {v.address}{extra}"


# --- staff ---------------------------------------------------------------------------------------------------


def _sign_in(ctx: _Ctx, a: SignIn) -> Transition:
    try:
        account = ctx.definition.staff_member(a.staff_id.strip())
    except KeyError:
        # Not logged: whatever was typed is not a staff id (it may be a PIN typed into the wrong field).
        raise _Refused(f"職員ID「{a.staff_id}」は登録されていません") from None
    failures = ctx.state.sign_in_failures.get(account.id, 0)
    # A locked id is refused without trying the PIN, so guessing cannot go on; the attempt is still logged.
    locked = failures >= MAX_SIGN_IN_FAILURES
    if locked or not ctx.desk.verify_pin(account.pin_hash, a.pin):
        failures += 1
        counts = {**ctx.state.sign_in_failures, account.id: failures}
        # The staff id only: never the PIN that was typed.
        ev = ctx.event(
            EventType.STAFF_SIGN_IN_FAILED,
            staff_id=account.id,
            data={"attempt": failures, "locked": failures >= MAX_SIGN_IN_FAILURES},
        )
        if failures >= MAX_SIGN_IN_FAILURES:
            message = (
                f"職員ID「{account.id}」はロックされています（PINが{MAX_SIGN_IN_FAILURES}回続けて違いました）。"
                "投票管理者がロックを解除するまでサインインできません"
            )
        else:
            message = f"PINが違います（あと{MAX_SIGN_IN_FAILURES - failures}回間違えるとロックされます）"
        return Transition(replace(ctx.state, sign_in_failures=counts, error=message), (Record((ev,)),))
    counts = {k: v for k, v in ctx.state.sign_in_failures.items() if k != account.id}
    effects: list[Event] = []
    if ctx.state.staff is not None:
        # Handing the desk over: the previous clerk's session ends here, in the log too.
        effects.append(ctx.event(EventType.STAFF_SIGN_OUT, data={"handover_to": account.id}))
    effects.append(ctx.event(EventType.STAFF_SIGN_IN, staff_id=account.id, data={"role": account.role.value}))
    fresh = ReceptionState(staff=account, sign_in_failures=counts)
    state = _ready(_Ctx(ctx.desk, fresh, ctx.now), f"{account.name}さん、サインインしました")
    return Transition(state, (Record(tuple(effects)),))


def _sign_out(ctx: _Ctx, a: SignOut) -> Transition:
    ev = ctx.event(EventType.STAFF_SIGN_OUT)
    return Transition(replace(initial_state(), sign_in_failures=ctx.state.sign_in_failures), (Record((ev,)),))


def _unlock_staff(ctx: _Ctx, a: UnlockStaff) -> Transition:
    manager = ctx.manager(a.manager)
    staff_id = _require_text(a.staff_id, "ロックを解除する職員ID")
    try:
        ctx.definition.staff_member(staff_id)
    except KeyError:
        raise _Refused(f"職員ID「{staff_id}」は登録されていません") from None
    if ctx.state.sign_in_failures.get(staff_id, 0) < MAX_SIGN_IN_FAILURES:
        raise _Refused(f"職員ID「{staff_id}」はロックされていません")
    ev = ctx.event(EventType.STAFF_UNLOCKED, staff_id=manager.id, data={"target": staff_id})
    counts = {k: v for k, v in ctx.state.sign_in_failures.items() if k != staff_id}
    state = replace(ctx.state, sign_in_failures=counts, notice=f"職員ID「{staff_id}」のロックを解除しました")
    return Transition(state, (Record((ev,)),))


def sign_in_failures_from(events: Iterable[Event]) -> dict[str, int]:
    """Consecutive wrong-PIN counts per staff id from a desk's ledger (oldest first), to seed a restarted desk.

    A successful sign-in or a manager's unlock resets the id's count, exactly as :func:`step` does.
    """
    counts: dict[str, int] = {}
    for ev in events:
        if ev.type is EventType.STAFF_SIGN_IN_FAILED:
            counts[ev.staff_id] = counts.get(ev.staff_id, 0) + 1
        elif ev.type is EventType.STAFF_SIGN_IN:
            counts.pop(ev.staff_id, None)
        elif ev.type is EventType.STAFF_UNLOCKED:
            counts.pop(str(ev.data.get("target")), None)
    return counts


# --- identify and match --------------------------------------------------------------------------------------


def _card_read(ctx: _Ctx, a: CardRead) -> Transition:
    name = _require_text(a.name, "氏名")
    address = _require_text(a.address, "住所")
    query = CardQuery(name=name, address=address, birth_date=a.birth_date, sex_code=a.sex_code)
    state = replace(
        _ready(ctx),
        screen=Screen.SEARCHING,
        source=IdSource.CARD,
        identity=identity_for(IdSource.CARD, photo=a.photo),
        notice="カード情報で名簿を照会しています",
    )
    return Transition(state, (FindVoter(IdSource.CARD, card=query),))


def _barcode(ctx: _Ctx, a: BarcodeScanned) -> Transition:
    # The register's own parser (Codabar start/stop letters, spaces, extract number) decides what a barcode is.
    try:
        text = code_from_barcode(a.text[:80])
    except ValueError:
        raise _Refused("入場券のバーコードを読み取れません（識別コード15桁の数字が必要です）") from None
    state = replace(
        _ready(ctx),
        screen=Screen.SEARCHING,
        source=IdSource.BARCODE,
        identity=identity_for(IdSource.BARCODE),
        notice="入場券で名簿を照会しています",
    )
    return Transition(state, (FindVoter(IdSource.BARCODE, barcode=text),))


def _manual(ctx: _Ctx, a: ManualSearch) -> Transition:
    # A birth date alone is a valid search (everyone born that day); otherwise a name or kana prefix is needed.
    text = a.text.strip()[:200] if a.birth_date is not None else _require_text(a.text, "氏名・カナまたは生年月日")
    state = replace(
        _ready(ctx),
        screen=Screen.SEARCHING,
        source=IdSource.MANUAL,
        identity=identity_for(IdSource.MANUAL),
        notice="氏名で名簿を検索しています",
    )
    return Transition(state, (FindVoter(IdSource.MANUAL, text=text, birth_date=a.birth_date),))


def _viewed(ctx: _Ctx, voter: Voter, purpose: str) -> Event:
    # Estonian principle: every display of a voter's record is logged with who, when and why.
    return ctx.event(
        EventType.RECORD_VIEWED,
        voter=voter.code,
        data={
            "purpose": purpose,
            "source": ctx.state.source.value if ctx.state.source else None,
            "identity": ctx.state.identity,
        },
    )


def identity_for(source: IdSource, *, photo: bool = False) -> str:
    """The ``data.identity`` value for a voter identified by ``source`` (``photo``: a card read with its photo)."""
    if source is IdSource.CARD:
        return IDENTITY_CARD_PHOTO if photo else IDENTITY_CARD_PIN_NO_PHOTO
    if source is IdSource.BARCODE:
        return IDENTITY_ENTRY_TICKET
    return IDENTITY_REGISTER_SEARCH


_PHOTO_NOTICE = "顔写真・本人を確認してください"
_NO_PHOTO_NOTICE = "顔写真は未確認です（暗証番号で読取）。セキュリティコード4桁で写真を読めます [F4]"


def _confirm_screen(ctx: _Ctx, voter: Voter) -> Transition:
    state = replace(
        ctx.state,
        screen=Screen.CONFIRM_IDENTITY,
        voter=voter,
        candidates=(),
        notice=_NO_PHOTO_NOTICE if ctx.state.identity == IDENTITY_CARD_PIN_NO_PHOTO else _PHOTO_NOTICE,
        lines=(_voter_line(voter), f"投票区 {voter.precinct}　{voter.volume}冊 {voter.page}頁 {voter.line}行"),
    )
    return Transition(state, (Record((_viewed(ctx, voter, "本人確認"),)),))


def _voters_found(ctx: _Ctx, a: VotersFound) -> Transition:
    if not a.candidates:
        hint = "カナ・生年月日で検索し直すか、入場券を確認してください"
        return Transition(
            replace(ctx.state, screen=Screen.NOT_FOUND, notice="選挙人名簿に該当者がいません", lines=(hint,))
        )
    if a.exact and len(a.candidates) == 1:
        return _confirm_screen(ctx, a.candidates[0])
    # Never auto-accept an ambiguous match: the clerk chooses, and each entry shown is a record viewed.
    state = replace(
        ctx.state,
        screen=Screen.CHOOSE_CANDIDATE,
        candidates=a.candidates,
        notice=f"候補が{len(a.candidates)}件あります。本人を選んでください",
        lines=tuple(_voter_line(v) for v in a.candidates),
    )
    return Transition(state, (Record(tuple(_viewed(ctx, v, "候補一覧") for v in a.candidates)),))


def _candidate_chosen(ctx: _Ctx, a: CandidateChosen) -> Transition:
    for v in ctx.state.candidates:
        if v.code == a.code:
            return _confirm_screen(ctx, v)
    raise _Refused("選んだ識別コードは候補の中にありません")


def _confirmed(ctx: _Ctx, a: Confirmed) -> Transition:
    if ctx.state.screen is Screen.STOP:
        return _acknowledge_partial(ctx)
    code = _code(ctx)
    state = replace(ctx.state, screen=Screen.CHECKING, notice="投票状況を確認しています", lines=())
    return Transition(state, (LoadHistory(code),))


def _photo_checked(ctx: _Ctx, a: PhotoChecked) -> Transition:
    # Offered only while the identity is "card, PIN, no photo" (allowed_actions); any other state is refused.
    if ctx.state.identity != IDENTITY_CARD_PIN_NO_PHOTO:
        raise _Refused("顔写真はすでに表示されているか、この確認方法では読めません")
    return Transition(replace(ctx.state, identity=IDENTITY_CARD_PHOTO, notice=_PHOTO_NOTICE))


def _acknowledge_partial(ctx: _Ctx) -> Transition:
    """The clerk continues a partly voted voter with the remaining elections only; voted ones stay refused."""
    elig = ctx.state.eligibility
    assert elig is not None
    if elig.manager_decides:
        raise _Refused("不在者投票の扱いは投票管理者が判断します")
    if not elig.issuable:
        raise _Refused("すべての選挙で投票済みです。続行できるのは投票管理者だけです")
    acknowledged = ctx.state.acknowledged | {d.election.id for d in elig.hard_stops}
    return _decide(ctx, replace(ctx.state, acknowledged=frozenset(acknowledged)))


def _not_this_person(ctx: _Ctx, a: NotThisPerson) -> Transition:
    state = replace(
        ctx.state,
        screen=Screen.IDENTITY_DOUBT,
        notice="本人であることを確認できません。投票管理者が拒否または仮投票を決定します（法50条）",
    )
    return Transition(state)


def _code(ctx: _Ctx) -> str:
    """The register key of the person at the desk: the register entry's, or a decision holder's synthetic key."""
    if ctx.state.voter is not None:
        return ctx.state.voter.code
    if ctx.state.decision_key is not None:
        return ctx.state.decision_key
    raise _Refused("選挙人が選ばれていません")


def _voter(ctx: _Ctx) -> Voter:
    if ctx.state.voter is None:  # the screen guards make this unreachable; kept as a clear failure
        raise _Refused("選挙人が選ばれていません")
    return ctx.state.voter


# --- eligibility ---------------------------------------------------------------------------------------------


def _assess(ctx: _Ctx, state: ReceptionState) -> Eligibility:
    voted = [r for r in state.voted if r.election not in state.overridden]
    if state.decision_ref is not None:
        # 法42条ただし書: not in the register; the rules decide with no register entry and the decision's authority.
        return assess(ctx.definition, ctx.desk.station_id, ctx.today, None, voted, decision_holder=True)
    voter = _voter(replace(ctx, state=state))
    if state.absentee_overridden and voter.absentee is AbsenteeStatus.ISSUED:
        voter = replace(voter, absentee=None)
    if state.absentee_overridden and voter.absentee is AbsenteeStatus.RECEIVED:
        voter = replace(voter, absentee=None)
    # A manager's override lifts the already-voted record for those elections only; every other rule still applies.
    return assess(ctx.definition, ctx.desk.station_id, ctx.today, voter, voted)


def _history_loaded(ctx: _Ctx, a: HistoryLoaded) -> Transition:
    code = _code(ctx)
    if a.voter_code != code:
        raise _Refused("別の選挙人の投票状況が返されました。もう一度確認してください")
    return _decide(ctx, replace(ctx.state, voted=tuple(a.records)))


def _decide(ctx: _Ctx, state: ReceptionState) -> Transition:
    """Route on eligibility: stop, refuse, ask for the 事由, or claim."""
    elig = _assess(ctx, state)
    state = replace(state, eligibility=elig, lines=tuple(d.message for d in elig.decisions))
    unacknowledged = tuple(d for d in elig.hard_stops if d.election.id not in state.acknowledged)
    if unacknowledged or elig.manager_decides:
        if elig.manager_decides:
            notice = "不在者投票用紙が交付されています。投票用紙を渡さず、投票管理者を呼んでください"
        elif elig.issuable:
            # 一部投票済: legitimate when early voting for some elections began later; those ballots only.
            voted = "・".join(d.election.short_name for d in elig.hard_stops)
            notice = f"一部投票済みです（{voted}）。その投票用紙は渡さないでください。残りは確認のうえ続行できます"
        else:
            notice = "投票済みです。投票用紙を渡さず、投票管理者を呼んでください"
        # Logged whatever happens next (override, refusal or sent away): every recent double vote came from a
        # missed or overridden notice, so the committee must see each notice that was shown.
        stops = (*unacknowledged, *elig.manager_decides)
        shown = replace(ctx, state=state).event(
            EventType.STOP_SHOWN,
            voter=_code(ctx),
            data={
                "codes": sorted({d.code.value for d in stops}),
                "elections": [d.election.id for d in stops],
                "existing": [d.voted.to_dict() for d in stops if d.voted is not None],
            },
        )
        return Transition(replace(state, screen=Screen.STOP, notice=notice), (Record((shown,)),))
    if not elig.issuable:
        if elig.right_station is not None:
            notice = f"この投票所では投票できません。「{elig.right_station.name}」で投票してください"
        else:
            notice = "交付できる投票用紙はありません"
        return Transition(replace(state, screen=Screen.REFUSED, notice=notice))
    if elig.kind is CheckInKind.EARLY and state.reason is None:
        lines = tuple(f"{n}. {text}" for n, text in REASONS.items())
        return Transition(
            replace(state, screen=Screen.CHOOSE_REASON, notice="宣誓書の事由を選んでください", lines=lines)
        )
    return _claim_or_finalise(ctx, state)


def _reason_chosen(ctx: _Ctx, a: ReasonChosen) -> Transition:
    if a.reason not in REASONS:
        raise _Refused("事由は1から6の番号で選んでください")
    return _claim_or_finalise(ctx, replace(ctx.state, reason=a.reason))


def _claim_or_finalise(ctx: _Ctx, state: ReceptionState) -> Transition:
    elig = state.eligibility
    assert elig is not None
    code = _code(replace(ctx, state=state))
    # Overridden elections are not claimed: the server already holds a claim; the check-in stands as a conflict.
    # Provisional votes are not claimed either: the identity is in dispute, so the real voter must not be blocked.
    pending = tuple(
        e.id
        for e in elig.issuable
        if e.id not in state.answers and e.id not in state.overridden and not state.provisional
    )
    if pending:
        prepared = dict(state.prepared)
        for eid in pending:
            prepared[eid] = ctx.event(EventType.CHECK_IN, voter=code, election=eid, data=_check_in_data(state))
        state = replace(state, screen=Screen.CLAIMING, notice="投票用紙の交付を登録しています", prepared=prepared)
        return Transition(state, (Claim(code, tuple(prepared[eid] for eid in pending)),))
    return _finalise(ctx, state)


_PENDING = ClaimAnswer(ClaimStatus.ACCEPTED)


def _check_in_data(state: ReceptionState) -> dict[str, Any]:
    elig = state.eligibility
    assert elig is not None
    data: dict[str, Any] = {
        "kind": elig.kind.value,
        "source": state.source.value if state.source else None,
        "identity": state.identity,
    }
    if state.decision_ref is not None:
        # The reference only: the name is on the paper decision, never in an event.
        data["decision_ref"] = state.decision_ref
        data["decision_by"] = state.decision_by
        if state.decision_sex is not None:
            data["decision_sex"] = state.decision_sex.value
    return data


def _claim_answered(ctx: _Ctx, a: ClaimAnswered) -> Transition:
    state = ctx.state
    code = _code(ctx)
    if a.voter_code != code:
        raise _Refused("別の選挙人の登録結果が返されました")
    unknown = set(a.answers) - set(state.prepared)
    if unknown:
        raise _Refused(f"登録していない選挙の結果が返されました（{', '.join(sorted(unknown))}）")
    answers = dict(state.answers)
    answers.update(a.answers)
    # A refused claim's event is never recorded: after an override the check-in gets a fresh id of its own.
    prepared = {
        k: v for k, v in state.prepared.items() if answers.get(k, _PENDING).status is not ClaimStatus.ALREADY_VOTED
    }
    state = replace(state, answers=answers, prepared=prepared)
    already = tuple(ans.existing for ans in a.answers.values() if ans.existing is not None)
    if already:
        # The server knows a vote this desk did not: stop exactly as if the ledger had shown it.
        return _decide(ctx, replace(state, voted=state.voted + already))
    return _claim_or_finalise(ctx, state)


def _finalise(ctx: _Ctx, state: ReceptionState) -> Transition:
    """Record the check-ins (or the 仮投票), print the 宣誓書, and show the ballots to hand over."""
    elig = state.eligibility
    assert elig is not None
    code = _code(replace(ctx, state=state))
    offline = [
        e.id
        for e in elig.issuable
        if state.answers.get(e.id, ClaimAnswer(ClaimStatus.ACCEPTED)).status is ClaimStatus.OFFLINE
    ]
    if offline and ctx.definition.offline_policy is OfflinePolicy.MANAGER and state.offline_confirmed_by is None:
        return Transition(
            replace(
                state,
                screen=Screen.OFFLINE_CONFIRM,
                notice="サーバーに接続できません。端末の記録で確認済みです。交付には投票管理者の確認が必要です",
            )
        )
    ctx = replace(ctx, state=state)
    events: list[Event] = []
    effects: list[Effect] = []
    lines: list[BallotLine] = []
    if state.reason is not None:
        issued = elig.issuable
        # A decision holder has no register entry: the 宣誓書 is printed blank and filled in by hand.
        effects.append(PrintDeclaration(state.voter, state.reason, issued, ctx.today, ctx.desk.station_id))
        events.append(ctx.event(EventType.DECLARATION, voter=code, data={"reason": state.reason, "reprint": False}))
    if state.provisional:
        events.append(
            ctx.event(
                EventType.PROVISIONAL,
                staff_id=state.provisional_by,
                voter=code,
                data={
                    "reason": state.provisional_reason,
                    "outcome": "仮投票（封筒に封入し開票管理者が決定）",
                    "elections": [e.id for e in elig.issuable],
                },
            )
        )
    for d in elig.decisions:
        if not d.issuable:
            lines.append(BallotLine(d.election, False, d.message))
            continue
        if state.provisional:
            lines.append(BallotLine(d.election, True, f"{d.election.short_name}：仮投票用として交付"))
            continue
        answer = state.answers.get(d.election.id)
        is_offline = answer is not None and answer.status is ClaimStatus.OFFLINE
        data: dict[str, Any] = {**_check_in_data(state), "offline": is_offline}
        if d.election.id in state.overridden:
            data["claim"] = "override"
            data["override"] = state.override_event
        else:
            data["claim"] = "offline" if is_offline else "accepted"
        if is_offline and state.offline_confirmed_by:
            data["offline_confirmed_by"] = state.offline_confirmed_by
        if state.reason is not None:
            data["reason"] = state.reason
        claimed = state.prepared.get(d.election.id)
        if claimed is not None:
            ev = replace(claimed, data=data)  # the claim's own event id and time, as the server holds them
        else:
            ev = ctx.event(EventType.CHECK_IN, voter=code, election=d.election.id, data=data)
        events.append(ev)
        lines.append(BallotLine(d.election, True, d.message, ev.event_id, is_offline))
    effects.insert(0, Record(tuple(events)))
    give = "→".join(b.election.short_name for b in lines if b.issue)
    notice = f"この順に投票用紙を渡してください：{give}"
    text = [f"○ {b.election.short_name}を渡す" if b.issue else f"× {b.message}（渡さない）" for b in lines]
    if offline:
        text.append("（オフライン記録：サーバー接続後に送信されます）")
    return Transition(
        replace(state, screen=Screen.ISSUE, ballots=tuple(lines), notice=notice, lines=tuple(text)), tuple(effects)
    )


# --- manager actions -----------------------------------------------------------------------------------------


def _override(ctx: _Ctx, a: ManagerOverride) -> Transition:
    manager = ctx.manager(a.manager)
    reason = _require_text(a.reason, "理由")
    state = ctx.state
    code = _code(ctx)
    if state.screen is Screen.OFFLINE_CONFIRM:
        ev = ctx.event(
            EventType.OVERRIDE,
            staff_id=manager.id,
            voter=code,
            data={"stop": "offline", "reason": reason, "elections": sorted(_offline_ids(state))},
        )
        t = _finalise(ctx, replace(state, offline_confirmed_by=manager.id))
        return Transition(t.state, (Record((ev,)), *t.effects))
    elig = state.eligibility
    assert elig is not None
    # Only what the STOP screen is showing now: ballots the clerk already left out (一部投票済) stay left out.
    stops = tuple(d for d in elig.hard_stops if d.election.id not in state.acknowledged) + elig.manager_decides
    ev = ctx.event(
        EventType.OVERRIDE,
        staff_id=manager.id,
        voter=code,
        data={
            "stop": sorted({d.code.value for d in stops}),
            "reason": reason,
            "elections": [d.election.id for d in stops],
            "existing": [d.voted.to_dict() for d in stops if d.voted is not None],
        },
    )
    absentee = any(d.code in (Code.ABSENTEE_ISSUED, Code.ABSENTEE_RECEIVED) for d in stops)
    voted_over = frozenset(d.election.id for d in stops if d.code is Code.ALREADY_VOTED)
    state = replace(
        state,
        overridden=state.overridden | voted_over,
        override_event=ev.event_id,
        absentee_overridden=state.absentee_overridden or absentee,
    )
    t = _decide(ctx, state)
    return Transition(t.state, (Record((ev,)), *t.effects))


def _offline_ids(state: ReceptionState) -> set[str]:
    return {eid for eid, ans in state.answers.items() if ans.status is ClaimStatus.OFFLINE}


def _refuse(ctx: _Ctx, a: Refuse) -> Transition:
    manager = ctx.manager(a.manager)
    reason = _require_text(a.reason, "拒否の理由")
    article = _require_text(a.article, "根拠条文")
    code = _code(ctx)
    ev = ctx.event(EventType.REFUSAL, staff_id=manager.id, voter=code, data={"reason": reason, "article": article})
    return Transition(_ready(ctx, f"拒否を記録しました（{article}）。次の方どうぞ"), (Record((ev,)),))


def _provisional(ctx: _Ctx, a: Provisional) -> Transition:
    manager = ctx.manager(a.manager)
    reason = _require_text(a.reason, "仮投票の理由")
    # Eligibility still applies to the presumed voter; nothing is claimed, the 仮投票 event records the ballots.
    state = replace(ctx.state, provisional=True, provisional_reason=reason, provisional_by=manager.id)
    state = replace(state, screen=Screen.CHECKING)
    return Transition(replace(state, notice="仮投票：投票状況を確認しています", lines=()), (LoadHistory(_code(ctx)),))


def _proxy(ctx: _Ctx, a: ProxyVote) -> Transition:
    manager = ctx.manager(a.manager)
    helpers = tuple(h.strip() for h in a.helpers)
    if len(helpers) != 2 or helpers[0] == helpers[1]:
        raise _Refused("補助者は異なる2名の職員を選んでください")
    for h in helpers:
        try:
            ctx.definition.staff_member(h)
        except KeyError:
            raise _Refused(f"補助者の職員ID「{h}」は登録されていません") from None
    code = _code(ctx)
    ev = ctx.event(EventType.PROXY_VOTE, staff_id=manager.id, voter=code, data={"helpers": list(helpers)})
    names = "・".join(ctx.definition.staff_member(h).name for h in helpers)
    state = replace(ctx.state, proxy_helpers=helpers, lines=(*ctx.state.lines, f"代理投票：補助者 {names}"))
    return Transition(state, (Record((ev,)),))


def _braille(ctx: _Ctx, a: Braille) -> Transition:
    manager = ctx.manager(a.manager)
    if ctx.state.braille:
        raise _Refused("点字投票は記録済みです")
    code = _code(ctx)
    ev = ctx.event(
        EventType.BRAILLE, staff_id=manager.id, voter=code, data={"elections": [e.id for e in ctx.state.to_issue]}
    )
    return Transition(replace(ctx.state, braille=True, lines=(*ctx.state.lines, "点字投票")), (Record((ev,)),))


def _reissue(ctx: _Ctx, a: Reissue) -> Transition:
    manager = ctx.manager(a.manager)
    reason = _require_text(a.reason, "再交付の理由")
    line = next((b for b in ctx.state.ballots if b.election.id == a.election), None)
    if line is None or not line.issue:
        raise _Refused("この選挙の投票用紙は交付していないため再交付できません")
    code = _code(ctx)
    ev = ctx.event(
        EventType.BALLOT_REISSUED,
        staff_id=manager.id,
        voter=code,
        election=a.election,
        data={"reason": reason, "check_in": line.check_in},
    )
    state = replace(
        ctx.state,
        reissued=(*ctx.state.reissued, a.election),
        lines=(*ctx.state.lines, f"再交付：{line.election.short_name}（{reason}）"),
    )
    return Transition(state, (Record((ev,)),))


def _decision_holder(ctx: _Ctx, a: DecisionHolder) -> Transition:
    manager = ctx.manager(a.manager)
    reference = _require_text(a.reference, "決定書・判決書の番号")
    try:
        key = decision_holder_key(reference)
    except ValueError:
        raise _Refused("決定書・判決書の番号（数字を含む、14桁まで）を入力してください") from None
    if not isinstance(a.sex, Sex):
        raise _Refused("決定書・判決書に記載の性別（男・女）を選んでください")
    state = replace(
        _ready(ctx),
        screen=Screen.CHECKING,
        source=IdSource.DECISION,
        identity=IDENTITY_DECISION,
        decision_ref=reference,
        decision_key=key,
        decision_by=manager.id,
        decision_sex=a.sex,
        notice=f"決定書等所持者（{reference}）：投票状況を確認しています",
        lines=(f"決定書等所持者（法42条ただし書）　{reference}　{a.sex.label}　仮の識別コード {key}",),
    )
    # Straight to the history: there is no register entry to show; the manager has checked the paper decision.
    return Transition(state, (LoadHistory(key),))


def _reprint(ctx: _Ctx, a: Reprint) -> Transition:
    manager = ctx.manager(a.manager)
    original = a.original
    if original.type is not EventType.DECLARATION or original.data.get("reprint"):
        raise _Refused("再印刷できるのは最初に印刷した宣誓書だけです")
    if original.station_id != ctx.desk.station_id or original.at.astimezone(JST).date() != ctx.today:
        raise _Refused("再印刷できるのは、この投票所で本日印刷した宣誓書だけです")
    if original.voter != a.voter.code:
        raise _Refused("宣誓書と選挙人の識別コードが一致しません")
    reason = original.data.get("reason")
    if not isinstance(reason, int) or reason not in REASONS:
        raise _Refused("元の宣誓書の事由が読めないため再印刷できません")
    ev = ctx.event(
        EventType.DECLARATION,
        staff_id=manager.id,
        voter=a.voter.code,
        data={"reason": reason, "reprint": True, "original": original.event_id},
    )
    on = original.at.astimezone(JST).date()
    elections = ctx.definition.ordered_elections()
    effects: tuple[Effect, ...] = (
        Record((ev,)),
        PrintDeclaration(a.voter, reason, tuple(elections), on, ctx.desk.station_id, reprint=True),
    )
    # Said before the printer answers: a refusal is shown by the desk as a print warning, so claim no more than this.
    state = replace(ctx.state, notice=f"宣誓書の再印刷を記録し、印刷に回しました（再印刷・識別コード {a.voter.code}）")
    return Transition(state, effects)


def _void(ctx: _Ctx, a: Void) -> Transition:
    manager = ctx.manager(a.manager)
    target = _require_text(a.target, "取り消す記録のID")
    reason = _require_text(a.reason, "取消しの理由")
    ev = ctx.event(EventType.VOID, staff_id=manager.id, data={"target": target, "reason": reason})
    return Transition(_ready(ctx, f"記録 {target[:8]}… を取り消しました"), (Record((ev,)),))


# --- leaving a voter -----------------------------------------------------------------------------------------


def _finish(ctx: _Ctx, a: Finish) -> Transition:
    return Transition(_ready(ctx))


def _cancel(ctx: _Ctx, a: Cancel) -> Transition:
    return Transition(_ready(ctx, "受付を中止しました。次の方どうぞ"))


_HANDLERS: Mapping[type, Callable[[_Ctx, Any], Transition]] = {
    SignIn: _sign_in,
    SignOut: _sign_out,
    CardRead: _card_read,
    BarcodeScanned: _barcode,
    ManualSearch: _manual,
    VotersFound: _voters_found,
    CandidateChosen: _candidate_chosen,
    Confirmed: _confirmed,
    NotThisPerson: _not_this_person,
    HistoryLoaded: _history_loaded,
    ReasonChosen: _reason_chosen,
    ClaimAnswered: _claim_answered,
    ManagerOverride: _override,
    Refuse: _refuse,
    Provisional: _provisional,
    ProxyVote: _proxy,
    Braille: _braille,
    Reissue: _reissue,
    Void: _void,
    UnlockStaff: _unlock_staff,
    DecisionHolder: _decision_holder,
    Reprint: _reprint,
    PhotoChecked: _photo_checked,
    Finish: _finish,
    Cancel: _cancel,
}

_ACTION_LABEL: Mapping[type, str] = {
    SignIn: "サインイン",
    SignOut: "サインアウト",
    CardRead: "カード読取",
    BarcodeScanned: "入場券読取",
    ManualSearch: "氏名検索",
    VotersFound: "照会結果",
    CandidateChosen: "候補選択",
    Confirmed: "本人確認",
    NotThisPerson: "本人ではない",
    HistoryLoaded: "投票状況",
    ReasonChosen: "事由選択",
    ClaimAnswered: "交付登録結果",
    ManagerOverride: "管理者による続行",
    Refuse: "拒否",
    Provisional: "仮投票",
    ProxyVote: "代理投票",
    Braille: "点字投票",
    Reissue: "再交付",
    Void: "取消し",
    UnlockStaff: "ロック解除",
    DecisionHolder: "決定書等所持者",
    Reprint: "宣誓書の再印刷",
    PhotoChecked: "顔写真の読取",
    Finish: "完了",
    Cancel: "中止",
}
