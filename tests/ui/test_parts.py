"""Unit tests of the UI's parts: barcode-scanner filter, background operations, entry screens, configuration."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget

from kiosk.config import ConfigError, KioskConfig, PrinterKind, ReaderKind, load_config, validate
from kiosk.ui.ops import BackgroundOps
from kiosk.ui.pages import CollationPage, PinPadPage
from kiosk.ui.scanner import BarcodeScannerFilter

# -- scanner -----------------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def scanner_rig(qtbot: Any) -> Any:
    """A window with a line edit and a plain focusable area, and the filter installed with a fake clock."""
    clock = FakeClock()
    host = QWidget()
    edit = QLineEdit()
    area = QWidget()
    area.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    lay = QVBoxLayout(host)
    lay.addWidget(edit)
    lay.addWidget(area)
    qtbot.addWidget(host)
    with qtbot.waitActive(host):
        host.show()
        host.activateWindow()
    scanner = BarcodeScannerFilter(clock=clock)
    app = QApplication.instance()
    assert app is not None
    app.installEventFilter(scanner)
    seen: list[str] = []
    scanner.scanned.connect(seen.append)
    yield clock, edit, area, seen
    app.removeEventFilter(scanner)


def _type(qtbot: Any, widget: Any, clock: FakeClock, text: str, gap: float) -> None:
    for ch in text:
        clock.t += gap
        qtbot.keyClick(widget, ch)


@pytest.mark.parametrize(
    "text, gap, focus_edit, expected, left_in_edit",
    [
        ("139999000840859", 0.005, False, ["139999000840859"], ""),  # a scan, no field focused
        ("1399990008408590007", 0.005, False, ["1399990008408590007"], ""),  # with the extract number
        ("139999000840859", 0.005, True, ["139999000840859"], ""),  # a scan into a focused field: taken back out
        ("139999000840859", 0.2, True, [], "139999000840859"),  # a person typing: untouched
        ("13999900084085", 0.005, False, [], ""),  # 14 digits: too short for a 識別コード
    ],
)
def test_scanner_table(
    qtbot: Any, scanner_rig: Any, text: str, gap: float, focus_edit: bool, expected: list[str], left_in_edit: str
) -> None:
    clock, edit, area, seen = scanner_rig
    target = edit if focus_edit else area
    target.setFocus()
    _type(qtbot, target, clock, text, gap)
    clock.t += gap
    qtbot.keyClick(target, Qt.Key.Key_Return)
    assert seen == expected
    assert edit.text() == left_in_edit


def test_scanner_digits_after_typed_text_keep_the_text(qtbot: Any, scanner_rig: Any) -> None:
    clock, edit, _area, seen = scanner_rig
    edit.setFocus()
    _type(qtbot, edit, clock, "abc", 0.3)
    _type(qtbot, edit, clock, "139999000840859", 0.004)
    clock.t += 0.004
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert seen == ["139999000840859"] and edit.text() == "abc"


def test_scanner_pause_in_the_middle_is_not_a_scan(qtbot: Any, scanner_rig: Any) -> None:
    clock, _edit, area, seen = scanner_rig
    area.setFocus()
    _type(qtbot, area, clock, "1399990", 0.004)
    clock.t += 1.0
    _type(qtbot, area, clock, "00840859", 0.004)
    qtbot.keyClick(area, Qt.Key.Key_Return)
    assert seen == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(digits=st.text(alphabet="0123456789", min_size=15, max_size=30))
def test_scanner_any_fast_digit_run_is_reported_exactly(qtbot: Any, scanner_rig: Any, digits: str) -> None:
    clock, edit, _area, seen = scanner_rig
    seen.clear()
    edit.clear()
    edit.setFocus()
    _type(qtbot, edit, clock, digits, 0.003)
    clock.t += 0.003
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    clock.t += 5  # the next example starts a fresh burst
    assert seen == [digits] and edit.text() == ""


# -- background operations ------------------------------------------------------------------------------------


def test_ops_deliver_results_and_errors_on_the_ui_thread(qtbot: Any) -> None:
    ops = BackgroundOps()
    ui_thread = threading.current_thread()
    got: list[Any] = []

    def work(x: int) -> tuple[int, bool]:
        return x * 2, threading.current_thread() is ui_thread

    def fail() -> None:
        raise ValueError("boom")

    ops.run("double", work, 21, on_done=lambda r: got.append(("done", r, threading.current_thread() is ui_thread)))
    ops.run("fail", fail, on_error=lambda e: got.append(("error", str(e), threading.current_thread() is ui_thread)))
    qtbot.waitUntil(lambda: len(got) == 2 and ops.busy == 0)
    assert ("done", (42, False), True) in got  # worked off the UI thread, answered on it
    assert ("error", "boom", True) in got
    ops.shutdown()


def test_ops_cancelled_result_is_dropped_and_lanes_keep_order(qtbot: Any) -> None:
    ops = BackgroundOps()
    got: list[int] = []
    gate = threading.Event()
    first = ops.run("first", lambda: gate.wait(5) and 1, on_done=got.append, lane="card")
    ops.run("second", lambda: 2, on_done=got.append, lane="card")
    first.cancel()
    gate.set()
    qtbot.waitUntil(lambda: ops.busy == 0)
    assert got == [2]
    ops.shutdown()


# -- entry screens ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "era_index, yymmdd, code, ok",
    [
        (2, "550217", "2285", date(1980, 2, 17)),  # 昭和55年2月17日
        (1, "010108", "2285", date(1989, 1, 8)),  # 平成元年1月8日, the era's first day
        (1, "010107", "2285", None),  # 平成元年1月7日 was still 昭和
        (2, "550230", "2285", None),  # no 30 February
        (2, "5502", "2285", None),  # too short
        (2, "550217", "228", None),  # security code too short
        (0, "070501", "0001", date(2025, 5, 1)),  # 令和7年
    ],
)
def test_collation_entry_validates_before_reading(
    qtbot: Any, era_index: int, yymmdd: str, code: str, ok: date | None
) -> None:
    page = CollationPage()
    qtbot.addWidget(page)
    got: list[Any] = []
    page.submitted.connect(lambda born, c, expiry: got.append((born, c, expiry)))
    page.enter()
    page.era.setCurrentIndex(era_index)
    page.yymmdd.setText(yymmdd)
    page.code.setText(code)
    page._submit()
    if ok is None:
        assert got == [] and page.error.text()  # a clear message, nothing sent to the card
    else:
        assert got == [(ok, code, "")] and not page.error.isVisibleTo(page)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(era=st.integers(0, 3), yymmdd=st.text(max_size=8), code=st.text(max_size=6))
def test_collation_entry_never_crashes_on_any_input(qtbot: Any, era: int, yymmdd: str, code: str) -> None:
    page = CollationPage()
    got: list[Any] = []
    page.submitted.connect(lambda *a: got.append(a))
    page.era.setCurrentIndex(era)
    page.yymmdd.setText(yymmdd)
    page.code.setText(code)
    page._submit()
    assert bool(got) != bool(page.error.text())
    page.deleteLater()


def test_pin_pad_by_keyboard(qtbot: Any) -> None:
    pad = PinPadPage()
    qtbot.addWidget(pad)
    pins: list[str] = []
    pad.pin_entered.connect(pins.append)
    pad.enter()
    for key in (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_9, Qt.Key.Key_Backspace, Qt.Key.Key_3, Qt.Key.Key_4,
                Qt.Key.Key_5):
        qtbot.keyClick(pad, key)
    assert pad.dots.text() == "● ● ● ●"
    qtbot.keyClick(pad, Qt.Key.Key_Return)
    assert pins == ["1234"] and pad.dots.text() == "○ ○ ○ ○"  # the PIN is not kept on screen
    qtbot.keyClick(pad, Qt.Key.Key_1)
    qtbot.keyClick(pad, Qt.Key.Key_Return)
    assert pins == ["1234"] and pad.error.text()


# -- configuration -----------------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    for name in ("election.pkg", "committee.pub", "persona.json"):
        (tmp_path / name).write_text("x")
    return {"package": tmp_path / "election.pkg", "pubkey": tmp_path / "committee.pub",
            "persona": tmp_path / "persona.json", "dir": tmp_path}


def _config(files: dict[str, Path], **kw: Any) -> KioskConfig:
    base: dict[str, Any] = {"package": files["package"], "pubkey": files["pubkey"], "station": "E01",
                            "ledger": files["dir"] / "desk.db"}
    base.update(kw)
    return KioskConfig(**base)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"package": Path("/nonexistent/x.pkg")}, "package: file not found"),
        ({"station": " "}, "station: must not be empty"),
        ({"ledger": Path("/nonexistent/dir/desk.db")}, "ledger: directory does not exist"),
        ({"server": "http://192.0.2.1:8443"}, "server: expected an https:// URL"),
        ({"server": "https://tally.example:8443"}, "tls_dir: required"),
        ({"reader": ReaderKind.SOFT}, "soft_card: a persona JSON is required"),
        ({"printer": PrinterKind.CUPS}, "printer_queue: required"),
    ],
)
def test_config_errors_name_the_key(files: dict[str, Path], change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate(_config(files, **change))


def test_config_file_and_overrides(files: dict[str, Path]) -> None:
    toml = files["dir"] / "kiosk.toml"
    toml.write_text(
        f'package = "{files["package"]}"\npubkey = "{files["pubkey"]}"\nstation = "D001"\n'
        f'ledger = "{files["dir"] / "desk.db"}"\nprinter = "memory"\n',
        encoding="utf-8",
    )
    config = validate(load_config(toml, {"station": "E01", "soft_card": str(files["persona"])}))
    assert config.station == "E01" and config.printer is PrinterKind.MEMORY
    assert config.reader is ReaderKind.SOFT  # a persona on the command line means the software card
    assert config.effective_kiosk_id == "E01-desk"
    assert config.test_ledger.name == "desk.test.db"


@pytest.mark.parametrize(
    "text, message",
    [
        ('package = 3\n', "package: expected a path string"),
        ('colour = "blue"\n', "unknown key 'colour'"),
        ('printer = "fax"\n', "printer: 'fax' is not one of"),
        ('station = "E01"\n', "package: required"),
        ('station = \n', "cannot read the configuration"),
    ],
)
def test_config_file_errors(tmp_path: Path, text: str, message: str) -> None:
    toml = tmp_path / "kiosk.toml"
    toml.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(toml)


def test_signing_key_is_the_one_the_kiosk_certificate_binds(files: dict[str, Path]) -> None:
    """`pki issue-kiosk` writes ledger.key beside the certificate; the server only accepts events signed with it."""
    tls = files["dir"] / "tls"
    tls.mkdir()
    assert _config(files, tls_dir=tls).effective_key == files["dir"] / "desk.db.key"  # no bound key yet
    (tls / "ledger.key").write_text("x")
    assert _config(files, tls_dir=tls).effective_key == tls / "ledger.key"
    assert _config(files, tls_dir=tls, key=files["dir"] / "mine.key").effective_key == files["dir"] / "mine.key"
