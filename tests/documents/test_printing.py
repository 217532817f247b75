"""The printing port: memory and file backends, the reception's PrintService, and a real CUPS queue (cups-pdf)."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from documents_support import make_voter
from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.declaration import render_declaration
from ballots.model import ElectionDefinition
from ballots.printing import (
    CupsPrinter,
    FilePrinter,
    JobStatus,
    MemoryPrinter,
    PrintDocument,
    PrinterError,
    PrinterProblem,
    PrintJob,
    PrintService,
    printer_problem_from_reasons,
)


@pytest.fixture(scope="module")
def declaration_doc(definition: ElectionDefinition) -> PrintDocument:
    voter = make_voter(42, name="印刷　試験子")

    def render(reprint: bool) -> bytes:
        return render_declaration(definition, voter=voter, voting_date=date(2026, 12, 5), reason=2, reprint=reprint)

    return PrintDocument("宣誓書 000000000000042", render)


def _flat(text: str) -> str:
    return "".join(text.split())


# -- pure decision table -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "reasons", "accepting", "expected"),
    [
        (3, ["none"], True, None),
        (4, ["none"], True, None),
        (5, ["paused"], True, PrinterProblem.STOPPED),
        (5, ["none"], True, PrinterProblem.STOPPED),
        (3, ["none"], False, PrinterProblem.NOT_ACCEPTING),
        (3, ["media-empty-error"], True, PrinterProblem.OUT_OF_PAPER),
        (4, ["media-needed-warning"], True, PrinterProblem.OUT_OF_PAPER),
        (3, ["media-empty-report"], True, None),  # -report is informational only
        (5, ["media-jam-error"], True, PrinterProblem.PAPER_JAM),
        (3, ["door-open-error"], True, PrinterProblem.DOOR_OPEN),
        (3, ["offline-report"], True, None),
        (5, ["offline-error"], True, PrinterProblem.OFFLINE),
        (4, ["connecting-to-device"], True, None),  # transient while CUPS opens the device
        (5, ["connecting-to-device"], True, PrinterProblem.OFFLINE),
        (3, ["toner-empty-error"], True, PrinterProblem.NO_TONER),
        (5, ["paused", "media-empty-error"], True, PrinterProblem.STOPPED),  # first reason wins, in CUPS' order
    ],
)
def test_printer_problem_from_ipp_state(
    state: int, reasons: list[str], accepting: bool, expected: PrinterProblem | None
) -> None:
    assert printer_problem_from_reasons(state, reasons, accepting) is expected


_KEYWORDS = ["none", "paused", "media-empty", "media-jam", "offline", "toner-low", "cover-open", "other", "shutdown"]


@settings(max_examples=200, deadline=None)
@given(
    state=st.sampled_from([3, 4, 5]),
    reasons=st.lists(
        st.tuples(st.sampled_from(_KEYWORDS), st.sampled_from(["", "-error", "-warning", "-report"])).map("".join),
        max_size=4,
    ),
    accepting=st.booleans(),
)
def test_any_ipp_state_gets_a_decision(state: int, reasons: list[str], accepting: bool) -> None:
    """Printer attributes come from the device: whatever they say, the decision is made, and a stopped or refusing
    printer is never taken as ready."""
    problem = printer_problem_from_reasons(state, reasons, accepting)
    if state == 5 or not accepting:
        assert problem is not None
    if problem is None:
        assert all(r.endswith("-report") or r.split("-")[0] in ("none", "toner", "other") for r in reasons)


@pytest.mark.parametrize("problem", list(PrinterProblem))
def test_every_problem_has_japanese_and_english_text(problem: PrinterProblem) -> None:
    err = PrinterError(problem, "DESK1", "detail")
    assert err.message_ja and err.message_en
    assert "DESK1" in err.message_en
    assert str(err) == f"{err.message_ja} / {err.message_en}"


# -- memory and file backends --------------------------------------------------------------------------------------


def test_memory_printer_keeps_each_job(declaration_doc: PrintDocument) -> None:
    printer = MemoryPrinter()
    pdf = declaration_doc.render(False)
    a = printer.print_pdf(pdf, "a")
    b = printer.print_pdf(pdf, "b", copies=2)
    assert [j.title for j in printer.jobs] == ["a", "b"]
    assert printer.jobs[1].pdf == pdf and b.copies == 2
    assert a.status is JobStatus.COMPLETED and a.job_id != b.job_id


@pytest.mark.parametrize(
    ("pdf", "title", "copies", "message"),
    [(b"not a pdf", "t", 1, "PDF bytes"), (b"%PDF-1.4", " ", 1, "title"), (b"%PDF-1.4", "t", 0, "copies")],
)
def test_bad_jobs_are_refused_before_anything_is_printed(
    tmp_path: Path, pdf: bytes, title: str, copies: int, message: str
) -> None:
    for printer in (MemoryPrinter(), FilePrinter(tmp_path)):
        with pytest.raises(ValueError, match=message):
            printer.print_pdf(pdf, title, copies)
    assert not list(tmp_path.iterdir())


def test_file_printer_writes_numbered_pdfs(
    tmp_path: Path, declaration_doc: PrintDocument, pdf_text: Callable[..., str]
) -> None:
    printer = FilePrinter(tmp_path / "out")
    first = printer.print_pdf(declaration_doc.render(False), "宣誓書 000000000000042")
    second = printer.print_pdf(declaration_doc.render(True), "宣誓書/再印刷")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["0001-宣誓書_000000000000042.pdf", "0002-宣誓書_再印刷.pdf"]
    assert first.location and Path(first.location).read_bytes() == first.pdf
    assert "再印刷" in _flat(pdf_text(Path(second.location or "").read_bytes()))
    # numbering continues in a directory that already holds jobs (a restarted kiosk)
    third = FilePrinter(tmp_path / "out").print_pdf(first.pdf, "x")
    assert Path(third.location or "").name == "0003-x.pdf"


def test_file_printer_reports_an_unwritable_directory(tmp_path: Path, declaration_doc: PrintDocument) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(PrinterError) as exc:
        FilePrinter(blocker / "sub").print_pdf(declaration_doc.render(False), "t")
    assert exc.value.problem is PrinterProblem.UNAVAILABLE


# -- the service the reception uses ---------------------------------------------------------------------------------


def test_failure_never_raises_and_the_job_can_be_retried(declaration_doc: PrintDocument) -> None:
    printer = MemoryPrinter("desk")
    service = PrintService(printer)
    printer.problem = PrinterProblem.OUT_OF_PAPER
    failed = service.submit(declaration_doc)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None and "用紙がありません" in failed.message
    assert service.failed() == [failed] and printer.jobs == []

    printer.problem = None
    retried = service.retry(failed.job_id)
    assert retried.status is JobStatus.COMPLETED
    assert printer.jobs[0].pdf == failed.pdf  # the same document, not a reprint
    assert service.failed() == []


def test_reprint_renders_again_marked(declaration_doc: PrintDocument, pdf_text: Callable[..., str]) -> None:
    printer = MemoryPrinter()
    service = PrintService(printer)
    original = service.submit(declaration_doc)
    again = service.reprint(original.job_id)
    assert again.reprint_of == original.job_id
    assert "再印刷" not in _flat(pdf_text(printer.jobs[0].pdf))
    assert "再印刷" in _flat(pdf_text(printer.jobs[1].pdf))
    with pytest.raises(ValueError, match="only failed, cancelled or stuck"):
        service.retry(original.job_id)
    with pytest.raises(KeyError, match="no print job"):
        service.reprint("nope")


def test_completed_jobs_let_go_of_their_pdf(declaration_doc: PrintDocument) -> None:
    # A day of 宣誓書 must not pile up in the kiosk's memory: a completed job keeps only its facts.
    service = PrintService(MemoryPrinter())
    returned = [service.submit(declaration_doc) for _ in range(20)]
    assert all(j.pdf.startswith(b"%PDF-") for j in returned)  # the caller still gets what was sent
    assert [j.job_id for j in service.jobs()] == [j.job_id for j in returned]
    assert all(j.pdf == b"" for j in service.jobs())
    again = service.reprint(returned[0].job_id)  # reprinting renders again, so nothing was lost
    assert again.status is JobStatus.COMPLETED and again.reprint_of == returned[0].job_id


@pytest.mark.parametrize("keep", [0, 1, 8])
def test_only_the_newest_owed_jobs_keep_their_pdf_and_older_ones_are_rendered_again(
    declaration_doc: PrintDocument, pdf_text: Callable[..., str], keep: int
) -> None:
    printer = MemoryPrinter()
    printer.problem = PrinterProblem.OUT_OF_PAPER
    service = PrintService(printer, retry_pdfs=keep)
    failed = [service.submit(declaration_doc) for _ in range(keep + 12)]
    holding = [j.job_id for j in service.jobs() if j.pdf]
    assert holding == [j.job_id for j in failed[len(failed) - keep :]]  # the newest `keep`, no more
    assert len(service.failed()) == len(failed)  # letting go of a PDF forgets nothing the desk still owes

    printer.problem = None
    oldest = service.retry(failed[0].job_id)
    assert oldest.status is JobStatus.COMPLETED
    assert _flat(pdf_text(printer.jobs[-1].pdf)) == _flat(pdf_text(failed[0].pdf))  # the same form ...
    assert "再印刷" not in _flat(pdf_text(printer.jobs[-1].pdf))  # ... and not a reprint
    newest = service.retry(failed[-1].job_id)
    assert newest.status is JobStatus.COMPLETED
    if keep:
        assert printer.jobs[-1].pdf == failed[-1].pdf  # a held PDF goes out byte for byte
    assert {j.job_id for j in service.failed()} == {j.job_id for j in failed[1:-1]}


class QueuePrinter:
    """A print queue as CUPS behaves (cups-pdf cannot be made to jam on demand): jobs are accepted PENDING, then
    ``jam`` makes every unfinished job report the problem; ``cancel`` is recorded."""

    name = "queue"

    def __init__(self) -> None:
        self.sent: list[PrintJob] = []
        self.cancelled: list[str] = []
        self.jam: PrinterProblem | None = None
        self.while_answering: Callable[[], None] = lambda: None  # runs after the answer is made, before it returns

    def print_pdf(self, pdf: bytes, title: str, copies: int = 1) -> PrintJob:
        job = PrintJob(str(len(self.sent) + 1), title, copies, JobStatus.PENDING, self.name, bytes(pdf))
        self.sent.append(job)
        return job

    def refresh(self, job: PrintJob) -> PrintJob:
        if job.job_id in self.cancelled:
            answer = replace(job, status=JobStatus.CANCELLED, error=None)
        else:
            answer = replace(job, error=None if self.jam is None else PrinterError(self.jam, self.name))
        self.while_answering()
        return answer

    def cancel(self, job: PrintJob) -> None:
        self.cancelled.append(job.job_id)


def test_reprinting_a_stuck_form_cancels_the_unmarked_one(
    declaration_doc: PrintDocument, pdf_text: Callable[..., str]
) -> None:
    printer = QueuePrinter()
    service = PrintService(printer)
    first = service.submit(declaration_doc)
    printer.jam = PrinterProblem.PAPER_JAM
    assert service.refresh(first.job_id).error is not None  # stuck in the queue
    again = service.reprint(first.job_id)
    assert printer.cancelled == [first.job_id]  # so only the 再印刷 copy can come out when the jam is cleared
    assert again.reprint_of == first.job_id and "再印刷" in _flat(pdf_text(printer.sent[-1].pdf))
    assert service.refresh(first.job_id).status is JobStatus.CANCELLED


def test_an_answer_from_before_a_cancel_does_not_bring_the_job_back(declaration_doc: PrintDocument) -> None:
    printer = QueuePrinter()
    service = PrintService(printer)
    first = service.submit(declaration_doc)
    printer.jam = PrinterProblem.OUT_OF_PAPER
    service.refresh(first.job_id)
    # While one thread asks the printer about the stuck job, another retries it (cancel + send again).
    printer.while_answering = lambda: (setattr(printer, "while_answering", lambda: None), service.retry(first.job_id))
    stale = service.refresh(first.job_id)
    assert printer.cancelled == [first.job_id]
    assert stale.status is JobStatus.CANCELLED  # not "stuck" again
    assert first.job_id not in {j.job_id for j in service.failed()}  # the retry replaced it; nothing owed twice


def test_retry_pdfs_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="retry_pdfs"):
        PrintService(MemoryPrinter(), retry_pdfs=-1)


def test_a_failed_retry_stays_owed(declaration_doc: PrintDocument) -> None:
    printer = MemoryPrinter()
    printer.problem = PrinterProblem.OFFLINE
    service = PrintService(printer)
    first = service.submit(declaration_doc)
    second = service.retry(first.job_id)
    assert {j.job_id for j in service.failed()} == {first.job_id, second.job_id}
    printer.problem = None
    service.reprint(second.job_id)
    assert [j.job_id for j in service.failed()] == [first.job_id]


# -- a real CUPS ---------------------------------------------------------------------------------------------------


def _cups_pdf_out() -> Path:
    """cups-pdf's output directory for jobs sent by this user (cups-pdf.conf: Out ${HOME}/PDF)."""
    conf = Path("/etc/cups/cups-pdf.conf")
    out = "${HOME}/PDF"
    if conf.exists():
        for line in conf.read_text().splitlines():
            if line.startswith("Out "):
                out = line.split(None, 1)[1].strip()
    return Path(out.replace("${HOME}", os.path.expanduser("~")).replace("${USER}", os.environ.get("USER", "root")))


