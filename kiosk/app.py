"""The kiosk's composition root and headless runtime (no Qt).

:func:`build_runtime` makes the real-or-fake choices once, from :class:`kiosk.config.KioskConfig`: card reader (PC/SC
or the in-process software card), printer (CUPS, Qt, file, memory) and server (sync client, or standalone).
:class:`KioskRuntime` then offers the operations the screens need — open the package, run the opening check, read a
card, drive the reception core, print — each a plain blocking call that the Qt layer runs in the background. The
runtime owns the ledger and the reception service; every call that touches them comes through the one "desk" worker
thread, so SQLite's connection never crosses threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ballots.events import Event, EventType
from ballots.model import ElectionDefinition, OfflinePolicy, Voter
from ballots.printing import PrintJob, PrintService
from ballots.rules import JST, Eligibility, VotedRecord, assess
from kiosk import workflow as wf
from kiosk.config import KioskConfig, PrinterKind, ReaderKind

__all__ = [
    "CardPort",
    "DeskResult",
    "KioskRuntime",
    "OpeningCheck",
    "StartupInfo",
    "SyncSnapshot",
    "build_runtime",
    "sync_factory_for",
]

log = logging.getLogger(__name__)


class CardPort(Protocol):
    """What the kiosk needs from the card reader (reader.service.CardReader fits; tests pass slow fakes)."""

    def read_with_pin(self, pin: str) -> Any:
        """Path 1: basic 4 info with the voter's PIN; returns a reader.outcomes value."""
        ...

    def read_with_collation(self, birth_date: date, security_code: str, expiry_year: int | None = None) -> Any:
        """Path 2: basic 4 info and face photo with 照合番号B; returns a reader.outcomes value."""
        ...

    def session(self) -> Any:
        """A card session kept for one voter (reader.service.CardSession: ``read_photo`` after the PIN path)."""
        ...


@dataclass(frozen=True, slots=True)
class StartupInfo:
    """What the screens show once the package is open."""

    station_id: str
    station_name: str
    package_hash: str
    voters: int
    opened_in: float  # seconds to open, verify and index the package

    @property
    def package_short(self) -> str:
        """The short form of the package hash every screen shows."""
        return self.package_hash[:12]


@dataclass(frozen=True, slots=True)
class OpeningCheck:
    """One line of the opening check."""

    item: str
    ok: bool | None
    detail: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class SyncSnapshot:
    """The sync client's state as the status bar shows it (None online: no server configured)."""

    online: bool | None
    since: datetime | None = None
    pending: int = 0
    replica_at: datetime | None = None
    skew: timedelta | None = None


@dataclass(frozen=True, slots=True)
class DeskResult:
    """A reception state plus, on the identity screen, the eligibility preview for every election of the day, the
    documents this step could not print (the desk must see them: the voter is waiting for that 宣誓書), and the ones
    the printer accepted but has not finished yet (a queue may still jam or run out of paper under them: the UI
    follows them with :meth:`KioskRuntime.refresh_print`)."""

    state: wf.ReceptionState
    preview: Eligibility | None = None
    print_failures: tuple[PrintJob, ...] = ()
    print_pending: tuple[PrintJob, ...] = ()


