"""Fixtures for the Qt kiosk tests: a sample election, a runtime on the real core with the software card in-process,
and the window + controller under pytest-qt (offscreen)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

JST = timezone(timedelta(hours=9))
PINS = {"m01": "2201", "m02": "1033", "c01": "7364", "c02": "3439"}


@dataclass
class Sample:
    """The generated sample election and the package built from it."""

    dir: Path
    package: Path
    pubkey: Path
    passphrase: str
    personas: dict[str, Path]  # scenario → persona JSON

    def persona(self, scenario: str) -> dict[str, Any]:
        return json.loads(self.personas[scenario].read_text(encoding="utf-8"))


def _build_package(out: Path) -> Path:
    """The real signed, encrypted package (ballots.package), as the committee would hand it over."""
    from ballots.package import build_package

    target = out / "election.pkg"
    passphrase = (out / "passphrase.txt").read_text("utf-8").strip()
    build_package(out / "election.toml", out / "register.csv", out / "committee.key", target, passphrase)
    return target


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """1,000 voters and 8 card personas (plain, new-form name, twins, moved, …).

    Fewer voters leave some persona scenarios unmarked in the generated register (e.g. no 転出 mark at 300)."""
    from ballots.sample import generate_sample

    out = tmp_path_factory.mktemp("sample")
    result = generate_sample(out, 1000, seed=1, personas=8)
    package = _build_package(out)
    personas = {json.loads(p.read_text("utf-8"))["scenario"]: p for p in result.personas}
    return Sample(out, package, out / "committee.pub", (out / "passphrase.txt").read_text("utf-8").strip(), personas)


class Clock:
    """A settable clock (UTC) so a test can be on an early-voting day or election day."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def make_runtime(sample: Sample, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Build a KioskRuntime on the real core: register, ledger, reception, memory printer, software card."""
    from ballots.printing import MemoryPrinter
    from kiosk.app import KioskRuntime
    from kiosk.config import KioskConfig, PrinterKind, ReaderKind
    from reader.service import CardReader
    from reader.softcard import SoftwareCard

    made: list[Any] = []

    def make(
        station: str = "E01",
        when: datetime = datetime(2026, 12, 7, 10, 0, tzinfo=JST),
        persona: str | None = "plain",
        card: Any = None,
        printer: Any = None,
        ledger_name: str = "desk.db",
        server: str | None = None,
        **kw: Any,
    ) -> Any:
        config = KioskConfig(
            package=sample.package, pubkey=sample.pubkey, station=station, ledger=tmp_path / ledger_name,
            reader=ReaderKind.SOFT, soft_card=sample.personas.get(persona or "plain"), printer=PrinterKind.MEMORY,
            server=server,
        )
        soft = None
        if card is None:
            # A card is always on the reader side (the opening check needs a reader); None: nobody uses it.
            soft = SoftwareCard.from_persona(sample.personas[persona or "plain"])
            card = CardReader(soft.connector())
        runtime = KioskRuntime(
            config, card=card, printer=printer or MemoryPrinter(), clock=Clock(when.astimezone(UTC)), **kw
        )
        runtime.soft_card = soft  # type: ignore[attr-defined]
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


