"""The screens of the kiosk. Each page only renders what it is given and emits what the person asked for.

Pages hold no rules: the reception core decides, the controller (kiosk.ui.controller) turns its states into calls on
these pages and the pages' signals into inputs for the core. Every action has a key, shown on its button.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QIntValidator, QKeyEvent, QKeySequence, QPixmap, QResizeEvent, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ballots.events import REASONS
from ballots.wareki import ERAS, WarekiError, parse_wareki
from kiosk.ui.widgets import button_row, label, pil_to_pixmap, secret_field, shortcut_button

__all__ = [
    "BallotsPage",
    "CheckRow",
    "CollationPage",
    "ElectionLine",
    "HardStopPage",
    "OpeningCheckPage",
    "Page",
    "PinPadPage",
    "PrintWarning",
    "ReasonPage",
    "ReceptionPage",
    "SearchPage",
    "SearchRow",
    "SignInPage",
    "UnlockPage",
    "VoterCard",
    "VoterPage",
]


class Page(QWidget):
    """A screen in the main window's stack; ``enter()`` is called each time it is shown."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page_title = title
        self.error = label("", "bad")
        self.error.hide()

    def enter(self) -> None:
        """Put the keyboard focus where the person starts (override per page)."""

    def show_error(self, text: str) -> None:
        """Show an error line on this page ("" hides it). Errors never change what was entered."""
        self.error.setText(text)
        self.error.setVisible(bool(text))


def _title(text: str) -> QLabel:
    return label(text, "title")


class PrintWarning(QFrame):
    """宣誓書 that the printer refused, on the screen the clerk is looking at: the printer's reason and a button
    (F5, "again" as on the opening check) that sends the same form once more. It blocks nothing: the page's own keys
    (finish the voter, manager menu) work as before; the controller hides it when the next voter starts."""

    retry_requested = Signal()

    def __init__(self, owner: QWidget) -> None:
        super().__init__(owner)
        self.setObjectName("printWarning")
        self.text = label("", "printWarningText")
        self.hint = label("", "printWarningHint")
        # The key belongs to the page (like its other keys): it works wherever the focus is on that page.
        self.retry_button = shortcut_button("再印刷を試す", "F5", self.retry_requested.emit, owner, "secondary")
        texts = QVBoxLayout()
        texts.setContentsMargins(0, 0, 0, 0)
        texts.addWidget(self.text)
        texts.addWidget(self.hint)
        lay = QHBoxLayout(self)
        lay.addLayout(texts, 1)
        lay.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hide()

    def show_failures(self, reasons: Sequence[str], *, attempts: int = 0, busy: bool = False) -> None:
        """One line per form that did not print, with the printer's reason (none: hide). ``attempts``: retries that
        failed as well; ``busy``: a retry is being sent now (the button waits for it)."""
        if not reasons:
            self.clear()
            return
        self.text.setText("\n".join(f"宣誓書を印刷できませんでした：{reason}" for reason in reasons))
        if busy:
            hint = "もう一度印刷しています…"
        elif attempts:
            hint = f"もう一度試しましたが印刷できませんでした（{attempts}回）。プリンタを確認して [F5]。"
        else:
            hint = "プリンタを確認してから [F5] で同じ宣誓書をもう一度印刷します。交付はこのまま続けられます。"
        self.hint.setText(hint)
        self.retry_button.setEnabled(not busy)
        self.show()

    def clear(self) -> None:
        """Nothing owed any more: hide."""
        self.text.setText("")
        self.hint.setText("")
        self.retry_button.setEnabled(True)
        self.hide()


# ---------------------------------------------------------------------------------------------------------------
# Start-up


class UnlockPage(Page):
    """Open the election package: its path and hash are shown; the passphrase is typed (never shown or logged)."""

    unlock_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("選挙データを開く", parent)
        self.package_label = label("", "subtitle")
        self.passphrase = secret_field("パスフレーズ")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.button = shortcut_button("開く", "Return", self._submit, self)
        form = QFormLayout()
        form.addRow(label("パスフレーズ", "fieldName"), self.passphrase)
        lay = QVBoxLayout(self)
        lay.addWidget(_title("選挙データ（パッケージ）を開く"))
        lay.addWidget(self.package_label)
        lay.addLayout(form)
        lay.addWidget(self.button)
        lay.addWidget(self.progress)
        lay.addWidget(self.error)
        lay.addWidget(label("選挙管理委員会から受け取ったパスフレーズを入力し、Enter を押してください。", "hint"))
        lay.addStretch(1)

    def set_package(self, text: str) -> None:
        """Which package file is being opened."""
        self.package_label.setText(text)

    def set_busy(self, busy: bool) -> None:
        """While the package is decrypted and indexed in the background."""
        self.progress.setVisible(busy)
        self.button.setEnabled(not busy)
        self.passphrase.setEnabled(not busy)
        if not busy:
            self.passphrase.setFocus()

    def enter(self) -> None:
        self.passphrase.setFocus()

    def _submit(self) -> None:
        if not self.passphrase.text():
            self.show_error("パスフレーズを入力してください。")
            return
        self.show_error("")
        self.unlock_requested.emit(self.passphrase.text())
        self.passphrase.clear()


