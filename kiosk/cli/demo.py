"""``uketsuke demo``: the reception app on a sample election, or the scripted headless reception day."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from kiosk.cli import CommandError, emit

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``demo`` command."""
    p = subparsers.add_parser(
        "demo",
        help="run the demo: the kiosk app, or a scripted reception day without a display",
        description="A freshly generated sample election, the software My Number card, an embedded tally server "
        "and the reception. With --headless (or without a display) a scripted reception day runs and prints what "
        "the desks showed: check-ins, a partly voted voter, a moved voter, the classic double-voting attempt "
        "stopped, a wrong-station voter, a manager's override. DIR keeps the package, the ledgers and every "
        "printed document.",
    )
    p.add_argument("--headless", action="store_true", help="run the scripted reception day (no Qt)")
    p.add_argument("--out", type=Path, metavar="DIR", help="empty or new directory for the results (default: temp)")
    p.add_argument("--voters", type=int, default=3000, metavar="N", help="sample register size (default 3000)")
    p.add_argument("--seed", type=int, default=7, metavar="S", help="sample seed (default 7)")
    p.add_argument("--no-server", action="store_true", help="run without the embedded tally server")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of the desk log")
    p.set_defaults(func=run)


def _display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _gui_entry() -> Any | None:
    """``kiosk.ui.main.run_demo(out_dir, voters=, seed=)`` when the Qt app provides it, else None."""
    if importlib.util.find_spec("PySide6") is None or importlib.util.find_spec("kiosk.ui.main") is None:
        return None
    module = importlib.import_module("kiosk.ui.main")
    return getattr(module, "run_demo", None)


def run(args: argparse.Namespace) -> int:
    """Start the app when it can, otherwise run the headless scenario and say so."""
    if args.voters < 50:
        raise CommandError("--voters must be at least 50")
    out = args.out or Path(tempfile.mkdtemp(prefix="uketsuke-demo-"))
    if not args.headless:
        entry = _gui_entry() if _display_available() else None
        if entry is not None:
            return int(entry(out, voters=args.voters, seed=args.seed) or 0)
        why = "no display" if not _display_available() else "the Qt kiosk app does not provide a demo entry yet"
        print(f"uketsuke demo: {why}; running the headless reception scenario instead", file=sys.stderr)

    from kiosk.demo import DemoError, run_headless_demo

    def echo(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    try:
        result = run_headless_demo(out, voters=args.voters, seed=args.seed, echo=echo, use_server=not args.no_server)
    except DemoError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        emit(result.to_dict(), True)
    return 0
