"""The one place that shows errors to people: a red banner with text for the person at the desk.

Every failure of background work and every unexpected exception in a slot ends up in :meth:`ErrorPresenter.show`.
The banner says what happened in Japanese; the technical detail (English, what and where) goes to the log, never a
voter's name or card data.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel

__all__ = ["ErrorPresenter", "clerk_message"]

log = logging.getLogger(__name__)

# Exception class names of the core → what the clerk should read. The core's English message follows as detail.
_BY_NAME = {
    "PackageError": "選挙データ（パッケージ）を開けません。パスフレーズとファイルを確認してください。",
    "DecryptionError": "パスフレーズが違うか、選挙データが壊れています。",
    "SignatureError": "選挙データの署名が確認できません。選挙管理委員会に連絡してください。",
    "LedgerError": "記録（台帳）に書き込めません。管理者に連絡してください。",
    "ChainError": "記録（台帳）の検証に失敗しました。管理者に連絡してください。",
    "PrinterError": "印刷できません。プリンターの電源・用紙を確認してください。",
    "PrintError": "印刷できません。プリンターの電源・用紙を確認してください。",
    "ConnectError": "サーバーに接続できません（オフラインで受付を続けます）。",
    "TimeoutException": "サーバーの応答がありません（オフラインで受付を続けます）。",
    "WarekiError": "日付を読み取れません。",
    "PinHashError": "暗証番号の形式が違います。",
}


def clerk_message(exc: BaseException) -> str:
    """Japanese text for the desk: the exception's own Japanese message if it has one, else one by its kind."""
    for attr in ("message_ja", "clerk_message", "japanese"):
        text = getattr(exc, attr, None)
        if isinstance(text, str) and text:
            return text
    for cls in type(exc).__mro__:
        if cls.__name__ in _BY_NAME:
            return _BY_NAME[cls.__name__]
    if isinstance(exc, FileNotFoundError):
        return f"ファイルが見つかりません：{exc.filename}"
    if isinstance(exc, PermissionError):
        return f"ファイルにアクセスできません：{exc.filename}"
    if isinstance(exc, OSError):
        return "装置またはファイルの操作に失敗しました。管理者に連絡してください。"
    return "予期しないエラーが発生しました。管理者に連絡してください。"


class ErrorPresenter(QObject):
    """Shows errors in a banner label owned by the main window; ``shown(text)`` is emitted for each."""

    shown = Signal(str)

    def __init__(self, banner: QLabel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.banner = banner
        self.banner.setObjectName("errorBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.banner.hide()
        self.last: str = ""

    def show(self, exc_or_text: BaseException | str, context: str = "") -> None:
        """Show one error; ``context`` is a short Japanese phrase of what was being done (e.g. 「カード読取」)."""
        if isinstance(exc_or_text, BaseException):
            text = clerk_message(exc_or_text)
            detail = str(exc_or_text)
            log.error("%s failed: %s: %s", context or "operation", type(exc_or_text).__name__, detail)
            if detail and not any(getattr(exc_or_text, a, None) for a in ("message_ja", "clerk_message")):
                # The core's messages say what and where (file, line, key); show them under the Japanese line.
                text = f"{text}\n（{detail}）"
        else:
            text = exc_or_text
            log.warning("%s: %s", context or "notice", text)
        self.last = f"{context}：{text}" if context else text
        self.banner.setText(self.last)
        self.banner.show()
        self.shown.emit(self.last)

    def clear(self) -> None:
        """Hide the banner (e.g. when the next voter starts)."""
        self.last = ""
        self.banner.hide()

    def install_excepthook(self) -> None:
        """Route exceptions escaping Qt slots here instead of letting them vanish on stderr."""
        previous = sys.excepthook

        def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
            log.error("unhandled exception:\n%s", "".join(traceback.format_exception(kind, exc, tb)))
            try:
                self.show(exc, "処理")
            except Exception:  # the presenter itself failing must not loop
                previous(kind, exc, tb)

        sys.excepthook = hook
