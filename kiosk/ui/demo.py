"""``uketsuke demo`` with a display: embedded server, sample election, software card with a demo panel, the kiosk.

Entry point: :func:`run_demo_ui` (also exported as ``kiosk.ui.main.run_demo`` for kiosk/cli/demo.py). Everything runs
in one process on loopback: the tally server on SQLite (plain HTTP, demo mode), a freshly generated sample election
whose election day is five days ahead (so early voting is open today at the early-voting stations), the kiosk's
ledger and printed documents in ``out_dir``, and the software card. A small panel places and removes persona cards —
in-process by default, or through vpcd when pcscd with the virtual reader is running (``vpcd=True``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QHBoxLayout, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ballots.rules import JST
from ballots.wareki import format_wareki
from kiosk.app import build_runtime
from kiosk.config import KioskConfig, PrinterKind, ReaderKind
from kiosk.ui.widgets import label, shortcut_button

__all__ = ["DemoCardSlot", "DemoPanel", "run_demo_ui"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoPersona:
    """One persona card the panel can place on the reader."""

    path: Path
    scenario: str
    name: str
    birth: date
    security_code: str
    pin: str


class DemoCardSlot:
    """The software reader of the demo: holds the card placed on it (or none) and reads it like a real reader.

    Satisfies kiosk.app.CardPort. ``on_card(present)`` tells the kiosk (through the Qt bridge) when cards come and go.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._card: Any = None
        self._reader: Any = None
        self.on_card: Callable[[bool], None] = lambda present: None

    def place(self, persona: Path) -> None:
        """Put a persona's card on the reader (a fresh card: PIN counters full)."""
        from reader.service import CardReader
        from reader.softcard import SoftwareCard

        card = SoftwareCard.from_persona(persona)
        with self._lock:
            self._card, self._reader = card, CardReader(card.connector())
        self.on_card(True)

    def remove(self) -> None:
        """Take the card away."""
        with self._lock:
            card, self._card, self._reader = self._card, None, None
        if card is not None:
            card.remove()
        self.on_card(False)

    def _current(self) -> Any:
        with self._lock:
            return self._reader

    def read_with_pin(self, pin: str) -> Any:
        """Path 1 on the placed card (NoCard outcome when nothing is placed)."""
        from reader.outcomes import NoCard

        reader = self._current()
        return NoCard() if reader is None else reader.read_with_pin(pin)

    def read_with_collation(self, birth_date: date, security_code: str, expiry_year: int | None = None) -> Any:
        """Path 2 on the placed card."""
        from reader.outcomes import NoCard

        reader = self._current()
        return NoCard() if reader is None else reader.read_with_collation(birth_date, security_code, expiry_year)


class _VpcdSlot:
    """The same panel, through pcscd + vpcd: the kiosk reads over PC/SC, the panel connects cards to vpcd."""

    def __init__(self) -> None:
        self._card: Any = None
        self.on_card: Callable[[bool], None] = lambda present: None  # the PC/SC monitor reports cards

    def place(self, persona: Path) -> None:
        from reader.softcard import SoftwareCard
        from reader.vpcd import VpcdCard

        self.remove()
        self._card = VpcdCard(SoftwareCard.from_persona(persona))
        self._card.insert()

    def remove(self) -> None:
        if self._card is not None:
            self._card.remove()
            self._card = None


class DemoPanel(QWidget):
    """Place and remove persona cards (↑↓ to choose, Ctrl+1 to place, Ctrl+0 to remove); shows what to type."""

    def __init__(self, personas: list[DemoPersona], slot: Any, staff: dict[str, str]) -> None:
        super().__init__()
        self.setWindowTitle("デモ：カード操作パネル")
        self.slot = slot
        self.personas = personas
        self.list = QListWidget()
        for p in personas:
            item = QListWidgetItem(
                f"{p.name}（{p.scenario}）\n  生年月日 {format_wareki(p.birth)}　セキュリティコード {p.security_code}"
                f"　暗証番号 {p.pin}"
            )
            item.setData(Qt.ItemDataRole.UserRole, str(p.path))
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.status = label("カードは置かれていません", "subtitle")
        place = shortcut_button("カードを置く", "Ctrl+1", self.place_selected, self)
        remove = shortcut_button("カードを外す", "Ctrl+0", self.remove_card, self, "secondary")
        buttons = QHBoxLayout()
        buttons.addWidget(place)
        buttons.addWidget(remove)
        lay = QVBoxLayout(self)
        lay.addWidget(label("デモ用ペルソナのカード", "title"))
        lay.addWidget(self.list, 1)
        lay.addLayout(buttons)
        lay.addWidget(self.status)
        lay.addWidget(label("係員：" + "　".join(f"{sid} / {pin}" for sid, pin in staff.items()), "hint"))
        self.resize(820, 720)

    def place_selected(self) -> None:
        """Place the highlighted persona's card."""
        item = self.list.currentItem()
        if item is None:
            return
        try:
            self.slot.place(Path(item.data(Qt.ItemDataRole.UserRole)))
        except OSError as exc:  # vpcd unreachable: say so on the panel, the kiosk keeps running
            self.status.setText(f"カードを置けません：{exc}")
            return
        self.status.setText(f"置いたカード：{item.text().splitlines()[0]}")

    def remove_card(self) -> None:
        """Remove whatever card is on the reader."""
        self.slot.remove()
        self.status.setText("カードは置かれていません")


