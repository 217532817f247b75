"""The headless reception service: runs the pure workflow (kiosk.workflow) against the real things.

:class:`Reception` owns one desk's :class:`~kiosk.workflow.ReceptionState`. ``handle(action)`` steps the machine and
carries out its effects — register lookups, the voter's history from the ledger (own + replica, voids applied),
claims at the tally server (or "offline" when there is none or it does not answer in time), durable appends to the
ledger, the 宣誓書 through the print service — feeding every answer back in, until the machine waits for a person.
No Qt: the UI calls ``handle`` from a background operation and renders the returned state.

Ordering guarantee: events are appended to the ledger *before* the new state is adopted. If the ledger refuses, the
desk stays where it was with an error for the clerk, so the screen never shows a check-in that is not on disk.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Protocol

from ballots.declaration import render_declaration
from ballots.events import CheckInKind, Event, EventType
from ballots.matching import CardMatch, MatchStatus
from ballots.model import Voter, decision_holder_key
from ballots.printing import JobStatus, PrintDocument, PrintJob, PrintService
from ballots.rules import VotedRecord
from kiosk.workflow import (
    Action,
    Claim,
    ClaimAnswer,
    ClaimAnswered,
    ClaimStatus,
    DecisionHolder,
    Desk,
    Effect,
    FindVoter,
    HistoryLoaded,
    IdSource,
    LoadHistory,
    PrintDeclaration,
    ReceptionState,
    Record,
    VotersFound,
    initial_state,
    sign_in_failures_from,
    step,
)

__all__ = [
    "ClaimFunction",
    "LedgerLike",
    "Reception",
    "ReceptionError",
    "RegisterLike",
    "StepReport",
    "claim_with",
]

log = logging.getLogger("uketsuke.reception")


class ReceptionError(RuntimeError):
    """Something outside the machine failed in a way the desk cannot carry on from (message for the clerk)."""


class RegisterLike(Protocol):
    """What the reception needs of the register (``ballots.register.RegisterIndex`` provides it)."""

    def by_barcode(self, text: str) -> Voter | None: ...
    def match_card(self, name: str, address: str, birth_date: date | str, sex: str | None) -> CardMatch: ...
    def search(self, query: str, birth_date: date | None = None, limit: int = 50) -> list[Voter]: ...


class _CheckInLike(Protocol):
    @property
    def election(self) -> str: ...
    @property
    def station_id(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> CheckInKind: ...
    @property
    def event_id(self) -> str: ...
    @property
    def offline(self) -> bool: ...


class LedgerLike(Protocol):
    """What the reception needs of the ledger (``sync.ledger.Ledger`` provides it)."""

    def append_many(self, events: Sequence[Event]) -> Sequence[Any]: ...
    def checkins_for(self, voter: str) -> Sequence[_CheckInLike]: ...


#: Claim one prepared check-in at the server. Return OFFLINE when the server cannot answer in time; raise
#: ReceptionError when the server answers but refuses the request itself (wrong package, revoked kiosk, …).
ClaimFunction = Callable[[Event], ClaimAnswer]


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one ``handle`` call did: every (action, state) the machine went through and the effects carried out."""

    steps: tuple[tuple[Action, ReceptionState], ...]
    recorded: tuple[Event, ...] = ()
    printed: tuple[PrintJob, ...] = ()
    claims: Mapping[str, ClaimAnswer] = field(default_factory=dict)

    @property
    def state(self) -> ReceptionState:
        """The state the desk ended in."""
        return self.steps[-1][1]