class SignInPage(Page):
    """Staff sign-in: id and PIN."""

    sign_in_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("係員サインイン", parent)
        self.station_label = label("", "subtitle")
        self.staff_id = QLineEdit()
        self.staff_id.setAccessibleName("職員ID")
        self.pin = secret_field("暗証番号")
        self.staff_id.returnPressed.connect(self.pin.setFocus)
        self.pin.returnPressed.connect(self._submit)
        self.button = shortcut_button("サインイン", None, self._submit, self)
        form = QFormLayout()
        form.addRow(label("職員ID", "fieldName"), self.staff_id)
        form.addRow(label("暗証番号", "fieldName"), self.pin)
        lay = QVBoxLayout(self)
        lay.addWidget(_title("係員サインイン"))
        lay.addWidget(self.station_label)
        lay.addLayout(form)
        lay.addWidget(self.button)
        lay.addWidget(self.error)
        lay.addWidget(label("職員IDを入力して Enter、暗証番号を入力して Enter。", "hint"))
        lay.addStretch(1)

    def set_station(self, text: str) -> None:
        """The station and package this terminal serves."""
        self.station_label.setText(text)

    def enter(self) -> None:
        self.pin.clear()
        self.staff_id.setFocus()
        self.staff_id.selectAll()

    def _submit(self) -> None:
        staff_id, pin = self.staff_id.text().strip(), self.pin.text()
        if not staff_id or not pin:
            self.show_error("職員IDと暗証番号を入力してください。")
            (self.staff_id if not staff_id else self.pin).setFocus()
            return
        self.show_error("")
        self.pin.clear()
        self.sign_in_requested.emit(staff_id, pin)


@dataclass(frozen=True, slots=True)
class CheckRow:
    """One line of the opening check: what, whether it passed, and the detail."""

    item: str
    ok: bool | None  # None: not checked yet / not applicable
    detail: str
    required: bool = True


class OpeningCheckPage(Page):
    """The opening check shown to the manager and witnesses before the first voter; test mode for the 模擬 test."""

    open_requested = Signal(bool)  # test_mode
    recheck_requested = Signal()
    reset_test_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("開始前点検", parent)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["項目", "結果", "詳細"])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.witnessed = QCheckBox("投票管理者及び投票立会人が上記を確認しました")
        self.test_mode = QCheckBox("試験モード（模擬投票・動作確認。記録は本番前にリセット）")
        self.manager_hint = label("", "warn")
        self.open_button = shortcut_button("受付を開始", "F12", self._open, self)
        self.recheck_button = shortcut_button("再点検", "F5", self.recheck_requested.emit, self, "secondary")
        self.reset_button = shortcut_button("試験記録をリセット", "F9", self.reset_test_requested.emit, self, "danger")
        self.reset_button.hide()
        buttons = button_row(self.recheck_button, self.reset_button, primary=self.open_button)
        lay = QVBoxLayout(self)
        lay.addWidget(_title("開始前点検（投票管理者・投票立会人の確認）"))
        lay.addWidget(self.table, 1)
        lay.addWidget(self.witnessed)
        lay.addWidget(self.test_mode)
        lay.addWidget(self.manager_hint)
        lay.addWidget(self.error)
        lay.addLayout(buttons)
        self._rows: list[CheckRow] = []
        self._is_manager = False

    def set_checks(self, rows: Sequence[CheckRow]) -> None:
        """Fill the table; opening needs every required row to be OK."""
        self._rows = list(rows)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            mark = "－" if row.ok is None else ("OK" if row.ok else ("NG" if row.required else "注意"))
            cells = [row.item, mark, row.detail]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 1 and row.ok is not None:
                    item.setForeground(Qt.GlobalColor.darkGreen if row.ok else Qt.GlobalColor.red)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

    def set_manager(self, is_manager: bool, test_records: bool = False) -> None:
        """Only a manager opens the station; ``test_records``: the ledger holds test-mode records to reset."""
        self._is_manager = is_manager
        self.manager_hint.setText("" if is_manager else "受付の開始は投票管理者がサインインして行います。")
        self.reset_button.setVisible(test_records and is_manager)

    def all_passed(self) -> bool:
        """Every required row is OK."""
        return bool(self._rows) and all(r.ok for r in self._rows if r.required)

    def enter(self) -> None:
        self.witnessed.setFocus()

    def _open(self) -> None:
        test = self.test_mode.isChecked()
        if not self._is_manager:
            self.show_error("投票管理者のサインインが必要です。")
        elif not self.witnessed.isChecked():
            self.show_error("投票管理者・投票立会人の確認欄にチェックしてください。")
            self.witnessed.setFocus()
        elif not test and not self.all_passed():
            self.show_error("NG の項目があります。解決してから開始してください（試験モードでは開始できます）。")
        else:
            self.show_error("")
            self.open_requested.emit(test)


# ---------------------------------------------------------------------------------------------------------------
# Reception


