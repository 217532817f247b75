"""A 宣誓書 the printer refuses is seen and retried at the desk, by keyboard only, against the real core (register,
ledger, reception, PrintService) with a MemoryPrinter whose ``problem`` makes it refuse jobs like a broken printer."""

from __future__ import annotations

import logging
import subprocess
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ballots.events import EventType
from ballots.printing import PrinterError, PrinterProblem
from kiosk import workflow as wf

JST = timezone(timedelta(hours=9))
EARLY_DAY = datetime(2026, 12, 7, 10, 0, tzinfo=JST)


def _reason(problem: PrinterProblem) -> str:
    """What the desk reads for ``problem`` on the test kiosk's memory printer."""
    return PrinterError(problem, "memory").message_ja


def _pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True)
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    return "".join(out.stdout.decode("utf-8").split())


def _declarations(k: Any) -> list[Any]:
    return [e for e in k.runtime._need().ledger.events() if e.type is EventType.DECLARATION]


def test_refused_declaration_is_shown_and_printed_by_retry(kiosk: Any, sample: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    printer = k.runtime.printer
    printer.problem = PrinterProblem.OUT_OF_PAPER
    plain = sample.persona("plain")
    k.early_voter_to_ballots(plain["register_code"])
    warning = k.window.ballots.print_warning
    assert warning.isVisible() and warning.retry_button.isVisible()
    assert warning.text.text() == f"宣誓書を印刷できませんでした：{_reason(PrinterProblem.OUT_OF_PAPER)}"
    assert "用紙がありません" in warning.text.text()
    assert warning.retry_button.text() == "再印刷を試す　[F5]"
    assert printer.jobs == []
    assert k.window.ballots.finish_button.isEnabled()  # the warning blocks nothing

    # Retry (F5) while the paper is still out: the warning stays, with the reason, and says it was tried.
    k.key(Qt.Key.Key_F5)
    assert warning.isVisible() and "用紙がありません" in warning.text.text()
    assert "1回" in warning.hint.text() and warning.retry_button.isEnabled()
    assert printer.jobs == [] and k.state.screen is wf.Screen.ISSUE

    # Another problem now: the warning gives the new reason.
    printer.problem = PrinterProblem.PAPER_JAM
    k.key(Qt.Key.Key_F5)
    assert warning.text.text() == f"宣誓書を印刷できませんでした：{_reason(PrinterProblem.PAPER_JAM)}"
    assert "2回" in warning.hint.text()

    # Fixed: F5 prints the same form (not a 再印刷), the warning goes and the desk is told.
    printer.problem = None
    k.key(Qt.Key.Key_F5)
    assert not warning.isVisible()
    assert not k.window.reception.print_warning.isVisible()
    assert "宣誓書を印刷しました" in k.window.notice_banner.text() and k.window.notice_banner.isVisible()
    (job,) = printer.jobs
    assert job.pdf.startswith(b"%PDF-") and "再印刷" not in job.title
    text = _pdf_text(job.pdf)
    assert "宣誓書" in text and "再印刷" not in text
    # A retry is the first copy coming out late, not a reprint: the ledger still has the one DECLARATION.
    (declaration,) = _declarations(k)
    assert declaration.data["reprint"] is False
    assert k.controller.print_failures == []
    k.key(Qt.Key.Key_F5)  # nothing owed: F5 does nothing
    assert len(printer.jobs) == 1

    k.enter()
    assert k.state.screen is wf.Screen.READY
    assert len([e for e in k.runtime._need().ledger.events() if e.type is EventType.CHECK_IN]) == 4
    # Register keys in the logs, never the voter's name or カナ.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "failed" in logged
    for part in (*plain["name"].split("\u3000"), *plain["kana"].split("\u3000")):
        assert part not in logged


def test_warning_does_not_block_finishing_and_the_next_voter_starts_clean(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    printer = k.runtime.printer
    printer.problem = PrinterProblem.OFFLINE
    k.early_voter_to_ballots(sample.persona("plain")["register_code"])
    assert k.window.ballots.print_warning.isVisible()
    assert "接続できません" in k.window.ballots.print_warning.text.text()

    # Enter finishes the voter as always; the form is still owed, so the ready screen keeps the warning (and F5).
    k.enter()
    assert k.state.screen is wf.Screen.READY and k.page is k.window.reception
    checkins = [e for e in k.runtime._need().ledger.events() if e.type is EventType.CHECK_IN]
    assert {e.voter for e in checkins} == {sample.persona("plain")["register_code"]}
    ready_warning = k.window.reception.print_warning
    assert ready_warning.isVisible() and "接続できません" in ready_warning.text.text()
    k.key(Qt.Key.Key_F5)
    assert ready_warning.isVisible() and "1回" in ready_warning.hint.text() and printer.jobs == []

    # The next voter: the warning is gone from every screen, and their own form prints.
    printer.problem = None
    k.type(sample.persona("new_form_on_card")["register_code"] + "0007")
    k.enter()
    assert k.state.screen is wf.Screen.CONFIRM_IDENTITY
    assert k.controller.print_failures == []
    assert not ready_warning.isVisible() and not k.window.ballots.print_warning.isVisible()
    k.enter()
    k.key(Qt.Key.Key_1)
    assert k.state.screen is wf.Screen.ISSUE
    assert not k.window.ballots.print_warning.isVisible()
    assert len(printer.jobs) == 1 and sample.persona("new_form_on_card")["register_code"] in printer.jobs[0].title


@pytest.mark.parametrize(
    "problem, words",
    [
        (PrinterProblem.OUT_OF_PAPER, "用紙がありません"),
        (PrinterProblem.STOPPED, "停止しています"),
        (PrinterProblem.DOOR_OPEN, "カバーが開いています"),
        (PrinterProblem.MISSING, "見つかりません"),
    ],
)
def test_manager_reprint_that_fails_is_shown_not_announced_as_printed(
    kiosk: Any, sample: Any, problem: PrinterProblem, words: str
) -> None:
    """The manager's 再印刷 (F10) into a refusing printer: the warning with the reason, no "再印刷しました" notice;
    retried once the printer works, the form comes out marked 再印刷 as the manager asked."""
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    printer = k.runtime.printer
    k.early_voter_to_ballots(sample.persona("plain")["register_code"])
    assert len(printer.jobs) == 1 and not k.window.ballots.print_warning.isVisible()
    printer.problem = problem
    k.key(Qt.Key.Key_F10)
    m = k.window.manager
    m.select("reprint")
    k.type("m01", m.manager_id)
    k.type("2201", m.pin)
    k.key(Qt.Key.Key_Return, m.pin)
    assert k.page is k.window.ballots
    warning = k.window.ballots.print_warning
    assert warning.isVisible() and words in warning.text.text()
    assert "再印刷しました" not in k.window.notice_banner.text()
    printer.problem = None
    k.key(Qt.Key.Key_F5)
    assert not warning.isVisible() and len(printer.jobs) == 2
    assert "再印刷" in _pdf_text(printer.jobs[-1].pdf)


def test_retry_button_is_reachable_by_tab_and_space(kiosk: Any, sample: Any) -> None:
    """Without the F-key: Tab reaches the button, Space presses it (Enter still finishes the voter)."""
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    k.runtime.printer.problem = PrinterProblem.OUT_OF_PAPER
    k.early_voter_to_ballots(sample.persona("plain")["register_code"])
    button = k.window.ballots.print_warning.retry_button
    for _ in range(6):
        if button.hasFocus():
            break
        k.key(Qt.Key.Key_Tab)
    assert button.hasFocus()
    k.runtime.printer.problem = None
    k.key(Qt.Key.Key_Space, button)
    assert not k.window.ballots.print_warning.isVisible() and len(k.runtime.printer.jobs) == 1
    assert k.state.screen is wf.Screen.ISSUE
