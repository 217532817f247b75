"""Fixtures for the document tests: the test package's definition, PDF text extraction and page rendering."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from documents_support import definition_dict

from ballots.model import ElectionDefinition


@pytest.fixture(scope="session")
def definition() -> ElectionDefinition:
    """The test package's election definition."""
    return ElectionDefinition.from_toml_dict(definition_dict())


@pytest.fixture(scope="session")
def pdf_text() -> Callable[..., str]:
    """Text of a PDF as poppler's pdftotext extracts it: in drawing order (``layout=False``, so a wrapped paragraph
    stays in one piece) or laid out as on the page (``layout=True``, so one table row stays on one line)."""

    def extract(pdf: bytes, layout: bool = False) -> str:
        mode = "-layout" if layout else "-raw"
        out = subprocess.run(["pdftotext", mode, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True)
        assert out.returncode == 0, out.stderr.decode(errors="replace")
        return out.stdout.decode("utf-8")

    return extract


@pytest.fixture(scope="session")
def render_pages() -> Callable[[bytes], int]:
    """Render every page with pdftoppm; fail on any error or warning (a missing font shows up there). Returns pages."""

    def render(pdf: bytes) -> int:
        info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True)
        assert info.returncode == 0, info.stderr.decode(errors="replace")
        fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, text=False)
        assert fonts.returncode == 0
        for line in fonts.stdout.decode().splitlines()[2:]:
            # columns: name type encoding emb sub uni; every font must be embedded
            assert " yes " in f" {line} ".replace("  ", " "), f"font not embedded: {line}"
        pages = int(next(x for x in info.stdout.decode().splitlines() if x.startswith("Pages:")).split()[1])
        assert pages >= 1
        for page in range(1, pages + 1):
            out = subprocess.run(
                ["pdftoppm", "-r", "40", "-gray", "-f", str(page), "-l", str(page), "-singlefile", "-"],
                input=pdf,
                capture_output=True,
            )
            assert out.returncode == 0, out.stderr.decode(errors="replace")
            assert out.stderr == b"", f"page {page}: {out.stderr.decode(errors='replace')}"
            assert out.stdout.startswith(b"P5"), "pdftoppm did not produce an image"
        return pages

    return render
