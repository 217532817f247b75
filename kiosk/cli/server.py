"""``uketsuke server``: run the central tally server (mutual TLS, SQLite or PostgreSQL)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kiosk.cli import CommandError, package_passphrase

__all__ = ["parse_listen", "refusal_limits", "register"]


def register(subparsers: Any) -> None:
    """Add the ``server`` command."""
    p = subparsers.add_parser(
        "server",
        help="run the central tally server",
        description="Serve claims, event sync and replica pulls to the kiosks holding the same election package. "
        "Every client needs a certificate of the committee CA (uketsuke pki).",
    )
    p.add_argument("--package", type=Path, required=True, help="election package file")
    p.add_argument("--pubkey", type=Path, required=True, help="the committee's public key (PEM)")
    p.add_argument("--passphrase-file", type=Path, help="package passphrase (default: $UKETSUKE_PASSPHRASE)")
    p.add_argument(
        "--database",
        default="sqlite:///uketsuke-server.db",
        help="sqlite:///path (default) or postgresql://user@host/db",
    )
    p.add_argument("--listen", default="127.0.0.1:8443", help="HOST:PORT (default 127.0.0.1:8443)")
    p.add_argument("--tls-dir", type=Path, help="directory with server.crt and server.key")
    p.add_argument("--ca", type=Path, help="CA directory with ca.crt and crl.pem (revocations re-read on change)")
    p.add_argument(
        "--insecure-demo",
        action="store_true",
        help="no TLS, callers identify by header: demo on 127.0.0.1 only, never on a network",
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--refusal-window",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="refusals of one kind from one source are recorded in full up to --refusals-in-full per window, the "
        "rest counted into one row per window (default 60)",
    )
    p.add_argument(
        "--refusals-in-full",
        type=int,
        default=3,
        metavar="N",
        help="refusals of one kind from one source recorded in full per window (default 3)",
    )
    p.add_argument(
        "--refusals-in-full-total",
        type=int,
        default=200,
        metavar="N",
        help="refusals without a certificate recorded in full per window from all sources together (default 200)",
    )
    p.set_defaults(func=run)


def refusal_limits(args: argparse.Namespace) -> Any:
    """The server's RefusalLimits from the command line; CommandError names a bad value."""
    from sync.server.refusals import RefusalLimits

    try:
        return RefusalLimits(
            window_s=args.refusal_window,
            full_per_kind=args.refusals_in_full,
            full_per_window=args.refusals_in_full_total,
        )
    except ValueError as exc:
        raise CommandError(f"--refusal-window/--refusals-in-full/--refusals-in-full-total: {exc}") from None


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) → (host, port); CommandError if malformed."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--listen {text!r}: expected HOST:PORT, e.g. 0.0.0.0:8443")
    return host, int(port)


def run(args: argparse.Namespace) -> int:
    """Open the package, check the TLS material, serve until interrupted."""
    from ballots.package import open_package
    from sync.server.runner import ServerTLS, serve
    from sync.server.storage import StorageError, parse_database_url

    host, port = parse_listen(args.listen)
    limits = refusal_limits(args)
    try:
        parse_database_url(args.database)
    except StorageError as exc:
        raise CommandError(str(exc)) from None
    tls = None
    if args.insecure_demo:
        if args.tls_dir or args.ca:
            raise CommandError("--insecure-demo cannot be combined with --tls-dir/--ca")
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise CommandError(f"--insecure-demo only listens on loopback, not {host}")
    else:
        if args.tls_dir is None or args.ca is None:
            raise CommandError("--tls-dir and --ca are required (mutual TLS); see 'uketsuke pki'")
        tls = ServerTLS(args.tls_dir, args.ca)
    package = open_package(args.package, args.pubkey, package_passphrase(args))
    try:
        serve(package, args.database, host, port, tls, log_level=args.log_level, refusals=limits)
    except StorageError as exc:
        raise CommandError(str(exc)) from None
    return 0
