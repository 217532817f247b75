"""``uketsuke sample``: write a synthetic municipality (election.toml, register, keys, personas) for demos and tests."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from ballots.sample import SampleError, generate_sample
from kiosk.cli import CommandError, emit


def register(subparsers: Any) -> None:
    """Add the ``sample`` command."""
    p = subparsers.add_parser(
        "sample",
        help="generate a synthetic municipality (register, election.toml, keys, card personas)",
        description="Write a realistic synthetic municipality into DIR: election.toml, register.csv (CP932), the "
        "committee's Ed25519 key pair, a passphrase file, README.txt with the staff PINs, and card personas with "
        "face photos. The same --seed gives identical files. Demo data only.",
    )
    p.add_argument("--voters", type=int, required=True, metavar="N", help="number of register entries")
    p.add_argument("--out", required=True, metavar="DIR", help="directory to write (created if missing)")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")
    p.add_argument("--personas", type=int, default=20, metavar="K", help="card personas to write (default 20)")
    p.add_argument(
        "--election-day",
        type=_iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="move the sample's election day (and every other date with it) to this day",
    )
    p.add_argument(
        "--template",
        metavar="FILE",
        help="election.toml to start from (default resources/sample/election.toml); its precincts, election-day "
        "stations and staff are generated, the rest is kept — e.g. add a 県 election",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def run(args: argparse.Namespace) -> int:
    """Generate the sample and print where it is."""
    try:
        result = generate_sample(
            args.out,
            args.voters,
            seed=args.seed,
            personas=args.personas,
            election_day=args.election_day,
            template=args.template,
        )
    except SampleError as exc:
        raise CommandError(str(exc)) from None
    emit(
        result.to_dict(),
        args.json,
        lambda d: (
            f"wrote {d['voters']} voters in {d['precincts']} precincts "
            f"and {len(d['personas'])} personas to {d['out']}\n"
            f"staff PINs and next steps: {d['files']['readme']}"
        ),
    )
    return 0