def _landed(title: str, timeout: float = 30.0) -> Path:
    deadline = time.monotonic() + timeout
    candidates = [_cups_pdf_out(), Path(os.environ.get("UKETSUKE_TEST_CUPS_OUT", "/var/spool/cups-pdf/ANONYMOUS"))]
    while time.monotonic() < deadline:
        for d in candidates:
            hits = list(d.glob(f"{title}*.pdf")) if d.is_dir() else []
            if hits and hits[0].stat().st_size > 0:
                time.sleep(0.2)  # cups-pdf renames into place when done; give the write a moment
                return hits[0]
        time.sleep(0.2)
    raise AssertionError(f"no cups-pdf output for {title} in {candidates}")


@pytest.mark.cups
def test_cups_job_lands_with_the_right_text(
    cups_queue: str, declaration_doc: PrintDocument, pdf_text: Callable[..., str]
) -> None:
    printer = CupsPrinter(cups_queue)
    assert printer.state().problem is None
    title = f"uketsuke-test-{uuid.uuid4().hex[:10]}"  # ASCII: cups-pdf mangles other characters in file names
    job = printer.print_pdf(declaration_doc.render(False), title)
    assert job.status in (JobStatus.PENDING, JobStatus.PRINTING, JobStatus.COMPLETED)
    done = printer.wait(job, timeout=60)
    assert done.status is JobStatus.COMPLETED, done
    out = _landed(title)
    try:
        flat = _flat(pdf_text(out.read_bytes()))
        assert "宣誓書" in flat and "印刷試験子" in flat
        assert "用務（前号の総務省令で定めるものを除く。）" in flat
    finally:
        out.unlink()


