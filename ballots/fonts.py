"""The IPAex fonts shipped in ``resources/fonts/``, registered with reportlab so every PDF embeds them.

reportlab's built-in CID fonts (HeiseiMin and friends) are never used: they are not embedded and render wrongly in
poppler and through CUPS. The IPAex TrueType files are subset and embedded instead, so a PDF looks the same on any
machine, including one with no Japanese font installed.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from ballots.resources import resource_path

__all__ = ["GOTHIC", "MINCHO", "FontError", "register_fonts"]

GOTHIC = "IPAexGothic"  # headings, tables, labels
MINCHO = "IPAexMincho"  # legal wording and running text, as municipal forms print it

_FILES = {GOTHIC: "ipaexg.ttf", MINCHO: "ipaexm.ttf"}
_lock = threading.Lock()
_registered = False


class FontError(RuntimeError):
    """An IPAex font file is missing or unreadable; the message names the file."""


def register_fonts(font_dir: Path | None = None) -> tuple[str, str]:
    """Register IPAex Gothic and Mincho with reportlab (once per process); return their names (gothic, mincho).

    Parsing a 4–6 MB TrueType file takes a noticeable fraction of a second, so it happens once and later documents
    only pay for subsetting the glyphs they use.
    """
    global _registered
    with _lock:
        if _registered:
            return GOTHIC, MINCHO
        # resource_path finds the fonts in a checkout, in the PyInstaller bundle or under UKETSUKE_RESOURCES.
        where = font_dir or resource_path("fonts", must_exist=False)
        for name, filename in _FILES.items():
            path = where / filename
            if not path.is_file():
                raise FontError(f"font file missing: {path} (the IPAex fonts ship in resources/fonts/)")
            try:
                pdfmetrics.registerFont(TTFont(name, str(path)))
            except Exception as exc:  # reportlab raises its own TTFError and plain errors for corrupt files
                raise FontError(f"cannot load font {path}: {exc}") from exc
        _registered = True
        return GOTHIC, MINCHO
