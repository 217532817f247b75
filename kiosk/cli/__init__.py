"""The ``uketsuke`` command line.

Each module in this package that defines ``register(subparsers)`` adds its commands; a command's handler takes the
parsed arguments and returns the exit code. Errors from the core reach the user here, in one place, as one line that
says what and where (no traceback unless UKETSUKE_DEBUG is set).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

__all__ = ["CommandError", "emit", "main", "package_passphrase", "parse_date"]

VERSION = "0.1.0"


class CommandError(Exception):
    """A command that cannot do what was asked; the message is shown as is, exit code ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def emit(data: Any, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    """Print ``data`` as JSON (``--json``) or through ``text`` for people."""
    if as_json:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write((text(data) if text else str(data)) + "\n")


def parse_date(text: str) -> date:
    """An argparse ``type`` for a YYYY-MM-DD date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def package_passphrase(args: argparse.Namespace) -> str:
    """The election package passphrase: ``--passphrase-file`` (a Path), else $UKETSUKE_PASSPHRASE."""
    if args.passphrase_file is not None:
        try:
            return str(args.passphrase_file.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise CommandError(f"--passphrase-file {args.passphrase_file}: {exc.strerror}") from None
    value = os.environ.get("UKETSUKE_PASSPHRASE")
    if not value:
        raise CommandError("package passphrase needed: --passphrase-file FILE or UKETSUKE_PASSPHRASE")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every command module's subcommands."""
    parser = argparse.ArgumentParser(prog="uketsuke", description="Uketsuke (受付): polling-station reception kiosk")
    parser.add_argument("--version", action="version", version=f"uketsuke {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except CommandError as exc:
        print(f"uketsuke: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except (ValueError, OSError) as exc:
        # Core errors (bad CSV, bad package, unreadable file, …) carry a what-and-where message.
        if os.environ.get("UKETSUKE_DEBUG"):
            raise
        print(f"uketsuke: error: {exc}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