@pytest.mark.cups
def test_cups_missing_printer_is_a_clear_error(cups_queue: str, declaration_doc: PrintDocument) -> None:
    printer = CupsPrinter(f"NO_SUCH_{uuid.uuid4().hex[:8]}")
    with pytest.raises(PrinterError) as exc:
        printer.print_pdf(declaration_doc.render(False), "t")
    assert exc.value.problem is PrinterProblem.MISSING
    assert "見つかりません" in str(exc.value) and "does not exist" in str(exc.value)
    # through the service the reception carries on with a failed, retryable job
    job = PrintService(printer).submit(declaration_doc)
    assert job.status is JobStatus.FAILED and "見つかりません" in job.message


@pytest.fixture
def cups_doc(declaration_doc: PrintDocument) -> Iterator[PrintDocument]:
    """The declaration under a unique ASCII title (cups-pdf names its files after the title); whatever lands is
    removed afterwards so test runs leave no voter forms behind."""
    title = f"uketsuke-test-{uuid.uuid4().hex[:10]}"
    yield PrintDocument(title, declaration_doc.render)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # a job completing just now may land a moment later
        hits = list(_cups_pdf_out().glob(f"{title}*.pdf"))
        for hit in hits:
            hit.unlink(missing_ok=True)
        if hits:
            break
        time.sleep(0.5)


