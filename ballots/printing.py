"""Printing behind one port: ``Printer.print_pdf(pdf, title, copies) -> PrintJob``.

Backends: ``CupsPrinter`` (a real CUPS queue, through the ``lp`` and ``ipptool`` commands of cups-client and
cups-ipp-utils), ``FilePrinter`` (numbered PDFs in a directory: the headless demo and archiving), ``MemoryPrinter``
(keeps every job's PDF, for tests). The Qt QPrinter backend lives in ``kiosk/ui/qt_printer.py`` because PySide6 may
only be imported there. The composition root picks one.

``PrintService`` sits in front of any backend and is what the reception uses: a printer that is off, out of paper or
missing never raises into the reception flow — the job is recorded as failed with a message for the desk, and can be
retried (the same PDF) or reprinted (rendered again, marked 再印刷) once the printer is fixed.
"""

from __future__ import annotations

import collections
import enum
import itertools
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CupsPrinter",
    "FilePrinter",
    "JobStatus",
    "MemoryPrinter",
    "PrintDocument",
    "PrintJob",
    "PrintService",
    "Printer",
    "PrinterError",
    "PrinterProblem",
    "check_job",
    "printer_problem_from_reasons",
]


class JobStatus(enum.StrEnum):
    """Where a print job is. FAILED and CANCELLED jobs can be retried."""

    PENDING = "pending"  # accepted, waiting (a stopped printer keeps jobs here)
    PRINTING = "printing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True once the job will not change any more by itself."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class PrinterProblem(enum.StrEnum):
    """Why a printer cannot print, each with text for the desk (Japanese) and for logs (English)."""

    MISSING = "missing"
    STOPPED = "stopped"
    NOT_ACCEPTING = "not_accepting"
    OUT_OF_PAPER = "out_of_paper"
    PAPER_JAM = "paper_jam"
    OFFLINE = "offline"
    DOOR_OPEN = "door_open"
    NO_TONER = "no_toner"
    UNAVAILABLE = "unavailable"  # the print system itself cannot be reached
    FAILED = "failed"  # the job was accepted but aborted


_PROBLEM_TEXT: Mapping[PrinterProblem, tuple[str, str]] = {
    PrinterProblem.MISSING: (
        "プリンタ「{p}」が見つかりません。設定を確認してください。",
        "printer {p!r} does not exist",
    ),
    PrinterProblem.STOPPED: (
        "プリンタ「{p}」が停止しています。電源と状態を確認し、再開してください。",
        "printer {p!r} is stopped",
    ),
    PrinterProblem.NOT_ACCEPTING: (
        "プリンタ「{p}」が印刷を受け付けていません。管理者に連絡してください。",
        "printer {p!r} is not accepting jobs",
    ),
    PrinterProblem.OUT_OF_PAPER: (
        "プリンタ「{p}」の用紙がありません。用紙を補充してください。",
        "printer {p!r} is out of paper",
    ),
    PrinterProblem.PAPER_JAM: ("プリンタ「{p}」で紙詰まりが起きています。", "printer {p!r} has a paper jam"),
    PrinterProblem.OFFLINE: (
        "プリンタ「{p}」に接続できません。電源とケーブルを確認してください。",
        "printer {p!r} is off or offline",
    ),
    PrinterProblem.DOOR_OPEN: ("プリンタ「{p}」のカバーが開いています。", "printer {p!r} has a cover open"),
    PrinterProblem.NO_TONER: (
        "プリンタ「{p}」のトナー（インク）がありません。",
        "printer {p!r} is out of toner or ink",
    ),
    PrinterProblem.UNAVAILABLE: (
        "印刷システムに接続できません。管理者に連絡してください。",
        "the print system is not available ({p})",
    ),
    PrinterProblem.FAILED: ("プリンタ「{p}」で印刷に失敗しました。", "printing on {p!r} failed"),
}


class PrinterError(Exception):
    """A printer that cannot print. ``message_ja`` is for the desk, ``message_en`` for logs; ``detail`` is raw."""

    def __init__(self, problem: PrinterProblem, printer: str, detail: str = "") -> None:
        ja, en = _PROBLEM_TEXT[problem]
        self.problem = problem
        self.printer = printer
        self.detail = detail.strip()
        self.message_ja = ja.format(p=printer)
        self.message_en = en.format(p=printer) + (f": {self.detail}" if self.detail else "")
        super().__init__(f"{self.message_ja} / {self.message_en}")


