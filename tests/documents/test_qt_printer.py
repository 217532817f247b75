"""The QPrinter backend: PDF output through Qt, a native CUPS printer through Qt's print support, a missing printer."""

from __future__ import annotations

import io
import subprocess
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from documents_support import at, check_in, make_voter
from PIL import Image, ImageChops, ImageStat

from ballots.declaration import render_declaration
from ballots.model import ElectionDefinition
from ballots.paper_backup import voted_list_pdf
from ballots.printing import JobStatus, PrintDocument, PrinterError, PrinterProblem, PrintService

pytest.importorskip("PySide6.QtPrintSupport")

from PySide6.QtPrintSupport import QPrinter

from kiosk.ui.qt_printer import QtPrinter


def _gray(pdf: bytes, dpi: int = 100) -> Image.Image:
    out = subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-singlefile", "-"], input=pdf, capture_output=True)
    assert out.returncode == 0
    return Image.open(io.BytesIO(out.stdout)).convert("L")


def _diff(a: Image.Image, b: Image.Image) -> float:
    return float(ImageStat.Stat(ImageChops.difference(a, b.resize(a.size))).mean[0])


def _pages(pdf: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True).stdout.decode()
    return int(next(x for x in info.splitlines() if x.startswith("Pages:")).split()[1])


@pytest.fixture
def declaration(definition: ElectionDefinition) -> bytes:
    return render_declaration(definition, voter=make_voter(5), voting_date=date(2026, 12, 5), reason=4)


def _pdf_printer(path: Path) -> QtPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    return QtPrinter(printer, dpi=100)


def test_pdf_output_looks_like_the_document(
    qapp: object, tmp_path: Path, declaration: bytes, definition: ElectionDefinition
) -> None:
    out = tmp_path / "qt.pdf"
    job = _pdf_printer(out).print_pdf(declaration, "宣誓書")
    assert job.status is JobStatus.COMPLETED
    printed = out.read_bytes()
    assert _pages(printed) == 1
    # Looked at at the raster's own resolution, the printed page is the document's page up to rounding, and much
    # closer to it than the same form without the voter's data is.
    original, copy = _gray(declaration), _gray(printed)
    assert abs(copy.size[0] - original.size[0]) <= 1 and abs(copy.size[1] - original.size[1]) <= 1  # A4 stays A4
    blank = _gray(render_declaration(definition, voter=None, voting_date=None))
    assert _diff(original, copy) < 1.0
    assert _diff(original, copy) < _diff(original, blank) / 2


def test_every_page_is_printed(qapp: object, tmp_path: Path, definition: ElectionDefinition) -> None:
    register = {v.code: v for v in (make_voter(n) for n in range(1, 70))}
    events = [check_in(at(5, "10:00"), c, "shu-sho") for c in register]
    pdf = voted_list_pdf(events, definition, register.get, as_of=at(6, "10:00"))
    out = tmp_path / "list.pdf"
    _pdf_printer(out).print_pdf(pdf, "投票済者一覧")
    assert _pages(out.read_bytes()) == _pages(pdf) == 3


def test_missing_native_printer_is_a_clear_error(qapp: object, declaration: bytes) -> None:
    printer = QPrinter()
    qt = QtPrinter(printer, printer_name=f"NO_SUCH_{uuid.uuid4().hex[:6]}")
    if printer.outputFormat() != QPrinter.OutputFormat.NativeFormat:
        pytest.skip("Qt has no native print support here")
    with pytest.raises(PrinterError) as exc:
        qt.print_pdf(declaration, "宣誓書")
    assert exc.value.problem is PrinterProblem.MISSING and "見つかりません" in str(exc.value)
    # the reception's service turns it into a failed, retryable job instead
    job = PrintService(qt).submit(PrintDocument("宣誓書", lambda reprint: declaration))
    assert job.status is JobStatus.FAILED and job.error is not None


def test_bad_input_is_refused(qapp: object, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PDF bytes"):
        _pdf_printer(tmp_path / "x.pdf").print_pdf(b"hello", "t")
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.cups
def test_native_cups_printer_through_qt(qapp: object, cups_queue: str, declaration: bytes) -> None:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    title = f"uketsuke-qt-{uuid.uuid4().hex[:8]}"
    job = QtPrinter(printer, printer_name=cups_queue, dpi=100).print_pdf(declaration, title)
    assert job.status is JobStatus.COMPLETED
    out_dir = Path.home() / "PDF"
    deadline = time.monotonic() + 60
    hits: list[Path] = []
    while time.monotonic() < deadline and not hits:
        hits = [p for p in out_dir.glob(f"{title}*.pdf") if p.stat().st_size > 0]
        time.sleep(0.3)
    assert hits, f"Qt's job did not land in {out_dir}"
    time.sleep(0.3)
    try:
        assert _pages(hits[0].read_bytes()) == 1
    finally:
        for p in hits:
            p.unlink()
