"""Look and feel: a CJK font everywhere, the kiosk style sheet and the application icon."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase, QIcon
from PySide6.QtWidgets import QApplication

from ballots.resources import resource_path

__all__ = ["APP_ICON", "STYLE_SHEET", "apply_style", "ui_font_family"]

STYLE_SHEET = resource_path("styles", "kiosk.qss", must_exist=False)
APP_ICON = resource_path("icons", "uketsuke.svg", must_exist=False)

# Preferred Japanese UI fonts, best first. Without any CJK font Qt draws boxes (environment.md); the bundled IPAex
# Gothic is the fallback that is always there.
_FAMILIES = ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "Yu Gothic UI", "Meiryo", "Hiragino Sans")
_BUNDLED = resource_path("fonts", "ipaexg.ttf", must_exist=False)


def ui_font_family() -> str:
    """The first installed family of the preferred list; loads the bundled IPAex Gothic if none is installed."""
    installed = set(QFontDatabase.families())
    for family in _FAMILIES:
        if family in installed:
            return family
    if _BUNDLED.exists():
        font_id = QFontDatabase.addApplicationFont(str(_BUNDLED))
        loaded = QFontDatabase.applicationFontFamilies(font_id)
        if loaded:
            return loaded[0]
    return QApplication.font().family()


def apply_style(app: QApplication) -> None:
    """Set the Japanese font and the high-contrast style sheet on the whole application."""
    font = QFont(ui_font_family())
    font.setPixelSize(20)
    app.setFont(font)
    if STYLE_SHEET.exists():
        app.setStyleSheet(STYLE_SHEET.read_text(encoding="utf-8"))
    if APP_ICON.exists():
        app.setWindowIcon(QIcon(str(APP_ICON)))