def _load_personas(paths: list[Path]) -> list[DemoPersona]:
    out = []
    for path in paths:
        raw = json.loads(path.read_text(encoding="utf-8"))
        out.append(
            DemoPersona(
                path=path,
                scenario=str(raw.get("scenario", "")),
                name=raw["name"],
                birth=date.fromisoformat(raw["birth_date"]),
                security_code=raw["security_code"],
                pin=raw["pin"],
            )
        )
    return out


def _vpcd_available() -> bool:
    """pcscd runs with a vpcd virtual reader (then the demo can go through PC/SC like a real desk)."""
    if not Path("/run/pcscd/pcscd.comm").exists():
        return False
    try:
        from reader.pcsc import list_readers

        return any("virtual" in r.lower() or "vpcd" in r.lower() for r in list_readers())
    except Exception:  # no pcscd, no pyscard: in-process card
        return False


def run_demo_ui(
    out_dir: str | Path,
    *,
    voters: int = 2000,
    seed: int = 1,
    station: str = "E01",
    vpcd: bool | None = None,
    passphrase_prompt: bool = False,
) -> int:
    """Run the demo until the kiosk window is closed; returns the exit code.

    ``vpcd`` None: through vpcd when pcscd with a virtual reader runs, else in-process. ``passphrase_prompt``: make
    the person type the package passphrase (else the demo unlocks the package itself).
    """
    from ballots.package import build_package, open_package
    from ballots.printing import FilePrinter
    from ballots.sample import generate_sample
    from kiosk.ui.main import create_kiosk

    app = QApplication.instance() or QApplication(["uketsuke-demo"])
    assert isinstance(app, QApplication)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    today = datetime.now(UTC).astimezone(JST).date()
    # Election day five days ahead: every election's early voting (国民審査 and the 市長選挙 start later) is open.
    sample = generate_sample(out / "sample", voters, seed=seed, personas=12, election_day=today + timedelta(days=5))
    files = sample.to_dict()["files"]
    passphrase = Path(files["passphrase"]).read_text("utf-8").strip()
    package_path = out / "election.pkg"
    build_package(files["election"], files["register"], files["private_key"], package_path, passphrase)
    server = None
    try:
        from sync.server.runner import start_embedded

        served = open_package(package_path, Path(files["public_key"]), passphrase)
        server = start_embedded(served, f"sqlite:///{(out / 'server.db').resolve()}", host="127.0.0.1", port=0)
    except Exception as exc:  # the demo still shows the reception without a server, and says so
        log.warning("embedded server not started: %s", exc)
    use_vpcd = _vpcd_available() if vpcd is None else vpcd
    slot: Any = _VpcdSlot() if use_vpcd else DemoCardSlot()
    config = KioskConfig(
        package=package_path,
        pubkey=Path(files["public_key"]),
        station=station,
        ledger=out / f"kiosk-{station}.db",
        server=server.url if server is not None else None,
        reader=ReaderKind.PCSC if use_vpcd else ReaderKind.SOFT,
        soft_card=sample.personas[0] if sample.personas else None,
        printer=PrinterKind.FILE,
        printer_dir=out / "prints",
    )
    (out / "prints").mkdir(exist_ok=True)
    runtime = build_runtime(config, printer=FilePrinter(out / "prints"), card=None if use_vpcd else slot)
    _, window, controller = create_kiosk(runtime, app)
    if not use_vpcd:
        slot.on_card = controller.bridge.on_card
    panel = DemoPanel(_load_personas(sample.personas), slot, sample.staff_pins)
    controller.closed.connect(app.quit)  # the panel alone does not keep the demo running
    window.show()
    panel.show()
    # Side by side where the screen allows: without a window manager (or with a naive one) both would open at the
    # top-left corner and the panel would hide the kiosk.
    screen = window.screen().availableGeometry()
    right = window.frameGeometry().right() + 8
    if right + panel.width() <= screen.right():
        panel.move(right, window.frameGeometry().top())
    else:
        panel.move(screen.right() - panel.width(), screen.bottom() - panel.height())
    if not passphrase_prompt:
        controller.unlock(passphrase)
    try:
        return int(app.exec())
    finally:
        slot.remove()
        panel.close()
        if server is not None:
            server.stop()