@dataclass(frozen=True, slots=True)
class PrintJob:
    """One submitted document. ``pdf`` is what was sent (empty once PrintService has let go of it)."""

    job_id: str
    title: str
    copies: int
    status: JobStatus
    printer: str
    pdf: bytes = field(repr=False)
    submitted_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    error: PrinterError | None = None
    reprint_of: str | None = None  # job id of the job this one reprints
    location: str | None = None  # where a file backend wrote it

    @property
    def stuck(self) -> bool:
        """Accepted but not moving: unfinished, with a printer problem under it (jam, paper, power)."""
        return not self.status.finished and self.error is not None

    @property
    def on_its_way(self) -> bool:
        """Accepted, unfinished and no problem reported: it may still come out (or get stuck)."""
        return not self.status.finished and self.error is None

    @property
    def owed(self) -> bool:
        """The form did not come out and will not by itself: refused, cancelled, or stuck."""
        return self.status in (JobStatus.FAILED, JobStatus.CANCELLED) or self.stuck

    @property
    def message(self) -> str:
        """What the desk sees about this job."""
        if self.error is not None:
            return self.error.message_ja
        return {
            JobStatus.PENDING: "印刷待ち",
            JobStatus.PRINTING: "印刷中",
            JobStatus.COMPLETED: "印刷完了",
            JobStatus.FAILED: "印刷失敗",
            JobStatus.CANCELLED: "印刷取消",
        }[self.status]


@runtime_checkable
class Printer(Protocol):
    """The printing port. ``print_pdf`` raises PrinterError when the printer cannot take the job."""

    name: str

    def print_pdf(self, pdf: bytes, title: str, copies: int = 1) -> PrintJob:
        """Send a PDF; returns the job as accepted (its status may still change: see ``refresh``)."""
        ...

    def refresh(self, job: PrintJob) -> PrintJob:
        """The job with its current status."""
        ...


def check_job(pdf: bytes, title: str, copies: int) -> None:
    """Refuse (ValueError) a job that is not PDF bytes, has an empty title or copies outside 1..99; every backend
    checks its jobs with this before printing."""
    if not isinstance(pdf, bytes | bytearray) or not bytes(pdf[:5]) == b"%PDF-":
        raise ValueError("print_pdf: pdf must be PDF bytes (starting with %PDF-)")
    if not title.strip():
        raise ValueError("print_pdf: title must not be empty")
    if not isinstance(copies, int) or isinstance(copies, bool) or not 1 <= copies <= 99:
        raise ValueError(f"print_pdf: copies must be 1..99, got {copies!r}")


# --------------------------------------------------------------------------------------------------------------------
# Memory and file backends


