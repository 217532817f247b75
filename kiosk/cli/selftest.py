"""``uketsuke selftest``: is this terminal ready? One pass/fail line per item; exit 0 only if all required passed."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from kiosk.cli import CommandError, emit
from kiosk.selftest import SelftestOptions, SelftestReport, run_selftest

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``selftest`` command."""
    parser = subparsers.add_parser(
        "selftest",
        help="check this terminal: card reader, fonts, printer, package, ledger, clock, server",
        description=(
            "Check that this terminal is ready: PC/SC service and card readers, the IPAex fonts, printers, the "
            "election package (when given), the ledger location (when given), the clock and the tally server "
            "(when given). Prints one line per item; exit code 0 only when every required item passed, 1 otherwise."
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the desk's kiosk.toml: check its package, ledger, server, reader and printer (options below win)",
    )
    parser.add_argument("--package", type=Path, metavar="PKG", help="election package to verify (needs --pubkey)")
    parser.add_argument("--pubkey", type=Path, metavar="FILE", help="the committee's public key for --package")
    parser.add_argument("--ledger", type=Path, metavar="DB", help="ledger file: folder writable; verified if it exists")
    parser.add_argument("--server", metavar="URL", help="tally server to reach, e.g. https://tally.example.lg.jp:8443")
    parser.add_argument(
        "--tls-dir",
        type=Path,
        metavar="DIR",
        help="this terminal's certificate folder (client.crt, client.key, ca.crt from `uketsuke pki issue-kiosk`)",
    )
    parser.add_argument("--printer", metavar="NAME", help="the print queue this station uses (default: any ready one)")
    parser.add_argument(
        "--no-station",
        dest="station",
        action="store_false",
        help="server or committee machine: card reader and printer are reported but not required",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the self-test; 0 when every required item passed, 1 when one failed."""
    options = _options(args)
    if options.package is not None and options.pubkey is None:
        raise CommandError("selftest: --package needs --pubkey (the committee's public key file)")
    if options.pubkey is not None and options.package is None:
        raise CommandError("selftest: --pubkey is only used with --package")
    if options.tls_dir is not None and options.server is None:
        raise CommandError("selftest: --tls-dir is only used with --server")
    if options.server is not None and not options.server.startswith(("https://", "http://")):
        raise CommandError(f"selftest: --server must be an http(s) URL, got {options.server!r}")
    report = run_selftest(options)
    if args.json:
        emit(report.to_dict(), True)
    else:
        emit(report, False, SelftestReport.text)
    return 0 if report.ok else 1


def _options(args: argparse.Namespace) -> SelftestOptions:
    """Options from the command line, filled in from the desk's kiosk.toml when --config is given."""
    options = SelftestOptions(
        package=args.package,
        pubkey=args.pubkey,
        ledger=args.ledger,
        server=args.server,
        tls_dir=args.tls_dir,
        printer=args.printer,
        reader_required=args.station,
        printer_required=args.station,
    )
    if args.config is None:
        return options
    from kiosk.config import PrinterKind, ReaderKind, load_config

    config = load_config(args.config)  # ConfigError names the key at fault; the CLI prints it
    return replace(
        options,
        package=options.package or config.package,
        pubkey=options.pubkey or config.pubkey,
        ledger=options.ledger or config.ledger,
        ledger_key=config.effective_key,
        server=options.server or config.server,
        tls_dir=options.tls_dir or config.tls_dir,
        printer=options.printer or (config.printer_queue if config.printer is PrinterKind.CUPS else None),
        reader=config.reader_name if config.reader is ReaderKind.PCSC else None,
        # The software card and the file/memory printers need no hardware on this machine.
        reader_required=args.station and config.reader is ReaderKind.PCSC,
        printer_required=args.station and config.printer in (PrinterKind.CUPS, PrinterKind.QT),
    )