@dataclass
class _Session:
    """What exists once the package is open (per ledger: the real one, or the test-mode one)."""

    package: Any
    desk: wf.Desk
    ledger: Any
    reception: Any
    test_mode: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class KioskRuntime:
    """The headless kiosk. Construct with the chosen ports (see :func:`build_runtime`); call from one worker thread
    for desk operations ("desk" lane) and another for card reads ("card" lane)."""

    def __init__(
        self,
        config: KioskConfig,
        *,
        card: CardPort | None,
        printer: Any,
        sync_factory: Callable[[Any, str, ElectionDefinition], Any] | None = None,
        card_monitor: Callable[[Callable[[bool], None], Callable[[str, bool | None], None]], Any] | None = None,
        clock: Callable[[], datetime] | None = None,
        open_package: Callable[[Path, Path, str], Any] | None = None,
    ) -> None:
        self.config = config
        self.card = card
        self.printer = printer
        # Jobs are remembered for retry; a printer problem never raises into the reception.
        self.print_service = PrintService(printer)
        self._sync_factory = sync_factory
        self._card_monitor = card_monitor
        self._clock = clock or (lambda: datetime.now(UTC))
        self._open_package = open_package
        self._session: _Session | None = None
        self._real: _Session | None = None
        self._sync: Any = None
        self._monitor: Any = None
        self._last_sync = SyncSnapshot(online=None)
        self._lock = threading.Lock()
        self.definition: ElectionDefinition | None = None

    # -- facts the UI may read on its own thread (pure, no I/O) -------------------------------------------------------

    def now(self) -> datetime:
        """The current time (UTC, injectable for tests)."""
        return self._clock()

    def today(self) -> date:
        """Today in Japan (the date every rule uses)."""
        return self.now().astimezone(JST).date()

    def describe_package(self) -> str:
        """Which package file and station this terminal is configured for."""
        return f"{self.config.package.name}（投票所 {self.config.station}）"

    def precinct_name(self, code: str) -> str:
        """投票区 name for a code (the code itself if the package has no such precinct)."""
        if self.definition is None:
            return code
        try:
            return f"{self.definition.precinct(code).name}（{code}）"
        except KeyError:
            return code

    def offline_policy_text(self) -> str:
        """What the package says to do offline, for the banner."""
        if self.definition is not None and self.definition.offline_policy is OfflinePolicy.MANAGER:
            return "交付には投票管理者の確認が必要です（選挙データの設定）。"
        return "端末の記録と同期済みの記録で確認して受付を続けます。"

    def has_test_records(self) -> bool:
        """A test-mode ledger exists (the logic-and-accuracy test ran and has not been reset)."""
        return self.config.test_ledger.exists()

    @property
    def test_mode(self) -> bool:
        """Whether the reception currently writes to the test ledger."""
        return self._session is not None and self._session.test_mode

    # -- start-up (desk lane) ---------------------------------------------------------------------------------------

    def preload(self) -> None:
        """Import the modules start() needs (reportlab, sqlite-utils, the package code, …) ahead of time.

        Started in the background when the window opens, so the import cost overlaps the passphrase being typed
        instead of adding to the wait after Enter (about a second on a busy two-core desk PC).
        """
        import importlib

        modules = ["ballots.package", "ballots.staff", "ballots.declaration", "ballots.reports", "kiosk.reception",
                   "sync.ledger", "sync.keys"]
        if self.config.server is not None:
            modules.append("sync.client")
        for name in modules:
            importlib.import_module(name)
        from ballots.fonts import register_fonts

        register_fonts()  # parse the IPAex fonts now, not while the first voter's 宣誓書 is printed

    def start(self, passphrase: str) -> StartupInfo:
        """Open and verify the package, open the ledger, build the reception service. Blocking (desk lane)."""
        import time

        from ballots.staff import verify_pin

        started = time.perf_counter()
        opener = self._open_package
        if opener is None:
            from ballots.package import open_package

            opener = open_package
        package = opener(self.config.package, self.config.pubkey, passphrase)
        definition: ElectionDefinition = package.definition
        desk = wf.Desk(definition, self.config.station, self.config.effective_kiosk_id, verify_pin)
        self.definition = definition
        ledger = self._open_ledger(self.config.ledger, package.package_hash)
        if self._sync_factory is not None:
            # Made now so the reception can claim through it; its threads start in watch().
            self._sync = self._sync_factory(ledger, package.package_hash, definition)
        self._real = self._session = _Session(package, desk, ledger, self._make_reception(desk, package, ledger, True))
        station = definition.station(self.config.station)
        return StartupInfo(
            station_id=station.id,
            station_name=station.name,
            package_hash=package.package_hash,
            voters=len(package.register),
            opened_in=time.perf_counter() - started,
        )

    def _open_ledger(self, path: Path, package_hash: str) -> Any:
        from sync.keys import ensure_private_key
        from sync.ledger import Ledger

        key = ensure_private_key(self.config.effective_key)
        ledger = Ledger.open(path, kiosk_id=self.config.effective_kiosk_id, key=key)
        if ledger.package_hash is None:
            ledger.package_hash = package_hash
        elif ledger.package_hash != package_hash:
            ledger.close()
            raise ValueError(
                f"ledger {path}: belongs to package {ledger.package_hash[:12]}, not {package_hash[:12]} "
                "(use a new ledger for a new package)"
            )
        return ledger

    def _make_reception(self, desk: wf.Desk, package: Any, ledger: Any, online: bool) -> Any:
        from kiosk.reception import Reception, claim_with

        sync = self._sync if online else None
        return Reception(
            desk,
            package.register,
            ledger,
            claim=claim_with(sync) if sync is not None else None,
            printer=self.print_service,
            clock=self._clock,
            # Wake the pusher at once: other stations should see this check-in within a second.
            on_recorded=(lambda _events: sync.notify_appended()) if sync is not None else None,
        )

    def watch(self, bridge: Any) -> None:
        """Start the card monitor and the sync client; their callbacks go to ``bridge`` (thread-safe)."""
        if self._card_monitor is not None and self._monitor is None:
            self._monitor = self._card_monitor(bridge.on_card, bridge.on_reader)
        elif self.card is not None and self._monitor is None:
            bridge.on_reader("ソフトウェアカード" if self.config.reader is ReaderKind.SOFT else "接続", True)
        self._report_printer(bridge)
        if self._sync is not None:

            def observe(state: Any) -> None:
                skew = state.clock_skew_ms
                snapshot = SyncSnapshot(
                    online=state.online,
                    since=state.since,
                    pending=state.pending,
                    replica_at=state.replica_updated_at,
                    skew=None if skew is None else timedelta(milliseconds=skew),
                )
                self._last_sync = snapshot
                bridge.on_sync(snapshot)

            self._sync.add_observer(observe)
            observe(self._sync.state())
            self._sync.start()
        else:
            bridge.on_sync(self._last_sync)

    def _report_printer(self, bridge: Any) -> None:
        ok, text = self._printer_status()
        bridge.on_printer(text, ok)

    def _printer_status(self) -> tuple[bool, str]:
        check = getattr(self.printer, "check", None)
        name = getattr(self.printer, "name", str(self.config.printer))
        if check is None:
            return True, f"{name}"
        try:
            check()
        except Exception as exc:  # a printer problem is a status, never a crash
            return False, getattr(exc, "message_ja", None) or f"{name}：{exc}"
        return True, name

    # -- opening check (desk lane) --------------------------------------------------------------------------------

    def opening_checks(self) -> list[OpeningCheck]:
        """Reader, printer, server, replica freshness and, for a new day, that no check-in is recorded yet today."""
        session = self._need()
        checks = [
            OpeningCheck(
                "選挙データ",
                True,
                f"{len(session.package.register):,}人　ハッシュ {session.package.package_hash[:12]}",
            )
        ]
        if self.card is None:
            checks.append(OpeningCheck("カード読取機", False, "読取機が設定されていません"))
        else:
            kind = "ソフトウェアカード（デモ・試験用）" if self.config.reader is ReaderKind.SOFT else "PC/SC"
            probe = getattr(self.card, "probe", None)
            if probe is None:
                checks.append(OpeningCheck("カード読取機", True, kind))
            else:
                ok, detail = probe()
                checks.append(OpeningCheck("カード読取機", ok, f"{kind}：{detail}"))
        ok, text = self._printer_status()
        checks.append(OpeningCheck("プリンター", ok, text))
        if self.config.server is None:
            checks.append(OpeningCheck("サーバー", None, "未設定（この端末の記録だけで判断します）", required=False))
        else:
            # Ask the server now (heartbeat: reachability and clock skew) rather than trust the last snapshot.
            detail = "接続できます"
            reachable = True
            try:
                if self._sync is not None:
                    self._sync.heartbeat()
            except Exception as exc:  # unreachable is an answer here, not a crash
                reachable = False
                detail = f"接続できません（オフラインで受付可能）：{type(exc).__name__}"
            checks.append(OpeningCheck("サーバー", reachable, f"{self.config.server}：{detail}", required=False))
        snap = self._last_sync
        replica_at = getattr(session.ledger, "replica_updated_at", None)
        if self.config.server is None:
            checks.append(OpeningCheck("他の投票所の記録", None, "サーバー未設定", required=False))
        elif replica_at is None:
            checks.append(OpeningCheck("他の投票所の記録", False, "まだ一度も取得していません", required=False))
        else:
            age = self.now() - replica_at
            fresh = age <= timedelta(minutes=10)
            minutes = int(age.total_seconds() // 60)
            detail = f"最終取得 {replica_at.astimezone(JST):%H:%M}（{minutes}分前）"
            checks.append(OpeningCheck("他の投票所の記録", fresh, detail, required=False))
        today = self.today()
        todays = [
            e for e in session.ledger.events(types=[EventType.CHECK_IN])
            if e.station_id == self.config.station and e.at.astimezone(JST).date() == today
        ]
        checks.append(OpeningCheck(
            "本日の受付記録", not todays,
            "0件（新しい日の開始として正しい）" if not todays
            else f"{len(todays)}件あります（本日すでに受付済み：確認してください）",
        ))
        skew = snap.skew
        checks.append(OpeningCheck(
            "時計", None if skew is None else abs(skew.total_seconds()) <= 30,
            f"{self.now().astimezone(JST):%Y-%m-%d %H:%M:%S}"
            + ("" if skew is None else f"（サーバーとの差 {skew.total_seconds():+.1f}秒）"),
            required=False,
        ))
        return checks

    def open_station(self, staff_id: str, test_mode: bool) -> None:
        """Record the opening; in test mode switch to the separate test ledger (standalone: no server claims).

        The test reception starts signed out: staff sign in again, and that sign-in goes to the test ledger too.
        """
        real = self._need_real()
        if test_mode:
            ledger = self._open_ledger(self.config.test_ledger, real.package.package_hash)
            session = _Session(real.package, real.desk, ledger,
                               self._make_reception(real.desk, real.package, ledger, False), test_mode=True)
            self._session = session
        else:
            self._session = real
        self._session.ledger.append(Event(
            type=EventType.STATION_OPENED, station_id=self.config.station, staff_id=staff_id, at=self.now(),
            data={"test_mode": test_mode, "kiosk": self.config.effective_kiosk_id},
        ))

    def reset_test(self) -> None:
        """Delete the test ledger (after the logic-and-accuracy test) and return to the real one, signed out."""
        real = self._need_real()
        session = self._session
        if session is not None and session.test_mode:
            session.ledger.close()
        self._session = real
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.config.test_ledger) + suffix)
            if p.exists():
                p.unlink()
        real.reception = self._make_reception(real.desk, real.package, real.ledger, True)

    # -- the desk (desk lane) -------------------------------------------------------------------------------------

    def dispatch(self, action: wf.Action) -> DeskResult:
        """Run one action through the reception service (which carries out the effects) and return the new state."""
        session = self._need()
        report = session.reception.handle(action)
        state = report.state
        preview = None
        if state.screen is wf.Screen.CONFIRM_IDENTITY and state.voter is not None:
            preview = self.preview(state.voter)
        failures = tuple(job for job in report.printed if job.owed)
        pending = tuple(job for job in report.printed if job.on_its_way)
        return DeskResult(state, preview, failures, pending)

    def retry_print(self, job_id: str) -> PrintJob:
        """Send a document that failed to print again (the same form, not a reprint: the first copy never came out).

        A job that was stuck in the printer's queue is asked about first: if it has come out meanwhile (paper put in)
        or is moving again, it is returned as it is and nothing is sent, so the voter never gets a second copy;
        otherwise PrintService cancels it before sending the form again. Returns the job (the new one when it was
        sent again); a printer that still cannot print gives a FAILED job with the reason, never an exception.
        """
        job = self.print_service.refresh(job_id)
        if not job.owed:
            log.info("print retry of %s not needed: %s", job_id, job.status.value)
            return job
        job = self.print_service.retry(job_id)
        log.info("print retry of %s: %s", job_id, job.status.value)
        return job

    def refresh_print(self, job_id: str) -> PrintJob:
        """The job's current status from the printer (blocking: a background lane). A printer problem comes back as
        the job's ``error`` (a stuck job), never as an exception; an unknown job id raises KeyError."""
        return self.print_service.refresh(job_id)

    def preview(self, voter: Voter) -> Eligibility:
        """Every election's status for the voter at this station today, from own + replica check-ins."""
        session = self._need()
        records = [
            VotedRecord(r.election, r.station_id, r.at, r.kind, offline=r.offline, event_id=r.event_id)
            for r in session.ledger.checkins_for(voter.code)
        ]
        return assess(session.desk.definition, self.config.station, self.today(), voter, records)

    def recent_events(self, limit: int = 30) -> list[tuple[str, str]]:
        """The latest standing check-ins of this desk, newest first, as (event id, label) for the void choice."""
        session = self._need()
        checkins = session.ledger.events(types=[EventType.CHECK_IN, EventType.VOID])
        voided = {e.data.get("target") for e in checkins if e.type is EventType.VOID}
        standing = [e for e in checkins if e.type is EventType.CHECK_IN and e.event_id not in voided]
        out = []
        for e in reversed(standing[-limit:]):
            try:
                election = session.desk.definition.election(e.election or "").short_name
            except KeyError:
                election = e.election or ""
            out.append((e.event_id, f"{e.at.astimezone(JST):%H:%M} 識別コード {e.voter} {election}"))
        return out

    def declarations_today(self, limit: int = 50) -> list[tuple[str, str]]:
        """宣誓書 first printed today at this desk, newest first, as (event id, label) for the manager's reprint list.

        The label carries the time, the register key and the form's title, never a name.
        """
        session = self._need()
        today = self.today()
        declarations = session.ledger.events(types=[EventType.DECLARATION])
        reprinted = {str(e.data.get("original")) for e in declarations if e.data.get("reprint")}
        originals = [
            e for e in declarations
            if not e.data.get("reprint") and e.station_id == self.config.station
            and e.at.astimezone(JST).date() == today
        ]
        out = []
        for e in reversed(originals[-limit:]):
            mark = "（再印刷済）" if e.event_id in reprinted else ""
            label = f"{e.at.astimezone(JST):%H:%M} 識別コード {e.voter} 宣誓書（事由{e.data.get('reason')}）{mark}"
            out.append((e.event_id, label))
        return out

    def reprint_declaration(self, auth: wf.ManagerAuth, event_id: str) -> DeskResult:
        """Reprint the 宣誓書 of DECLARATION ``event_id`` (printed today at this desk), marked 再印刷.

        Goes through the reception core like every other manager action: it verifies the manager, records the
        DECLARATION with ``data.reprint = true`` and prints. Raises ValueError when the record or voter is unknown.
        """
        session = self._need()
        original = session.ledger.get(event_id)
        if original is None:
            raise ValueError("再印刷する宣誓書の記録が見つかりません")
        event = getattr(original, "event", original)  # the ledger returns the sealed row; the core wants the event
        voter = session.package.register.by_code(str(event.voter or ""))
        if voter is None:
            raise ValueError(f"識別コード {event.voter} は選挙人名簿にありません")
        return self.dispatch(wf.Reprint(auth, event, voter))

    # -- card (card lane) -------------------------------------------------------------------------------------------

    def read_card_pin(self, pin: str) -> Any:
        """Path 1 with the voter's PIN (blocking; card lane)."""
        if self.card is None:
            raise RuntimeError("no card reader configured")
        return self.card.read_with_pin(pin)

    def read_card_collation(self, birth_date: date, security_code: str, expiry_year: str | None) -> Any:
        """Path 2 with 照合番号B typed by the clerk (blocking; card lane)."""
        if self.card is None:
            raise RuntimeError("no card reader configured")
        year = int(expiry_year) if expiry_year else None
        return self.card.read_with_collation(birth_date, security_code, year)

    def read_card_photo(self, birth_date: date, security_code: str) -> Any:
        """The face photo after a PIN read: birth date from the card, security code typed by the clerk (card lane).

        Returns reader.outcomes PhotoRead (the photo in memory only) or a Failure; nothing is written to disk.
        """
        if self.card is None:
            raise RuntimeError("no card reader configured")
        with self.card.session() as s:
            return s.read_photo(birth_date, security_code)

    # -- documents (desk lane) ------------------------------------------------------------------------------------

    def print_report(self, kind: str) -> str:
        """Print a station report or the paper backup; returns the document's Japanese title."""
        from ballots import reports

        session = self._need()
        definition = session.desk.definition
        events = list(session.ledger.events())
        replica = getattr(session.ledger, "replica_events", None)
        if replica is not None:
            events.extend(replica())
        sexes = reports.sexes_from_register(session.package.register)
        report: Any
        if kind == "station":
            report = reports.station_record(events, definition, sexes, station_id=self.config.station,
                                            day=self.today(), register=session.package.register)
        elif kind == "hourly":
            report = reports.hourly_turnout(events, definition, sexes, day=self.today(),
                                            station_id=self.config.station)
        elif kind == "backup":
            from ballots import paper_backup

            pdf = paper_backup.paper_backup_pdf(definition, session.package.register, events,
                                                station_id=self.config.station)
            self.printer.print_pdf(pdf, "紙の控え")
            return "紙の控え"
        else:
            raise ValueError(f"unknown report {kind!r}")
        pdf = reports.report_pdf(report)
        title = str(getattr(report, "title", "帳票"))
        self.printer.print_pdf(pdf, title)
        return title

    # -- shutdown -------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the sync worker and the card monitor, close the ledgers."""
        for worker in (self._sync, self._monitor):
            stop = getattr(worker, "stop", None)
            if stop is not None:
                try:
                    stop()
                except Exception:  # shutting down: log and go on closing the rest
                    log.exception("stopping %r failed", worker)
        for session in {id(s): s for s in (self._session, self._real) if s is not None}.values():
            try:
                session.ledger.close()
            except Exception:
                log.exception("closing the ledger failed")

    def _need(self) -> _Session:
        if self._session is None:
            raise RuntimeError("the election package is not open yet")
        return self._session

    def _need_real(self) -> _Session:
        if self._real is None:
            raise RuntimeError("the election package is not open yet")
        return self._real