class Kiosk:
    """The window and controller under test, with keyboard helpers that wait for the background work."""

    def __init__(self, qtbot: Any, runtime: Any) -> None:
        from kiosk.ui.main import create_kiosk

        self.qtbot = qtbot
        self.runtime = runtime
        _, self.window, self.controller = create_kiosk(runtime)
        qtbot.addWidget(self.window)
        with qtbot.waitActive(self.window):
            self.window.show()
            self.window.activateWindow()

    @property
    def page(self) -> Any:
        return self.window.current_page()

    @property
    def state(self) -> Any:
        return self.controller.state

    def settle(self, timeout: int = 10_000) -> None:
        """Wait until no background operation is running (and its result was delivered)."""
        self.qtbot.waitUntil(lambda: self.controller.ops.busy == 0, timeout=timeout)

    def key(self, key: Any, widget: Any = None, modifier: Any = None) -> None:
        """Press one key on the focused widget (as a person would), then let the work finish."""
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QApplication

        target = widget or QApplication.focusWidget() or self.window
        self.qtbot.keyClick(target, key, modifier or Qt.KeyboardModifier.NoModifier)
        self.settle()

    def type(self, text: str, widget: Any = None) -> None:
        """Type text into the focused widget."""
        from PySide6.QtWidgets import QApplication

        target = widget or QApplication.focusWidget() or self.window
        if text.isascii():
            self.qtbot.keyClicks(target, text)
        else:
            # Japanese arrives through the input method as one committed string, not as key presses
            # (QTest cannot synthesise non-ASCII keys).
            from PySide6.QtGui import QInputMethodEvent

            target.setFocus()
            event = QInputMethodEvent()
            event.setCommitString(text)
            QApplication.sendEvent(target, event)

    def enter(self) -> None:
        from PySide6.QtCore import Qt

        self.key(Qt.Key.Key_Return)

    def unlock(self, passphrase: str) -> None:
        self.type(passphrase)
        self.enter()

    def sign_in(self, staff: str) -> None:
        self.type(staff)
        self.enter()
        self.type(PINS[staff])
        self.enter()

    def open_station(self, test_mode: bool = False) -> None:
        """Opening check: tick the witnesses' box (Space), optionally test mode, then F12."""
        from PySide6.QtCore import Qt

        self.settle()
        self.key(Qt.Key.Key_Space, self.window.opening.witnessed)
        if test_mode:
            self.window.opening.test_mode.setFocus()
            self.key(Qt.Key.Key_Space, self.window.opening.test_mode)
        self.key(Qt.Key.Key_F12)

    def start_day(self, passphrase: str, staff: str = "m01") -> None:
        """Unlock, sign in as a manager, open the station: the ready screen."""
        self.unlock(passphrase)
        self.sign_in(staff)
        self.open_station()

    def collation(self, era_index: int, yymmdd: str, code: str) -> None:
        """F2, then era (combo index), birth YYMMDD, security code, Enter: the card is read in the background."""
        from PySide6.QtCore import Qt

        self.key(Qt.Key.Key_F2)
        self.window.collation.era.setCurrentIndex(era_index)
        self.type(yymmdd, self.window.collation.yymmdd)
        self.key(Qt.Key.Key_Return, self.window.collation.yymmdd)
        self.type(code, self.window.collation.code)
        self.key(Qt.Key.Key_Return, self.window.collation.code)
        self.settle()

    def early_voter_to_ballots(self, code: str) -> None:
        """An early voter: 入場券 scanned, identity confirmed (Enter), 事由 1 — the 宣誓書 is sent to the printer and
        the ballots screen shows."""
        from PySide6.QtCore import Qt

        from kiosk import workflow as wf

        self.type(code + "0007")
        self.enter()
        assert self.state.screen is wf.Screen.CONFIRM_IDENTITY, self.state
        self.enter()
        assert self.state.screen is wf.Screen.CHOOSE_REASON
        self.key(Qt.Key.Key_1)
        assert self.state.screen is wf.Screen.ISSUE and self.page is self.window.ballots, self.state

    def close(self) -> None:
        self.controller.shutdown()


@pytest.fixture
def kiosk(qtbot: Any, make_runtime: Callable[..., Any]) -> Iterator[Callable[..., Kiosk]]:
    """Factory: ``kiosk(station=…, when=…, persona=…)`` → a shown kiosk on the real core."""
    made: list[Kiosk] = []

    def make(**kw: Any) -> Kiosk:
        k = Kiosk(qtbot, make_runtime(**kw))
        made.append(k)
        return k

    yield make
    for k in made:
        k.close()


def _era_input(birth: str) -> tuple[int, str]:
    """(era combo index, YYMMDD) for an ISO birth date, as the clerk would read it off the card."""
    from datetime import date

    from ballots.wareki import ERAS, era_of, era_yymmdd

    d = date.fromisoformat(birth)
    era, _ = era_of(d)
    return [e.name for e in ERAS[:4]].index(era.name), era_yymmdd(d)


@pytest.fixture
def era_input() -> Callable[[str], tuple[int, str]]:
    """The clerk's reading of a birth date: (era combo index, YYMMDD)."""
    return _era_input


@pytest.fixture
def package_opener() -> Callable[[Path, Path, str], Any]:
    """How the runtime opens the package (the real ballots.package.open_package)."""
    from ballots.package import open_package

    return open_package
