"""The committee's Qt view against the real server (offscreen, or Xvfb via scripts/committee-screenshots.sh):
tables and chart show the seeded figures, refreshes never block the window, notes and access lookups go through,
and every tab is saved as a screenshot (to $UKETSUKE_SCREENSHOTS when set)."""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from committee_support import E_SHO, ELECTION_DAY, Seeded
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage

from kiosk.committee_client import CommitteeClient, CommitteeSnapshot
from kiosk.ui.committee import CommitteeWindow, save_screens
from kiosk.ui.ops import BackgroundOps


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'server.db'}"


class SlowSource:
    """The real client, but every snapshot first waits ``delay_s`` (a server slow to answer)."""

    def __init__(self, client: CommitteeClient, delay_s: float) -> None:
        self.client, self.delay_s = client, delay_s
        self.calls = 0
        self.threads: set[str] = set()
        self.reused: list[bool] = []

    def snapshot(self, day: date | None = None, *, reuse_early: Any = None) -> CommitteeSnapshot:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        self.reused.append(reuse_early is not None)
        time.sleep(self.delay_s)
        return self.client.snapshot(day, reuse_early=reuse_early)

    def access(self, voter: str) -> Any:
        return self.client.access(voter)

    def add_note(self, subject: str, subject_id: int, note: str) -> dict[str, Any]:
        return self.client.add_note(subject, subject_id, note)


@pytest.fixture
def window(qtbot: Any, committee: CommitteeClient) -> Iterator[CommitteeWindow]:
    ops = BackgroundOps()
    w = CommitteeWindow(committee, ops, server_label="test", day=ELECTION_DAY)
    qtbot.addWidget(w)
    w.resize(1280, 860)
    w.show()
    w.refresh()
    qtbot.waitUntil(lambda: w.refreshes == 1, timeout=20000)
    yield w
    w.timer.stop()
    ops.shutdown(wait=True)


def _cell(table: Any, row: int, col: int) -> str:
    item = table.item(row, col)
    assert item is not None, (row, col)
    return str(item.text())


def _column(table: Any, col: int) -> list[str]:
    return [_cell(table, r, col) for r in range(table.rowCount())]


def test_tables_and_chart_show_the_seeded_day(window: CommitteeWindow, committee: CommitteeClient) -> None:
    stations = _column(window.stations, 1)
    assert {"K-E01", "K-D01a", "K-D01b", "K-D02"} <= set(stations) and "（未接続）" in stations
    window.election_pick.setCurrentIndex(window.election_pick.findData(E_SHO))
    window.station_pick.setCurrentIndex(0)  # 全投票所
    t = window.turnout
    headers = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]  # type: ignore[union-attr]
    assert headers[-2:] == ["20:00", "最終"] and "19:30" in headers
    last = {(_cell(t, r, 0), _cell(t, r, 1)): _cell(t, r, headers.index("最終")) for r in range(t.rowCount())}
    assert last[("計", "計")] == "22" and last[("第1投票所", "男")] == "8"
    hours = window.chart._hours  # what is drawn
    assert sum(c.total for c in hours) == 22 and hours[7].total == 3  # 07:05, 07:30 and 08:00 sharp (counted by 08:00)
    assert _column(window.conflicts, 2) == [committee.duplicates().conflicts[0]["voter"]]
    assert "取消" in _column(window.voids, 2) and "管理者判断" in _column(window.voids, 2)


def test_refresh_runs_in_the_background_and_never_overlaps(qtbot: Any, committee: CommitteeClient) -> None:
    source = SlowSource(committee, delay_s=1.0)
    ops = BackgroundOps()
    w = CommitteeWindow(source, ops, day=ELECTION_DAY)
    qtbot.addWidget(w)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    w.refresh()
    w.refresh()  # ignored: one is on its way
    w.refresh()
    qtbot.waitUntil(lambda: w.refreshes == 1, timeout=20000)
    timer.stop()
    ops.shutdown(wait=True)
    assert source.calls == 1
    assert threading.main_thread().name not in source.threads
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 20 and max(gaps) < 0.5  # the event loop kept running during the 1 s wait


