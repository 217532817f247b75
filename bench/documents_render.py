"""Benchmark: 宣誓書 render time (warm) and reports over a 100,000-check-in early-voting period. Prints JSON.

Goals (issue 5): a 宣誓書 in ≤ 50 ms once fonts are loaded; a report over 100,000 check-ins in ≤ 2 s.
Each figure comes with a baseline measured in the same run on the same machine, and the ratio to it, so a loaded
machine shows up as a slow baseline rather than as a slow document:
- declaration baseline: a one-line IPAex PDF (font subsetting and PDF writing — the floor of any document);
- report baseline: sorting the events by time (the least any report over them must do).

Also: the memory a day's 宣誓書 keep in the kiosk's PrintService (tracemalloc over ``--day-forms`` forms sent to a
printer that completes them at once), against the PDF bytes sent — what it would hold if it kept every PDF.

    .venv/bin/python bench/documents_render.py [--repeat N] [--check-ins N] [--day-forms N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportlab.pdfgen.canvas import Canvas

from ballots.declaration import render_declaration
from ballots.events import Event, EventType
from ballots.fonts import GOTHIC, register_fonts
from ballots.model import ElectionDefinition, Sex, Voter
from ballots.printing import JobStatus, PrintDocument, PrintJob, PrintService
from ballots.reports import early_voting_reasons, report_csv, report_pdf, station_record

JST = timedelta(hours=9)


def definition() -> ElectionDefinition:
    """A two-election package with one early-voting station (the shape of the sample election)."""
    pin = "scrypt$16384$8$1$00$00"
    return ElectionDefinition.from_toml_dict(
        {
            "election_day": "2026-12-13",
            "municipality": {"code": "139999", "name": "架空市", "prefecture": "東京都"},
            "elections": [
                {
                    "id": "shu-sho",
                    "kind": "国",
                    "name": "衆議院小選挙区選出議員選挙",
                    "short_name": "小選挙区",
                    "order": 1,
                    "early_voting_start": "2026-12-02",
                },
                {
                    "id": "shu-hi",
                    "kind": "国",
                    "name": "衆議院比例代表選出議員選挙",
                    "short_name": "比例代表",
                    "order": 2,
                    "early_voting_start": "2026-12-02",
                },
            ],
            "precincts": [{"code": "001", "name": "第1投票区"}],
            "stations": [
                {"id": "E01", "name": "市役所本庁舎期日前投票所", "kind": "early"},
                {"id": "E02", "name": "北支所期日前投票所", "kind": "early"},
            ],
            "staff": [{"id": "c01", "name": "受付　花子", "role": "clerk", "pin_hash": pin}],
            "reports": {"hourly_times": ["10:00", "12:00", "14:00", "16:00", "18:00", "20:00"]},
        }
    )


def voter(n: int) -> Voter:
    return Voter(
        code=f"{n:015d}",
        precinct="001",
        volume=1 + n // 1000,
        page=1 + n % 1000 // 20,
        line=1 + n % 20,
        name="髙橋　太郎",
        kana="タカハシ　タロウ",
        birth_date=date(1980, 2, 17),
        sex=Sex.MALE if n % 2 else Sex.FEMALE,
        address="東京都架空市本町１丁目２番３号",
        address_extra="架空マンション１０１",
    )


def early_period(check_ins: int, seed: int = 5) -> list[Event]:
    """Half as many voters as check-ins, each voting both elections on one of 11 days, with a 宣誓書 each, plus
    voids, reissues and offline duplicates in the proportions a real period has."""
    rng = random.Random(seed)
    events: list[Event] = []
    start = datetime(2026, 12, 2, 8, 30, tzinfo=UTC) - JST
    for e in ("shu-sho", "shu-hi"):
        events.append(Event(EventType.STOCK_RECEIVED, "E01", "c01", start, election=e, data={"count": check_ins}))
    for n in range(check_ins // 2):
        at = start + timedelta(days=rng.randrange(11), minutes=rng.randrange(690))
        code = f"{n:015d}"
        station = "E01" if n % 3 else "E02"
        events.append(Event(EventType.DECLARATION, station, "c01", at, voter=code, data={"reason": rng.randint(1, 6)}))
        for k, e in enumerate(("shu-sho", "shu-hi")):
            events.append(
                Event(
                    EventType.CHECK_IN,
                    station,
                    "c01",
                    at + timedelta(seconds=30 + k),
                    voter=code,
                    election=e,
                    data={"kind": "early"},
                    event_id=f"c{n}-{k}",
                )
            )
        if n % 500 == 0:
            events.append(
                Event(
                    EventType.VOID,
                    station,
                    "c01",
                    at + timedelta(minutes=2),
                    data={"target": f"c{n}-1", "reason": "誤り"},
                )
            )
        if n % 250 == 0:
            events.append(
                Event(
                    EventType.BALLOT_REISSUED,
                    station,
                    "c01",
                    at + timedelta(minutes=1),
                    voter=code,
                    election="shu-sho",
                    data={"reason": "書き損じ"},
                )
            )
        if n % 1000 == 7:
            events.append(
                Event(
                    EventType.CHECK_IN,
                    "E02",
                    "c01",
                    at + timedelta(hours=1),
                    voter=code,
                    election="shu-sho",
                    data={"kind": "early", "offline": True},
                )
            )
    return events


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall seconds and median CPU seconds of ``repeat`` runs, and the last result. On a shared machine the
    CPU time is the steadier figure; the wall time is what a clerk waits."""
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), result