class ReceptionPage(Page):
    """Waiting for the next voter: card, 入場券 barcode, collation number, voter PIN or manual search."""

    collation_requested = Signal()
    pin_requested = Signal()
    search_requested = Signal()
    manager_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("受付", parent)
        self.prompt = label("マイナンバーカードを読取機に置くか、入場券をスキャンしてください", "bigprompt")
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status = label("", "subtitle")
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.collation_button = shortcut_button("照合番号を入力", "F2", self.collation_requested.emit, self)
        self.pin_button = shortcut_button("暗証番号（本人入力）", "F3", self.pin_requested.emit, self)
        self.search_button = shortcut_button("名簿を検索", "F4", self.search_requested.emit, self)
        self.manager_button = shortcut_button("管理者メニュー", "F10", self.manager_requested.emit, self, "secondary")
        grid = QGridLayout()
        for i, b in enumerate((self.collation_button, self.pin_button, self.search_button, self.manager_button)):
            grid.addWidget(b, i // 2, i % 2)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        lay.addWidget(self.prompt)
        lay.addWidget(self.status)
        lay.addWidget(self.progress)
        lay.addWidget(self.error)
        lay.addStretch(1)
        # The last voter's 宣誓書 that did not print stays here until the next voter starts.
        self.print_warning = PrintWarning(self)
        lay.addWidget(self.print_warning)
        lay.addLayout(grid)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def set_reading(self, text: str | None) -> None:
        """Show card-reading progress (None: idle)."""
        self.progress.setVisible(text is not None)
        self.status.setText(text or "")
        for b in (self.collation_button, self.pin_button, self.search_button):
            b.setEnabled(text is None)

    def set_status(self, text: str) -> None:
        """A line under the prompt (e.g. the reader's state or what the last card read said)."""
        self.status.setText(text)

    def enter(self) -> None:
        # No text field has the focus, so a scanner's digits and Enter reach the scanner filter undisturbed.
        self.setFocus()


class CollationPage(Page):
    """The clerk types 照合番号B from the card face: birth date (era + YYMMDD) and the 4-digit security code."""

    submitted = Signal(object, str, str)  # birth date, security code, expiry year ("" = read from the card)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("照合番号入力", parent)
        self.era = QComboBox()
        for era in ERAS[:4]:
            self.era.addItem(era.name, era.letter)
        self.era.setCurrentIndex(2)  # 昭和: most voters
        self.era.setAccessibleName("元号")
        self.yymmdd = QLineEdit()
        self.yymmdd.setMaxLength(6)
        self.yymmdd.setInputMask("")
        self.yymmdd.setPlaceholderText("年月日6桁 例 550217")
        self.yymmdd.setAccessibleName("生年月日（年月日6桁）")
        self.code = QLineEdit()
        self.code.setMaxLength(4)
        self.code.setValidator(QIntValidator(0, 9999, self))
        self.code.setPlaceholderText("4桁")
        self.code.setAccessibleName("セキュリティコード")
        self.expiry = QLineEdit()
        self.expiry.setMaxLength(4)
        self.expiry.setPlaceholderText("カードから読取（読めない場合のみ入力）")
        self.expiry.setAccessibleName("有効期限の年（西暦4桁）")
        self.yymmdd.returnPressed.connect(self.code.setFocus)
        self.code.returnPressed.connect(self._submit)
        self.expiry.returnPressed.connect(self._submit)
        form = QFormLayout()
        form.addRow(label("元号（↑↓）", "fieldName"), self.era)
        form.addRow(label("生年月日", "fieldName"), self.yymmdd)
        form.addRow(label("セキュリティコード", "fieldName"), self.code)
        form.addRow(label("有効期限（西暦年）", "fieldName"), self.expiry)
        self.ok = shortcut_button("読み取る", None, self._submit, self)
        self.cancel = shortcut_button("戻る", "Escape", self.cancelled.emit, self, "secondary")
        buttons = button_row(self.cancel, primary=self.ok)
        lay = QVBoxLayout(self)
        lay.addWidget(_title("照合番号B の入力（カード券面を見て入力）"))
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(label("カードを読取機に置いたまま入力してください。暗証番号は不要です。", "hint"))
        lay.addStretch(1)
        lay.addLayout(buttons)

    def enter(self) -> None:
        self.show_error("")
        self.yymmdd.clear()
        self.code.clear()
        self.expiry.clear()
        self.yymmdd.setFocus()

    def birth_date(self) -> date:
        """The typed birth date, validated against the chosen era (raises WarekiError with a Japanese message)."""
        digits = self.yymmdd.text().strip()
        if len(digits) != 6 or not digits.isdigit():
            raise WarekiError("生年月日は年・月・日を2桁ずつ、6桁で入力してください（例 550217）。")
        era = self.era.currentText()
        try:
            return parse_wareki(f"{era}{int(digits[:2])}年{int(digits[2:4])}月{int(digits[4:])}日")
        except WarekiError:
            raise WarekiError(f"{era}{digits[:2]}年{digits[2:4]}月{digits[4:]}日 は存在しない日付です。") from None

    def _submit(self) -> None:
        try:
            born = self.birth_date()
        except WarekiError as exc:
            self.show_error(str(exc))
            self.yymmdd.setFocus()
            return
        code = self.code.text().strip()
        if len(code) != 4 or not code.isdigit():
            self.show_error("セキュリティコードは4桁の数字です。")
            self.code.setFocus()
            return
        expiry = self.expiry.text().strip()
        if expiry and (len(expiry) != 4 or not expiry.isdigit()):
            self.show_error("有効期限の年は西暦4桁で入力してください（空欄ならカードから読み取ります）。")
            self.expiry.setFocus()
            return
        self.show_error("")
        self.submitted.emit(born, code, expiry)


class PinPadPage(Page):
    """The voter types the card's 4-digit PIN on a large pad (mouse, touch or number keys)."""

    pin_entered = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("暗証番号", parent)
        self._digits = ""
        self.dots = label("", "bigprompt", wrap=False)
        self.dots.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tries = label("", "warn")
        self.tries.setAlignment(Qt.AlignmentFlag.AlignCenter)
        grid = QGridLayout()
        for n in range(10):
            b = QPushButton(str(n))
            b.setObjectName("pinKey")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _c=False, d=str(n): self._press(d))
            r, c = (3, 1) if n == 0 else ((n - 1) // 3, (n - 1) % 3)
            grid.addWidget(b, r, c)
        back = QPushButton("訂正")
        back.setObjectName("pinKey")
        back.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        back.clicked.connect(self._back)
        grid.addWidget(back, 3, 0)
        ok = QPushButton("決定")
        ok.setObjectName("pinKey")
        ok.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        ok.clicked.connect(self._submit)
        grid.addWidget(ok, 3, 2)
        self.cancel = shortcut_button("やめる", "Escape", self._cancel, self, "secondary")
        lay = QVBoxLayout(self)
        lay.addWidget(_title("カードの暗証番号（数字4桁）を入力してください"))
        lay.addWidget(self.dots)
        lay.addWidget(self.tries)
        lay.addWidget(self.error)
        lay.addLayout(grid)
        lay.addWidget(self.cancel)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._render()

    def set_tries_left(self, tries: int | None) -> None:
        """Show how many tries remain before the PIN blocks (None hides it)."""
        self.tries.setText("" if tries is None else f"あと {tries} 回間違えるとロックされます")

    def enter(self) -> None:
        self._digits = ""
        self._render()
        self.setFocus()

    def keyPressEvent(self, event: Any) -> None:
        """Number keys type, Backspace corrects, Enter submits."""
        text = event.text()
        if len(text) == 1 and text.isdigit() and text.isascii():
            self._press(text)
        elif event.key() == Qt.Key.Key_Backspace:
            self._back()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._submit()
        else:
            super().keyPressEvent(event)

    def _press(self, digit: str) -> None:
        if len(self._digits) < 4:
            self._digits += digit
            self._render()

    def _back(self) -> None:
        self._digits = self._digits[:-1]
        self._render()

    def _render(self) -> None:
        self.dots.setText(" ".join("●" if i < len(self._digits) else "○" for i in range(4)))

    def _submit(self) -> None:
        if len(self._digits) != 4:
            self.show_error("4桁を入力してください。")
            return
        pin, self._digits = self._digits, ""
        self._render()
        self.show_error("")
        self.pin_entered.emit(pin)

    def _cancel(self) -> None:
        self._digits = ""
        self._render()
        self.cancelled.emit()


@dataclass(frozen=True, slots=True)
class SearchRow:
    """A register entry in a result list (the clerk confirms the person on the next screen)."""

    code: str
    name: str
    kana: str
    birth: str  # 和暦
    sex: str
    address: str
    precinct: str


class SearchPage(Page):
    """Manual register search by kana or kanji prefix (+ optional birth date), and choice among candidates."""

    search_requested = Signal(object)  # (text, birth date or None)
    chosen = Signal(str)  # register code
    cancelled = Signal()
    manager_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("名簿検索", parent)
        self.heading = _title("選挙人名簿の検索")
        self.query = QLineEdit()
        self.query.setPlaceholderText("カナまたは氏名の先頭（例 タカハシ　タロウ）")
        self.query.setAccessibleName("氏名またはカナ")
        self.birth = QLineEdit()
        self.birth.setPlaceholderText("生年月日（任意） 例 S55.2.17 / 昭和55年2月17日")
        self.birth.setAccessibleName("生年月日")
        self.query.returnPressed.connect(self._search)
        self.birth.returnPressed.connect(self._search)
        self.results = QTableWidget(0, 6)
        self.results.setHorizontalHeaderLabels(["氏名", "カナ", "生年月日", "性別", "住所", "投票区"])
        self.results.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.results.verticalHeader().hide()
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.activated.connect(lambda _i: self._choose())
        self.form = QWidget()
        form = QFormLayout(self.form)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(label("氏名・カナ", "fieldName"), self.query)
        form.addRow(label("生年月日", "fieldName"), self.birth)
        self.note = label("", "hint")
        self.choose_button = shortcut_button("この人を選ぶ", "F6", self._choose, self)
        self.cancel = shortcut_button("戻る", "Escape", self.cancelled.emit, self, "secondary")
        # Not in the register: a 決定書等所持者 (法42条ただし書) is recorded by the manager from here.
        self.manager_button = shortcut_button(
            "管理者メニュー（決定書等所持者）", "F10", self.manager_requested.emit, self, "secondary"
        )
        buttons = button_row(self.cancel, self.manager_button, primary=self.choose_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.heading)
        lay.addWidget(self.form)
        lay.addWidget(self.note)
        lay.addWidget(self.error)
        lay.addWidget(self.results, 1)
        lay.addLayout(buttons)
        self._rows: list[SearchRow] = []

    def set_mode(self, candidates: bool, note: str = "") -> None:
        """``candidates``: choose among the matches of a card read (no search fields)."""
        self.heading.setText("候補から選んでください（自動では決めません）" if candidates else "選挙人名簿の検索")
        self.form.setVisible(not candidates)
        self.note.setText(
            note
            or (
                "↑↓で選び Enter。一致する人がいなければ Esc。"
                if candidates
                else "入力して Enter で検索、↓で結果へ、Enter で選択。"
            )
        )

    def set_results(self, rows: Sequence[SearchRow]) -> None:
        """Show results; the first row is selected and focused so ↑↓ + Enter choose."""
        self._rows = list(rows)
        self.results.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, text in enumerate((r.name, r.kana, r.birth, r.sex, r.address, r.precinct)):
                self.results.setItem(i, j, QTableWidgetItem(text))
        self.results.resizeColumnsToContents()
        self.results.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        if rows:
            self.results.selectRow(0)
            self.results.setFocus()
            self.show_error("")
        else:
            self.show_error("該当する人がいません。")

    def enter(self) -> None:
        if self.form.isVisible():
            self.query.clear()
            self.birth.clear()
            self._rows = []
            self.results.setRowCount(0)
            self.show_error("")
            self.query.setFocus()
        else:
            self.results.setFocus()

    def keyPressEvent(self, event: Any) -> None:
        """Enter on the result list chooses the selected person."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.results.hasFocus():
            self._choose()
        else:
            super().keyPressEvent(event)

    def _search(self) -> None:
        query = self.query.text().strip()
        birth_text = self.birth.text().strip()
        birth: date | None = None
        if birth_text:
            try:
                birth = _parse_any_date(birth_text)
            except ValueError:
                self.show_error(f"生年月日「{birth_text}」を読み取れません（例 S55.2.17、1980-02-17）。")
                self.birth.setFocus()
                return
        if not query and birth is None:
            self.show_error("氏名・カナか生年月日を入力してください。")
            return
        self.show_error("")
        self.search_requested.emit((query, birth))

    def _choose(self) -> None:
        row = self.results.currentRow()
        if 0 <= row < len(self._rows):
            self.chosen.emit(self._rows[row].code)


def _parse_any_date(text: str) -> date:
    """和暦 (S55.2.17, 昭和55年2月17日) or ISO (1980-02-17)."""
    try:
        return parse_wareki(text)
    except WarekiError:
        return date.fromisoformat(text.replace("/", "-"))


@dataclass(frozen=True, slots=True)
class ElectionLine:
    """One election of the day on the voter screen: may vote here or not, and why."""

    name: str
    ok: bool
    text: str


@dataclass(frozen=True, slots=True)
class VoterCard:
    """What the voter screen shows (the photo is an in-memory PIL image; never written to disk)."""

    name: str
    kana: str
    birth: str  # 和暦 with age
    sex: str
    address: str
    precinct: str
    register_ref: str  # 冊・頁・行
    elections: tuple[ElectionLine, ...]
    photo: Any = None
    source: str = ""  # how identified: card (PIN / 照合番号B), 入場券, search
    photo_offer: bool = False  # card read by PIN: the photo can still be read with the security code
    note: str = ""  # shown prominently, e.g. that the face photo was not checked


# The voter's record on the voter screen: caption per field, and (row, column, span) in the grid of caption and value
# columns 0-5 (6 takes the spare width) — three rows where the column is wide enough (1280 px), four with two pairs,
# one field a row where even the pairs do not fit.
_RECORD_CAPTIONS = {
    "birth": "生年月日",
    "sex": "性別",
    "precinct": "投票区",
    "address": "住所",
    "register": "名簿",
    "source": "確認方法",
}
_RECORD_WIDE = {
    "birth": (0, 0, 1),
    "sex": (0, 2, 1),
    "precinct": (0, 4, 2),
    "address": (1, 0, 3),
    "register": (1, 4, 2),
    "source": (2, 0, 6),
}
_RECORD_PAIRS = {
    "birth": (0, 0, 1),
    "sex": (0, 2, 4),
    "address": (1, 0, 6),
    "precinct": (2, 0, 1),
    "register": (2, 2, 4),
    "source": (3, 0, 6),
}
_RECORD_NARROW = {
    key: (row, 0, 6) for row, key in enumerate(("birth", "sex", "address", "precinct", "register", "source"))
}
_RECORD_ARRANGEMENTS = (_RECORD_WIDE, _RECORD_PAIRS, _RECORD_NARROW)  # fewest rows first


class _CodeField(QLineEdit):
    """A line edit whose Enter is its own (returnPressed), not the screen's "confirm" shortcut."""

    def event(self, e: QEvent) -> bool:
        if (
            e.type() == QEvent.Type.ShortcutOverride
            and isinstance(e, QKeyEvent)
            and e.key()
            in (
                Qt.Key.Key_Return,
                Qt.Key.Key_Enter,
            )
        ):
            # Accepting the override delivers Enter to the field: typing the code and Enter reads the photo,
            # it never confirms the voter by accident.
            e.accept()
            return True
        return super().event(e)


class VoterPage(Page):
    """The person at the desk: face photo large beside name, カナ, 和暦 birth date, sex, address, 投票区, status."""

    confirmed = Signal()
    not_this_person = Signal()
    cancelled = Signal()
    photo_requested = Signal(str)  # the 4-digit security code typed by the clerk

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("本人確認", parent)
        self.note = label("", "bad")
        self.note.setVisible(False)
        self.code = _CodeField()
        self.code.setMaxLength(4)
        self.code.setValidator(QIntValidator(0, 9999, self))
        self.code.setPlaceholderText("4桁")
        self.code.setFixedWidth(80)
        self.code.setAccessibleName("セキュリティコード（顔写真の読取）")
        self.code.returnPressed.connect(self._read_photo)
        self.photo_button = shortcut_button("写真読取", "F4", self._photo_key, self)
        self.photo = QLabel()
        self.photo.setObjectName("photo")
        self.photo.setFixedSize(300, 380)
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name = label("", "voterName")
        self.kana = label("", "voterKana")
        # The screen that decides must fit a 1280×800 desk with four elections whose "already voted" lines wrap:
        # name and カナ share a row, the record's six fields take three rows (more when the column is too narrow,
        # see _arrange_record), the elections are the grid's last row. Each wrapped label then gets its full
        # heightForWidth: box layouts squeeze every row below its minimum (wrapped lines overlapping) when a column
        # is taller than the window, and the old one-field-a-row column was.
        names = QHBoxLayout()
        names.addWidget(self.name)
        names.addWidget(self.kana, 1, Qt.AlignmentFlag.AlignBottom)
        self.fields: dict[str, QLabel] = {}
        self.captions: dict[str, QLabel] = {}
        self.info = QGridLayout()
        self.info.setVerticalSpacing(4)
        self.info.setHorizontalSpacing(14)  # a value and the next field's caption must not read as one
        self.info.setColumnStretch(6, 1)  # spare width goes to the right: the fields of a row sit side by side
        for key, caption in _RECORD_CAPTIONS.items():
            self.fields[key] = label("", "field")
            self.captions[key] = label(caption, "fieldName", wrap=False)
        # One line per election of the day, all visible at once on a 1280×800 screen.
        self.elections = QVBoxLayout()
        self.elections.setSpacing(2)
        self.election_labels: list[QLabel] = []
        self.elections_caption = label("本日の選挙", "fieldName", wrap=False)
        self._positions: dict[str, tuple[int, int, int]] = {}
        self._place_record(_RECORD_WIDE)
        right = QVBoxLayout()
        right.addLayout(names)
        right.addLayout(self.info)
        right.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.photo, 0, Qt.AlignmentFlag.AlignTop)
        self.photo_row = QWidget()
        self.photo_row.setFixedWidth(300)  # no wider than the photo: the record column keeps its width
        photo_row = QHBoxLayout(self.photo_row)
        photo_row.setContentsMargins(0, 0, 0, 0)
        photo_row.addWidget(self.code)
        photo_row.addWidget(self.photo_button)
        self.photo_row.setVisible(False)
        left.addWidget(self.photo_row)
        left.addStretch(1)
        self.record = QWidget()
        self._top = QHBoxLayout(self.record)
        self._top.setContentsMargins(0, 0, 0, 0)
        self._top.addLayout(left)
        self._top.addLayout(right, 1)
        # On a screen smaller than that (or with the error line shown) the record scrolls, with a visible scroll
        # bar, rather than squeezing its lines over one another; the title and the buttons always stay in view.
        self.record_area = QScrollArea()
        self.record_area.setWidget(self.record)
        self.record_area.setWidgetResizable(True)
        self.record_area.setFrameShape(QFrame.Shape.NoFrame)
        self.record_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.record_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Keyboard only at the desk: PageDown / PageUp scroll the record when it does not fit.
        for page_key_name, direction in (("PgDown", 1), ("PgUp", -1)):
            page_key = QShortcut(QKeySequence(page_key_name), self)
            page_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            page_key.activated.connect(lambda d=direction: self.scroll_record(d))
        self.confirm_button = shortcut_button("本人です", "Return", self.confirmed.emit, self)
        self.reject_button = shortcut_button("本人ではない", "F8", self.not_this_person.emit, self, "danger")
        self.cancel_button = shortcut_button("取消", "Escape", self.cancelled.emit, self, "secondary")
        buttons = button_row(self.cancel_button, self.reject_button, primary=self.confirm_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(9, 0, 9, 0)  # the window's margins are above and below already
        lay.addWidget(_title("本人確認：写真とご本人を見比べてください"))
        lay.addWidget(self.note)
        lay.addWidget(self.record_area, 1)
        lay.addWidget(self.error)
        lay.addLayout(buttons)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def set_voter(self, card: VoterCard) -> None:
        """Render one voter; without a photo (入場券 / search) the frame says so."""
        if card.photo is not None:
            pix = pil_to_pixmap(card.photo)
            self.photo.setPixmap(
                pix.scaled(
                    self.photo.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )
        elif card.photo_offer:
            self.photo.setPixmap(QPixmap())
            self.photo.setText("顔写真 未確認\n（暗証番号で読取）\n\n下の欄にセキュリティコード\n4桁を入力して Enter")
        else:
            self.photo.setPixmap(QPixmap())
            self.photo.setText("写真なし\n（カード以外で確認）")
        self.photo_row.setVisible(card.photo_offer)
        self.code.setEnabled(True)
        self.photo_button.setEnabled(True)
        if not card.photo_offer:
            self.code.clear()
        self.note.setText(card.note)
        self.note.setVisible(bool(card.note))
        self.name.setText(card.name)
        self.kana.setText(card.kana)
        self.fields["birth"].setText(card.birth)
        self.fields["sex"].setText(card.sex)
        self.fields["address"].setText(card.address)
        self.fields["precinct"].setText(card.precinct)
        self.fields["register"].setText(card.register_ref)
        self.fields["source"].setText(card.source)
        self._arrange_record()
        for old in self.election_labels:
            self.elections.removeWidget(old)
            old.deleteLater()
        self.election_labels = []
        for line in card.elections:
            # Colour is never the only signal: ○ / × lead every line.
            lab = label(f"{'○' if line.ok else '×'}　{line.name}：{line.text}", "ok" if line.ok else "bad")
            self.elections.addWidget(lab)
            self.election_labels.append(lab)

    def enter(self) -> None:
        self.setFocus()

    def scroll_record(self, pages: int) -> None:
        """Scroll the record by ``pages`` screenfuls (negative: up); nothing to do when it fits."""
        bar = self.record_area.verticalScrollBar()
        bar.setValue(bar.value() + pages * bar.pageStep())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange_record()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._arrange_record()

    def _arrange_record(self) -> None:
        """The record's fields on as few rows as the column's width allows (three, four or six)."""
        self.ensurePolished()  # measure in the style sheet's fonts
        # The column's width as if the scroll bar were shown, so that showing it never flips the arrangement back.
        # Asked with the bar itself, so the style sheet's width for scroll bars counts.
        bar = self.record_area.verticalScrollBar()
        scroll_bar = bar.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, bar)
        column = self.record_area.width() - scroll_bar - self.photo.width() - self._top.spacing()
        fitting = [p for p in _RECORD_ARRANGEMENTS[:-1] if self._record_width(p) <= column]
        self._place_record(fitting[0] if fitting else _RECORD_ARRANGEMENTS[-1])

    def _record_width(self, positions: dict[str, tuple[int, int, int]]) -> int:
        """The width the record needs in ``positions`` for a field that shares its row to stay on one line: grid
        columns as wide as their widest one-column caption or value, a spanning value at least as wide as its text,
        each row's cells side by side. A field alone on its row may wrap (a long address): it asks for no width."""

        def text_width(lab: QLabel) -> int:
            return lab.fontMetrics().horizontalAdvance(lab.text())

        gap = self.info.horizontalSpacing()
        rows = [row for row, _, _ in positions.values()]
        cells: dict[int, list[tuple[int, int, int]]] = {}  # row → (column, span, width)
        for key, (row, column, span) in positions.items():
            shared = rows.count(row) > 1
            cells.setdefault(row, []).append((column, 1, text_width(self.captions[key])))
            cells[row].append((column + 1, span, text_width(self.fields[key]) if shared else 0))
        columns = [0] * 7
        columns[0] = text_width(self.elections_caption)
        for column, span, width in (cell for line in cells.values() for cell in line):
            if span == 1:
                columns[column] = max(columns[column], width)
        needed = 0
        for line in cells.values():
            x = 0
            for column, span, width in sorted(line):
                start = max(x, sum(columns[:column]) + gap * column)
                x = start + max(width, sum(columns[column : column + span]) + gap * (span - 1)) + gap
            needed = max(needed, x - gap)
        return needed

    def _place_record(self, positions: dict[str, tuple[int, int, int]]) -> None:
        if positions == self._positions:
            return
        self._positions = positions
        for key, (row, column, span) in positions.items():
            for widget in (self.captions[key], self.fields[key]):
                self.info.removeWidget(widget)
            self.info.addWidget(self.captions[key], row, column)
            self.info.addWidget(self.fields[key], row, column + 1, 1, span)
        last = max(row for row, _, _ in positions.values()) + 1
        self.info.removeWidget(self.elections_caption)
        self.info.removeItem(self.elections)
        self.info.addWidget(self.elections_caption, last, 0, Qt.AlignmentFlag.AlignTop)
        self.info.addLayout(self.elections, last, 1, 1, 6)

    def set_photo_busy(self, busy: bool) -> None:
        """While the photo is read in the background: say so, and take no second request."""
        self.code.setEnabled(not busy)
        self.photo_button.setEnabled(not busy)
        if busy:
            self.photo.setText("顔写真を読み取っています…")

    def _photo_key(self) -> None:
        # F4: with a code typed, read; otherwise go to the field so the clerk can type it (keyboard only).
        if not self.photo_row.isVisible():
            return
        if len(self.code.text().strip()) == 4:
            self._read_photo()
        else:
            self.code.setFocus()

    def _read_photo(self) -> None:
        code = self.code.text().strip()
        if len(code) != 4 or not code.isdigit():
            self.show_error("セキュリティコードは4桁の数字です（カード券面の右下）。")
            self.code.setFocus()
            return
        self.show_error("")
        self.code.clear()
        self.setFocus()  # afterwards Enter confirms the voter again
        self.photo_requested.emit(code)

    def clear(self) -> None:
        """Forget the voter: the photo and the record leave the screen's memory with the person."""
        self.photo.setPixmap(QPixmap())
        self.photo.setText("")
        self.code.clear()
        self.photo_row.setVisible(False)
        self.note.setText("")
        self.note.setVisible(False)
        self.name.setText("")
        self.kana.setText("")
        for field in self.fields.values():
            field.setText("")
        for old in self.election_labels:
            self.elections.removeWidget(old)
            old.deleteLater()
        self.election_labels = []


class ReasonPage(Page):
    """Early voting: the voter chooses one 事由 (keys 1–6); then the 宣誓書 is printed."""

    chosen = Signal(int)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("期日前投票の事由", parent)
        self.list = QListWidget()
        for n, text in REASONS.items():
            item = QListWidgetItem(f"{n}．{text}")
            item.setData(Qt.ItemDataRole.UserRole, n)
            self.list.addItem(item)
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(lambda item: self.chosen.emit(int(item.data(Qt.ItemDataRole.UserRole))))
        self.choose_button = shortcut_button("この事由で宣誓書を印刷", "F6", self._choose, self)
        self.cancel = shortcut_button("戻る", "Escape", self.cancelled.emit, self, "secondary")
        buttons = button_row(self.cancel, primary=self.choose_button)
        lay = QVBoxLayout(self)
        for n in REASONS:
            # Digits choose directly, even while the list (which would use them for keyboard search) has focus.
            key = QShortcut(QKeySequence(str(n)), self)
            key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            key.activated.connect(lambda n=n: self.chosen.emit(n))
        lay.addWidget(_title("期日前投票の事由を選んでください（数字キー 1〜6）"))
        lay.addWidget(self.list, 1)
        lay.addWidget(self.error)
        lay.addLayout(buttons)

    def enter(self) -> None:
        self.list.setCurrentRow(0)
        self.list.setFocus()

    def _choose(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.chosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))