def test_a_failed_refresh_keeps_the_last_figures_and_says_why(qtbot: Any, window: CommitteeWindow) -> None:
    class Down:
        def snapshot(self, day: date | None = None, *, reuse_early: Any = None) -> CommitteeSnapshot:
            from kiosk.committee_client import CommitteeClientError

            raise CommitteeClientError("down", "サーバーに接続できません（https://x）")

    rows = window.stations.rowCount()
    window._source = Down()  # type: ignore[assignment]
    window.refresh()
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=10000)
    assert "サーバーに接続できません" in window.status.text() and "前回の更新時点" in window.status.text()
    assert window.stations.rowCount() == rows


def test_a_note_added_in_the_view_is_stored_with_its_author(
    qtbot: Any, window: CommitteeWindow, committee: CommitteeClient
) -> None:
    before = len(committee.duplicates().conflicts[0]["notes"])
    window.conflicts.selectRow(0)
    window.note_edit.setText("画面から記録")
    window.note_button.click()
    qtbot.waitUntil(lambda: window.refreshes >= 2, timeout=20000)
    notes = committee.duplicates().conflicts[0]["notes"]
    assert len(notes) == before + 1 and notes[-1] == {**notes[-1], "note": "画面から記録", "author": "committee-1"}
    assert "画面から記録" in _cell(window.conflicts, 0, 5)


@pytest.mark.parametrize(("text", "message"), [("", "15桁"), ("12345", "15桁"), ("abcdefghijklmno", "15桁")])
def test_access_lookup_refuses_a_malformed_code(window: CommitteeWindow, text: str, message: str) -> None:
    window.voter_edit.setText(text)
    window.look_up()
    assert message in window.access_status.text() and window.access_button.isEnabled()


def test_access_lookup(qtbot: Any, window: CommitteeWindow, seeded: Seeded) -> None:
    window.voter_edit.setText(seeded.viewed_voter)
    window.look_up()
    qtbot.waitUntil(window.access_button.isEnabled, timeout=10000)
    assert _column(window.access_views, 4) == ["本人確認", "検索"]
    assert "閲覧 2件" in window.access_status.text()


def test_screenshots_of_every_tab(committee: CommitteeClient, seeded: Seeded, tmp_path: Path) -> None:
    out = Path(os.environ.get("UKETSUKE_SCREENSHOTS") or tmp_path)
    paths = save_screens(committee, out, server_label="https://127.0.0.1", day=ELECTION_DAY, voter=seeded.viewed_voter)
    assert [p.name for p in paths] == [
        "committee-1-stations.png",
        "committee-2-turnout.png",
        "committee-3-early.png",
        "committee-4-duplicates.png",
        "committee-5-voids.png",
        "committee-6-access.png",
    ]
    for p in paths:
        img = QImage(str(p))
        assert img.width() == 1280 and img.height() == 860
        colours = {img.pixel(x, y) for x in range(0, 1280, 37) for y in range(0, 860, 29)}
        assert len(colours) > 4, f"{p.name} looks blank"


def test_early_figures_are_asked_for_every_few_refreshes_and_on_f5(qtbot: Any, committee: CommitteeClient) -> None:
    source = SlowSource(committee, delay_s=0.0)
    ops = BackgroundOps()
    w = CommitteeWindow(source, ops, day=ELECTION_DAY, early_every=3)
    qtbot.addWidget(w)
    for i in range(1, 5):
        w.refresh()
        qtbot.waitUntil(lambda i=i: w.refreshes == i, timeout=20000)
    w.refresh_button.click()  # F5: everything now
    qtbot.waitUntil(lambda: w.refreshes == 5, timeout=20000)
    ops.shutdown(wait=True)
    assert source.reused == [False, True, True, False, False]
