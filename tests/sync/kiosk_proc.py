"""A kiosk process for the tests: a real ledger and SyncClient driven by JSON lines on stdin, answers on stdout.

Commands: ``claim`` (at wall-clock ``fire_at``, for the race), ``checkin`` (claim, then record as a kiosk does: accepted
or offline → append), ``backlog`` (append n offline check-ins), ``push``, ``pull``, ``start`` (background workers),
``state``, ``quit``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synctest_helpers import check_in, random_voter

from sync import pki
from sync.client import Backoff, ClientTLS, SyncClient
from sync.ledger import Ledger


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--tls-dir", type=Path, required=True)
    ap.add_argument("--kiosk-id", required=True)
    ap.add_argument("--ledger", type=Path, required=True)
    ap.add_argument("--package-hash", required=True)
    ap.add_argument("--station", default="E01")
    args = ap.parse_args()
    key = pki.load_ledger_key(args.tls_dir / pki.LEDGER_KEY)
    ledger = Ledger.open(args.ledger, kiosk_id=args.kiosk_id, key=key)
    client = SyncClient(
        args.url,
        ledger,
        args.package_hash,
        station_id=args.station,
        tls=ClientTLS.from_dir(args.tls_dir),
        claim_timeout_s=2.0,
        pull_wait_s=2.0,
        heartbeat_s=1.0,
        backoff=Backoff(base_s=0.1, cap_s=1.0),
    )
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd: dict[str, Any] = json.loads(line)
        op = cmd["op"]
        out: dict[str, Any] = {"op": op}
        if op == "claim":
            ev = check_in(cmd["voter"], station=args.station)
            while time.time() < cmd["fire_at"]:
                pass  # spin: every kiosk fires within microseconds of the same instant
            outcome = client.claim(ev)
            out |= {"status": outcome.status, "rtt_ms": outcome.rtt_ms, "holder": outcome.holder}
        elif op == "checkin":
            ev = check_in(cmd["voter"], station=args.station)
            outcome = client.claim(ev)
            if outcome.status == "offline":
                ev = check_in(cmd["voter"], station=args.station, offline=True)
                standing = ledger.status(cmd["voter"], ev.election or "")
                if standing.voted:
                    out |= {"status": "already_voted_local"}
                else:
                    ledger.append(ev)
                    out |= {"status": "offline", "event_id": ev.event_id}
            elif outcome.status == "accepted":
                ledger.append(ev)
                out |= {"status": "accepted", "event_id": ev.event_id}
            else:
                out |= {"status": outcome.status}
            client.notify_appended()
        elif op == "backlog":
            events = [check_in(random_voter(), station=args.station, offline=True) for _ in range(cmd["n"])]
            ledger.append_many(events)
            out |= {"event_ids": [e.event_id for e in events]}
        elif op == "push":
            out |= {"accepted": client.push_pending(), "pending": ledger.pending_count}
        elif op == "pull":
            out |= {"events": client.pull_once(cmd.get("wait", 0.0))}
        elif op == "start":
            client.start()
        elif op == "state":
            s = client.state()
            out |= {
                "online": s.online,
                "pending": ledger.pending_count,
                "conflicts": len(s.conflicts),
                "replica_cursor": s.replica_cursor,
                "now": datetime.now(UTC).isoformat(),
            }
        elif op == "quit":
            break
        print(json.dumps(out, default=str), flush=True)
    client.stop()
    ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