class MemoryPrinter:
    """Keeps every job (and its PDF) in ``jobs``. Set ``problem`` to make it refuse jobs like a broken printer."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.jobs: list[PrintJob] = []
        self.problem: PrinterProblem | None = None
        self._ids = itertools.count(1)

    def print_pdf(self, pdf: bytes, title: str, copies: int = 1) -> PrintJob:
        """Keep the job, completed at once; raise PrinterError while ``problem`` is set."""
        check_job(pdf, title, copies)
        if self.problem is not None:
            raise PrinterError(self.problem, self.name)
        job = PrintJob(f"{self.name}-{next(self._ids)}", title, copies, JobStatus.COMPLETED, self.name, bytes(pdf))
        self.jobs.append(job)
        return job

    def refresh(self, job: PrintJob) -> PrintJob:
        """Memory jobs complete at once."""
        return job


_UNSAFE = re.compile(r"[^\w\-ぁ-んァ-ヶー一-龠々（）()]+")


class FilePrinter:
    """Writes each job as ``NNNN-<title>.pdf`` into ``directory`` (numbering continues after existing files)."""

    def __init__(self, directory: Path | str, name: str = "file") -> None:
        self.directory = Path(directory)
        self.name = name
        self._lock = threading.Lock()

    def _next_number(self) -> int:
        numbers = [int(p.name[:4]) for p in self.directory.glob("[0-9][0-9][0-9][0-9]-*.pdf")]
        return max(numbers, default=0) + 1

    def print_pdf(self, pdf: bytes, title: str, copies: int = 1) -> PrintJob:
        """Write the PDF (atomically: a half-written file never carries the final name)."""
        check_job(pdf, title, copies)
        safe = _UNSAFE.sub("_", title).strip("_")[:60] or "document"
        with self._lock:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                number = self._next_number()
                path = self.directory / f"{number:04d}-{safe}.pdf"
                tmp = path.with_suffix(".pdf.part")
                tmp.write_bytes(pdf)
                tmp.replace(path)
            except OSError as exc:
                raise PrinterError(PrinterProblem.UNAVAILABLE, str(self.directory), str(exc)) from exc
        return PrintJob(
            f"{self.name}-{number}", title, copies, JobStatus.COMPLETED, self.name, bytes(pdf), location=str(path)
        )

    def refresh(self, job: PrintJob) -> PrintJob:
        """File jobs complete at once."""
        return job


# --------------------------------------------------------------------------------------------------------------------
# CUPS


# IPP printer-state-reasons (RFC 8011 §5.4.12 and PWG 5100.x) that stop printing, most specific first. A reason may
# carry a -error / -warning / -report suffix; only -report is informational.
_REASON_PROBLEMS: Sequence[tuple[str, PrinterProblem]] = (
    ("media-empty", PrinterProblem.OUT_OF_PAPER),
    ("media-needed", PrinterProblem.OUT_OF_PAPER),
    ("input-tray-missing", PrinterProblem.OUT_OF_PAPER),
    ("media-jam", PrinterProblem.PAPER_JAM),
    ("door-open", PrinterProblem.DOOR_OPEN),
    ("cover-open", PrinterProblem.DOOR_OPEN),
    ("toner-empty", PrinterProblem.NO_TONER),
    ("marker-supply-empty", PrinterProblem.NO_TONER),
    ("offline", PrinterProblem.OFFLINE),
    ("shutdown", PrinterProblem.OFFLINE),
    ("connecting-to-device", PrinterProblem.OFFLINE),
    ("timed-out", PrinterProblem.OFFLINE),
    ("paused", PrinterProblem.STOPPED),
)


def printer_problem_from_reasons(state: int, reasons: Sequence[str], accepting: bool) -> PrinterProblem | None:
    """Decide from IPP printer attributes whether a job would print: None if it would, else the problem.

    ``state`` is printer-state (3 idle, 4 processing, 5 stopped); ``reasons`` the printer-state-reasons keywords.
    """
    for reason in reasons:
        if reason.endswith("-report") or reason == "none":
            continue
        base = reason.removesuffix("-error").removesuffix("-warning")
        for keyword, problem in _REASON_PROBLEMS:
            if base == keyword:
                if keyword in ("connecting-to-device", "timed-out") and state != 5:
                    continue  # CUPS shows these briefly while it opens the device; only a stop makes them fatal
                return problem
    if state == 5:
        return PrinterProblem.STOPPED
    if not accepting:
        return PrinterProblem.NOT_ACCEPTING
    return None


_IPP_JOB_STATES = {
    3: JobStatus.PENDING,
    4: JobStatus.PENDING,  # held
    5: JobStatus.PRINTING,
    6: JobStatus.PRINTING,  # processing-stopped: the printer stopped under it; see the printer's reasons
    7: JobStatus.CANCELLED,
    8: JobStatus.FAILED,  # aborted by the system
    9: JobStatus.COMPLETED,
}

# ipptool scripts, fed on stdin through /dev/stdin (ipptool only takes a file name): nothing is written to disk.
_PRINTER_TEST = """{{
    NAME "printer state"
    OPERATION Get-Printer-Attributes
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR naturalLanguage attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR keyword requested-attributes {printer_attributes}
    STATUS successful-ok
}}
""".format(printer_attributes="printer-state,printer-state-reasons,printer-is-accepting-jobs,printer-state-message")
_JOB_TEST = """{
    NAME "job state"
    OPERATION Get-Job-Attributes
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR naturalLanguage attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR integer job-id $job_id
    ATTR keyword requested-attributes job-state,job-state-reasons,job-printer-state-message
    STATUS successful-ok
}
"""


@dataclass(frozen=True, slots=True)
class PrinterState:
    """A CUPS queue's state as IPP reports it."""

    state: int
    reasons: tuple[str, ...]
    accepting: bool
    message: str

    @property
    def problem(self) -> PrinterProblem | None:
        """What stops this printer from printing (None: it can print)."""
        return printer_problem_from_reasons(self.state, self.reasons, self.accepting)


