"""Small building blocks shared by the screens: labelled text, keyboard-shortcut buttons, photo conversion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

__all__ = ["button_row", "label", "pil_to_pixmap", "secret_field", "shortcut_button"]

_KEY_NAMES = {"Return": "Enter", "Escape": "Esc"}


def label(text: str = "", name: str | None = None, *, wrap: bool = True, parent: QWidget | None = None) -> QLabel:
    """A QLabel with an object name for the style sheet (title, hint, field, …)."""
    lab = QLabel(text, parent)
    if name:
        lab.setObjectName(name)
    lab.setWordWrap(wrap)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return lab


def secret_field(accessible_name: str) -> QLineEdit:
    """A line edit for a PIN or passphrase: what is typed is never shown; ``accessible_name`` for screen readers."""
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setAccessibleName(accessible_name)
    return edit


def shortcut_button(
    text: str, key: str | QKeySequence.StandardKey | None, slot: Callable[[], Any], owner: QWidget, name: str = ""
) -> QPushButton:
    """A push button showing its key (e.g. "確認 [Enter]") and a shortcut active while ``owner`` is visible."""
    shown = f"{text}　[{_KEY_NAMES.get(key, key)}]" if isinstance(key, str) else text
    button = QPushButton(shown, owner)
    if name:
        button.setObjectName(name)
    button.clicked.connect(lambda _checked=False: slot())
    keys: list[str | QKeySequence.StandardKey] = [] if key is None else [key]
    if key == "Return":
        keys.append("Enter")  # the keypad's Enter, which scanners and number pads send
    for k in keys:
        shortcut = QShortcut(QKeySequence(k), owner)
        # Only while this screen is the one shown: every screen uses the same few keys (Enter, Esc, F-keys).
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(lambda: button.isEnabled() and button.isVisible() and slot())
    return button


def button_row(*left: QWidget, primary: QWidget) -> QHBoxLayout:
    """A page's row of buttons: ``left`` (back, secondary actions) at the left, the ``primary`` action at the right."""
    row = QHBoxLayout()
    for w in left:
        row.addWidget(w)
    row.addStretch(1)
    row.addWidget(primary)
    return row


def pil_to_pixmap(image: Any) -> QPixmap:
    """Convert an in-memory PIL image (the card's greyscale face photo) to a QPixmap without touching the disk."""
    rgb = image.convert("RGB")
    data = rgb.tobytes("raw", "RGB")
    qimage = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    # QImage borrows ``data``; copy so the pixmap owns its pixels after ``data`` is gone.
    return QPixmap.fromImage(qimage.copy())