class Reception:
    """One desk: the workflow state plus the register, ledger, claim function and print service it runs against.

    Thread-safe: ``handle`` calls are serialised, so a UI may call it from a worker thread. ``clock`` returns the
    current UTC time (injected so tests and the scripted demo can run a whole day in a second).
    """

    def __init__(
        self,
        desk: Desk,
        register: RegisterLike,
        ledger: LedgerLike,
        *,
        claim: ClaimFunction | None = None,
        printer: PrintService | None = None,
        clock: Callable[[], datetime] | None = None,
        on_recorded: Callable[[Sequence[Event]], None] | None = None,
        search_limit: int = 50,
    ) -> None:
        self.desk = desk
        self.register = register
        self.ledger = ledger
        self.claim = claim
        self.printer = printer
        self.clock = clock or (lambda: datetime.now(UTC))
        self.on_recorded = on_recorded
        self.search_limit = search_limit
        # Sign-in locks outlive a restart: a locked staff id stays locked until a manager unlocks it.
        events = getattr(ledger, "events", None)
        failures: dict[str, int] = {}
        if events is not None:
            types = [EventType.STAFF_SIGN_IN, EventType.STAFF_SIGN_IN_FAILED, EventType.STAFF_UNLOCKED]
            failures = sign_in_failures_from(events(types=types))
        self._state = replace(initial_state(), sign_in_failures=failures)
        self._lock = threading.Lock()

    @property
    def state(self) -> ReceptionState:
        """The desk's current state."""
        return self._state

    def handle(self, action: Action) -> StepReport:
        """Apply ``action`` and run every effect (and the answers they produce) until the desk waits for a person."""
        with self._lock:
            clash = self._decision_key_clash(action)
            if clash is not None:
                self._state = replace(self._state, error=clash)
                return StepReport(((action, self._state),))
            steps: list[tuple[Action, ReceptionState]] = []
            recorded: list[Event] = []
            printed: list[PrintJob] = []
            claims: dict[str, ClaimAnswer] = {}
            queue: list[Action] = [action]
            while queue:
                current = queue.pop(0)
                before = self._state
                t = step(self.desk, before, current, self.clock())
                # Durable first: the ledger must hold the events before the desk shows their consequences.
                try:
                    for eff in t.effects:
                        if isinstance(eff, Record) and eff.events:
                            self.ledger.append_many(eff.events)
                            recorded.extend(eff.events)
                            self._log_recorded(eff.events)
                except (ValueError, OSError, sqlite3.Error) as exc:
                    log.error(
                        "ledger refused %d event(s): %s",
                        sum(len(e.events) for e in t.effects if isinstance(e, Record)),
                        exc,
                    )
                    self._state = replace(before, error=f"記録できませんでした。投票管理者に連絡してください（{exc}）")
                    steps.append((current, self._state))
                    break
                if any(isinstance(eff, Record) and eff.events for eff in t.effects) and self.on_recorded:
                    self.on_recorded([e for eff in t.effects if isinstance(eff, Record) for e in eff.events])
                self._state = t.state
                steps.append((current, t.state))
                for eff in t.effects:
                    follow = self._run(eff, printed, claims)
                    if isinstance(follow, str):
                        # The outside world refused the request itself: say so on the current screen.
                        self._state = replace(self._state, error=follow)
                        steps[-1] = (current, self._state)
                    elif follow is not None:
                        queue.append(follow)
            return StepReport(tuple(steps), tuple(recorded), tuple(printed), claims)

    def _decision_key_clash(self, action: Action) -> str | None:
        """A decision holder's synthetic key must not be a real register entry's (the machine has no register)."""
        if not isinstance(action, DecisionHolder):
            return None
        try:
            key = decision_holder_key(action.reference)
            voter = self.register.by_barcode(key)
        except ValueError:
            return None  # the machine refuses a reference without a usable number, with its own message
        if voter is None:
            return None
        log.warning("decision reference maps to register key %s, which is a register entry", key)
        return f"この決定書の番号から作る識別コード {key} は名簿の選挙人と重なります。選挙管理委員会に確認してください"

    # -- effects ---------------------------------------------------------------------------------------------------

    def _run(self, eff: Effect, printed: list[PrintJob], claims: dict[str, ClaimAnswer]) -> Action | str | None:
        if isinstance(eff, Record):
            return None  # already appended before the state was adopted
        if isinstance(eff, FindVoter):
            return self._find(eff)
        if isinstance(eff, LoadHistory):
            return HistoryLoaded(eff.voter_code, self._history(eff.voter_code))
        if isinstance(eff, Claim):
            answers: dict[str, ClaimAnswer] = {}
            for ev in eff.check_ins:
                try:
                    answers[str(ev.election)] = self._claim(ev)
                except ReceptionError as exc:
                    return f"サーバーが交付登録を受け付けません：{exc}。中止して投票管理者に連絡してください"
            claims.update(answers)
            return ClaimAnswered(eff.voter_code, answers)
        if isinstance(eff, PrintDeclaration):
            job = self._print_declaration(eff)
            if job is not None:
                printed.append(job)
            return None
        raise TypeError(f"unknown effect {type(eff).__name__}")  # pragma: no cover - the Effect union is closed

    def _find(self, eff: FindVoter) -> VotersFound:
        try:
            if eff.source is IdSource.BARCODE and eff.barcode is not None:
                voter = self.register.by_barcode(eff.barcode)
                return VotersFound((voter,) if voter else (), exact=True)
            if eff.source is IdSource.CARD and eff.card is not None:
                q = eff.card
                match = self.register.match_card(q.name, q.address, q.birth_date, q.sex_code)
                if match.status is MatchStatus.UNIQUE and match.voter is not None:
                    return VotersFound((match.voter,), exact=True)
                return VotersFound(tuple(c.voter for c in match.candidates), exact=False)
            voters = self.register.search(eff.text or "", eff.birth_date, self.search_limit)
            return VotersFound(tuple(voters), exact=False)
        except ValueError as exc:
            # A malformed query (e.g. a barcode with the wrong length): nobody found, and the clerk is told why.
            log.info("register lookup refused: %s", exc)
            return VotersFound((), exact=False)

    def _history(self, voter_code: str) -> tuple[VotedRecord, ...]:
        known = {e.id for e in self.desk.definition.elections}
        out = []
        for c in self.ledger.checkins_for(voter_code):
            if c.election not in known:
                # Another package's election cannot come from a kiosk holding the same package hash; never crash.
                log.warning("voter %s: check-in %s names unknown election %s", voter_code, c.event_id, c.election)
                continue
            out.append(VotedRecord(c.election, c.station_id, c.at, c.kind, offline=c.offline, event_id=c.event_id))
        return tuple(out)

    def _claim(self, ev: Event) -> ClaimAnswer:
        if self.claim is None:
            return ClaimAnswer(ClaimStatus.OFFLINE)  # no server configured: the local ledger and replica decide
        answer = self.claim(ev)
        log.info("claim %s voter=%s election=%s: %s", ev.event_id, ev.voter, ev.election, answer.status.value)
        return answer

    def _print_declaration(self, eff: PrintDeclaration) -> PrintJob | None:
        # A decision holder (法42条ただし書) has no register entry: a blank form, filled in by hand.
        who = eff.voter.code if eff.voter is not None else "決定書等所持者"
        if self.printer is None:
            log.warning("no printer configured: 宣誓書 for voter %s not printed", who)
            return None
        definition = self.desk.definition
        station = definition.station(eff.station_id)
        printed_at = self.clock()

        def render(reprint: bool) -> bytes:
            return render_declaration(
                definition,
                voter=eff.voter,
                voting_date=eff.on,
                reason=eff.reason,
                station=station,
                reprint=reprint,
                printed_at=printed_at,
            )

        # Rendered as a reprint from the start when the workflow says so (the form then carries 再印刷).
        title = f"宣誓書-{who}" + ("（再印刷）" if eff.reprint else "")
        job = self.printer.submit(PrintDocument(title, lambda reprint: render(reprint or eff.reprint)))
        if job.status is JobStatus.FAILED:
            log.error("宣誓書 for voter %s failed to print: %s", who, job.error)
        return job

    def _log_recorded(self, events: Sequence[Event]) -> None:
        for ev in events:
            # Register keys only, never names (privacy rule).
            log.info("recorded %s voter=%s election=%s staff=%s", ev.type.value, ev.voter, ev.election, ev.staff_id)


