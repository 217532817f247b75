"""The UI thread never waits on the card, the network or the printer.

Deliberately slow fakes (each call sleeps SLOW seconds) stand in for the card reader, the tally server's claim and
the printer. While a whole reception runs through them, a 10 ms timer on the UI thread records when it fires; the
longest gap between ticks must stay far below SLOW — had any of those calls run on the UI thread, one gap would be
at least SLOW long. (A structural check, not a performance figure: bench/ui_latency.py measures the figures.)
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from PySide6.QtCore import Qt

from ballots.printing import MemoryPrinter
from kiosk import workflow as wf
from kiosk.ui.stallmeter import TickRecorder

JST = timezone(timedelta(hours=9))
SLOW = 1.0


class SlowCard:
    """A card reader whose every read takes SLOW seconds (then reads the real software card)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def read_with_pin(self, pin: str) -> Any:
        self.calls += 1
        time.sleep(SLOW)
        return self.inner.read_with_pin(pin)

    def read_with_collation(self, birth_date: Any, security_code: str, expiry_year: int | None = None) -> Any:
        self.calls += 1
        time.sleep(SLOW)
        return self.inner.read_with_collation(birth_date, security_code, expiry_year)


class SlowPrinter(MemoryPrinter):
    """A printer that takes SLOW seconds per job."""

    def print_pdf(self, pdf: bytes, title: str, copies: int = 1) -> Any:
        time.sleep(SLOW)
        return super().print_pdf(pdf, title, copies)


class SlowServer:
    """A sync client whose claim takes SLOW seconds and accepts (the background threads do nothing)."""

    def __init__(self) -> None:
        self.claims = 0
        self.observers: list[Any] = []

    def claim(self, check_in: Any) -> Any:
        from sync.client import ClaimOutcome

        self.claims += 1
        time.sleep(SLOW)
        return ClaimOutcome("accepted", rtt_ms=SLOW * 1000)

    def add_observer(self, fn: Any) -> None:
        self.observers.append(fn)

    def state(self) -> Any:
        from sync.client import SyncState

        return SyncState(online=True, since=None, pending=0, last_contact=None, replica_cursor=None,
                         replica_updated_at=None, clock_skew_ms=12.0, clock_warning=False, last_error=None)

    def start(self) -> None:
        """No threads: the fake only answers claims."""

    def stop(self) -> None:
        """Nothing to stop."""

    def notify_appended(self) -> None:
        """The real client wakes its pusher here."""


def test_event_loop_stays_responsive_with_slow_card_network_and_printer(
    kiosk: Any, sample: Any, era_input: Any
) -> None:
    from reader.service import CardReader
    from reader.softcard import SoftwareCard

    server = SlowServer()
    card = SlowCard(CardReader(SoftwareCard.from_persona(sample.personas["plain"]).connector()))
    printer = SlowPrinter()
    k = kiosk(station="E01", when=datetime(2026, 12, 7, 10, 0, tzinfo=JST), card=card, printer=printer,
              sync_factory=lambda ledger, package_hash, definition: server)
    k.start_day(sample.passphrase)
    p = sample.persona("plain")
    era, yymmdd = era_input(p["birth_date"])
    with TickRecorder() as ticks:
        started = time.perf_counter()
        k.collation(era, yymmdd, p["security_code"])  # slow card
        assert k.state.screen is wf.Screen.CONFIRM_IDENTITY
        k.enter()
        k.key(Qt.Key.Key_1)  # slow claims (one per election) and the slow 宣誓書 print
        assert k.state.screen is wf.Screen.ISSUE
        k.enter()
        k.key(Qt.Key.Key_R, modifier=Qt.KeyboardModifier.ControlModifier)  # slow report print
        elapsed = time.perf_counter() - started
    assert card.calls == 1 and server.claims == 4 and len(printer.jobs) == 2
    assert elapsed >= 6 * SLOW  # the slow work really happened while we watched
    assert len(ticks.ticks) > 100
    assert ticks.longest_gap < SLOW / 2, f"UI thread stalled {ticks.longest_gap:.3f} s"


def test_a_second_enter_while_recording_is_not_recorded_twice(kiosk: Any, sample: Any) -> None:
    """While the desk is busy (slow claim), further keys for the voter are ignored, never queued."""
    server = SlowServer()
    k = kiosk(station="E01", when=datetime(2026, 12, 7, 10, 0, tzinfo=JST), persona=None,
              sync_factory=lambda ledger, package_hash, definition: server)
    k.start_day(sample.passphrase)
    k.type(sample.persona("plain")["register_code"])
    k.enter()
    k.enter()
    assert k.state.screen is wf.Screen.CHOOSE_REASON
    k.qtbot.keyClick(k.window.reason, Qt.Key.Key_1)  # starts the slow claims
    k.qtbot.keyClick(k.window.reason, Qt.Key.Key_1)  # pressed again while busy: dropped
    k.settle()
    from ballots.events import EventType

    declarations = [e for e in k.runtime._need().ledger.events() if e.type is EventType.DECLARATION]
    assert len(declarations) == 1