class BallotsPage(Page):
    """The ballots to hand over, in order, and those NOT to give; one key finishes and readies the next voter."""

    finished = Signal()
    manager_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("投票用紙の交付", parent)
        self.give = QListWidget()
        self.give.setObjectName("ballotList")
        self.give.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.withhold = label("", "withhold")
        self.notes = label("", "warn")
        self.finish_button = shortcut_button("交付完了・次の方", "Return", self.finished.emit, self)
        self.manager_button = shortcut_button(
            "管理者メニュー（代理・点字・再交付・再印刷）", "F10", self.manager_requested.emit, self, "secondary"
        )
        buttons = button_row(self.manager_button, primary=self.finish_button)
        lay = QVBoxLayout(self)
        self.heading = _title("この順に投票用紙を渡してください")
        lay.addWidget(self.heading)
        lay.addWidget(self.give, 1)
        lay.addWidget(self.withhold)
        lay.addWidget(self.notes)
        self.print_warning = PrintWarning(self)
        lay.addWidget(self.print_warning)
        lay.addWidget(self.error)
        lay.addLayout(buttons)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def set_ballots(self, give: Sequence[str], withhold: Sequence[str], notes: Sequence[str] = ()) -> None:
        """``give`` in hand-over order; ``withhold`` lines name each ballot not to give and why."""
        self.give.clear()
        for i, name in enumerate(give, 1):
            self.give.addItem(f"{i}．{name}")
        self.withhold.setText("渡さない：" + "／".join(withhold) if withhold else "")
        self.withhold.setVisible(bool(withhold))
        self.notes.setText("\n".join(notes))
        self.notes.setVisible(bool(notes))

    def enter(self) -> None:
        self.setFocus()