class CupsPrinter:
    """A CUPS queue. Before sending it asks the queue's state, so a stopped or paperless printer is reported at once
    instead of silently holding the 宣誓書 in its queue."""

    # When CUPS has to turn the PDF into PostScript (cups-pdf, PostScript printers), its default renderer drops the
    # Unicode mapping of the embedded IPAex subsets: the paper looks right but an archived PDF's text is gibberish.
    # Cairo keeps glyph names, so ghostscript can rebuild the text. Queues that take PDF directly ignore the option.
    DEFAULT_OPTIONS: Mapping[str, str] = {"pdftops-renderer": "pdftocairo"}

    def __init__(
        self,
        queue: str,
        server: str = "localhost",
        timeout: float = 15.0,
        options: Mapping[str, str] | None = None,
        stall_after: float = 20.0,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,127}", queue):
            raise ValueError(f"CUPS queue name {queue!r}: only letters, digits, '_', '-' and '.' are allowed")
        self.name = queue
        self.server = server
        self.timeout = timeout
        # A printer that is switched off or unplugged often shows no stop reason at all: CUPS keeps the job
        # "processing" while its backend retries, with only a state message. After this many seconds such a job is
        # reported as a problem so the desk is told instead of waiting for paper that never comes.
        self.stall_after = stall_after
        self.options = dict(self.DEFAULT_OPTIONS if options is None else options)

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _tool(self, name: str) -> str:
        path = shutil.which(name)
        if path is None:
            raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, f"{name} not found (install cups-client)")
        return path

    def _run(self, argv: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(argv, input=stdin, capture_output=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, f"{Path(argv[0]).name} timed out") from exc
        except OSError as exc:
            raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, str(exc)) from exc

    def _ipp(self, test: str, **variables: str) -> dict[str, Any]:
        argv = [self._tool("ipptool"), "-j", "-T", str(int(self.timeout))]
        for k, v in variables.items():
            argv += ["-d", f"{k}={v}"]
        argv += [f"ipp://{self.server}/printers/{self.name}", "/dev/stdin"]
        out = self._run(argv, stdin=test.encode("utf-8"))
        text = out.stdout.decode("utf-8", errors="replace")
        err = out.stderr.decode("utf-8", errors="replace")
        if out.returncode != 0:
            said = (text + err).lower()
            if "not-found" in said or "not found" in said or "does not exist" in said:
                raise PrinterError(PrinterProblem.MISSING, self.name)
            if "Unable to connect" in err or "connect" in err.lower():
                raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, err)
            raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, (err or text)[-300:])
        try:
            groups = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, f"unreadable ipptool output: {exc}") from exc
        merged: dict[str, Any] = {}
        for group in groups:
            merged.update(group)
        return merged

    # -- public ------------------------------------------------------------------------------------------------------
    def state(self) -> PrinterState:
        """The queue's state; PrinterError(MISSING) if CUPS has no such queue."""
        attrs = self._ipp(_PRINTER_TEST)
        reasons = attrs.get("printer-state-reasons", "none")
        return PrinterState(
            state=int(attrs.get("printer-state", 3)),
            reasons=tuple(reasons) if isinstance(reasons, list) else (str(reasons),),
            accepting=bool(attrs.get("printer-is-accepting-jobs", True)),
            message=str(attrs.get("printer-state-message", "")),
        )

    def check(self) -> None:
        """Raise PrinterError if a job sent now would not print."""
        st = self.state()
        problem = st.problem
        if problem is not None:
            raise PrinterError(problem, self.name, st.message or ", ".join(st.reasons))

    def print_pdf(self, pdf: bytes, title: str, copies: int = 1) -> PrintJob:
        """Check the queue, then hand the PDF to ``lp`` on stdin (no temporary file holds the voter's data)."""
        check_job(pdf, title, copies)
        self.check()
        argv = [self._tool("lp"), "-h", self.server, "-d", self.name, "-t", title, "-n", str(copies)]
        for key, value in self.options.items():
            argv += ["-o", f"{key}={value}"]
        out = self._run(argv, stdin=bytes(pdf))
        text = (out.stdout + out.stderr).decode("utf-8", errors="replace")
        if out.returncode != 0:
            if "not accepting" in text:
                raise PrinterError(PrinterProblem.NOT_ACCEPTING, self.name, text)
            if "does not exist" in text or "Unknown" in text or "not found" in text:
                raise PrinterError(PrinterProblem.MISSING, self.name, text)
            raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, text)
        m = re.search(r"request id is (\S+)-(\d+)", text)
        if not m:
            raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, f"lp gave no job id: {text}")
        return PrintJob(m.group(2), title, copies, JobStatus.PENDING, self.name, bytes(pdf))

    def refresh(self, job: PrintJob) -> PrintJob:
        """The job's current status from CUPS; a stopped printer under a pending job is reported as its error."""
        attrs = self._ipp(_JOB_TEST, job_id=job.job_id)
        status = _IPP_JOB_STATES.get(int(attrs.get("job-state", 3)), JobStatus.PENDING)
        error: PrinterError | None = None
        if status is JobStatus.FAILED:
            error = PrinterError(PrinterProblem.FAILED, self.name, str(attrs.get("job-printer-state-message", "")))
        elif not status.finished:
            st = self.state()
            if st.problem is not None:
                error = PrinterError(st.problem, self.name, st.message)
            elif st.message and (datetime.now(UTC) - job.submitted_at).total_seconds() >= self.stall_after:
                error = PrinterError(PrinterProblem.OFFLINE, self.name, st.message)
        return replace(job, status=status, error=error)

    def cancel(self, job: PrintJob) -> None:
        """Cancel a job still in the queue (before it is sent again elsewhere or retried)."""
        out = self._run([self._tool("cancel"), "-h", self.server, f"{self.name}-{job.job_id}"])
        if out.returncode != 0:
            text = (out.stdout + out.stderr).decode("utf-8", errors="replace")
            if "already" not in text:  # a job that finished meanwhile needs no cancelling
                raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, text)

    def wait(self, job: PrintJob, timeout: float = 30.0, poll: float = 0.2) -> PrintJob:
        """Poll until the job finishes or ``timeout`` passes; returns the last status seen."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.refresh(job)
            if job.status.finished or job.error is not None or time.monotonic() >= deadline:
                return job
            time.sleep(poll)


# --------------------------------------------------------------------------------------------------------------------
# The service the reception uses


@dataclass(frozen=True, slots=True)
class PrintDocument:
    """Something printable: ``render(reprint)`` returns the PDF, marked 再印刷 when ``reprint`` is true."""

    title: str
    render: Callable[[bool], bytes]


class PrintService:
    """Submits documents to a printer without ever raising a printer problem into the reception.

    Every job is remembered (in memory, for this session) with its document, so a failed job can be ``retry``-ed (the
    first copy never came out) and any job can be ``reprint``-ed (rendered again and marked 再印刷).

    Memory stays flat through a day of 宣誓書: a completed job keeps no PDF, and of the others only the newest
    ``retry_pdfs`` keep theirs (a retry sends those bytes again); an older job is rendered again from its document
    for a retry, unmarked, which gives the same form.
    """

    def __init__(self, printer: Printer, *, retry_pdfs: int = 32) -> None:
        if retry_pdfs < 0:
            raise ValueError(f"retry_pdfs must be ≥ 0, got {retry_pdfs}")
        self.printer = printer
        self._jobs: dict[str, tuple[PrintJob, PrintDocument]] = {}
        self._local_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._superseded: set[str] = set()  # failed jobs a later retry or reprint has replaced
        self._retry_pdfs = retry_pdfs
        self._holding_pdf: collections.deque[str] = collections.deque()  # jobs still holding a PDF, oldest first

    def _remember(self, job: PrintJob, document: PrintDocument) -> None:
        """Store the job (caller holds the lock), keeping its PDF only while a retry might still need it."""
        if job.status is JobStatus.COMPLETED or self._retry_pdfs == 0:
            job = replace(job, pdf=b"")
            if job.job_id in self._holding_pdf:
                self._holding_pdf.remove(job.job_id)
        elif job.pdf and job.job_id not in self._holding_pdf:
            self._holding_pdf.append(job.job_id)
        self._jobs[job.job_id] = (job, document)
        while len(self._holding_pdf) > self._retry_pdfs:
            old_id = self._holding_pdf.popleft()
            old, old_doc = self._jobs[old_id]
            self._jobs[old_id] = (replace(old, pdf=b""), old_doc)

    def _send(
        self, pdf: bytes, document: PrintDocument, copies: int, reprint_of: str | None, replaces: str | None = None
    ) -> PrintJob:
        try:
            job = self.printer.print_pdf(pdf, document.title, copies)
        except PrinterError as exc:
            job = PrintJob(
                f"failed-{next(self._local_ids)}",
                document.title,
                copies,
                JobStatus.FAILED,
                self.printer.name,
                pdf,
                error=exc,
            )
        job = replace(job, reprint_of=reprint_of)
        with self._lock:
            self._remember(job, document)
            if replaces is not None and job.status is not JobStatus.FAILED:
                self._superseded.add(replaces)
        return job

    def submit(self, document: PrintDocument, copies: int = 1) -> PrintJob:
        """Render and send; a printer problem comes back as a FAILED job carrying the error, never as an exception."""
        return self._send(document.render(False), document, copies, None)

    def refresh(self, job_id: str) -> PrintJob:
        """The job's current status (a printer that cannot be asked leaves the last known status, with the error)."""
        job, document = self._get(job_id)
        if job.status.finished:
            return job
        try:
            job = self.printer.refresh(job)
        except PrinterError as exc:
            job = replace(job, error=exc)
        with self._lock:
            current, _ = self._jobs[job_id]
            if current.status.finished and not job.status.finished:
                # Cancelled (by a retry or reprint) while the printer was being asked: the older answer must not
                # bring the job back as stuck.
                return current
            self._remember(replace(job, pdf=current.pdf), document)
        return job

    def retry(self, job_id: str) -> PrintJob:
        """Send a failed, cancelled or stuck job's PDF again, as a new job (a stuck one is cancelled first, so it
        cannot come out later as a second copy)."""
        job, document = self._get(job_id)
        if not job.owed:
            raise ValueError(f"job {job_id} is {job.status.value}: only failed, cancelled or stuck jobs are retried")
        if job.stuck:
            cancelled = self._cancel_stuck(job, document)
            if cancelled.stuck:
                return cancelled  # could not cancel: sending again now could print two
            job = cancelled
        pdf = job.pdf or document.render(False)  # an older job's PDF was let go: the same form, rendered again
        return self._send(pdf, document, job.copies, job.reprint_of, replaces=job_id)

    def reprint(self, job_id: str, copies: int = 1) -> PrintJob:
        """Render the job's document again marked 再印刷 and send it. An original still stuck in the queue is
        cancelled first, so the voter does not end up with the unmarked form as well when the printer recovers."""
        job, document = self._get(job_id)
        if job.stuck:
            cancelled = self._cancel_stuck(job, document)
            if cancelled.stuck:
                return cancelled
        return self._send(document.render(True), document, copies, job.reprint_of or job.job_id, replaces=job_id)

    def _cancel_stuck(self, job: PrintJob, document: PrintDocument) -> PrintJob:
        """Cancel a job stuck in the queue; the job CANCELLED, or unchanged with the error if it cannot be."""
        cancel = getattr(self.printer, "cancel", None)
        if cancel is not None:
            try:
                cancel(job)
            except PrinterError as exc:
                return replace(job, error=exc)
        job = replace(job, status=JobStatus.CANCELLED)
        with self._lock:
            self._remember(job, document)
        return job

    def jobs(self) -> list[PrintJob]:
        """Every job of this session, oldest first."""
        with self._lock:
            return [job for job, _ in self._jobs.values()]

    def failed(self) -> list[PrintJob]:
        """Jobs that failed, were cancelled or are stuck with an error, not yet replaced by a retry or reprint:
        what the desk still owes someone."""
        with self._lock:
            return [job for job, _ in self._jobs.values() if job.owed and job.job_id not in self._superseded]

    def _get(self, job_id: str) -> tuple[PrintJob, PrintDocument]:
        with self._lock:
            try:
                return self._jobs[job_id]
            except KeyError:
                raise KeyError(f"no print job {job_id!r} in this session") from None
