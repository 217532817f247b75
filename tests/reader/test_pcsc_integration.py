"""Through the real stack: pyscard → pcscd → vsmartcard vpcd → our software card over TCP 127.0.0.1:35963.

One virtual reader and one vpcd port are shared, so every test here runs in this one module, one after another,
each with its own card put in and taken out by the ``inserted`` helper.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from reader.outcomes import (
    CardRead,
    CardRemoved,
    NotMyNumberCard,
    ReaderBusy,
    SecretBlocked,
    SecretKind,
    WrongSecret,
)
from reader.pcsc import EventKind, MonitorEvent, PcscConnector, PcscMonitor, list_readers
from reader.profiles.gen1 import AID_TEXT
from reader.service import CardReader
from reader.softcard import ATR, SoftwareCard
from reader.vpcd import VpcdCard

pytestmark = pytest.mark.pcscd

READER = "Virtual PCD 00 00"  # vpcd's first slot, fed from port 35963
VPCD_POLL_S = 0.4  # how often pcscd polls vpcd for card presence
BIRTH = date(1980, 2, 17)
REPO = Path(__file__).resolve().parents[2]


class Watcher:
    """Collects monitor events and waits for a card state in our reader."""

    def __init__(self) -> None:
        self.events: list[MonitorEvent] = []
        self.changed = threading.Condition()
        self.monitor = PcscMonitor(self._on_event, poll_ms=100)

    def _on_event(self, event: MonitorEvent) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def card_present(self) -> bool | None:
        state = None
        for e in self.events:
            if e.reader == READER and e.kind is EventKind.CARD_INSERTED:
                state = True
            elif e.reader == READER and e.kind is EventKind.CARD_REMOVED:
                state = False
        return state

    def wait_card(self, present: bool, timeout: float = 5.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.card_present() is present, timeout), (
                f"pcscd did not see the card {'inserted' if present else 'removed'} within {timeout} s"
            )


@pytest.fixture(scope="module")
def watcher(pcscd_running: None) -> Iterator[Watcher]:
    """A PcscMonitor running for the whole module."""
    w = Watcher()
    w.monitor.start()
    deadline = time.monotonic() + 5
    while READER not in {e.reader for e in w.events} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(e.kind is EventKind.READER_ADDED and e.reader == READER for e in w.events)
    yield w
    w.monitor.stop()


@pytest.fixture
def inserted(watcher: Watcher) -> Callable[[SoftwareCard], Iterator[VpcdCard]]:
    """Context manager: the card in the virtual reader, seen by pcscd; taken out afterwards."""

    @contextmanager
    def put(card: SoftwareCard) -> Iterator[VpcdCard]:
        link = VpcdCard(card)
        link.insert()
        try:
            watcher.wait_card(True)
            yield link
        finally:
            link.remove()
            watcher.wait_card(False)

    return put  # type: ignore[return-value]


def reader() -> CardReader:
    return CardReader(PcscConnector(READER))


def test_reader_listed_and_card_insert_seen_with_its_atr(
    watcher: Watcher, inserted: Callable[[SoftwareCard], Iterator[VpcdCard]], persona_path: Path
) -> None:
    assert READER in list_readers()
    with inserted(SoftwareCard.from_persona(persona_path)):  # type: ignore[attr-defined]
        insert = [e for e in watcher.events if e.kind is EventKind.CARD_INSERTED and e.reader == READER][-1]
        assert insert.atr == ATR


def test_both_paths_and_unpower_after_each_voter(
    inserted: Callable[[SoftwareCard], Iterator[VpcdCard]], persona_path: Path
) -> None:
    card = SoftwareCard.from_persona(persona_path)
    with inserted(card):  # type: ignore[attr-defined]
        one = reader().read_with_pin("1234")
        assert isinstance(one, CardRead) and one.info.name == "髙橋　太郎"
        deadline = time.monotonic() + 2
        while card.powered and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not card.powered, "the card was not unpowered after the voter"
        two = reader().read_with_collation(BIRTH, "2285")
        assert isinstance(two, CardRead) and two.info == one.info
        assert two.photo is not None and two.photo.size == (48, 60)
        with reader().session() as s:
            first = s.read_with_pin("1234")
            assert isinstance(first, CardRead)
            # Exclusive while reading: nobody else gets the card.
            assert reader().read_with_pin("1234") == ReaderBusy()
            photo = s.read_photo(first.info.birth_date, "2285")
            assert photo.ok


def test_wrong_pin_decrements_and_finally_blocks(
    inserted: Callable[[SoftwareCard], Iterator[VpcdCard]], persona_path: Path
) -> None:
    card = SoftwareCard.from_persona(persona_path)
    with inserted(card):  # type: ignore[attr-defined]
        assert reader().read_with_pin("0000") == WrongSecret(SecretKind.PIN, 2)
        assert reader().read_with_pin("0000") == WrongSecret(SecretKind.PIN, 1)
        assert reader().read_with_pin("0000") == SecretBlocked(SecretKind.PIN)
        assert reader().read_with_pin("1234") == SecretBlocked(SecretKind.PIN)
        assert card.tries_left(AID_TEXT, 0x0011) == 0


def test_card_removed_mid_read(
    watcher: Watcher, inserted: Callable[[SoftwareCard], Iterator[VpcdCard]], persona_path: Path
) -> None:
    card = SoftwareCard.from_persona(persona_path)
    with inserted(card) as link:  # type: ignore[attr-defined]
        link.remove_after = 12  # inside the photo's READ BINARY run
        assert reader().read_with_collation(BIRTH, "2285") == CardRemoved()
        watcher.wait_card(False)
        # That removal event came from the failed transmit. pcscd's own presence poll (every 0.4 s for vpcd) must
        # also see the reader empty, or it takes a quick re-insert for the same card and never powers it up; a
        # hand taking a card away and back is slower than this anyway.
        time.sleep(2.5 * VPCD_POLL_S)
        link.insert()
        watcher.wait_card(True)
        assert isinstance(reader().read_with_pin("1234"), CardRead)


def test_not_a_my_number_card(inserted: Callable[[SoftwareCard], Iterator[VpcdCard]]) -> None:
    with inserted(SoftwareCard.not_my_number()):  # type: ignore[attr-defined]
        assert reader().read_with_pin("1234") == NotMyNumberCard()


def test_cli_read_both_paths(
    inserted: Callable[[SoftwareCard], Iterator[VpcdCard]], persona_path: Path, tmp_path: Path
) -> None:
    with inserted(SoftwareCard.from_persona(persona_path)):  # type: ignore[attr-defined]
        base = [sys.executable, "-m", "kiosk", "card", "read", "--reader", READER]
        out = subprocess.run([*base, "--pin", "--json"], input="1234\n", capture_output=True, text=True, cwd=REPO)
        assert out.returncode == 0, out.stderr
        assert '"birth_date": "1980-02-17"' in out.stdout
        photo = tmp_path / "face.png"
        out = subprocess.run(
            [*base, "--collation-b", "--photo-out", str(photo)],
            input="55021720302285\n",
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert out.returncode == 0, out.stderr
        assert "昭和55年2月17日" in out.stdout and photo.stat().st_size > 0
        out = subprocess.run([*base, "--pin"], input="9999\n", capture_output=True, text=True, cwd=REPO)
        assert out.returncode == 1 and "残り2回" in out.stderr


def test_cli_emulate_inserts_and_removes_on_command(watcher: Watcher, persona_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "card", "emulate", "--persona", str(persona_path), "--removed"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("insert\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "inserted"
        watcher.wait_card(True)
        assert isinstance(reader().read_with_pin("1234"), CardRead)
        proc.stdin.write("remove\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "removed"
        watcher.wait_card(False)
        time.sleep(2.5 * VPCD_POLL_S)  # out long enough for pcscd's poll, as a hand would be
        proc.send_signal(signal.SIGUSR1)
        assert proc.stdout.readline().strip() == "inserted"
        watcher.wait_card(True)
        proc.send_signal(signal.SIGUSR2)
        assert proc.stdout.readline().strip() == "removed"
        watcher.wait_card(False)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_pcscd_not_running(persona_path: Path) -> None:
    """Point libpcsclite at a socket that does not exist (the shared pcscd keeps running)."""
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(persona_path.parent / "no-pcscd.comm")}
    code = (
        "from reader.pcsc import PcscConnector\n"
        "from reader.service import CardReader\n"
        "print(type(CardReader(PcscConnector()).read_with_pin('1234')).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ServiceUnavailable"
    cli = subprocess.run(
        [sys.executable, "-m", "kiosk", "card", "read", "--pin", "--json"],
        input="1234\n",
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert cli.returncode == 1
    assert "pcscd" in cli.stderr and "管理者に連絡してください" in cli.stderr


def test_monitor_reports_service_lost_without_pcscd(persona_path: Path) -> None:
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(persona_path.parent / "no-pcscd.comm")}
    code = (
        "import threading\n"
        "from reader.pcsc import PcscMonitor\n"
        "seen = threading.Event(); kinds = []\n"
        "m = PcscMonitor(lambda e: (kinds.append(e.kind.value), seen.set()), poll_ms=100)\n"
        "m.start(); seen.wait(5); m.stop(); print(kinds[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "service-lost", out.stderr