@pytest.fixture
def own_queue(cups_queue: str) -> Iterator[str]:
    """A private cups-pdf queue for destructive cases (stopping, rejecting); removed afterwards."""
    name = f"UKETSUKE_T{uuid.uuid4().hex[:8]}"
    device = subprocess.run(["lpstat", "-v", cups_queue], capture_output=True, text=True).stdout.split()[-1]
    ppd = Path(f"/etc/cups/ppd/{cups_queue}.ppd")
    argv = ["lpadmin", "-p", name, "-E", "-v", device] + (["-P", str(ppd)] if ppd.exists() else [])
    subprocess.run(argv, check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["cancel", "-a", name], capture_output=True)
        subprocess.run(["lpadmin", "-x", name], capture_output=True)


@pytest.mark.cups
def test_cups_stopped_queue_is_a_clear_error_and_retry_works_after(own_queue: str, cups_doc: PrintDocument) -> None:
    subprocess.run(["cupsdisable", "-r", "test: printer off", own_queue], check=True)
    printer = CupsPrinter(own_queue)
    service = PrintService(printer)
    job = service.submit(cups_doc)
    assert job.status is JobStatus.FAILED
    assert job.error is not None and job.error.problem is PrinterProblem.STOPPED
    assert "停止しています" in str(job.error) and "is stopped" in str(job.error)

    subprocess.run(["cupsenable", own_queue], check=True)
    again = service.retry(job.job_id)
    assert again.error is None and again.status is not JobStatus.FAILED
    assert printer.wait(again, timeout=60).status is JobStatus.COMPLETED
    assert service.failed() == []


