"""``uketsuke kiosk``: start the reception app (Qt) for one desk of one station."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kiosk.cli import CommandError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``kiosk`` command."""
    p = subparsers.add_parser(
        "kiosk",
        help="run the reception app (Qt) at a polling-station desk",
        description="Start the kiosk: open the election package, sign in, opening check, then receive voters.",
    )
    p.add_argument("--config", type=Path, help="kiosk.toml with the same keys as these options")
    p.add_argument("--package", type=Path, help="election package file")
    p.add_argument("--pubkey", type=Path, help="the committee's public key (PEM)")
    p.add_argument("--station", help="station id from the package (e.g. E01)")
    p.add_argument("--ledger", type=Path, help="this desk's ledger database (created on first start)")
    p.add_argument("--kiosk-id", help="kiosk id for the ledger and the server (default: STATION-LEDGERNAME)")
    p.add_argument("--key", type=Path, help="kiosk signing key (PEM; default LEDGER.key, created if missing)")
    p.add_argument("--passphrase-file", type=Path, help="read the package passphrase from this file")
    p.add_argument("--server", help="tally server URL (https://…); without it the desk runs standalone")
    p.add_argument("--tls-dir", type=Path, help="kiosk certificate, key and committee CA for mTLS")
    reader = p.add_mutually_exclusive_group()
    reader.add_argument("--reader", dest="reader_name", help="PC/SC reader name (default: the first reader)")
    reader.add_argument("--soft-card", type=Path, help="use the in-process software card of this persona JSON")
    p.add_argument("--printer", choices=["cups", "qt", "file", "memory"], help="document printer backend")
    p.add_argument("--printer-queue", help="CUPS queue (with --printer cups)")
    p.add_argument("--printer-dir", type=Path, help="directory for --printer file")
    p.add_argument("--fullscreen", action="store_true", default=None, help="full screen (the desk terminal)")
    p.set_defaults(func=run)


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))


def run(args: argparse.Namespace) -> int:
    """Validate the configuration, then hand over to the Qt app."""
    from kiosk.config import ConfigError, load_config, validate

    overrides = {
        key: getattr(args, key)
        for key in (
            "package", "pubkey", "station", "ledger", "kiosk_id", "key", "passphrase_file", "server", "tls_dir",
            "reader_name", "soft_card", "printer", "printer_queue", "printer_dir", "fullscreen",
        )
    }
    try:
        config = validate(load_config(args.config, overrides))
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    passphrase = None
    if config.passphrase_file is not None:
        passphrase = config.passphrase_file.read_text(encoding="utf-8").strip()
    elif os.environ.get("UKETSUKE_PASSPHRASE"):
        passphrase = os.environ["UKETSUKE_PASSPHRASE"]
    if not _has_display():
        raise CommandError("no display: set DISPLAY (e.g. run under xvfb-run) or QT_QPA_PLATFORM=offscreen")
    from kiosk.ui.main import run_kiosk  # Qt is loaded only here: the rest of the CLI stays headless

    return run_kiosk(config, passphrase=passphrase)