def claim_with(client: Any) -> ClaimFunction:
    """Adapt ``sync.client.SyncClient.claim`` (ClaimOutcome with a ``holder`` mapping) to a :data:`ClaimFunction`."""
    from sync.client import SyncError

    def claim(ev: Event) -> ClaimAnswer:
        try:
            outcome = client.claim(ev)
        except SyncError as exc:
            raise ReceptionError(str(exc)) from exc
        if outcome.status == "accepted":
            return ClaimAnswer(ClaimStatus.ACCEPTED)
        if outcome.status == "offline":
            return ClaimAnswer(ClaimStatus.OFFLINE)
        if outcome.status == "already_voted":
            h = outcome.holder or {}
            try:
                holder = VotedRecord(
                    election=str(ev.election),
                    station_id=str(h["station_id"]),
                    at=datetime.fromisoformat(str(h["at"])).astimezone(UTC),
                    kind=CheckInKind(str(h["kind"])),
                    event_id=str(h["event_id"]) if h.get("event_id") else None,
                )
            except (KeyError, ValueError, TypeError) as exc:
                # "Already voted" without a usable where/when must not turn into a silent hand-over.
                raise ReceptionError(f"server said already voted but its holder record is unusable: {exc!r}") from exc
            return ClaimAnswer(ClaimStatus.ALREADY_VOTED, holder)
        raise ReceptionError(f"server answered the claim with unknown result {outcome.status!r}")

    return claim
