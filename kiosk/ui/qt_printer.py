"""The Qt QPrinter backend of the printing port, for terminals whose printer is chosen in the system print dialog.

QPrinter cannot take a PDF as it is, and QtPdf is not part of PySide6-Essentials, so each page is rasterised with
poppler's ``pdftoppm`` (in memory, through pipes: the voter's 宣誓書 never touches the disk) and painted full-page at
the printer's resolution. With a native printer Qt hands the job to the platform's print system (CUPS on Linux).

This module is the only place printing touches Qt; it implements ``ballots.printing.Printer``.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrinterInfo
from PySide6.QtWidgets import QWidget

from ballots.printing import JobStatus, PrinterError, PrinterProblem, PrintJob, check_job

__all__ = ["QtPrinter", "choose_printer"]


class QtPrinter:
    """Prints PDFs on a ``QPrinter`` (a native printer, or a PDF file when its output format is PdfFormat)."""

    def __init__(
        self,
        printer: QPrinter | None = None,
        *,
        printer_name: str | None = None,
        dpi: int = 300,
        timeout: float = 60.0,
    ) -> None:
        self.printer = printer or QPrinter(QPrinter.PrinterMode.HighResolution)
        # Qt silently falls back to the default printer for a name it does not know, which would print a voter's
        # 宣誓書 somewhere nobody looks. Remember the name asked for and check it before every job.
        self.printer_name = printer_name
        if printer_name is not None:
            self.printer.setPrinterName(printer_name)
        self.dpi = dpi
        self.timeout = timeout
        self._ids = itertools.count(1)

    @property
    def name(self) -> str:
        """The printer's name (or the output file for PDF output)."""
        if self.printer.outputFormat() == QPrinter.OutputFormat.PdfFormat:
            return self.printer.outputFileName() or "pdf"
        return self.printer_name or self.printer.printerName() or "default"

    def check(self) -> None:
        """Raise PrinterError if a native printer is missing or reports an error state."""
        if self.printer.outputFormat() != QPrinter.OutputFormat.NativeFormat:
            return
        name = self.printer_name or self.printer.printerName()
        info = QPrinterInfo.printerInfo(name) if name else QPrinterInfo.defaultPrinter()
        if self.printer_name is not None and self.printer.printerName() != self.printer_name:
            raise PrinterError(PrinterProblem.MISSING, self.printer_name)
        if info.isNull():
            raise PrinterError(PrinterProblem.MISSING, name or "default")
        if info.state() == QPrinter.PrinterState.Error:
            raise PrinterError(PrinterProblem.OFFLINE, name)
        if info.state() == QPrinter.PrinterState.Aborted:
            raise PrinterError(PrinterProblem.STOPPED, name)

    def _run(self, argv: list[str], pdf: bytes) -> bytes:
        tool = shutil.which(argv[0])
        if tool is None:
            raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, f"{argv[0]} not found (install poppler-utils)")
        try:
            out = subprocess.run([tool, *argv[1:]], input=pdf, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, f"{argv[0]} timed out") from exc
        if out.returncode != 0:
            raise PrinterError(PrinterProblem.FAILED, self.name, out.stderr.decode(errors="replace")[-300:])
        return out.stdout

    def _pages(self, pdf: bytes) -> int:
        info = self._run(["pdfinfo", "-"], pdf).decode(errors="replace")
        m = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
        if not m or int(m.group(1)) < 1:
            raise ValueError("print_pdf: the PDF has no pages")
        return int(m.group(1))

    def _page_image(self, pdf: bytes, page: int) -> QImage:
        png = self._run(
            ["pdftoppm", "-png", "-r", str(self.dpi), "-f", str(page), "-l", str(page), "-singlefile", "-"], pdf
        )
        image = QImage.fromData(png)
        if image.isNull():
            raise PrinterError(PrinterProblem.FAILED, self.name, f"page {page} could not be rasterised")
        return image

    def print_pdf(self, pdf: bytes, title: str, copies: int = 1) -> PrintJob:
        """Rasterise and paint every page; returns the job as Qt finished it (COMPLETED once spooled)."""
        check_job(pdf, title, copies)
        self.check()
        pages = self._pages(pdf)
        p = self.printer
        p.setDocName(title)
        p.setCopyCount(copies)
        p.setFullPage(True)
        painter = QPainter()
        if not painter.begin(p):
            raise PrinterError(PrinterProblem.UNAVAILABLE, self.name, "QPainter could not start on the printer")
        try:
            for page in range(1, pages + 1):
                image = self._page_image(pdf, page)
                if page > 1 and not p.newPage():
                    raise PrinterError(PrinterProblem.FAILED, self.name, f"cannot start page {page}")
                target = p.pageLayout().fullRectPixels(p.resolution())
                # Keep the page's aspect ratio: A5 on an A4 printer is scaled, never stretched.
                scaled = image.size().scaled(target.size(), Qt.AspectRatioMode.KeepAspectRatio)
                painter.drawImage(QRect(target.topLeft(), scaled), image)
        finally:
            painter.end()
        state = p.printerState()
        if state in (QPrinter.PrinterState.Error, QPrinter.PrinterState.Aborted):
            raise PrinterError(PrinterProblem.FAILED, self.name, f"Qt printer state {state.name}")
        return PrintJob(f"qt-{next(self._ids)}", title, copies, JobStatus.COMPLETED, self.name, bytes(pdf))

    def refresh(self, job: PrintJob) -> PrintJob:
        """Qt gives no status after spooling: the job stays as ``print_pdf`` returned it."""
        return job


def choose_printer(parent: QWidget | None = None, paper: str = "A4") -> QtPrinter | None:
    """Show the system print dialog; the chosen printer as a ``QtPrinter``, or None if the clerk cancelled."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    layout = printer.pageLayout()
    size = QPageSize(QPageSize.PageSizeId.A5 if paper == "A5" else QPageSize.PageSizeId.A4)
    printer.setPageLayout(QPageLayout(size, QPageLayout.Orientation.Portrait, layout.margins()))
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("印刷するプリンタを選んでください")
    if dialog.exec() != QPrintDialog.DialogCode.Accepted:
        return None
    return QtPrinter(printer)