def _make_printer(config: KioskConfig) -> Any:
    from ballots import printing

    if config.printer is PrinterKind.CUPS:
        assert config.printer_queue is not None
        return printing.CupsPrinter(config.printer_queue)
    if config.printer is PrinterKind.MEMORY:
        return printing.MemoryPrinter()
    if config.printer is PrinterKind.QT:
        raise ValueError("printer = qt: use the Qt app (kiosk.ui builds the QPrinter backend)")
    directory = config.effective_printer_dir
    directory.mkdir(parents=True, exist_ok=True)
    return printing.FilePrinter(directory)


def _make_card(config: KioskConfig) -> tuple[CardPort, Any]:
    """The card reader service and a monitor factory (None for the in-process software card)."""
    from reader.service import CardReader

    if config.reader is ReaderKind.SOFT:
        from reader.softcard import SoftwareCard

        assert config.soft_card is not None
        card = SoftwareCard.from_persona(config.soft_card)
        return CardReader(card.connector()), None
    from reader.pcsc import PcscConnector

    return CardReader(PcscConnector(config.reader_name)), _pcsc_monitor


def _pcsc_monitor(on_card: Callable[[bool], None], on_reader: Callable[[str, bool | None], None]) -> Any:
    """Watch PC/SC readers and cards; translate the monitor's events into the bridge's two callbacks."""
    from reader.pcsc import EventKind, PcscMonitor

    def callback(event: Any) -> None:
        if event.kind is EventKind.CARD_INSERTED:
            on_card(True)
        elif event.kind is EventKind.CARD_REMOVED:
            on_card(False)
        elif event.kind is EventKind.READER_ADDED:
            on_reader(f"接続（{event.reader}）", True)
        elif event.kind is EventKind.READER_REMOVED:
            on_reader("読取機が外れています", False)
        elif event.kind is EventKind.SERVICE_LOST:
            on_reader("PC/SCサービス停止", False)

    monitor = PcscMonitor(callback)
    monitor.start()
    return monitor