def minimal_pdf() -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, initialFontName=GOTHIC)
    c.setFont(GOTHIC, 12)
    c.drawString(72, 720, "宣誓書　令和8年12月5日")
    c.showPage()
    c.save()
    return buf.getvalue()


class _CountingPrinter:
    """Completes every job at once and keeps nothing, so only what PrintService holds is measured."""

    name = "bench"

    def __init__(self) -> None:
        self.sent = 0

    def print_pdf(self, pdf: bytes, title: str, copies: int = 1) -> PrintJob:
        self.sent += len(pdf)
        return PrintJob(f"bench-{self.sent}", title, copies, JobStatus.COMPLETED, self.name, bytes(pdf))

    def refresh(self, job: PrintJob) -> PrintJob:
        return job


def print_service_memory(d: ElectionDefinition, forms: int) -> dict[str, Any]:
    """Bytes PrintService holds after ``forms`` distinct 宣誓書 (each its own voter), and the PDF bytes sent."""
    printer = _CountingPrinter()
    service = PrintService(printer)

    def document(n: int) -> PrintDocument:
        v = voter(n)
        return PrintDocument(
            f"宣誓書-{v.code}",
            lambda reprint: render_declaration(
                d, voter=v, voting_date=date(2026, 12, 5), reason=2, station=d.station("E01"), reprint=reprint
            ),
        )

    service.submit(document(0))  # warm caches outside the measurement
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(1, forms + 1):
        service.submit(document(n))
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {"forms": forms, "held_mb": round(held / 1e6, 2), "pdf_bytes_sent_mb": round(printer.sent / 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--check-ins", type=int, default=100_000)
    parser.add_argument("--day-forms", type=int, default=300, help="宣誓書 sent through one PrintService")
    args = parser.parse_args()
    d = definition()
    v = voter(123)

    t0 = time.perf_counter()
    register_fonts()
    font_load = time.perf_counter() - t0

    def declaration() -> bytes:
        return render_declaration(d, voter=v, voting_date=date(2026, 12, 5), reason=3, station=d.station("E01"))

    declaration()  # warm: first use builds reportlab's caches
    minimal_pdf()
    decl_s, decl_cpu, pdf = timed(declaration, args.repeat)
    base_s, base_cpu, _ = timed(minimal_pdf, args.repeat)

    events = early_period(args.check_ins)
    n_check_ins = sum(1 for e in events if e.type is EventType.CHECK_IN)
    sexes = {f"{n:015d}": (Sex.MALE if n % 2 else Sex.FEMALE) for n in range(args.check_ins // 2)}
    runs = max(1, args.repeat // 5)
    sort_s, sort_cpu, _ = timed(lambda: sorted(events, key=lambda e: (e.at, e.event_id)), runs)
    reasons_s, reasons_cpu, reasons = timed(lambda: early_voting_reasons(events, d, sexes), runs)
    out_s, out_cpu, _ = timed(lambda: (report_pdf(reasons), report_csv(reasons)), runs)
    station_s, station_cpu, record = timed(lambda: station_record(events, d, sexes, station_id="E01"), runs)
    spdf_s, spdf_cpu, _ = timed(lambda: report_pdf(record), runs)

    memory = print_service_memory(d, args.day_forms)

    def ms(x: float) -> float:
        return round(x * 1000, 2)

    result = {
        "benchmark": "documents_render",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]},
        "font_load_s": round(font_load, 4),
        "declaration": {
            "warm_median_ms": ms(decl_s),
            "warm_median_cpu_ms": ms(decl_cpu),
            "goal_ms": 50,
            "pdf_bytes": len(pdf),
            "baseline_one_line_pdf_ms": ms(base_s),
            "baseline_one_line_pdf_cpu_ms": ms(base_cpu),
            "ratio_to_baseline_cpu": round(decl_cpu / base_cpu, 2),
            "repeat": args.repeat,
        },
        "early_period_report": {
            "check_ins": n_check_ins,
            "events": len(events),
            "reasons_total_s": round(reasons_s + out_s, 3),
            "reasons_total_cpu_s": round(reasons_cpu + out_cpu, 3),
            "reasons_pdf_and_csv_cpu_s": round(out_cpu, 3),
            "station_record_total_s": round(station_s + spdf_s, 3),
            "station_record_total_cpu_s": round(station_cpu + spdf_cpu, 3),
            "goal_s": 2.0,
            "baseline_sort_events_s": round(sort_s, 3),
            "baseline_sort_events_cpu_s": round(sort_cpu, 3),
            "reasons_ratio_to_baseline_cpu": round((reasons_cpu + out_cpu) / sort_cpu, 1),
            "station_ratio_to_baseline_cpu": round((station_cpu + spdf_cpu) / sort_cpu, 1),
            "mismatches_found": len(reasons.mismatches),
            "repeat": runs,
        },
        "print_service_memory": memory,
    }
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
