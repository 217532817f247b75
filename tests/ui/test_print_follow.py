"""A 宣誓書 the print queue accepts but that never comes out is still shown at the desk.

A CUPS queue takes a job at once (PENDING) and may then jam, run out of paper or lose the printer; the controller
follows each accepted job on its own "printer" lane until it comes out, gets stuck (it joins the print warning, F5
cancels it and sends the same form again) or the bound passes. The real core (register, ledger, reception,
PrintService) runs with ``QueuePrinter``, a stand-in for the CUPS queue whose jobs stay pending until the test says
how they end — cups-pdf prints at once and cannot be made to jam on demand. One test follows a real CUPS job.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ballots.events import EventType
from ballots.printing import (
    CupsPrinter,
    JobStatus,
    Printer,
    PrinterError,
    PrinterProblem,
    PrintJob,
    check_job,
)
from kiosk import workflow as wf

JST = timezone(timedelta(hours=9))
EARLY_DAY = datetime(2026, 12, 7, 10, 0, tzinfo=JST)
FAST = 0.02  # seconds between two questions to the printer in these tests (the kiosk asks once a second)
Outcome = JobStatus | PrinterProblem


class QueuePrinter:
    """The printing port as a queue: ``print_pdf`` accepts every job as PENDING; ``refresh`` reports what the test
    decided — ``then`` for every job, or ``outcomes[job_id]`` for one: still PENDING, COMPLETED, or a PrinterProblem
    under the pending job (as CupsPrinter reports a printer that stopped under it). ``cancel`` is recorded, and a
    cancelled job is CANCELLED from then on. ``hold``, when set, makes ``refresh`` wait for it (a slow printer; the
    ``waiting`` event says a refresh is waiting)."""

    def __init__(self, name: str = "queue") -> None:
        self.name = name
        self.jobs: list[PrintJob] = []
        self.cancelled: list[str] = []
        self.then: Outcome = JobStatus.PENDING
        self.outcomes: dict[str, Outcome] = {}
        self.hold: threading.Event | None = None
        self.waiting = threading.Event()
        self.refreshed: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def next_id(self) -> str:
        """The id the next accepted job gets."""
        return str(len(self.jobs) + 1)

    def print_pdf(self, pdf: bytes, title: str, copies: int = 1) -> PrintJob:
        check_job(pdf, title, copies)
        with self._lock:
            job = PrintJob(str(next(self._ids)), title, copies, JobStatus.PENDING, self.name, bytes(pdf))
            self.jobs.append(job)
        return job

    def refresh(self, job: PrintJob) -> PrintJob:
        hold = self.hold
        if hold is not None:
            self.waiting.set()
            assert hold.wait(30), "the test never released the printer"
        with self._lock:
            self.refreshed.append(job.job_id)
            if job.job_id in self.cancelled:
                return replace(job, status=JobStatus.CANCELLED, error=None)
            outcome = self.outcomes.get(job.job_id, self.then)
        if isinstance(outcome, PrinterProblem):
            return replace(job, status=JobStatus.PENDING, error=PrinterError(outcome, self.name))
        return replace(job, status=outcome, error=None)

    def cancel(self, job: PrintJob) -> None:
        with self._lock:
            self.cancelled.append(job.job_id)


def test_queue_printer_is_a_printer() -> None:
    assert isinstance(QueuePrinter(), Printer)


def _reason(problem: PrinterProblem) -> str:
    return PrinterError(problem, "queue").message_ja


def _kiosk(kiosk: Any, sample: Any, printer: Any, **follow: float) -> Any:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None, printer=printer)
    k.controller.print_follow_interval = follow.get("interval", FAST)
    k.controller.print_follow_limit = follow.get("limit", 60.0)
    k.start_day(sample.passphrase)
    return k


def _following_ends(k: Any, timeout: int = 10_000) -> None:
    k.qtbot.waitUntil(lambda: not k.controller.print_following, timeout=timeout)
    k.settle()


def test_a_pending_form_that_comes_out_never_shows_a_warning(kiosk: Any, sample: Any) -> None:
    printer = QueuePrinter()
    k = _kiosk(kiosk, sample, printer)
    k.early_voter_to_ballots(sample.persona("plain")["register_code"])
    (job,) = printer.jobs
    assert list(k.controller.print_following) == [job.job_id]  # accepted, not out yet: followed
    assert not k.window.ballots.print_warning.isVisible()

    k.qtbot.waitUntil(lambda: len(printer.refreshed) >= 2)  # asked, still pending: asked again
    assert k.controller.print_following
    printer.then = JobStatus.COMPLETED
    _following_ends(k)
    assert k.runtime.print_service.jobs()[0].status is JobStatus.COMPLETED
    assert k.controller.print_failures == [] and printer.cancelled == []
    assert not k.window.ballots.print_warning.isVisible()
    k.enter()
    assert k.state.screen is wf.Screen.READY and not k.window.reception.print_warning.isVisible()


def test_a_stuck_form_is_shown_while_the_desk_stays_usable(kiosk: Any, sample: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    printer = QueuePrinter()
    k = _kiosk(kiosk, sample, printer)
    plain = sample.persona("plain")
    k.early_voter_to_ballots(plain["register_code"])
    warning = k.window.ballots.print_warning

    # A slow printer holds only its own lane: the desk's work goes on while the printer is being asked.
    printer.hold = threading.Event()
    k.qtbot.waitUntil(printer.waiting.is_set)
    assert k.window.ballots.isEnabled() and k.window.ballots.finish_button.isEnabled()
    k.qtbot.keyClick(k.window.ballots, Qt.Key.Key_F10)  # the manager menu reads the ledger on the desk lane
    k.qtbot.waitUntil(lambda: k.page is k.window.manager)
    k.qtbot.keyClick(k.window.manager, Qt.Key.Key_Escape)
    k.qtbot.waitUntil(lambda: k.page is k.window.ballots)
    assert not warning.isVisible() and k.controller.ops.busy == 1  # the printer is still being asked
    printer.then = PrinterProblem.OUT_OF_PAPER
    printer.hold.set()
    printer.hold = None

    k.qtbot.waitUntil(warning.isVisible)
    k.settle()
    assert warning.text.text() == f"宣誓書を印刷できませんでした：{_reason(PrinterProblem.OUT_OF_PAPER)}"
    assert warning.retry_button.isEnabled() and k.window.ballots.finish_button.isEnabled()
    assert k.controller.print_following == {}  # stuck: shown, no longer asked about
    assert k.state.screen is wf.Screen.ISSUE

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"print job {printer.jobs[0].job_id} stuck" in logged and "out_of_paper" in logged
    for part in (*plain["name"].split("\u3000"), *plain["kana"].split("\u3000")):
        assert part not in logged


def test_f5_cancels_the_stuck_form_and_sends_it_again(kiosk: Any, sample: Any) -> None:
    printer = QueuePrinter()
    k = _kiosk(kiosk, sample, printer)
    k.early_voter_to_ballots(sample.persona("plain")["register_code"])
    warning = k.window.ballots.print_warning
    printer.then = PrinterProblem.PAPER_JAM
    k.qtbot.waitUntil(warning.isVisible)
    k.settle()
    (stuck,) = printer.jobs

    # The jam is cleared; the form sent again will come out.
    printer.outcomes[printer.next_id] = JobStatus.COMPLETED
    k.key(Qt.Key.Key_F5)
    assert printer.cancelled == [stuck.job_id]  # cancelled first: it cannot come out later as a second copy
    first, again = printer.jobs
    assert again.pdf == first.pdf and again.title == first.title and "再印刷" not in again.title
    assert not warning.isVisible() and k.controller.print_failures == []
    assert "宣誓書をプリンタに送りました" in k.window.notice_banner.text()
    _following_ends(k)  # the new job is followed like the first one, and comes out
    assert printer.refreshed[-1] == again.job_id
    assert {j.job_id: j.status for j in k.runtime.print_service.jobs()} == {
        stuck.job_id: JobStatus.CANCELLED,
        again.job_id: JobStatus.COMPLETED,
    }
    assert not warning.isVisible()
    # A retry is the first copy coming out late, not a reprint: the ledger has the one DECLARATION.
    declarations = [e for e in k.runtime._need().ledger.events() if e.type is EventType.DECLARATION]
    assert len(declarations) == 1 and declarations[0].data["reprint"] is False


def test_f5_after_the_stuck_form_came_out_sends_nothing(kiosk: Any, sample: Any) -> None:
    """Paper put in, the waiting form came out, then F5 as the warning said: no second copy."""
    printer = QueuePrinter()
    k = _kiosk(kiosk, sample, printer)
    k.early_voter_to_ballots(sample.persona("plain")["register_code"])
    printer.then = PrinterProblem.OUT_OF_PAPER
    k.qtbot.waitUntil(k.window.ballots.print_warning.isVisible)
    k.settle()
    printer.then = JobStatus.COMPLETED
    k.key(Qt.Key.Key_F5)
    assert len(printer.jobs) == 1 and printer.cancelled == []
    assert not k.window.ballots.print_warning.isVisible()
    assert "宣誓書を印刷しました" in k.window.notice_banner.text()


def test_a_form_stuck_after_finish_is_shown_on_the_ready_screen(kiosk: Any, sample: Any) -> None:
    printer = QueuePrinter()
    k = _kiosk(kiosk, sample, printer)
    k.early_voter_to_ballots(sample.persona("plain")["register_code"])
    k.enter()  # the voter is finished while the form is still in the queue
    assert k.state.screen is wf.Screen.READY and k.controller.print_following
    ready_warning = k.window.reception.print_warning
    assert not ready_warning.isVisible()

    printer.then = PrinterProblem.DOOR_OPEN
    k.qtbot.waitUntil(ready_warning.isVisible)
    k.settle()
    assert ready_warning.text.text() == f"宣誓書を印刷できませんでした：{_reason(PrinterProblem.DOOR_OPEN)}"
    assert k.page is k.window.reception and k.state.screen is wf.Screen.READY

    printer.outcomes[printer.next_id] = JobStatus.COMPLETED
    k.key(Qt.Key.Key_F5)
    assert printer.cancelled == [printer.jobs[0].job_id] and len(printer.jobs) == 2
    assert not ready_warning.isVisible()


def test_a_form_stuck_once_the_next_voter_started_is_told_not_shown_as_theirs(kiosk: Any, sample: Any) -> None:
    printer = QueuePrinter()
    k = _kiosk(kiosk, sample, printer)
    k.early_voter_to_ballots(sample.persona("plain")["register_code"])
    k.enter()
    k.type(sample.persona("new_form_on_card")["register_code"] + "0007")
    k.enter()
    assert k.state.screen is wf.Screen.CONFIRM_IDENTITY  # the next voter is at the desk

    printer.then = PrinterProblem.OUT_OF_PAPER
    k.qtbot.waitUntil(lambda: "前の方の宣誓書" in k.window.notice_banner.text())
    k.settle()
    assert _reason(PrinterProblem.OUT_OF_PAPER) in k.window.notice_banner.text()
    assert k.controller.print_failures == []  # this voter's screens do not claim it as theirs
    assert not k.window.ballots.print_warning.isVisible() and not k.window.reception.print_warning.isVisible()
    assert k.controller.print_following == {}


def test_following_gives_up_quietly_within_its_bound(kiosk: Any, sample: Any) -> None:
    printer = QueuePrinter()  # the job stays pending for ever, with no problem reported
    k = _kiosk(kiosk, sample, printer, limit=0.2)
    k.early_voter_to_ballots(sample.persona("plain")["register_code"])
    assert k.controller.print_following
    _following_ends(k)
    asked = len(printer.refreshed)
    assert asked >= 1 and set(printer.refreshed) == {printer.jobs[0].job_id}
    assert k.controller._follow_timers == {}  # nothing left that could ask again
    assert k.controller.print_failures == [] and not k.window.ballots.print_warning.isVisible()
    k.enter()
    assert k.state.screen is wf.Screen.READY and len(printer.refreshed) == asked


def test_shutdown_stops_following(kiosk: Any, sample: Any) -> None:
    printer = QueuePrinter()
    k = _kiosk(kiosk, sample, printer)
    k.early_voter_to_ballots(sample.persona("plain")["register_code"])
    k.qtbot.waitUntil(lambda: len(printer.refreshed) >= 1)
    assert k.controller.print_following
    k.close()
    asked = len(printer.refreshed)
    assert k.controller.print_following == {} and k.controller._follow_timers == {}
    k.controller._follow_prints(printer.jobs, 0)  # a late result after shutdown starts nothing
    assert k.controller.print_following == {}
    k.qtbot.wait(int(FAST * 1000 * 10))  # ten intervals: any timer left would have asked by now
    assert len(printer.refreshed) == asked


# --------------------------------------------------------------------------------------------------------------------
# The real CUPS queue (cups-pdf): the job is followed until it has come out


def _cups_pdf_dirs() -> list[Path]:
    """Where cups-pdf writes (cups-pdf.conf ``Out``, and the anonymous spool the test services use)."""
    out = "${HOME}/PDF"
    conf = Path("/etc/cups/cups-pdf.conf")
    if conf.exists():
        for line in conf.read_text().splitlines():
            if line.startswith("Out "):
                out = line.split(None, 1)[1].strip()
    home = out.replace("${HOME}", os.path.expanduser("~")).replace("${USER}", os.environ.get("USER", "root"))
    return [Path(home), Path(os.environ.get("UKETSUKE_TEST_CUPS_OUT", "/var/spool/cups-pdf/ANONYMOUS"))]


@pytest.mark.cups
def test_a_declaration_on_the_real_cups_queue_is_followed_until_it_came_out(
    kiosk: Any, sample: Any, cups_queue: str
) -> None:
    code = sample.persona("plain")["register_code"]
    k = _kiosk(kiosk, sample, CupsPrinter(cups_queue), interval=0.2)
    try:
        k.early_voter_to_ballots(code)
        (sent,) = k.runtime.print_service.jobs()
        assert sent.status is JobStatus.PENDING and sent.job_id.isdigit()  # lp accepted it; CUPS prints it later
        assert list(k.controller.print_following) == [sent.job_id]
        _following_ends(k, timeout=60_000)
        (job,) = k.runtime.print_service.jobs()
        assert job.status is JobStatus.COMPLETED and job.error is None, job
        assert k.controller.print_failures == []
        assert not k.window.ballots.print_warning.isVisible()
    finally:
        # The sample voter's form must not stay in the spool: cups-pdf names it after the title (宣誓書-<key>).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            hits = [p for d in _cups_pdf_dirs() if d.is_dir() for p in d.glob(f"*{code}*.pdf")]
            for hit in hits:
                hit.unlink(missing_ok=True)
            if hits:
                break
            time.sleep(0.2)
