"""``uketsuke report``: station reports and the paper backup list from kiosk ledgers, as PDF or CSV.

    uketsuke report station|hourly|reasons|voted --ledger DB [--ledger DB …] --package PKG --pubkey F --out FILE
                    [--format pdf|csv] [--date YYYY-MM-DD] [--station ID]

Several ledgers (every desk of a station, or every station's) can be given: their events are merged by event id, so a
double issuance between two kiosks shows up as a conflict. The register is used only for each voter's sex (and, for
``station`` and ``voted``, registered counts and names); reports themselves carry register keys, not names.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ballots.events import Event
from ballots.issuance import local_day
from kiosk.cli import CommandError, emit, package_passphrase, parse_date

__all__ = ["register", "run"]

KINDS = ("station", "hourly", "reasons", "voted")


def register(subparsers: Any) -> None:
    """Add the ``report`` command."""
    p = subparsers.add_parser(
        "report",
        help="station reports (投票録, hourly turnout, 投票事由調書) and the voted-so-far list, as PDF or CSV",
        description="Compute a report from kiosk ledgers and the election package. station: 投票録 figures by sex "
        "with ballot reconciliation and every mismatch; hourly: 時間別投票者数 at the package's times; reasons: "
        "期日前投票事由調書 by day and 事由; voted: the paper backup list of voters who have voted (PDF only).",
    )
    p.add_argument("kind", choices=KINDS, help="which report")
    p.add_argument("--ledger", type=Path, action="append", required=True, help="kiosk ledger (repeatable)")
    p.add_argument("--package", type=Path, required=True, help="election package file")
    p.add_argument("--pubkey", type=Path, required=True, help="the committee's public key (PEM)")
    p.add_argument("--passphrase-file", type=Path, help="package passphrase (default: $UKETSUKE_PASSPHRASE)")
    p.add_argument("--out", type=Path, required=True, help="file to write")
    p.add_argument("--format", choices=("pdf", "csv"), help="default: from --out's suffix, else pdf")
    p.add_argument(
        "--date",
        type=parse_date,
        help="the day (YYYY-MM-DD, Japan time) for station and hourly; default: the last day with events",
    )
    p.add_argument("--station", help="station id; default: all stations in the ledgers")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def merge_ledgers(paths: Sequence[Path]) -> list[Event]:
    """Every event of the given ledgers, each once (a desk's ledger may also have been copied into another's)."""
    from sync.ledger import read_events

    seen: dict[str, Event] = {}
    for path in paths:
        if not path.is_file():
            raise CommandError(f"--ledger {path}: no such file")
        for ev in read_events(path):
            seen.setdefault(ev.event_id, ev)
    return sorted(seen.values(), key=lambda e: (e.at, e.event_id))


def run(args: argparse.Namespace) -> int:
    """Read ledgers and package, compute the report, write it; print where and how many mismatches."""
    from ballots.package import open_package
    from ballots.paper_backup import voted_list_pdf
    from ballots.reports import (
        early_voting_reasons,
        hourly_turnout,
        report_csv,
        report_pdf,
        sexes_from_register,
        station_record,
    )

    fmt = args.format or ("csv" if args.out.suffix.lower() == ".csv" else "pdf")
    if args.kind == "voted" and fmt != "pdf":
        raise CommandError("report voted: the paper backup list is PDF only")
    if not args.out.parent.is_dir():
        raise CommandError(f"--out {args.out}: directory {args.out.parent} does not exist")
    events = merge_ledgers(args.ledger)
    package = open_package(args.package, args.pubkey, package_passphrase(args))
    definition = package.definition
    if args.station is not None:
        try:
            definition.station(args.station)
        except KeyError:
            known = ", ".join(s.id for s in definition.stations)
            raise CommandError(f"--station {args.station!r}: not in the election package (stations: {known})") from None
    day = args.date or (local_day(events[-1].at) if events else None)

    report: Any
    if args.kind == "voted":
        data = voted_list_pdf(events, definition, package.register.by_code, station_id=args.station)
        mismatches = 0
    else:
        sexes = sexes_from_register(package.register)
        if args.kind == "station":
            report = station_record(
                events, definition, sexes, station_id=args.station, day=day, register=package.register
            )
        elif args.kind == "hourly":
            if day is None:
                raise CommandError("report hourly: the ledgers hold no events; give --date")
            report = hourly_turnout(events, definition, sexes, day=day, station_id=args.station)
        else:
            report = early_voting_reasons(events, definition, sexes, station_id=args.station)
        data = report_pdf(report) if fmt == "pdf" else report_csv(report)
        mismatches = len(report.mismatches)

    tmp = args.out.with_name(args.out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(args.out)
    summary = {
        "report": args.kind,
        "out": str(args.out),
        "format": fmt,
        "events": len(events),
        "date": day.isoformat() if day and args.kind in ("station", "hourly") else None,
        "station": args.station,
        "mismatches": mismatches,
    }
    emit(
        summary,
        args.json,
        lambda s: (
            f"{s['report']}: wrote {s['out']} ({s['format']}, {s['events']} events, {s['mismatches']} mismatches)"
        ),
    )
    if mismatches and not args.json:
        print(f"uketsuke report: {mismatches} mismatch(es) — see the report's 照合結果", file=sys.stderr)
    return 0