def sync_factory_for(config: KioskConfig) -> Callable[[Any, str, ElectionDefinition], Any] | None:
    """How to make the sync client once the package and ledger are open (None: standalone, no server)."""
    if config.server is None:
        return None
    server = config.server

    def make(ledger: Any, package_hash: str, definition: ElectionDefinition) -> Any:
        from sync.client import ClientTLS, SyncClient
        from sync.keys import public_key_hex

        tls = ClientTLS.from_dir(config.tls_dir) if config.tls_dir is not None else None
        # A plain-HTTP server is the loopback demo server: it identifies kiosks by their ledger key (no mTLS).
        demo_key = public_key_hex(ledger.public_key) if server.startswith("http://") else None
        return SyncClient(server, ledger, package_hash, station_id=config.station, tls=tls,
                          claim_timeout_s=definition.claim_timeout_ms / 1000, demo_ledger_key_hex=demo_key)

    return make


def build_runtime(config: KioskConfig, *, printer: Any = None, card: CardPort | None = None) -> KioskRuntime:
    """The one place the real-or-fake choices are made: card reader, printer and server, from ``config``."""
    chosen_printer = printer if printer is not None else _make_printer(config)
    monitor = None
    if card is None:
        card, monitor = _make_card(config)
    return KioskRuntime(config, card=card, printer=chosen_printer, sync_factory=sync_factory_for(config),
                        card_monitor=monitor)

