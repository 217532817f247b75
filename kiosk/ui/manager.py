"""The manager's functions: void, 仮投票, refusal, 代理/点字, reissue, reprint, sign-in unlock, 決定書等所持者 — each
with the manager's id + PIN.

The page offers only the functions the current reception state allows (the controller asks the core) and collects the
fields each one needs; the core verifies the PIN and records the event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ballots.model import Sex
from kiosk.ui.pages import Page
from kiosk.ui.widgets import button_row, label, secret_field, shortcut_button

__all__ = ["MANAGER_FUNCTIONS", "ManagerFunction", "ManagerPage"]


@dataclass(frozen=True, slots=True)
class ManagerFunction:
    """One manager function: its key, Japanese label and which fields it needs."""

    key: str
    label: str
    fields: tuple[str, ...]  # of: reason, article, helpers, election, target, declaration, staff, reference, sex


MANAGER_FUNCTIONS: dict[str, ManagerFunction] = {
    f.key: f
    for f in (
        ManagerFunction("void", "記録の取消し（誤登録の訂正）", ("target", "reason")),
        ManagerFunction("provisional", "仮投票（法50条）", ("reason",)),
        ManagerFunction("refuse", "投票の拒否", ("reason", "article")),
        ManagerFunction("proxy", "代理投票（補助者2名）", ("helpers",)),
        ManagerFunction("braille", "点字投票", ()),
        ManagerFunction("reissue", "投票用紙の再交付", ("election", "reason")),
        ManagerFunction("reprint", "宣誓書の再印刷（本日この端末で印刷したもの）", ("declaration",)),
        ManagerFunction("unlock", "職員のサインインロック解除", ("staff",)),
        ManagerFunction("decision", "決定書等所持者の受付（法42条ただし書）", ("reference", "sex")),
    )
}


class ManagerPage(Page):
    """Choose a function (↑↓), fill its fields, sign with manager id + PIN, Enter."""

    submitted = Signal(str, object)  # function key, dict of fields incl. manager_id, pin
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("管理者メニュー", parent)
        self.functions = QListWidget()
        self.functions.currentItemChanged.connect(lambda *_: self._show_fields())
        self.manager_id = QLineEdit()
        self.manager_id.setAccessibleName("投票管理者ID")
        self.pin = secret_field("暗証番号")
        self.reason = QLineEdit()
        self.reason.setAccessibleName("理由")
        self.article = QLineEdit("法50条")
        self.article.setAccessibleName("根拠条文")
        self.helper1 = QLineEdit()
        self.helper1.setAccessibleName("補助者1の職員ID")
        self.helper2 = QLineEdit()
        self.helper2.setAccessibleName("補助者2の職員ID")
        self.election = QComboBox()
        self.election.setAccessibleName("選挙")
        self.target = QComboBox()
        self.target.setAccessibleName("取り消す記録")
        self.declaration = QComboBox()
        self.declaration.setAccessibleName("再印刷する宣誓書")
        self.staff = QLineEdit()
        self.staff.setAccessibleName("ロックを解除する職員ID")
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("例 令和8年選管決定第12号（氏名は入力しない）")
        self.reference.setAccessibleName("決定書・判決書の番号")
        self.sex = QComboBox()
        self.sex.setAccessibleName("決定書・判決書に記載の性別")
        for text, value in (("選んでください", None), ("男", Sex.MALE.value), ("女", Sex.FEMALE.value)):
            self.sex.addItem(text, value)  # plain strings: Qt hands an enum member back as a bare str
        self.form = QFormLayout()
        self._rows: dict[str, tuple[QWidget, ...]] = {}
        for key, caption, widget in (
            ("target", "取り消す記録", self.target),
            ("declaration", "再印刷する宣誓書", self.declaration),
            ("staff", "ロック解除する職員ID", self.staff),
            ("reference", "決定書・判決書の番号", self.reference),
            ("sex", "性別（決定書の記載）", self.sex),
            ("election", "選挙", self.election),
            ("reason", "理由", self.reason),
            ("article", "根拠条文", self.article),
            ("helpers", "補助者1（職員ID）", self.helper1),
            ("helpers2", "補助者2（職員ID）", self.helper2),
        ):
            caption_label = label(caption, "fieldName")
            self.form.addRow(caption_label, widget)
            self._rows[key] = (caption_label, widget)
        self.form.addRow(label("投票管理者ID", "fieldName"), self.manager_id)
        self.form.addRow(label("暗証番号", "fieldName"), self.pin)
        for w in (self.reason, self.article, self.helper1, self.helper2, self.staff, self.reference, self.manager_id):
            w.returnPressed.connect(self.focusNextChild)
        self.pin.returnPressed.connect(self._submit)
        self.ok = shortcut_button("実行", "F12", self._submit, self)
        self.cancel = shortcut_button("戻る", "Escape", self.cancelled.emit, self, "secondary")
        buttons = button_row(self.cancel, primary=self.ok)
        top = QHBoxLayout()
        top.addWidget(self.functions, 1)
        right = QVBoxLayout()
        right.addLayout(self.form)
        right.addStretch(1)
        top.addLayout(right, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(label("管理者メニュー（投票管理者の操作）", "title"))
        lay.addLayout(top, 1)
        lay.addWidget(self.error)
        lay.addWidget(label("↑↓で操作を選び、Tab で入力欄へ。暗証番号の後 Enter で実行。", "hint"))
        lay.addLayout(buttons)
        self._show_fields()

    def offer(
        self,
        keys: Sequence[str],
        *,
        elections: Sequence[tuple[str, str]] = (),
        targets: Sequence[tuple[str, str]] = (),
        declarations: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Offer these functions; ``elections``/``targets``/``declarations`` are (id, label) choices for reissue /
        void / reprint."""
        self.functions.clear()
        for key in keys:
            item = QListWidgetItem(MANAGER_FUNCTIONS[key].label)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.functions.addItem(item)
        self.election.clear()
        for eid, text in elections:
            self.election.addItem(text, eid)
        self.target.clear()
        for tid, text in targets:
            self.target.addItem(text, tid)
        self.declaration.clear()
        for did, text in declarations:
            self.declaration.addItem(text, did)
        for w in (self.reason, self.helper1, self.helper2, self.staff, self.reference, self.manager_id, self.pin):
            w.clear()
        self.sex.setCurrentIndex(0)  # never carried over from the previous decision holder
        self.show_error("")
        if keys:
            self.functions.setCurrentRow(0)
        self._show_fields()

    def current_key(self) -> str | None:
        """The chosen function."""
        item = self.functions.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def select(self, key: str) -> None:
        """Choose a function by key (e.g. the stop screen opens the menu on 拒否)."""
        for i in range(self.functions.count()):
            if self.functions.item(i).data(Qt.ItemDataRole.UserRole) == key:
                self.functions.setCurrentRow(i)

    def _show_fields(self) -> None:
        key = self.current_key()
        needed = set(MANAGER_FUNCTIONS[key].fields) if key else set()
        if "helpers" in needed:
            needed.add("helpers2")
        for name, widgets in self._rows.items():
            for w in widgets:
                w.setVisible(name in needed)

    def enter(self) -> None:
        self.functions.setFocus()

    def _submit(self) -> None:
        key = self.current_key()
        if key is None:
            self.show_error("操作を選んでください。")
            return
        needed = MANAGER_FUNCTIONS[key].fields
        fields: dict[str, Any] = {"manager_id": self.manager_id.text().strip(), "pin": self.pin.text()}
        if "reason" in needed:
            fields["reason"] = self.reason.text().strip()
        if "article" in needed:
            fields["article"] = self.article.text().strip()
        if "helpers" in needed:
            fields["helpers"] = (self.helper1.text().strip(), self.helper2.text().strip())
        if "election" in needed:
            fields["election"] = self.election.currentData()
            if fields["election"] is None:
                self.show_error("選挙を選んでください。")
                return
        if "target" in needed:
            fields["target"] = self.target.currentData()
            if fields["target"] is None:
                self.show_error("取り消す記録がありません。")
                return
        if "declaration" in needed:
            fields["declaration"] = self.declaration.currentData()
            if fields["declaration"] is None:
                self.show_error("本日この端末で印刷した宣誓書はありません。")
                return
        if "staff" in needed:
            fields["staff"] = self.staff.text().strip()
            if not fields["staff"]:
                self.show_error("ロックを解除する職員IDを入力してください。")
                self.staff.setFocus()
                return
        if "reference" in needed:
            fields["reference"] = self.reference.text().strip()
            if not fields["reference"]:
                self.show_error("決定書・判決書の番号を入力してください（決定書で本人を確認してから）。")
                self.reference.setFocus()
                return
        if "sex" in needed:
            chosen = self.sex.currentData()
            fields["sex"] = None if chosen is None else Sex(chosen)
            if fields["sex"] is None:
                self.show_error("決定書・判決書に記載の性別（男・女）を選んでください。")
                self.sex.setFocus()
                return
        if not fields["manager_id"] or not fields["pin"]:
            self.show_error("投票管理者IDと暗証番号を入力してください。")
            (self.manager_id if not fields["manager_id"] else self.pin).setFocus()
            return
        self.pin.clear()
        self.show_error("")
        self.submitted.emit(key, fields)
