"""What the reception core adds to one voter's check-in; prints JSON.

One voter, as the desk handles them on election day: 入場券 barcode → register lookup → record viewed (durable append)
→ history from the ledger → eligibility for every election → claim (no server: offline) → the check-ins of every
election (one durable append). Measured per voter through :class:`kiosk.reception.Reception` with a real register
index and a real ledger (WAL, synchronous=FULL, signed, chained).

Baseline, in the same run and interleaved voter for voter so machine noise hits both alike: the same two durable
``Ledger.append_many`` calls with the same events, no reception core. The ratio is the core's overhead on top of the
ledger's own cost. A third figure is the pure state machine alone (``kiosk.workflow.step`` for the whole flow, with
the answers supplied in memory): what the UI thread would pay if the I/O were free.

Usage: ``.venv/bin/python bench/reception_flow.py [--voters 300] [--register 20000] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import tomllib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from the checkout without installing

from ballots.events import Event, EventType
from ballots.model import ElectionDefinition, Sex, Voter
from ballots.register import RegisterIndex
from ballots.rules import JST
from ballots.staff import verify_pin
from kiosk.reception import Reception
from kiosk.workflow import (
    BarcodeScanned,
    ClaimAnswer,
    ClaimAnswered,
    ClaimStatus,
    Confirmed,
    Desk,
    Finish,
    HistoryLoaded,
    Screen,
    SignIn,
    VotersFound,
    initial_state,
    step,
)
from sync.keys import generate_key
from sync.ledger import Ledger

TEMPLATE = Path(__file__).resolve().parents[1] / "resources" / "sample" / "election.toml"


def _voters(n: int) -> list[Voter]:
    base = Voter(
        code="",
        precinct="001",
        volume=1,
        page=1,
        line=1,
        name="試験　太郎",
        kana="シケン　タロウ",
        birth_date=date(1970, 1, 1),
        sex=Sex.MALE,
        address="東京都架空市本町１丁目１番１号",
    )
    return [
        replace(
            base,
            code=f"{139999000000000 + i:015d}",
            line=i % 30 + 1,
            birth_date=date(1950, 1, 1) + timedelta(i),
            address_extra=f"コーポ本町{i % 40 + 1}号室" if i % 3 == 0 else "",
        )
        for i in range(n)
    ]


def _filesystem(path: Path) -> str:
    """The filesystem type holding ``path`` (fsync is free on tmpfs, which would flatter both variants)."""
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            mount = parts[1]
            if str(path.resolve()).startswith(mount) and len(mount) > len(best):
                best, kind = mount, parts[2]
    except OSError:
        pass
    return kind


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values_s: list[float], scale: float) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values_s) * scale, 3),
        "p99": round(_pct(values_s, 0.99) * scale, 3),
        "mean": round(statistics.fmean(values_s) * scale, 3),
    }


def main() -> None:
    """Run the benchmark and print the JSON result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voters", type=int, default=300, help="voters checked in per variant")
    ap.add_argument("--register", type=int, default=20000, help="register size")
    ap.add_argument("--dir", type=Path, default=None, help="where the working ledgers go (default: temp)")
    args = ap.parse_args()
    if args.voters < 10 or args.register < args.voters * 2:
        ap.error("need --voters ≥ 10 and --register ≥ 2 × --voters")

    definition = ElectionDefinition.from_toml_dict(tomllib.loads(TEMPLATE.read_text("utf-8")))
    voters = _voters(args.register)
    register = RegisterIndex.from_voters(voters)
    now = datetime.combine(definition.election_day, datetime.min.time(), tzinfo=JST).replace(hour=10).astimezone(UTC)
    desk = Desk(definition, "D001", "BENCH-1", verify_pin)

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        core_ledger = Ledger.open(Path(tmp) / "core.db", kiosk_id="BENCH-1", key=generate_key())
        base_ledger = Ledger.open(Path(tmp) / "base.db", kiosk_id="BENCH-2", key=generate_key())
        reception = Reception(desk, register, core_ledger, clock=lambda: now)
        reception.handle(SignIn("c01", "1111"))  # the template's demo PIN

        core_s: list[float] = []
        base_s: list[float] = []
        machine_s: list[float] = []
        for i in range(args.voters):
            voter = voters[i]
            # Through the reception core: three handle calls, as the desk makes them.
            t0 = time.perf_counter()
            reception.handle(BarcodeScanned(voter.code))
            report = reception.handle(Confirmed())
            reception.handle(Finish())
            core_s.append(time.perf_counter() - t0)
            check_ins = [e for e in report.recorded if e.type is EventType.CHECK_IN]
            assert len(check_ins) == len(definition.elections), report.state.screen

            # Baseline: the same durable appends without the core (fresh ids: the ledger refuses duplicates).
            viewed = Event(EventType.RECORD_VIEWED, "D001", "c01", now, voter.code, data={"purpose": "本人確認"})
            batch = [replace(e, event_id=f"b{i}-{e.election}") for e in check_ins]
            t0 = time.perf_counter()
            base_ledger.append_many([viewed])
            base_ledger.checkins_for(voter.code)
            base_ledger.append_many(batch)
            base_s.append(time.perf_counter() - t0)

            # The machine alone, answers supplied in memory.
            t0 = time.perf_counter()
            state = replace(initial_state(), screen=Screen.READY, staff=reception.state.staff)
            t = step(desk, state, BarcodeScanned(voter.code), now)
            t = step(desk, t.state, VotersFound((voter,), exact=True), now)
            t = step(desk, t.state, Confirmed(), now)
            t = step(desk, t.state, HistoryLoaded(voter.code, ()), now)
            ids = [e.id for e in definition.elections]
            answers = {eid: ClaimAnswer(ClaimStatus.ACCEPTED) for eid in ids}
            t = step(desk, t.state, ClaimAnswered(voter.code, answers), now)
            t = step(desk, t.state, Finish(), now)
            machine_s.append(time.perf_counter() - t0)
        core_ledger.close()
        base_ledger.close()
        filesystem = _filesystem(Path(tmp))

    core = _summary(core_s, 1000)
    base = _summary(base_s, 1000)
    result: dict[str, Any] = {
        "benchmark": "reception_flow",
        "voters": args.voters,
        "register": args.register,
        "elections": len(definition.elections),
        "reception_core_ms": core,
        "baseline_same_appends_ms": base,
        "ratio_p50": round(core["p50"] / base["p50"], 2),
        "ratio_p99": round(core["p99"] / base["p99"], 2),
        "state_machine_only_us": _summary(machine_s, 1e6),
        "filesystem": filesystem,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
