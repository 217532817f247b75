"""Start the Qt kiosk: application, style, window, controller; the runtime comes from the composition root."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import QApplication

from kiosk.app import KioskRuntime, build_runtime
from kiosk.config import KioskConfig, PrinterKind
from kiosk.ui.controller import KioskController
from kiosk.ui.style import apply_style
from kiosk.ui.window import KioskWindow

__all__ = ["create_kiosk", "run_demo", "run_kiosk"]

log = logging.getLogger(__name__)

def _qt_printer(name: str | None) -> Any:
    """The QPrinter backend (kiosk/ui/qt_printer.py), for ``printer = "qt"``; ``name`` (``--printer-queue``) picks
    a system printer, else the default one."""
    from kiosk.ui import qt_printer

    return qt_printer.QtPrinter(printer_name=name)


def create_kiosk(
    runtime: KioskRuntime, app: QApplication | None = None
) -> tuple[QApplication, KioskWindow, KioskController]:
    """Build the window and controller on an existing (or new) QApplication; the caller shows and runs it."""
    qapp = app or QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(qapp, QApplication)
    apply_style(qapp)
    window = KioskWindow()
    controller = KioskController(window, runtime)
    window.errors.install_excepthook()
    controller.start()
    return qapp, window, controller


def run_kiosk(config: KioskConfig, *, passphrase: str | None = None, argv: Sequence[str] | None = None) -> int:
    """Run the kiosk until the window is closed; returns the exit code."""
    app = QApplication(list(argv or sys.argv[:1]))
    printer = _qt_printer(config.printer_queue) if config.printer is PrinterKind.QT else None
    runtime = build_runtime(config, printer=printer)
    _, window, controller = create_kiosk(runtime, app)
    if config.fullscreen:
        window.showFullScreen()
    else:
        window.show()
    if passphrase is not None:
        controller.unlock(passphrase)
    return int(app.exec())


def run_demo(out_dir: Any, *, voters: int = 2000, seed: int = 1) -> int:
    """``uketsuke demo`` with a display (the hook kiosk/cli/demo.py looks for): see kiosk.ui.demo.run_demo_ui."""
    from kiosk.ui.demo import run_demo_ui

    return run_demo_ui(out_dir, voters=voters, seed=seed)