@pytest.mark.cups
def test_cups_queue_not_accepting_is_a_clear_error(own_queue: str, declaration_doc: PrintDocument) -> None:
    subprocess.run(["cupsreject", "-r", "test", own_queue], check=True)
    with pytest.raises(PrinterError) as exc:
        CupsPrinter(own_queue).print_pdf(declaration_doc.render(False), "t")
    assert exc.value.problem is PrinterProblem.NOT_ACCEPTING
    assert "受け付けていません" in str(exc.value)


@pytest.fixture
def unplugged_queue(cups_queue: str) -> Iterator[str]:
    """A private queue whose device does not answer (a switched-off network printer; loopback port 9, where nothing
    listens), stopping on error like an office printer. Removed afterwards."""
    name = f"UKETSUKE_OFF{uuid.uuid4().hex[:8]}"
    ppd = Path(f"/etc/cups/ppd/{cups_queue}.ppd")
    argv = ["lpadmin", "-p", name, "-E", "-v", "socket://127.0.0.1:9", "-o", "printer-error-policy=retry-job"]
    subprocess.run(argv + (["-P", str(ppd)] if ppd.exists() else []), check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["cancel", "-a", name], capture_output=True)
        subprocess.run(["lpadmin", "-x", name], capture_output=True)


@pytest.mark.cups
def test_cups_printer_switched_off_is_reported_and_the_job_is_retried_once_it_is_back(
    cups_queue: str, unplugged_queue: str, cups_doc: PrintDocument
) -> None:
    printer = CupsPrinter(unplugged_queue, stall_after=1.0)
    service = PrintService(printer)
    job = service.submit(cups_doc)
    assert job.status is not JobStatus.FAILED  # CUPS accepted it: the problem only shows while printing
    deadline = time.monotonic() + 60
    while job.error is None and time.monotonic() < deadline:
        time.sleep(0.5)
        job = service.refresh(job.job_id)
    assert job.error is not None, "a printer that never answers was not reported"
    assert job.error.problem is PrinterProblem.OFFLINE and "接続できません" in job.message
    assert [j.job_id for j in service.failed()] == [job.job_id]

    # The printer is back (here: the queue now reaches the PDF device); retrying cancels the stuck job first.
    device = subprocess.run(["lpstat", "-v", cups_queue], capture_output=True, text=True).stdout.split()[-1]
    subprocess.run(["lpadmin", "-p", unplugged_queue, "-v", device], check=True, capture_output=True)
    again = service.retry(job.job_id)
    assert again.error is None
    assert printer.wait(again, timeout=60).status is JobStatus.COMPLETED
    assert service.failed() == []
    assert service.refresh(job.job_id).status is JobStatus.CANCELLED


def test_queue_names_are_checked() -> None:
    with pytest.raises(ValueError, match="queue name"):
        CupsPrinter("bad name; rm -rf")
