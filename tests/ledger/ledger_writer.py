"""Child process for the concurrency and crash tests: append check-ins to a ledger, printing an ack after each.

``python ledger_writer.py DB KEYFILE KIOSK UNTIL [--prefix P]``: appends check-ins with event ids ``P{n:06d}`` for
n from the ledger's current last seq up to UNTIL (exclusive) — or, with ``--count N``, exactly N events numbered
after a per-process prefix. After each append returns (durable) it prints ``ACK <seq> <event_id>`` and flushes: the
parent may treat everything acknowledged as told to the clerk.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from the checkout without installing

from ballots.events import Event, EventType
from sync.keys import load_private_key
from sync.ledger import Ledger


def main() -> int:
    """Append and acknowledge, until done or killed."""
    p = argparse.ArgumentParser()
    p.add_argument("db")
    p.add_argument("keyfile")
    p.add_argument("kiosk")
    p.add_argument("until", type=int)
    p.add_argument("--prefix", default="ev")
    p.add_argument("--count", type=int, help="append exactly this many, numbered 0..N-1 after the prefix")
    args = p.parse_args()
    key = load_private_key(args.keyfile)
    with Ledger.open(args.db, kiosk_id=args.kiosk, key=key) as ledger:
        numbers = range(args.count) if args.count is not None else range(ledger.last_seq, args.until)
        out = sys.stdout
        for n in numbers:
            event_id = f"{args.prefix}{n:06d}"
            sealed = ledger.append(
                Event(
                    type=EventType.CHECK_IN,
                    station_id="E01",
                    staff_id="c01",
                    at=datetime.now(UTC),
                    voter=f"{n:015d}",
                    election="shu",
                    data={"kind": "early"},
                    event_id=event_id,
                )
            )
            out.write(f"ACK {sealed.seq} {event_id}\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
