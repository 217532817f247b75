"""The committee's window: stations, live turnout with a chart, early voting, duplicates and conflicts with notes,
the void/override log and the per-voter access lookup.

All server calls run as background operations (``kiosk.ui.ops.BackgroundOps``); a refresh timer starts one only when
the previous one has been delivered, so a slow server never piles requests up or freezes the window. The tables are
filled from the same ``ballots.reports.Table`` objects the PDF reports print, so screen and paper agree.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Protocol

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ballots.committee_reports import AccessReport, jst_hm
from ballots.issuance import JST
from ballots.reports import Table
from kiosk.committee_client import CommitteeClientError, CommitteeSnapshot
from kiosk.ui.committee.chart import TurnoutChart
from kiosk.ui.ops import BackgroundOps

__all__ = ["CommitteeSource", "CommitteeWindow", "fill_table"]

log = logging.getLogger(__name__)

OFFLINE_BG = QColor("#fed7d7")
WARN_BG = QColor("#fefcbf")


class CommitteeSource(Protocol):
    """What the window needs of ``kiosk.committee_client.CommitteeClient`` (blocking calls, run in the background)."""

    def snapshot(self, day: date | None = None, *, reuse_early: Any = None) -> CommitteeSnapshot: ...
    def access(self, voter: str) -> AccessReport: ...
    def add_note(self, subject: str, subject_id: int, note: str) -> dict[str, Any]: ...


def fill_table(widget: QTableWidget, table: Table, *, stretch: tuple[int, ...] = ()) -> None:
    """Show a report table (headings and rows) in a read-only table widget; ``stretch`` columns share what width is
    left (notes, reasons)."""
    widget.setUpdatesEnabled(False)
    try:
        widget.clear()
        widget.setColumnCount(len(table.columns))
        widget.setHorizontalHeaderLabels(list(table.columns))
        widget.setRowCount(len(table.rows))
        for r, row in enumerate(table.rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
                widget.setItem(r, c, item)
        header = widget.horizontalHeader()
        for c in range(len(table.columns)):
            mode = QHeaderView.ResizeMode.Stretch if c in stretch else QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(c, mode)
        if any("\n" in text for row in table.rows for text in row):
            widget.resizeRowsToContents()  # multi-line cells (both sides of a duplicate): rows as tall as their text
    finally:
        widget.setUpdatesEnabled(True)


def _table_widget(name: str) -> QTableWidget:
    w = QTableWidget()
    w.setObjectName(name)
    w.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    w.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    w.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    w.setAlternatingRowColors(True)
    w.verticalHeader().setVisible(False)
    w.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    w.horizontalHeader().setStretchLastSection(True)
    return w


class CommitteeWindow(QMainWindow):
    """The committee view. ``refresh_s`` is the live refresh period; ``day`` None follows today (JST)."""

    def __init__(
        self,
        source: CommitteeSource,
        ops: BackgroundOps,
        *,
        server_label: str = "",
        refresh_s: float = 15.0,
        day: date | None = None,
        early_every: int = 4,
    ) -> None:
        super().__init__()
        self.setObjectName("committeeWindow")
        self.setWindowTitle(f"選挙管理委員会 — 投票状況 {server_label}".strip())
        # An office screen read at arm's length, not a touch kiosk: smaller type fits the committee's wide tables
        # (the kiosk style sheet sets sizes for the desk; this narrows them for this window only).
        self.setStyleSheet(
            "QTableWidget { font-size: 16px; } QTableWidget::item { padding: 2px; } QHeaderView { font-size: 15px; }"
        )
        self._source, self._ops, self._day = source, ops, day
        self._snapshot: CommitteeSnapshot | None = None
        self._refreshing = False
        self.refreshes = 0  # delivered refreshes (tests and the status line)
        # Early-voting figures are asked for on every ``early_every``-th refresh only (and on F5): they change little
        # during election day and cost the most after the turnout.
        self._early_every = max(1, early_every)
        self.last_error: str | None = None

        self.tabs = QTabWidget()
        self.tabs.setObjectName("committeeTabs")
        self.stations = _table_widget("stationsTable")
        self.tabs.addTab(self.stations, "投票所の状態")
        self.tabs.addTab(self._turnout_tab(), "時間別投票者数")
        self.early = _table_widget("earlyTable")
        self.tabs.addTab(self.early, "期日前投票")
        self.tabs.addTab(self._duplicates_tab(), "重複・二重交付")
        self.voids = _table_widget("voidsTable")
        self.tabs.addTab(self.voids, "取消・管理者判断")
        self.tabs.addTab(self._access_tab(), "閲覧記録の照会")

        self.status = QLabel("サーバーに接続しています…")
        self.status.setObjectName("committeeStatus")
        self.refresh_button = QPushButton("今すぐ更新 (F5)")
        self.refresh_button.setShortcut("F5")
        self.refresh_button.clicked.connect(lambda: self.refresh(full=True))
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(self.refresh_button)
        root = QWidget()
        layout = QVBoxLayout(root)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(root)

        self.timer = QTimer(self)
        self.timer.setInterval(int(refresh_s * 1000))
        self.timer.timeout.connect(self.refresh)

    # -- layout ------------------------------------------------------------------------------------------------------
    def _turnout_tab(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        pick = QHBoxLayout()
        self.election_pick = QComboBox()
        self.election_pick.setObjectName("electionPick")
        self.station_pick = QComboBox()
        self.station_pick.setObjectName("stationPick")
        self.election_pick.currentIndexChanged.connect(self._show_turnout)
        self.station_pick.currentIndexChanged.connect(self._show_turnout)
        pick.addWidget(QLabel("選挙"))
        pick.addWidget(self.election_pick, 1)
        pick.addWidget(QLabel("投票所"))
        pick.addWidget(self.station_pick, 1)
        v.addLayout(pick)
        split = QSplitter(Qt.Orientation.Vertical)
        self.chart = TurnoutChart()
        self.turnout = _table_widget("turnoutTable")
        split.addWidget(self.chart)
        split.addWidget(self.turnout)
        split.setSizes([320, 320])
        v.addWidget(split, 1)
        return w

    def _duplicates_tab(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        v.addWidget(QLabel("オンラインで防止した重複（投票済みとして拒否）"))
        self.refusals = _table_widget("refusalsTable")
        v.addWidget(self.refusals, 1)
        v.addWidget(QLabel("オフライン受付による重複（二重交付）"))
        self.conflicts = _table_widget("conflictsTable")
        v.addWidget(self.conflicts, 1)
        row = QHBoxLayout()
        self.note_edit = QLineEdit()
        self.note_edit.setObjectName("noteEdit")
        self.note_edit.setPlaceholderText("選択した行への処理記録（例：管理者に確認済み）")
        self.note_edit.setMaxLength(2000)
        self.note_button = QPushButton("処理記録を追加")
        self.note_button.setObjectName("noteButton")
        self.note_button.clicked.connect(self.add_note)
        row.addWidget(self.note_edit, 1)
        row.addWidget(self.note_button)
        v.addLayout(row)
        self.note_status = QLabel("")
        self.note_status.setObjectName("noteStatus")
        v.addWidget(self.note_status)
        return w

    def _access_tab(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        row = QHBoxLayout()
        self.voter_edit = QLineEdit()
        self.voter_edit.setObjectName("voterEdit")
        self.voter_edit.setPlaceholderText("識別コード（15桁）")
        self.voter_edit.setMaxLength(15)
        self.voter_edit.returnPressed.connect(self.look_up)
        self.access_button = QPushButton("照会")
        self.access_button.setObjectName("accessButton")
        self.access_button.clicked.connect(self.look_up)
        row.addWidget(QLabel("選挙人"))
        row.addWidget(self.voter_edit, 1)
        row.addWidget(self.access_button)
        v.addLayout(row)
        self.access_status = QLabel("照会した記録も委員会の照会として残ります。")
        self.access_status.setObjectName("accessStatus")
        v.addWidget(self.access_status)
        self.access_views = _table_widget("accessTable")
        v.addWidget(self.access_views, 2)
        self.access_lookups = _table_widget("lookupsTable")
        v.addWidget(self.access_lookups, 1)
        return w

    # -- refresh -----------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """First refresh now, then every ``refresh_s``."""
        self.refresh()
        self.timer.start()

    def refresh(self, *, full: bool = False) -> None:
        """Fetch a snapshot in the background (skipped while one is still on its way); ``full`` asks for every
        section, otherwise the early-voting figures of the last snapshot are kept between their refreshes."""
        if self._refreshing:
            return
        self._refreshing = True
        keep = None
        if not full and self._snapshot is not None and self.refreshes % self._early_every:
            keep = self._snapshot.early
        self._ops.run(
            "committee-refresh",
            self._source.snapshot,
            self._day,
            reuse_early=keep,
            on_done=self._refreshed,
            on_error=self._refresh_failed,
            lane="committee",
        )

    def _refreshed(self, snap: CommitteeSnapshot) -> None:
        self._refreshing = False
        self._snapshot = snap
        self.refreshes += 1
        self.last_error = None
        online = sum(1 for r in snap.stations.rows if r.get("online"))
        kiosks = sum(1 for r in snap.stations.rows if r.get("kiosk_id"))
        open_conflicts = sum(1 for c in snap.duplicates.conflicts if not c.get("notes"))
        self.status.setText(
            f"{snap.facts.committee_name}　更新 {jst_hm(snap.server_time)}（サーバー時刻）　"
            f"端末 {online}/{kiosks} 接続中　未処理の二重交付 {open_conflicts}件"
        )
        self._show_stations(snap)
        self._fill_pickers(snap)
        self._show_turnout()
        fill_table(self.early, _joined(snap.early.tables()))
        refusals, conflicts = snap.duplicates.tables()
        fill_table(self.refusals, refusals, stretch=(5,))
        fill_table(self.conflicts, conflicts, stretch=(5,))
        fill_table(self.voids, snap.voids.table(), stretch=(7,))

    def _refresh_failed(self, exc: BaseException) -> None:
        self._refreshing = False
        text = exc.message_ja if isinstance(exc, CommitteeClientError) else f"更新できませんでした（{exc}）"
        self.last_error = text
        log.warning("committee refresh failed: %s", exc)
        when = datetime.now(UTC).astimezone(JST)
        self.status.setText(f"⚠ {text}　{when:%H:%M:%S}　表示は前回の更新時点のものです")

    def _show_stations(self, snap: CommitteeSnapshot) -> None:
        fill_table(self.stations, snap.stations.table())
        for r, row in enumerate(snap.stations.rows):
            colour = None
            if row.get("package_match") is False or (row.get("kiosk_id") and not row.get("online")):
                colour = OFFLINE_BG
            elif row.get("pending"):
                colour = WARN_BG
            if colour is not None:
                for c in range(self.stations.columnCount()):
                    item = self.stations.item(r, c)
                    if item is not None:
                        item.setBackground(colour)

    def _fill_pickers(self, snap: CommitteeSnapshot) -> None:
        # Keep the committee's choice across refreshes.
        keep_e, keep_s = self.election_pick.currentData(), self.station_pick.currentData()
        for pick, items in (
            (self.election_pick, [(e.name, e.id) for e in snap.facts.elections]),
            (self.station_pick, [("全投票所", None), *((n, sid) for sid, n in snap.facts.stations.items())]),
        ):
            pick.blockSignals(True)
            pick.clear()
            for label, data in items:
                pick.addItem(label, data)
            pick.blockSignals(False)
        for pick, keep in ((self.election_pick, keep_e), (self.station_pick, keep_s)):
            i = pick.findData(keep)
            if i >= 0:
                pick.setCurrentIndex(i)

    def _show_turnout(self) -> None:
        snap = self._snapshot
        if snap is None or not snap.facts.elections:
            return
        election = self.election_pick.currentData() or snap.facts.elections[0].id
        station = self.station_pick.currentData()
        t = snap.turnout
        where = snap.facts.station_name(station) if station else "全投票所"
        self.chart.set_data(
            t.hourly(election, station), f"{snap.facts.election_name(election)}　{where}　{t.day:%m/%d} 時間別投票者数"
        )
        tables = {tb.heading: tb for tb in t.tables()}
        name = snap.facts.election_name(election, short=False)
        fill_table(self.turnout, tables.get(name, Table(name, ("—",), ())))

    # -- actions -----------------------------------------------------------------------------------------------------
    def add_note(self) -> None:
        """Add the typed note to the selected refusal or conflict (in the background), then refresh."""
        note = self.note_edit.text().strip()
        subject, subject_id = self._selected_subject()
        if subject_id is None:
            self.note_status.setText("処理記録を付ける行を選んでください。")
            return
        if not note:
            self.note_status.setText("処理記録を入力してください。")
            return
        self.note_button.setEnabled(False)

        def done(_res: Any) -> None:
            self.note_button.setEnabled(True)
            self.note_edit.clear()
            self.note_status.setText(f"{subject_id}番に処理記録を追加しました。")
            self.refresh()

        self._ops.run(
            "committee-note",
            self._source.add_note,
            subject,
            subject_id,
            note,
            on_done=done,
            on_error=self._failed(self.note_status, lambda: self.note_button.setEnabled(True)),
        )

    def _selected_subject(self) -> tuple[str, int | None]:
        for subject, widget in (("conflict", self.conflicts), ("refusal", self.refusals)):
            rows = widget.selectionModel().selectedRows() if widget.selectionModel() else []
            if rows:
                item = widget.item(rows[0].row(), 0)
                if item is not None and item.text().isdigit():
                    return subject, int(item.text())
        return "conflict", None

    def look_up(self) -> None:
        """Who viewed this voter's record (in the background)."""
        voter = self.voter_edit.text().strip()
        if not re.fullmatch(r"[0-9]{15}", voter):
            self.access_status.setText("識別コードは15桁の数字で入力してください。")
            return
        self.access_button.setEnabled(False)
        self.access_status.setText("照会しています…")

        def done(report: AccessReport) -> None:
            self.access_button.setEnabled(True)
            views, lookups = report.tables()
            fill_table(self.access_views, views, stretch=(4,))
            fill_table(self.access_lookups, lookups)
            self.access_status.setText(
                f"選挙人 {report.voter}：投票所での閲覧 {len(report.views)}件、委員会の照会 {len(report.lookups)}件"
            )

        self._ops.run(
            "committee-access",
            self._source.access,
            voter,
            on_done=done,
            on_error=self._failed(self.access_status, lambda: self.access_button.setEnabled(True)),
        )

    def _failed(self, label: QLabel, restore: Callable[[], None]) -> Callable[[BaseException], None]:
        def show(exc: BaseException) -> None:
            restore()
            label.setText(exc.message_ja if isinstance(exc, CommitteeClientError) else f"失敗しました（{exc}）")

        return show


def _joined(tables: list[Table]) -> Table:
    """Several per-election tables as one: the election's name as the first column."""
    if not tables:
        return Table("", ("—",), ())
    columns = ("選挙", *tables[0].columns)
    rows = tuple((t.heading, *row) for t in tables for row in t.rows)
    return Table("", columns, rows)
