"""The controller: renders the reception core's state on the screens and turns what people do into core actions.

It holds no rules. Every action goes to the headless :class:`kiosk.app.KioskRuntime` through the background
operations helper (desk work — register, ledger, server claim, printing — on one "desk" lane; card reads on the "card"
lane), and the state that comes back is rendered. While work runs, the screen shows progress and ignores further
input for the voter, so a double Enter cannot record twice.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ballots.printing import JobStatus, PrintJob
from ballots.rules import Eligibility
from ballots.wareki import format_wareki
from kiosk import workflow as wf
from kiosk.app import DeskResult, KioskRuntime, OpeningCheck, StartupInfo, SyncSnapshot
from kiosk.ui.bridge import CoreBridge
from kiosk.ui.ops import BackgroundOps
from kiosk.ui.pages import CheckRow, ElectionLine, SearchRow, VoterCard
from kiosk.ui.scanner import BarcodeScannerFilter
from kiosk.ui.statusbar import format_since
from kiosk.ui.window import KioskWindow

__all__ = ["KioskController"]

log = logging.getLogger(__name__)

_SEX = {"M": "男", "F": "女"}
_IDENTITY_TEXT = {
    wf.IDENTITY_CARD_PHOTO: "（顔写真で確認）",
    wf.IDENTITY_CARD_PIN_NO_PHOTO: "（暗証番号・顔写真未確認）",
}


def _search_row(v: Any) -> SearchRow:
    return SearchRow(
        code=v.code,
        name=v.name,
        kana=v.kana,
        birth=format_wareki(v.birth_date),
        sex=_SEX.get(v.sex.value, str(v.sex)),
        address=f"{v.address}{(' ' + v.address_extra) if v.address_extra else ''}",
        precinct=v.precinct,
    )


class KioskController(QObject):
    """Wires the window to the runtime. ``state_rendered(screen)`` fires after each render (for tools that drive
    the kiosk, such as a scripted demo or a recorder)."""

    state_rendered = Signal(str)
    closed = Signal()  # after shutdown: workers stopped, ledgers closed

    def __init__(self, window: KioskWindow, runtime: KioskRuntime, ops: BackgroundOps | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.runtime = runtime
        self.ops = ops or BackgroundOps(self)
        self.bridge = CoreBridge(self)
        self.scanner = BarcodeScannerFilter(self)
        self.state: wf.ReceptionState = wf.initial_state()
        self.info: StartupInfo | None = None
        self.photo: Any = None  # the card's face photo of the current voter, in memory only
        self.card_birth: date | None = None  # the card's birth date (for a photo read after the PIN path)
        self.preview: Eligibility | None = None
        self.station_open = False
        self.test_mode = False
        self._desk_busy = False
        # 宣誓書 the printer refused for the voter at the desk (or just gone): shown with a retry until the next voter.
        self.print_failures: list[PrintJob] = []
        self._print_attempts = 0  # retries that failed as well
        self._print_retrying = False
        self._print_generation = 0  # bumped when the warning is cleared: a late retry result is not shown then
        # 宣誓書 the printer accepted but has not finished: asked about on the "printer" lane until they come out, get
        # stuck (shown in the warning above) or the bound passes. Job id → (when following gives up, as
        # time.monotonic(); the print generation of the voter it was printed for).
        self.print_follow_interval = 1.0  # seconds between two questions to the printer about one job
        self.print_follow_limit = 120.0  # seconds after which a job still pending is left alone
        self.print_following: dict[str, tuple[float, int]] = {}
        self._follow_timers: dict[str, QTimer] = {}
        self._following_stopped = False
        self._wire()

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _wire(self) -> None:
        w = self.window
        w.unlock.unlock_requested.connect(self.unlock)
        w.sign_in.sign_in_requested.connect(lambda sid, pin: self.dispatch(wf.SignIn(sid, pin)))
        w.opening.open_requested.connect(self.open_station)
        w.opening.recheck_requested.connect(self.run_opening_check)
        w.opening.reset_test_requested.connect(self.reset_test)
        w.reception.collation_requested.connect(lambda: w.show_page(w.collation))
        w.reception.pin_requested.connect(self._show_pin_pad)
        w.reception.search_requested.connect(self._show_search)
        w.reception.manager_requested.connect(self.show_manager_menu)
        w.collation.submitted.connect(self.read_card_collation)
        w.collation.cancelled.connect(self._back_to_state)
        w.pin_pad.pin_entered.connect(self.read_card_pin)
        w.pin_pad.cancelled.connect(self._back_to_state)
        w.search.search_requested.connect(lambda query: self.dispatch(wf.ManualSearch(*query)))
        w.search.chosen.connect(lambda code: self.dispatch(wf.CandidateChosen(code)))
        w.search.cancelled.connect(self._leave_voter)
        w.search.manager_requested.connect(self.show_manager_menu)
        w.voter.confirmed.connect(lambda: self.dispatch(wf.Confirmed()))
        w.voter.not_this_person.connect(lambda: self.dispatch(wf.NotThisPerson()))
        w.voter.cancelled.connect(lambda: self.dispatch(wf.Cancel()))
        w.voter.photo_requested.connect(self.read_photo)
        w.reason.chosen.connect(lambda n: self.dispatch(wf.ReasonChosen(n)))
        w.reason.cancelled.connect(lambda: self.dispatch(wf.Cancel()))
        w.ballots.finished.connect(lambda: self.dispatch(wf.Finish()))
        w.ballots.manager_requested.connect(self.show_manager_menu)
        w.ballots.print_warning.retry_requested.connect(self.retry_prints)
        w.reception.print_warning.retry_requested.connect(self.retry_prints)
        w.stop.override_requested.connect(
            lambda mid, pin, reason: self.dispatch(wf.ManagerOverride(wf.ManagerAuth(mid, pin), reason))
        )
        w.stop.dismissed.connect(self._leave_voter)
        w.stop.manager_requested.connect(self.show_manager_menu)
        w.manager.submitted.connect(self.manager_action)
        w.manager.cancelled.connect(self._back_to_state)
        w.sign_out_requested.connect(lambda: self.dispatch(wf.SignOut()))
        w.end_test_requested.connect(self.end_test)
        w.report_requested.connect(self.print_report)
        w.close_requested.connect(self.shutdown)
        self.scanner.scanned.connect(self.barcode)
        self.bridge.card_changed.connect(self._card_changed)
        self.bridge.reader_changed.connect(lambda change: w.status.set_reader(*change))
        self.bridge.printer_changed.connect(lambda change: w.status.set_printer(*change))
        self.bridge.sync_changed.connect(self._sync_changed)

    def start(self) -> None:
        """Show the first screen (package unlock) and start watching the keyboard for barcode scans."""
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.scanner)
        self.window.unlock.set_package(self.runtime.describe_package())
        self.window.show_page(self.window.unlock)
        # Warm the imports while the passphrase is typed; a failure here resurfaces (and is shown) in unlock().
        self.ops.run("preload", self.runtime.preload, on_error=lambda exc: log.warning("preload: %r", exc),
                     lane="warm")

    def _fail(self, context: str) -> Callable[[BaseException], None]:
        def handler(exc: BaseException) -> None:
            self._set_desk_busy(False)
            self.window.errors.show(exc, context)
            self._render()

        return handler

    # -- start-up -------------------------------------------------------------------------------------------------

    def unlock(self, passphrase: str) -> None:
        """Open the package in the background (decrypt, verify, index the register), then sign-in."""
        self.window.unlock.set_busy(True)

        def done(info: StartupInfo) -> None:
            self.info = info
            self.window.unlock.set_busy(False)
            self.window.errors.clear()
            self.window.status.set_package(info.package_short)
            self.window.sign_in.set_station(f"{info.station_name}（{info.station_id}）　データ {info.package_short}")
            self.runtime.watch(self.bridge)
            self._render()
            # Everything loaded so far (package, fonts, modules) lives all day: move it out of the collector's way,
            # so full collections during reception stay short (measured: the longest UI stall halved).
            gc.collect()
            gc.freeze()

        def failed(exc: BaseException) -> None:
            self.window.unlock.set_busy(False)
            self.window.unlock.show_error("開けませんでした。パスフレーズを確認してください。")
            self.window.errors.show(exc, "選挙データを開く")

        self.ops.run("open package", self.runtime.start, passphrase, on_done=done, on_error=failed, lane="desk")

    def run_opening_check(self) -> None:
        """Reader, printer, server, replica freshness, empty ledger for a new day — in the background."""
        self.window.opening.set_checks([CheckRow("点検中", None, "しばらくお待ちください")])

        def done(checks: list[OpeningCheck]) -> None:
            rows = [CheckRow(c.item, c.ok, c.detail, c.required) for c in checks]
            self.window.opening.set_checks(rows)

        self.ops.run("opening check", self.runtime.opening_checks, on_done=done, on_error=self._fail("開始前点検"),
                     lane="desk")

    def open_station(self, test_mode: bool) -> None:
        """Record the opening (in the test ledger in test mode) and go to the ready screen."""
        assert self.state.staff is not None

        def done(_: object) -> None:
            self.station_open = True
            self.test_mode = test_mode
            self.window.set_test_mode(test_mode)
            if test_mode:
                # The test reception is a fresh desk on the test ledger: staff sign in to it again.
                self.state = wf.initial_state()
                self._clear_print_failures()
                self.window.status.set_staff(None, None)
            self._render()

        self.ops.run("open station", self.runtime.open_station, self.state.staff.id, test_mode, on_done=done,
                     on_error=self._fail("受付開始"), lane="desk")

    def reset_test(self) -> None:
        """After the logic-and-accuracy test: throw the test records away and go back to the opening check."""

        def done(_: object) -> None:
            self.station_open = False
            self.test_mode = False
            self.state = wf.initial_state()
            self._clear_print_failures()
            self.window.status.set_staff(None, None)
            self.window.set_test_mode(False)
            self.window.notice("試験モードの記録をリセットしました。本番の開始前点検を行ってください。")
            self._render()

        self.ops.run("reset test", self.runtime.reset_test, on_done=done, on_error=self._fail("試験記録のリセット"),
                     lane="desk")

    def end_test(self) -> None:
        """Leave test mode (menu, Ctrl+T): only a signed-in manager, only between voters; reset, then the opening
        check again."""
        staff = self.state.staff
        if not self.test_mode:
            return
        if staff is None or staff.role.value != "manager" or self.state.screen is not wf.Screen.READY:
            self.window.current_page().show_error("試験モードの終了は、受付待ちの画面で投票管理者が行います。")
            return
        self.reset_test()

    # -- the desk -------------------------------------------------------------------------------------------------

    def dispatch(self, action: wf.Action) -> None:
        """Send one action to the core in the background; the resulting state is rendered when it comes back."""
        if self._desk_busy:
            # A second key press while the first is still being recorded is dropped, never queued twice.
            log.info("ignored %s while the desk is busy", type(action).__name__)
            return
        if not isinstance(action, wf.allowed_actions(self.state)):
            self.window.current_page().show_error("この画面ではその操作はできません。")
            return
        self._set_desk_busy(True)

        def done(result: DeskResult) -> None:
            self._set_desk_busy(False)
            self.preview = result.preview
            self._apply(result.state)
            self._print_failed(result.print_failures)
            self._follow_prints(result.print_pending, self._print_generation)

        self.ops.run(type(action).__name__, self.runtime.dispatch, action, on_done=done,
                     on_error=self._fail("受付処理"), lane="desk")

    def _set_desk_busy(self, busy: bool) -> None:
        self._desk_busy = busy
        page = self.window.current_page()
        if page is self.window.reception:
            self.window.reception.set_reading("処理中…" if busy else None)
        page.setEnabled(not busy)

    def _apply(self, state: wf.ReceptionState) -> None:
        previous = self.state
        self.state = state
        if state.screen is wf.Screen.SIGNED_OUT or (state.voter is None and state.screen is wf.Screen.READY):
            # The photo lives only as long as the voter is at the desk: drop our reference and the screen's copy.
            self.photo = None
            self.card_birth = None
            self.preview = None
            self.window.voter.clear()
        if previous.staff != state.staff:
            staff = state.staff
            self.window.status.set_staff(staff.id if staff else None,
                                         ("投票管理者" if staff.role.value == "manager" else "係員") if staff else None)
        if state.screen is wf.Screen.READY and previous.screen is not wf.Screen.READY:
            self.window.errors.clear()
        if previous.screen is wf.Screen.READY and state.screen not in (wf.Screen.READY, wf.Screen.SIGNED_OUT):
            # The next voter has started: the last one's unprinted 宣誓書 is the manager's to reprint now.
            self._clear_print_failures()
        self._render()

    def _render(self) -> None:
        """Show the screen for the current state (and start-up phase)."""
        w, s = self.window, self.state
        if self.info is None:
            w.show_page(w.unlock)
            self.state_rendered.emit("unlock")
            return
        screen = s.screen
        if screen is wf.Screen.SIGNED_OUT:
            w.show_page(w.sign_in)
            w.sign_in.show_error(s.error or "")
        elif not self.station_open:
            w.opening.set_manager(s.staff is not None and s.staff.role.value == "manager",
                                  test_records=self.runtime.has_test_records())
            w.show_page(w.opening)
            self.run_opening_check()
            self.state_rendered.emit("opening")
            return
        elif screen in (wf.Screen.READY, wf.Screen.SEARCHING, wf.Screen.CHECKING, wf.Screen.CLAIMING):
            w.reception.set_reading(None if screen is wf.Screen.READY else s.notice)
            w.reception.set_status(s.notice)
            w.show_page(w.reception)
            w.reception.show_error(s.error or "")
        elif screen is wf.Screen.CHOOSE_CANDIDATE:
            w.search.set_mode(True, s.notice)
            w.show_page(w.search)
            w.search.set_results([_search_row(v) for v in s.candidates])
        elif screen is wf.Screen.NOT_FOUND:
            w.search.set_mode(False)
            w.show_page(w.search)
            w.search.show_error("　".join((s.notice, *s.lines)))
        elif screen is wf.Screen.CONFIRM_IDENTITY:
            self._render_voter()
        elif screen in (wf.Screen.STOP, wf.Screen.REFUSED, wf.Screen.IDENTITY_DOUBT, wf.Screen.OFFLINE_CONFIRM):
            self._render_stop()
        elif screen is wf.Screen.CHOOSE_REASON:
            w.show_page(w.reason)
        elif screen is wf.Screen.ISSUE:
            notes = [line for line in s.lines if not line.startswith(("○", "×"))]
            w.ballots.set_ballots(
                [e.name for e in s.to_issue], [b.message for b in s.not_to_issue], notes
            )
            w.show_page(w.ballots)
        if s.error and screen is not wf.Screen.SIGNED_OUT:
            w.current_page().show_error(s.error)
        self.state_rendered.emit(screen.value)

    def _render_voter(self) -> None:
        w, s = self.window, self.state
        voter = s.voter
        assert voter is not None
        source = {
            wf.IdSource.CARD: "マイナンバーカード",
            wf.IdSource.BARCODE: "入場券",
            wf.IdSource.MANUAL: "名簿検索",
        }.get(s.source, "") if s.source else ""
        card = VoterCard(
            name=voter.name,
            kana=voter.kana,
            birth=f"{format_wareki(voter.birth_date)}（{voter.age_on(self.runtime.today())}歳）",
            sex=_SEX.get(voter.sex.value, ""),
            address=f"{voter.address}{(' ' + voter.address_extra) if voter.address_extra else ''}",
            precinct=self.runtime.precinct_name(voter.precinct),
            register_ref=f"{voter.volume}冊 {voter.page}頁 {voter.line}行",
            elections=_election_lines(self.preview) if self.preview is not None else (),
            photo=self.photo if s.source is wf.IdSource.CARD else None,
            source=source + _IDENTITY_TEXT.get(s.identity or "", ""),
            photo_offer=wf.PhotoChecked in wf.allowed_actions(s),
            note=s.notice if s.identity == wf.IDENTITY_CARD_PIN_NO_PHOTO else "",
        )
        w.voter.set_voter(card)
        w.show_page(w.voter)

    def _render_stop(self) -> None:
        w, s = self.window, self.state
        screen = s.screen
        text = "\n".join((s.notice, *s.lines))
        if screen is wf.Screen.STOP:
            w.stop.set_stop("投票済み・停止", text, True, manager_menu=True, dismiss="交付せず受付を終える")
        elif screen is wf.Screen.REFUSED:
            w.stop.set_stop(s.title, text, False, manager_menu=True, dismiss="交付せず受付を終える")
        elif screen is wf.Screen.IDENTITY_DOUBT:
            w.stop.set_stop(s.title, text, False, manager_menu=True, dismiss="受付を中止する")
        else:  # OFFLINE_CONFIRM
            w.stop.set_stop(s.title, text, True, manager_menu=False, dismiss="受付を中止する")
        w.show_page(w.stop)

    def _back_to_state(self) -> None:
        self._render()

    def _leave_voter(self) -> None:
        """Esc on a voter screen: Finish where the core allows it (after a stop), else Cancel."""
        allowed = wf.allowed_actions(self.state)
        if wf.Finish in allowed:
            self.dispatch(wf.Finish())
        elif wf.Cancel in allowed:
            self.dispatch(wf.Cancel())
        else:
            self._render()

    # -- identification -------------------------------------------------------------------------------------------

    def barcode(self, text: str) -> None:
        """A 入場券 was scanned, whatever had the focus."""
        if self.info is None or not self.station_open or self.state.screen is wf.Screen.SIGNED_OUT:
            return
        if wf.BarcodeScanned not in wf.allowed_actions(self.state):
            self.window.current_page().show_error("この画面では入場券を読み取れません。完了してから読み取ってください。")
            return
        self.photo = None
        self.card_birth = None
        self.dispatch(wf.BarcodeScanned(text))

    def _card_changed(self, present: bool) -> None:
        if not self.station_open:
            return
        if present and self.state.screen is wf.Screen.READY:
            self.window.reception.set_status("カードを検出しました。照合番号 [F2] または暗証番号 [F3] で読み取ります。")
        elif not present and self.window.current_page() in (self.window.collation, self.window.pin_pad):
            self.window.current_page().show_error("カードが外されました。読取機に置いてください。")

    def _show_pin_pad(self) -> None:
        self.window.pin_pad.set_tries_left(None)
        self.window.show_page(self.window.pin_pad)

    def _show_search(self) -> None:
        self.window.search.set_mode(False)
        self.window.show_page(self.window.search)

    def read_card_collation(self, birth: date, code: str, expiry: str) -> None:
        """Read basic 4 info + face photo with 照合番号B typed by the clerk (card lane, never the UI thread)."""
        self._read_card(self.runtime.read_card_collation, birth, code, expiry or None)

    def read_card_pin(self, pin: str) -> None:
        """Read basic 4 info (+ photo if the card allows) with the voter's PIN."""
        self._read_card(self.runtime.read_card_pin, pin)

    def _read_card(self, fn: Callable[..., Any], *args: Any) -> None:
        back = self.window.current_page()
        self.window.reception.set_reading("カードを読み取っています…")
        self.window.show_page(self.window.reception)

        def done(outcome: Any) -> None:
            self.window.reception.set_reading(None)
            if getattr(outcome, "ok", False):
                self.photo = getattr(outcome, "photo", None)
                info = outcome.info
                self.card_birth = info.birth_date
                self.dispatch(wf.CardRead(info.name, info.address, info.birth_date, info.sex_code,
                                          photo=self.photo is not None))
                return
            self._card_failed(outcome, back)

        self.ops.run("card read", fn, *args, on_done=done, on_error=self._fail("カード読取"), lane="card")

    def read_photo(self, security_code: str) -> None:
        """After a PIN read: the face photo with the security code (card lane), then shown beside the record."""
        if wf.PhotoChecked not in wf.allowed_actions(self.state) or self.card_birth is None:
            self.window.voter.show_error("この画面では顔写真を読み取れません。")
            return
        voter = self.window.voter
        voter.set_photo_busy(True)

        def done(outcome: Any) -> None:
            voter.set_photo_busy(False)
            if self.state.screen is not wf.Screen.CONFIRM_IDENTITY:
                return  # the voter left (Esc) while the card was being read: the photo is not theirs to show
            if getattr(outcome, "ok", False) and getattr(outcome, "photo", None) is not None:
                self.photo = outcome.photo
                self.dispatch(wf.PhotoChecked())
                return
            message = getattr(outcome, "message", "顔写真を読み取れませんでした。")
            self._render()
            voter.show_error(f"{message}　写真なしで進める場合は、顔写真未確認として記録されます。")
            self.state_rendered.emit("photo_failed")

        def failed(exc: BaseException) -> None:
            voter.set_photo_busy(False)
            self._render()
            voter.show_error("顔写真を読み取れませんでした。写真なしで進める場合は、顔写真未確認として記録されます。")
            self.window.errors.show(exc, "顔写真の読取")

        self.ops.run("photo read", self.runtime.read_card_photo, self.card_birth, security_code, on_done=done,
                     on_error=failed, lane="card")

    def _card_failed(self, outcome: Any, back: Any) -> None:
        kind = type(outcome).__name__
        message = getattr(outcome, "message", "カードを読み取れませんでした。")
        if kind == "SecretBlocked":
            self.window.stop.set_stop("ロックされています", message, False, manager_menu=False,
                                      dismiss="受付画面に戻る")
            self.window.show_page(self.window.stop)
            self.state_rendered.emit("blocked")
            return
        if kind == "WrongSecret":
            self.window.show_page(back)
            if back is self.window.pin_pad:
                self.window.pin_pad.set_tries_left(getattr(outcome, "tries_left", None))
            back.show_error(message)
            self.state_rendered.emit("wrong_secret")
            return
        self.window.show_page(self.window.reception)
        self.window.reception.show_error(message)
        self.state_rendered.emit("card_failed")

    # -- manager --------------------------------------------------------------------------------------------------

    def show_manager_menu(self) -> None:
        """Offer the manager functions the current state allows."""
        allowed = wf.allowed_actions(self.state)
        keys: list[str] = []
        for key, action in (
            ("void", wf.Void),
            ("provisional", wf.Provisional),
            ("refuse", wf.Refuse),
            ("proxy", wf.ProxyVote),
            ("braille", wf.Braille),
            ("reissue", wf.Reissue),
            ("reprint", wf.Reprint),
            ("unlock", wf.UnlockStaff),
            ("decision", wf.DecisionHolder),
        ):
            if action in allowed:
                keys.append(key)
        if not keys:
            self.window.current_page().show_error("この画面で使える管理者の操作はありません。")
            return
        elections = [(e.id, e.name) for e in self.state.to_issue]
        runtime = self.runtime

        def choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
            # Both lists come from the ledger: read them on the desk lane, never on the UI thread.
            targets = runtime.recent_events() if "void" in keys else []
            declarations = runtime.declarations_today() if "reprint" in keys else []
            return targets, declarations

        def show(lists: tuple[list[tuple[str, str]], list[tuple[str, str]]]) -> None:
            targets, declarations = lists
            self.window.manager.offer(keys, elections=elections, targets=targets, declarations=declarations)
            self.window.show_page(self.window.manager)
            self.state_rendered.emit("manager")

        self.ops.run("manager choices", choices, on_done=show, on_error=self._fail("記録の一覧"), lane="desk")

    def manager_action(self, key: str, fields: dict[str, Any]) -> None:
        """Turn the manager page's fields into the core's action."""
        auth = wf.ManagerAuth(fields["manager_id"], fields["pin"])
        action: wf.Action
        if key == "void":
            action = wf.Void(auth, fields["target"], fields["reason"])
        elif key == "provisional":
            action = wf.Provisional(auth, fields["reason"])
        elif key == "refuse":
            action = wf.Refuse(auth, fields["reason"], fields["article"])
        elif key == "proxy":
            action = wf.ProxyVote(auth, fields["helpers"])
        elif key == "braille":
            action = wf.Braille(auth)
        elif key == "reissue":
            action = wf.Reissue(auth, fields["election"], fields["reason"])
        elif key == "reprint":
            self.reprint(auth, fields["declaration"])
            return
        elif key == "unlock":
            action = wf.UnlockStaff(auth, fields["staff"])
        elif key == "decision":
            action = wf.DecisionHolder(auth, fields["reference"], fields["sex"])
        else:
            raise ValueError(f"unknown manager function {key!r}")
        self.dispatch(action)

    def reprint(self, auth: wf.ManagerAuth, declaration: str) -> None:
        """Reprint a 宣誓書 printed today at this desk, marked 再印刷 (through the core: manager-signed, logged)."""
        if self._desk_busy:
            return
        self._set_desk_busy(True)

        def done(result: DeskResult) -> None:
            self._set_desk_busy(False)
            self._apply(result.state)
            self._print_failed(result.print_failures)
            self._follow_prints(result.print_pending, self._print_generation)
            if result.state.error is None and not result.print_failures:
                self.window.notice("宣誓書を再印刷しました（再印刷の表示あり）。")

        def failed(exc: BaseException) -> None:
            self._set_desk_busy(False)
            self._render()
            self.window.current_page().show_error(
                str(exc) if isinstance(exc, ValueError) else "再印刷できませんでした。"
            )
            self.window.errors.show(exc, "宣誓書の再印刷")

        self.ops.run("reprint", self.runtime.reprint_declaration, auth, declaration, on_done=done, on_error=failed,
                     lane="desk")

    # -- 宣誓書 the printer refused ----------------------------------------------------------------------------------

    def _print_failed(self, jobs: Sequence[PrintJob]) -> None:
        """Show the forms this step could not print (with the printer's reason) on the ballots and ready screens."""
        shown = {job.job_id for job in self.print_failures}
        jobs = [job for job in jobs if job.job_id not in shown]
        if not jobs:
            return
        for job in jobs:
            # The job id only: its title carries the register key, and nothing here ever carries a name.
            log.warning("print job %s failed, shown at the desk for a retry", job.job_id)
        self.print_failures.extend(jobs)
        self._print_attempts = 0
        self._show_print_failures()

    def _clear_print_failures(self) -> None:
        self._print_generation += 1
        if self.print_failures:
            log.info("print warning cleared with %d job(s) unprinted", len(self.print_failures))
        self.print_failures = []
        self._print_attempts = 0
        self._show_print_failures()

    def _show_print_failures(self) -> None:
        reasons = [job.message for job in self.print_failures]
        for page in (self.window.ballots, self.window.reception):
            page.print_warning.show_failures(reasons, attempts=self._print_attempts, busy=self._print_retrying)

    def retry_prints(self) -> None:
        """F5 on the warning: send each form that did not print again — the same form, not a 再印刷 — on the desk
        lane. Printed: the warning goes; refused again: it shows the printer's new reason. Never blocks the desk."""
        if not self.print_failures or self._print_retrying:
            return
        jobs = tuple(self.print_failures)
        generation = self._print_generation
        retry = self.runtime.retry_print
        self._print_retrying = True
        self._show_print_failures()

        def retry_all() -> list[PrintJob]:
            return [retry(job.job_id) for job in jobs]

        def done(new_jobs: list[PrintJob]) -> None:
            self._print_retrying = False
            # A form sent again may sit in a queue like the first one did: it is followed the same way.
            self._follow_prints([job for job in new_jobs if job.on_its_way], generation)
            if generation != self._print_generation:
                # The next voter started while the printer was asked: whatever came out, the warning has gone.
                self._show_print_failures()
                return
            still = [job for job in new_jobs if job.owed]
            self.print_failures = still
            self._print_attempts = self._print_attempts + 1 if still else 0
            self._show_print_failures()
            if not still:
                printed = all(job.status is JobStatus.COMPLETED for job in new_jobs)
                self.window.notice("宣誓書を印刷しました。" if printed else "宣誓書をプリンタに送りました。")

        def failed(exc: BaseException) -> None:
            self._print_retrying = False
            self._show_print_failures()
            self.window.errors.show(exc, "宣誓書の再印刷")

        self.ops.run("print retry", retry_all, on_done=done, on_error=failed, lane="desk")

    # -- 宣誓書 accepted by the printer's queue but not out yet -------------------------------------------------------

    def _follow_prints(self, jobs: Sequence[PrintJob], generation: int) -> None:
        """Ask the printer about each job about once a second (on the "printer" lane, so the desk never waits for it)
        until it comes out, gets stuck or ``print_follow_limit`` passes. A queue accepts a job at once and may jam,
        run out of paper or lose the printer afterwards: a stuck form joins the print warning, retried with F5.
        ``generation``: the print generation of the voter the forms were printed for."""
        if self._following_stopped:
            return
        for job in jobs:
            if job.job_id in self.print_following:
                continue
            self.print_following[job.job_id] = (time.monotonic() + self.print_follow_limit, generation)
            self._schedule_follow(job.job_id)

    def _schedule_follow(self, job_id: str) -> None:
        timer = self._follow_timers.get(job_id)
        if timer is None:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda: self._ask_printer(job_id))
            self._follow_timers[job_id] = timer
        timer.start(max(0, int(self.print_follow_interval * 1000)))

    def _stop_following(self, job_id: str) -> None:
        self.print_following.pop(job_id, None)
        timer = self._follow_timers.pop(job_id, None)
        if timer is not None:
            timer.stop()
            timer.deleteLater()

    def _ask_printer(self, job_id: str) -> None:
        if self._following_stopped or job_id not in self.print_following:
            return

        def done(job: PrintJob) -> None:
            if job_id not in self.print_following:
                return  # shut down while the printer was being asked
            give_up_at, generation = self.print_following[job_id]
            if job.status in (JobStatus.COMPLETED, JobStatus.CANCELLED):
                log.info("print job %s %s", job_id, job.status.value)
                self._stop_following(job_id)
            elif job.status is JobStatus.FAILED or job.error is not None:
                self._stop_following(job_id)
                problem = job.error.problem.value if job.error is not None else job.status.value
                log.warning("print job %s stuck in the printer's queue (%s)", job_id, problem)
                self._print_stuck(job, generation)
            elif time.monotonic() >= give_up_at:
                log.info("print job %s still %s after %.0f s: no longer followed", job_id, job.status.value,
                         self.print_follow_limit)
                self._stop_following(job_id)
            else:
                self._schedule_follow(job_id)

        def failed(exc: BaseException) -> None:
            # Not a printer problem (those come back as the job's error): the job is unknown or the runtime is gone.
            log.warning("print job %s could not be followed: %r", job_id, exc)
            self._stop_following(job_id)

        self.ops.run("print follow", self.runtime.refresh_print, job_id, on_done=done, on_error=failed,
                     lane="printer")

    def _print_stuck(self, job: PrintJob, generation: int) -> None:
        """A followed form is stuck. While its voter is at the desk or just finished (the ready screen), it joins the
        print warning; once the next voter has started, that voter's screens are not the place for it — the desk is
        told once: a fixed printer usually lets the form out after all, else the manager reprints it."""
        if generation == self._print_generation:
            self._print_failed([job])
            return
        self.window.notice(f"前の方の宣誓書がまだ印刷されていません：{job.message}　プリンタを確認してください。"
                           "出てこない場合は投票管理者が再印刷します。", seconds=20.0)

    def stop_following_prints(self) -> None:
        """Stop asking the printer (shutdown): no timer runs and no answer is shown any more."""
        self._following_stopped = True
        for job_id in list(self.print_following):
            self._stop_following(job_id)

    # -- status ---------------------------------------------------------------------------------------------------

    def _sync_changed(self, snap: SyncSnapshot) -> None:
        w = self.window
        w.status.set_server(snap.online, snap.since, snap.pending)
        w.status.set_skew(snap.skew)
        if snap.online is False:
            policy = self.runtime.offline_policy_text()
            since = f"{format_since(snap.since)}から" if snap.since else ""
            w.set_offline(f"オフライン：{since}サーバーに接続できません。未送信 {snap.pending}件。{policy}")
        else:
            w.set_offline(None)

    def print_report(self, kind: str) -> None:
        """Station reports and the paper backup, printed in the background."""
        if self.info is None:
            self.window.errors.show("選挙データを開いてから印刷してください。")
            return

        def done(title: str) -> None:
            self.window.notice(f"{title}を印刷しました。")

        self.ops.run("report", self.runtime.print_report, kind, on_done=done, on_error=self._fail("帳票の印刷"),
                     lane="desk")

    def shutdown(self) -> None:
        """Sign out, stop the sync worker, wait for background work, then let the window close."""
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.scanner)
        self.stop_following_prints()
        self.ops.shutdown(wait=True)
        self.runtime.close()
        self.window.allow_close()
        self.window.close()
        self.closed.emit()


def _election_lines(elig: Eligibility) -> tuple[ElectionLine, ...]:
    return tuple(
        ElectionLine(d.election.name, d.issuable, d.message.split("：", 1)[-1]) for d in elig.decisions
    )

