"""``uketsuke report committee|conflicts|access|turnout``: the committee's reports from the tally server.

    uketsuke report committee|conflicts|turnout --server URL --tls-dir DIR [--ca DIR] --out FILE [--date YYYY-MM-DD]
    uketsuke report access --voter CODE --server URL --tls-dir DIR [--ca DIR] --out FILE

These extend the station ``report`` command (``kiosk/cli/report.py``, which reads kiosk ledgers): command modules are
registered alphabetically, so this one finds the ``report`` parser already made, adds its report kinds and options,
and routes its kinds here. The committee's certificate (``uketsuke pki issue-committee``) is in ``--tls-dir``.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

from kiosk.cli import CommandError, emit

__all__ = ["COMMITTEE_KINDS", "register", "run"]

COMMITTEE_KINDS = ("committee", "conflicts", "access", "turnout")
# Options the station reports require that the committee's reports do not take.
_STATION_ONLY = ("ledger", "package", "pubkey")


def register(subparsers: Any) -> None:
    """Add the committee's kinds to the existing ``report`` command (or make the command if it is not there)."""
    report = subparsers.choices.get("report")
    if report is None:  # the station reports module is missing: stand alone
        report = subparsers.add_parser("report", help="the committee's reports from the tally server")
        report.add_argument("kind", choices=COMMITTEE_KINDS, help="which report")
        report.add_argument("--out", type=Path, required=True, help="file to write")
        report.add_argument("--format", choices=("pdf", "csv"), help="default: from --out's suffix, else pdf")
        report.add_argument("--date", type=date.fromisoformat, help="the day (YYYY-MM-DD, Japan time)")
        report.add_argument("--json", action="store_true", help="print the summary as JSON")
        station_run = None
    else:
        station_run = report.get_default("func")
        for action in report._actions:
            if action.dest == "kind" and action.choices is not None:
                action.choices = (*action.choices, *COMMITTEE_KINDS)
                action.help = f"{action.help or 'which report'}; from the tally server: {', '.join(COMMITTEE_KINDS)}"
            elif action.dest in _STATION_ONLY and action.required:
                # required for station reports only: checked by the dispatcher below
                action.required = False
                action.help = f"{action.help} (station reports: required)"
    report.description = (report.description or "") + (
        " From the tally server (committee certificate): committee — stations, hourly turnout, early voting, "
        "duplicates and conflicts, voids and overrides; conflicts — duplicates and conflicts with resolution notes; "
        "access — who viewed one voter's record (--voter); turnout — 時間別投票者数 by 男/女/計 at the package's times "
        "with the previous election's figures."
    )
    group = report.add_argument_group("committee reports (from the tally server)")
    group.add_argument("--server", help="tally server URL, e.g. https://10.0.0.5:8443")
    group.add_argument("--tls-dir", type=Path, help="the committee's certificate directory (client.crt, client.key)")
    group.add_argument("--ca", type=Path, help="committee CA (ca.crt or its directory); default: --tls-dir/ca.crt")
    group.add_argument("--voter", help="access: the voter's 識別コード (15 digits)")

    def dispatch(args: argparse.Namespace) -> int:
        if args.kind in COMMITTEE_KINDS:
            return run(args)
        missing = [f"--{name}" for name in _STATION_ONLY if not getattr(args, name, None)]
        if missing:
            raise CommandError(f"report {args.kind}: {', '.join(missing)} required (station reports read ledgers)")
        if station_run is None:  # pragma: no cover - only when report.py is absent
            raise CommandError(f"report {args.kind}: station reports are not available")
        return int(station_run(args) or 0)

    report.set_defaults(func=dispatch)


def run(args: argparse.Namespace) -> int:
    """Fetch from the tally server, build the report, write it atomically; print where and what."""
    from ballots.reports import report_csv, report_pdf
    from kiosk.committee_client import CommitteeClient, CommitteeClientError, CommitteeTLS

    if not args.server:
        raise CommandError(f"report {args.kind}: --server URL is required")
    if args.tls_dir is None:
        raise CommandError(f"report {args.kind}: --tls-dir DIR (the committee's certificate) is required")
    voter: str = getattr(args, "voter", None) or ""
    if args.kind == "access":
        if not re.fullmatch(r"[0-9]{15}", voter):
            raise CommandError(f"report access: --voter must be a 15-digit 識別コード, got {voter or None!r}")
    elif voter:
        raise CommandError(f"report {args.kind}: --voter is only for report access")
    if getattr(args, "station", None):
        raise CommandError(f"report {args.kind}: --station is for station reports; the committee's cover every station")
    fmt = args.format or ("csv" if args.out.suffix.lower() == ".csv" else "pdf")
    if not args.out.parent.is_dir():
        raise CommandError(f"--out {args.out}: directory {args.out.parent} does not exist")
    day = getattr(args, "date", None)
    report: Any
    try:
        tls = CommitteeTLS.from_dirs(args.tls_dir, args.ca)
        with CommitteeClient(args.server, tls) as client:
            if args.kind == "committee":
                report = client.committee_report(day)
            elif args.kind == "conflicts":
                report = client.duplicates()
            elif args.kind == "access":
                report = client.access(voter)
            else:
                report = client.turnout(day)
    except CommitteeClientError as exc:
        raise CommandError(str(exc)) from None
    data = report_pdf(report) if fmt == "pdf" else report_csv(report)
    tmp = args.out.with_name(args.out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(args.out)
    summary = {"report": args.kind, "out": str(args.out), "format": fmt, "server": args.server, "bytes": len(data)}
    if args.kind in ("committee", "turnout"):
        summary["date"] = (report.turnout if args.kind == "committee" else report).day.isoformat()
    emit(summary, args.json, lambda s: f"{s['report']}: wrote {s['out']} ({s['format']}, from {s['server']})")
    if args.kind == "conflicts" and not args.json:
        open_ = sum(1 for c in report.conflicts if not c.get("notes"))
        if open_:
            print(f"uketsuke report: {open_} conflict(s) without a resolution note", file=sys.stderr)
    return 0