class HardStopPage(Page):
    """A full-screen red stop (already voted, wrong station, blocked PIN, …). Only a manager can continue past an
    overridable stop, with a reason that is logged."""

    override_requested = Signal(str, str, str)  # manager id, PIN, reason
    dismissed = Signal()
    manager_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("停止", parent)
        self.setObjectName("hardStop")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.title = label("", "stopTitle")
        self.text = label("", "stopText")
        self.text.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.override_box = QWidget()
        self.manager_id = QLineEdit()
        self.manager_id.setAccessibleName("投票管理者ID")
        self.manager_pin = secret_field("投票管理者の暗証番号")
        self.reason = QLineEdit()
        self.reason.setAccessibleName("続行する理由")
        self.manager_id.returnPressed.connect(self.manager_pin.setFocus)
        self.manager_pin.returnPressed.connect(self.reason.setFocus)
        self.reason.returnPressed.connect(self._override)
        form = QFormLayout(self.override_box)
        form.addRow(label("投票管理者ID", "stopText"), self.manager_id)
        form.addRow(label("暗証番号", "stopText"), self.manager_pin)
        form.addRow(label("続行する理由", "stopText"), self.reason)
        self.override_button = shortcut_button("管理者の判断で続行", None, self._override, self)
        form.addRow(self.override_button)
        self.dismiss_button = shortcut_button("受付を中止して次の方へ", "Escape", self.dismissed.emit, self)
        self.manager_button = shortcut_button(
            "管理者メニュー（拒否・仮投票）", "F10", self.manager_requested.emit, self
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.dismiss_button)
        buttons.addWidget(self.manager_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.override_box)
        lay.addWidget(self.error)
        lay.addLayout(buttons)

    def set_stop(
        self, title: str, text: str, can_override: bool, *, manager_menu: bool = False, dismiss: str = ""
    ) -> None:
        """What stopped the flow and why; ``can_override``: a manager may continue with a reason."""
        self.title.setText(title)
        self.text.setText(text)
        self.override_box.setVisible(can_override)
        self.manager_button.setVisible(manager_menu)
        self.dismiss_button.setText(f"{dismiss or '受付を中止して次の方へ'}　[Esc]")
        self.manager_id.clear()
        self.manager_pin.clear()
        self.reason.clear()
        self.show_error("")

    def enter(self) -> None:
        # The clerk must read it: focus on the stop, not a field a habitual Enter would pass through.
        self.dismiss_button.setFocus()

    def _override(self) -> None:
        mid, pin, reason = self.manager_id.text().strip(), self.manager_pin.text(), self.reason.text().strip()
        if not mid or not pin or not reason:
            self.show_error("投票管理者ID・暗証番号・理由をすべて入力してください。")
            return
        self.manager_pin.clear()
        self.override_requested.emit(mid, pin, reason)
