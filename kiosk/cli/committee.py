"""``uketsuke committee``: the election committee's live view of every station, from the tally server.

    uketsuke committee --server URL --tls-dir DIR [--ca DIR] [--refresh SECONDS] [--date YYYY-MM-DD]
                       [--screenshots DIR [--voter CODE]]

``--tls-dir`` holds the committee's client certificate (``uketsuke pki issue-committee``); a kiosk certificate is
refused by the server. ``--screenshots`` saves every tab as PNG after one refresh and exits (for the screenshot
script; runs under Xvfb or QT_QPA_PLATFORM=offscreen).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from kiosk.cli import CommandError, emit, parse_date

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``committee`` command."""
    p = subparsers.add_parser(
        "committee",
        help="the election committee's live view (stations, turnout, early voting, duplicates, voids, access)",
        description="Show every station's state, live turnout by station and hour, early voting by day and 事由, "
        "duplicate attempts and conflicts with resolution notes, the void and override log, and who viewed a voter's "
        "record — from the tally server, with the committee's client certificate. Refreshes in the background.",
    )
    p.add_argument("--server", required=True, help="tally server URL, e.g. https://10.0.0.5:8443")
    p.add_argument("--tls-dir", type=Path, required=True, help="committee certificate directory (client.crt/.key)")
    p.add_argument("--ca", type=Path, help="committee CA (ca.crt or its directory); default: --tls-dir/ca.crt")
    p.add_argument("--refresh", type=float, default=15.0, help="seconds between refreshes (default 15, minimum 2)")
    p.add_argument("--date", type=parse_date, help="the day to show (YYYY-MM-DD, Japan time); default: today")
    p.add_argument("--screenshots", type=Path, help="save every tab as PNG into this directory and exit")
    p.add_argument("--voter", help="with --screenshots: look this 識別コード up on the access tab first")
    p.add_argument("--json", action="store_true", help="with --screenshots: print the files as JSON")
    p.set_defaults(func=run)


def _has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform in ("win32", "darwin")


def run(args: argparse.Namespace) -> int:
    """Check the arguments and certificates, then open the view (or save its screens)."""
    from kiosk.committee_client import CommitteeClient, CommitteeClientError, CommitteeTLS

    if args.refresh < 2:
        raise CommandError(f"--refresh {args.refresh}: at least 2 seconds (every refresh queries the whole day)")
    if args.voter is not None and (args.screenshots is None or not re.fullmatch(r"[0-9]{15}", args.voter)):
        raise CommandError(f"--voter {args.voter!r}: a 15-digit 識別コード, and only with --screenshots")
    if not _has_display():
        raise CommandError("committee: no display (set DISPLAY, or run under xvfb-run)")
    try:
        client = CommitteeClient(args.server, CommitteeTLS.from_dirs(args.tls_dir, args.ca))
    except CommitteeClientError as exc:
        raise CommandError(str(exc)) from None
    from kiosk.ui.committee import run_committee_view, save_screens

    with client:
        if args.screenshots is not None:
            try:
                paths = save_screens(
                    client, args.screenshots, server_label=args.server, day=args.date, voter=args.voter
                )
            except RuntimeError as exc:
                raise CommandError(str(exc)) from None
            emit([str(p) for p in paths], args.json, lambda ps: "\n".join(ps))
            return 0
        return run_committee_view(client, server_label=args.server, refresh_s=args.refresh, day=args.date)
