"""The kiosk's main window: banners (test mode, offline, errors), the stack of screens, the menu and the status bar."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from kiosk.ui.errors import ErrorPresenter
from kiosk.ui.manager import ManagerPage
from kiosk.ui.pages import (
    BallotsPage,
    CollationPage,
    HardStopPage,
    OpeningCheckPage,
    Page,
    PinPadPage,
    ReasonPage,
    ReceptionPage,
    SearchPage,
    SignInPage,
    UnlockPage,
    VoterPage,
)
from kiosk.ui.statusbar import KioskStatusBar

__all__ = ["KioskWindow"]


class KioskWindow(QMainWindow):
    """All screens live here; the controller decides which one shows. Closing asks the controller first."""

    close_requested = Signal()
    report_requested = Signal(str)  # report kind: "station", "hourly", "backup"
    sign_out_requested = Signal()
    end_test_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("受付 Uketsuke — 投票所受付")
        self.resize(1280, 800)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(12, 8, 12, 8)
        self.test_banner = QLabel("試験モード：この受付は模擬（動作確認）です。本番の記録には残りません。")
        self.test_banner.setObjectName("testMode")
        self.test_banner.hide()
        self.offline_banner = QLabel("")
        self.offline_banner.setObjectName("offlineBanner")
        self.offline_banner.setWordWrap(True)
        self.offline_banner.hide()
        self.error_banner = QLabel("")
        self.errors = ErrorPresenter(self.error_banner, self)
        # Confirmations (a report printed, test records reset) in a calm banner that goes away by itself:
        # the red banner is kept for things that went wrong.
        self.notice_banner = QLabel("")
        self.notice_banner.setObjectName("noticeBanner")
        self.notice_banner.setWordWrap(True)
        self.notice_banner.hide()
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.notice_banner.hide)
        self.stack = QStackedWidget()
        for w in (self.test_banner, self.offline_banner, self.error_banner, self.notice_banner):
            layout.addWidget(w)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.unlock = UnlockPage()
        self.sign_in = SignInPage()
        self.opening = OpeningCheckPage()
        self.reception = ReceptionPage()
        self.collation = CollationPage()
        self.pin_pad = PinPadPage()
        self.search = SearchPage()
        self.voter = VoterPage()
        self.reason = ReasonPage()
        self.ballots = BallotsPage()
        self.stop = HardStopPage()
        self.manager = ManagerPage()
        for page in self.pages():
            self.stack.addWidget(page)

        self.status = KioskStatusBar(self)
        self.setStatusBar(self.status)
        self._build_menu()
        self._closing_allowed = False

    def pages(self) -> list[Page]:
        """Every screen, in stack order."""
        return [
            self.unlock,
            self.sign_in,
            self.opening,
            self.reception,
            self.collation,
            self.pin_pad,
            self.search,
            self.voter,
            self.reason,
            self.ballots,
            self.stop,
            self.manager,
        ]

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("帳票(&R)")
        for text, kind, key in (
            ("投票録・集計（本日）", "station", "Ctrl+R"),
            ("時間別投票者数", "hourly", "Ctrl+H"),
            ("紙の控え（障害時用名簿）", "backup", "Ctrl+B"),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _c=False, k=kind: self.report_requested.emit(k))
            menu.addAction(action)
        staff = self.menuBar().addMenu("係員(&S)")
        out = QAction("サインアウト", self)
        out.setShortcut(QKeySequence("Ctrl+Q"))
        out.triggered.connect(self.sign_out_requested.emit)
        staff.addAction(out)
        self.end_test_action = QAction("試験モードを終了（試験記録をリセット）", self)
        self.end_test_action.setShortcut(QKeySequence("Ctrl+T"))
        self.end_test_action.setEnabled(False)
        self.end_test_action.triggered.connect(self.end_test_requested.emit)
        staff.addAction(self.end_test_action)
        self.menu_actions = [*menu.actions(), out, self.end_test_action]

    def show_page(self, page: Page) -> None:
        """Switch screens and put the focus where the person starts."""
        if self.stack.currentWidget() is not page:
            self.stack.setCurrentWidget(page)
        page.enter()

    def current_page(self) -> Page:
        """The screen shown now."""
        widget = self.stack.currentWidget()
        assert isinstance(widget, Page)
        return widget

    def set_test_mode(self, on: bool) -> None:
        """The yellow test-mode banner on every screen, and in the title."""
        self.test_banner.setVisible(on)
        self.end_test_action.setEnabled(on)
        self.setWindowTitle(("【試験モード】" if on else "") + "受付 Uketsuke — 投票所受付")

    def notice(self, text: str, seconds: float = 8.0) -> None:
        """A confirmation for the desk, hidden again after ``seconds``."""
        self.notice_banner.setText(text)
        self.notice_banner.show()
        self._notice_timer.start(int(seconds * 1000))

    def set_offline(self, text: str | None) -> None:
        """The offline banner (None hides it)."""
        self.offline_banner.setText(text or "")
        self.offline_banner.setVisible(bool(text))

    def allow_close(self) -> None:
        """The controller has shut down cleanly: the next close really closes."""
        self._closing_allowed = True

    def closeEvent(self, event: QCloseEvent) -> None:
        """A kiosk is not closed by accident: closing goes through the controller (sign-out, flush, stop workers)."""
        if self._closing_allowed:
            event.accept()
        else:
            event.ignore()
            self.close_requested.emit()
