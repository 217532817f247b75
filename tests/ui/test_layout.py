"""Geometry of the kiosk at the desks' window sizes: nothing cut off, nothing drawn over anything else.

The status bar keeps every field readable at 1024 and 1280 px (whole, or shortened with "…" and the whole text in its
tooltip); on the voter screen after a PIN read — four elections, each a wrapped "already voted" line — every label
gets its full heightForWidth and no two labels overlap.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import combinations
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from kiosk import workflow as wf
from kiosk.app import SyncSnapshot
from kiosk.ui.statusbar import FieldRowsLayout, StatusField
from kiosk.ui.style import apply_style
from kiosk.ui.window import KioskWindow

JST = timezone(timedelta(hours=9))
SINCE = datetime(2026, 12, 7, 9, 58, tzinfo=JST)
LONG_QUEUE = "接続できません（キュー Brother_HL-L2375DW_series_期日前投票所_本庁舎2階_受付用予備機_" + "x" * 90 + "）"


def _rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    """``widget``'s rectangle in ``ancestor``'s coordinates."""
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


def _window(qtbot: Any, width: int, height: int = 800) -> KioskWindow:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_style(app)  # the kiosk's style sheet: 17 px status fields, bold when bad
    window = KioskWindow()
    qtbot.addWidget(window)
    window.allow_close()
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    return window


def _set_status(window: KioskWindow, server: str, printer: str) -> None:
    """The fields as the controller sets them (kiosk/ui/controller.py), in the longest realistic forms."""
    status = window.status
    status._now = lambda: datetime(2026, 12, 7, 10, 5, tzinfo=JST)
    status.set_reader("ソフトウェアカード", ok=True)
    status.set_printer(printer, ok=printer == "memory")
    status.set_package("f198957a4476")
    status.set_staff("m01", "投票管理者")
    if server == "online":
        status.set_server(True)
        status.set_skew(timedelta(milliseconds=120))
    elif server == "offline":
        status.set_server(False, SINCE, pending=4)
        status.set_skew(timedelta(seconds=-45.5))  # the last known skew, flagged: over 30 s
    else:
        status.set_server(None)
        status.set_skew(None)


def _check_fields(window: KioskWindow) -> list[StatusField]:
    """Every field is inside the window, apart from the others, and readable: returns the ones shown shortened."""
    status = window.status
    window_rect = window.rect()
    assert window_rect.contains(_rect_in(status, window)), "the status bar is cut off at the window's edge"
    elided: list[StatusField] = []
    rects: dict[str, QRect] = {}
    for key, field in status.fields.items():
        assert field.isVisible(), key
        rect = _rect_in(field, window)
        assert window_rect.contains(rect), f"{key}: {rect} leaves the window {window_rect}"
        assert _rect_in(status, window).contains(rect), f"{key}: {rect} leaves the status bar"
        width = field.contentsRect().width()
        metrics = field.fontMetrics()
        if metrics.horizontalAdvance(field.text()) <= width:
            assert field.shown_text() == field.text() and field.toolTip() == "", key
        else:
            shown = field.shown_text()
            assert shown.endswith("…") and metrics.horizontalAdvance(shown) <= width, (key, shown, width)
            assert field.toolTip() == field.text(), f"{key}: shortened without the whole text in its tooltip"
            elided.append(field)
        rects[key] = rect
    for (a, ra), (b, rb) in combinations(rects.items(), 2):
        assert not ra.intersects(rb), f"status fields {a} {ra} and {b} {rb} overlap"
    return elided


@pytest.mark.parametrize("width", [1024, 1280])
@pytest.mark.parametrize("server", ["online", "offline", "standalone"])
def test_status_bar_fields_whole_at_desk_widths(qtbot: Any, width: int, server: str) -> None:
    window = _window(qtbot, width)
    _set_status(window, server, "memory")
    qtbot.wait(20)  # one layout pass after the texts changed
    assert window.width() == width  # the fields did not force a wider window
    assert _check_fields(window) == [], "a field was shortened although there is room for every field"


@pytest.mark.parametrize("width", [1024, 1280])
def test_status_bar_shortens_a_field_longer_than_a_row_and_says_it_whole_in_its_tooltip(qtbot: Any, width: int) -> None:
    window = _window(qtbot, width)
    _set_status(window, "offline", LONG_QUEUE)
    qtbot.wait(20)
    assert window.width() == width
    assert [f.text() for f in _check_fields(window)] == [f"プリンター：{LONG_QUEUE}"]
    # The state itself is still whole where the program reads it.
    assert window.status.fields["printer"].text().endswith("x）")


def test_status_bar_back_to_one_row_when_the_text_gets_shorter(qtbot: Any) -> None:
    window = _window(qtbot, 1024)
    _set_status(window, "offline", "memory")
    qtbot.wait(20)
    two_rows = window.status.height()
    assert len(window.status.field_rows.rows(window.status.field_area.width())) == 2
    window.resize(1600, 800)
    qtbot.waitUntil(lambda: len(window.status.field_rows.rows(window.status.field_area.width())) == 1)
    qtbot.waitUntil(lambda: window.status.height() < two_rows)
    assert _check_fields(window) == []


@pytest.mark.parametrize(
    "widths, available, expected",
    [
        ([100, 100, 100], 400, [3]),  # 320 px with the spacing: one row
        ([100, 100, 100], 319, [2, 1]),
        ([200, 200, 200, 200, 200, 200], 1280, [6]),  # 1270
        ([200, 200, 200, 200, 200, 200], 1024, [3, 3]),  # even rows, not 4 + 2
        ([221, 170, 365, 172, 80, 205], 1260, [3, 3]),  # the offline status bar: 1263 px needed
        ([200, 200, 200, 200, 200, 200], 420, [2, 2, 2]),
        ([900, 50, 50], 600, [1, 2]),  # a field wider than the row keeps a row of its own (and elides)
        ([], 1000, []),
    ],
)
def test_field_rows_fewest_rows_then_evenest(
    qtbot: Any, widths: list[int], available: int, expected: list[int]
) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    rows_layout = FieldRowsLayout(host, spacing=10)
    for w in widths:
        child = QWidget()
        child.setFixedSize(w, 20)
        rows_layout.addWidget(child)
    rows = rows_layout.rows(available)
    assert [len(r) for r in rows] == expected
    assert rows_layout.heightForWidth(available) == 20 * len(expected) + 2 * max(0, len(expected) - 1)


# -- the voter screen ----------------------------------------------------------------------------------------------


def _visible_labels(page: QWidget) -> list[QLabel]:
    return [lab for lab in page.findChildren(QLabel) if lab.isVisible() and (lab.text() or lab.pixmap())]


@pytest.mark.parametrize(
    "size, server, must_fit, record_rows",
    [
        ((1280, 800), "online", True, 3),  # the usual desk: everything at once, no scrolling
        ((1280, 800), "offline", True, 3),  # the status bar on two rows takes height from the page
        ((1024, 768), "offline", False, 4),  # smaller than designed for: the record may scroll, never overlap
    ],
)
def test_voter_screen_after_pin_read_wrapped_lines_get_their_height(
    kiosk: Any, sample: Any, size: tuple[int, int], server: str, must_fit: bool, record_rows: int
) -> None:
    k = kiosk(station="E01", when=datetime(2026, 12, 7, 10, 5, tzinfo=JST), persona="plain")
    k.window.resize(*size)
    k.start_day(sample.passphrase)
    if server == "online":
        k.controller.bridge.on_sync(SyncSnapshot(online=True, pending=0, skew=timedelta(milliseconds=120)))
    else:
        k.controller.bridge.on_sync(SyncSnapshot(online=False, since=SINCE, pending=4))
    k.settle()
    p = sample.persona("plain")
    # She votes (入場券, reason, ballots), then comes back: the clerk reads her card by PIN.
    k.type(p["register_code"])
    k.enter()
    k.enter()
    k.key(Qt.Key.Key_1)
    k.enter()
    k.key(Qt.Key.Key_F3)
    k.type(p["pin"])
    k.enter()
    assert k.state.identity == wf.IDENTITY_CARD_PIN_NO_PHOTO
    page = k.window.voter
    assert k.page is page
    if server == "offline":
        # A real reader's long name as well: with the offline banner, the two-row status bar takes the most height.
        k.window.status.set_reader("ACS ACR39U ICC Reader 00 00", ok=True)
        k.qtbot.waitUntil(lambda: k.window.status.height() > k.window.status.fields["staff"].height() * 2)
        assert k.window.offline_banner.isVisible()
    k.qtbot.wait(20)  # one layout pass at this size
    assert (k.window.width(), k.window.height()) == size  # the page did not force a bigger window

    lines = page.election_labels
    assert len(lines) == 4 and all("投票済み" in lab.text() for lab in lines)
    assert all(lab.heightForWidth(lab.width()) > lab.fontMetrics().height() * 3 // 2 for lab in lines), "not wrapped"
    assert len({field.y() for field in page.fields.values()}) == record_rows  # pairs side by side where they fit
    for key in ("birth", "sex", "precinct", "register"):  # short values: never broken over lines to fit a pair
        field = page.fields[key]
        assert field.heightForWidth(field.width()) < 2 * field.fontMetrics().lineSpacing(), (key, field.text())
    labels = _visible_labels(page)
    rects = {id(lab): _rect_in(lab, page) for lab in labels}
    for lab in labels:
        if lab.wordWrap():
            assert lab.height() >= lab.heightForWidth(lab.width()), f"{lab.text()[:20]!r} squeezed: {lab.height()}"
        else:
            assert lab.height() >= lab.minimumSizeHint().height(), lab.text()[:20]
    for a, b in combinations(labels, 2):
        ra, rb = rects[id(a)], rects[id(b)]
        assert not ra.intersects(rb), f"{a.text()[:15]!r} {ra} overlaps {b.text()[:15]!r} {rb}"

    viewport = _rect_in(page.record_area.viewport(), page)
    outside = [
        lab.text()[:15] for lab in labels if lab.parentWidget() is not page and not viewport.contains(rects[id(lab)])
    ]
    if must_fit:
        assert outside == [] and not page.record_area.verticalScrollBar().isVisible()
    else:
        # Whatever does not fit is reachable, the scroll bar says so, and PageDown (keyboard only) brings it in.
        bar = page.record_area.verticalScrollBar()
        assert outside and bar.isVisible()
        # The bar is plain to see: the style sheet's width, a navy handle on a grey trough (not a faint sliver).
        assert bar.width() >= 18
        image = bar.grab().toImage()
        seen = {image.pixelColor(x, y).name() for x in range(0, image.width(), 3) for y in range(0, image.height(), 7)}
        assert {"#0b2e59", "#e8e8e8"} <= seen, seen
        last = lines[-1]
        for _ in range(5):
            if viewport.contains(_rect_in(last, page)):
                break
            k.key(Qt.Key.Key_PageDown, page)
        assert viewport.contains(_rect_in(last, page)), "PageDown did not bring the last election into view"
        k.key(Qt.Key.Key_PageUp, page)
        k.key(Qt.Key.Key_PageUp, page)
        assert viewport.contains(_rect_in(page.name, page))
    # The title, the note and the buttons are never scrolled away.
    for widget in (page.note, page.confirm_button, page.reject_button, page.cancel_button):
        assert page.rect().contains(_rect_in(widget, page)), widget
