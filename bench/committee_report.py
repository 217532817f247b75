"""Benchmark: the committee's report over 1,000,000 check-ins on PostgreSQL, and the live view's refresh with 500
stations. Prints JSON.

Goals (issue 7): the committee report ≤ 5 s; the live view refresh ≤ 1 s.

Set-up: a fresh PostgreSQL database migrated by the server's own code; the day is bulk-loaded with COPY (sealed
rows in the stored shape, not signed — the queries never verify signatures): 500 election-day stations with a kiosk
each plus 20 early-voting stations, ``--check-ins`` check-ins over two elections (30 % of voters early, each with a
宣誓書), some voids and conflicts, and the register's sexes. Then the real server runs on loopback over mutual TLS and
the committee's client asks it, exactly as ``uketsuke report committee`` and the Qt view's refresh do.

Figures, each with a baseline from the same run so a loaded machine shows as a slow baseline, not a slow report:
- committee report: fetch every section (stations, turnout, early voting, duplicates, voids) and build the report;
  baseline: one ``SELECT COUNT(*)`` over the check-ins (the least any figure over them costs). PDF and CSV rendering
  of the result are timed separately (500 stations × 男/女/計 rows is a long document).
- live refresh: ``CommitteeClient.snapshot`` (what the view's background refresh calls) with the figures built as
  the view shows them — the usual tick (early-voting figures kept; they are asked for every 4th refresh) and the full
  one; baseline: an authenticated ``/v1/status`` round trip.

    UKETSUKE_TEST_PG=postgresql://… .venv/bin/python bench/committee_report.py [--check-ins N] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from ballots.model import ElectionDefinition
from ballots.reports import report_csv, report_pdf
from bench.benchlib import fresh_postgres
from kiosk.committee_client import CommitteeClient, CommitteeTLS
from sync import pki
from sync.server.runner import ServerTLS, start_embedded
from sync.server.storage import Database

ELECTION_DAY = date(2026, 12, 13)
EARLY_DAYS = 11
DAY_STATIONS, EARLY_STATIONS = 500, 20
ELECTIONS = ("shu-sho", "shu-hi")
PIN = "scrypt$16384$8$1$00$00"


def definition() -> ElectionDefinition:
    """Two elections, 500 election-day stations (one 投票区 each) and 20 early-voting stations."""
    return ElectionDefinition.from_toml_dict(
        {
            "election_day": ELECTION_DAY.isoformat(),
            "municipality": {"code": "139999", "name": "架空市", "prefecture": "東京都"},
            "elections": [
                {
                    "id": e,
                    "kind": "国",
                    "name": n,
                    "order": i + 1,
                    "early_voting_start": (ELECTION_DAY - timedelta(days=EARLY_DAYS)).isoformat(),
                }
                for i, (e, n) in enumerate(
                    zip(ELECTIONS, ("衆議院小選挙区選出議員選挙", "衆議院比例代表選出議員選挙"), strict=True)
                )
            ],
            "precincts": [{"code": f"{i:03d}", "name": f"第{i}投票区"} for i in range(1, DAY_STATIONS + 1)],
            "stations": [
                {"id": f"D{i:03d}", "name": f"第{i}投票所", "kind": "day", "precincts": [f"{i:03d}"]}
                for i in range(1, DAY_STATIONS + 1)
            ]
            + [{"id": f"E{i:02d}", "name": f"期日前投票所{i}", "kind": "early"} for i in range(1, EARLY_STATIONS + 1)],
            "staff": [{"id": "c01", "name": "受付　花子", "role": "clerk", "pin_hash": PIN}],
            "reports": {
                "hourly_times": ["10:00", "12:00", "14:00", "16:00", "18:00", "19:30", "20:00"],
                "previous": {"hourly": {"10:00": 90000, "20:00": 400000}, "early_voters": 150000},
            },
        }
    )


class Package:
    """What the server reads of the package (the register's sexes are bulk-loaded instead)."""

    def __init__(self, d: ElectionDefinition) -> None:
        self.definition, self.package_hash, self.register = d, secrets.token_hex(32), None


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _jst(day: date, seconds: float) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=9) + timedelta(seconds=seconds)


def load(url: str, package_hash: str, check_ins: int, rng: random.Random) -> dict[str, int]:
    """COPY the day into the migrated database; return what was loaded."""
    voters = check_ins // len(ELECTIONS)
    now = _iso(datetime.now(UTC))
    sealed_tail = f'"hash":"{"a" * 64}","prev_hash":"{"b" * 64}","signature":"{"c" * 128}"'
    counts = {"check_ins": 0, "declarations": 0, "voids": 0, "conflicts": 0, "kiosks": 0, "voters": 0}
    seqs: dict[str, int] = {}

    def row(kind: str, kiosk: str, station: str, at: datetime, voter: str, election: str | None, data: str) -> tuple:
        seq = seqs[kiosk] = seqs.get(kiosk, 0) + 1
        eid = secrets.token_hex(16)
        a = _iso(at)
        body = (
            f'{{"kiosk_id":"{kiosk}","seq":{seq},{sealed_tail},"event":{{"event_id":"{eid}","type":"{kind}",'
            f'"station_id":"{station}","staff_id":"c01","at":"{a}","voter":"{voter}",'
            f'"election":{json.dumps(election)},"data":{data}}}}}'
        )
        return (eid, kiosk, seq, kind, election, voter, station, a, "a" * 64, None, body, now)

    cols = "event_id, kiosk_id, seq, type, election, voter, station_id, at, hash, target, sealed, received_at"
    voided: list[tuple] = []
    conflicts: list[tuple] = []
    conflict_rows: list[tuple] = []
    with psycopg.connect(url, autocommit=True) as conn:
        # the register first, as the server loads it: the insert trigger then records each check-in's sex
        with conn.cursor() as cur, cur.copy("COPY voter_sex (voter, sex) FROM STDIN") as cp:
            for v in range(int(voters * 1.2)):  # the register holds more voters than voted
                cp.write_row((f"{v:015d}", "M" if v % 2 else "F"))
                counts["voters"] += 1
        with conn.cursor() as cur, cur.copy(f"COPY events ({cols}) FROM STDIN") as cp:
            for v in range(voters):
                code = f"{v:015d}"
                if rng.random() < 0.3:  # early voter: a 宣誓書, then both ballots
                    st = f"E{rng.randrange(1, EARLY_STATIONS + 1):02d}"
                    day = ELECTION_DAY - timedelta(days=rng.randrange(1, EARLY_DAYS + 1))
                    t = _jst(day, rng.uniform(8.5 * 3600, 20 * 3600))
                    kiosk, kind = f"K-{st}", "early"
                    cp.write_row(row("declaration", kiosk, st, t, code, None, f'{{"reason":{rng.randrange(1, 7)}}}'))
                    counts["declarations"] += 1
                    t += timedelta(seconds=30)
                else:
                    st = f"D{rng.randrange(1, DAY_STATIONS + 1):03d}"
                    t = _jst(ELECTION_DAY, rng.uniform(7 * 3600, 20 * 3600))
                    kiosk, kind = f"K-{st}", "day"
                for e in ELECTIONS:
                    r = row("check_in", kiosk, st, t, code, e, f'{{"kind":"{kind}"}}')
                    cp.write_row(r)
                    counts["check_ins"] += 1
                    if rng.random() < 0.0005:
                        voided.append(r)
                    elif rng.random() < 0.0002:
                        conflicts.append(r)
            for r in voided:
                eid, kiosk, _seq, _k, _e, voter, st, a, *_ = r
                void = row("void", kiosk, st, datetime.fromisoformat(a) + timedelta(minutes=2), voter, None, "{}")
                cp.write_row((*void[:9], eid, *void[10:]))
                counts["voids"] += 1
            for r in conflicts:  # the same voter again at another station, offline
                eid, kiosk, _seq, _k, e, voter, st, a, *_ = r
                other = f"D{rng.randrange(1, DAY_STATIONS + 1):03d}"
                again = row(
                    "check_in",
                    f"K-{other}",
                    other,
                    datetime.fromisoformat(a) + timedelta(hours=1),
                    voter,
                    e,
                    '{"kind":"day","offline":true}',
                )
                cp.write_row(again)
                counts["check_ins"] += 1
                conflict_rows.append((e, voter, eid, kiosk, st, a, again[0], again[1], other, again[7], now))
        # after the COPY: a connection runs one statement at a time
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO conflicts (election, voter, first_event_id, first_kiosk, first_station, first_at, "
                "second_event_id, second_kiosk, second_station, second_at, detected_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                conflict_rows,
            )
            counts["conflicts"] = len(conflict_rows)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('voter_sex', %s) ON CONFLICT (key) DO UPDATE SET value = %s",
            (package_hash, package_hash),
        )
        with conn.cursor() as cur:
            kiosks = [(k, "00" * 32, now, now, n, "a" * 64, 0, 0, 1.0, now, 12.5, k[2:]) for k, n in seqs.items()]
            cur.executemany(
                "INSERT INTO kiosks (kiosk_id, ledger_key, first_seen, last_seen, last_seq, last_hash, pending, "
                "replica_cursor, replica_age_s, client_time, skew_ms, station_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                kiosks,
            )
            counts["kiosks"] = len(kiosks)
        conn.execute("ANALYZE")
    return counts


def add_live_events(conn: Any, round_no: int, n: int) -> None:
    """``n`` more election-day check-ins (copies of existing ones under new ids from a new kiosk), through the same
    insert trigger as pushed events."""
    conn.execute(
        "INSERT INTO events (event_id, kiosk_id, seq, type, election, voter, station_id, at, hash, target, sealed, "
        "received_at) SELECT md5(event_id || %s), %s, row_number() OVER (), type, election, voter, station_id, at, "
        "hash, NULL, sealed, received_at FROM events WHERE type = 'check_in' AND kiosk_id LIKE 'K-D%%' LIMIT %s",
        (str(round_no), f"K-LIVE-{round_no}", n),
    )


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--pg", default=os.environ.get("UKETSUKE_TEST_PG"), help="PostgreSQL DSN (admin; a database is made)"
    )
    ap.add_argument("--check-ins", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--live-events", type=int, default=1000, help="check-ins arriving between two live refreshes")
    args = ap.parse_args()
    if not args.pg:
        sys.exit("bench/committee_report.py: PostgreSQL needed: --pg DSN or UKETSUKE_TEST_PG")
    url, drop = fresh_postgres(args.pg, "uk_bench_committee")
    d = definition()
    package = Package(d)
    tmp = Path(tempfile.mkdtemp(prefix="uk-bench-committee-"))
    try:
        Database(url, package.package_hash).close()  # the server's own migrations
        t0 = time.perf_counter()
        loaded = load(url, package.package_hash, args.check_ins, random.Random(args.seed))
        load_s = time.perf_counter() - t0
        pki.init_ca(tmp / "ca")
        pki.issue_server(tmp / "ca", "127.0.0.1", tmp / "server")
        pki.issue_client(tmp / "ca", "committee-bench", tmp / "committee", role=pki.CertRole.COMMITTEE)
        server = start_embedded(package, url, tls=ServerTLS(tmp / "server", tmp / "ca"))
        try:
            with (
                CommitteeClient(server.url, CommitteeTLS.from_dirs(tmp / "committee")) as client,
                psycopg.connect(url, autocommit=True) as conn,
            ):
                client.facts()
                scan_s, n = timed(
                    lambda: conn.execute("SELECT COUNT(*) FROM events WHERE type = 'check_in'").fetchone()[0],
                    args.repeat,
                )
                report_s, report = timed(lambda: client.committee_report(ELECTION_DAY), args.repeat)
                pdf_s, pdf = timed(lambda: report_pdf(report), 1)
                csv_s, csv_bytes = timed(lambda: report_csv(report), 1)
                status_s, _ = timed(lambda: client._call("GET", "/v1/status"), max(5, args.repeat))

                def refresh(reuse: Any = None) -> Any:
                    snap = client.snapshot(ELECTION_DAY, reuse_early=reuse)
                    snap.turnout.tables()  # what the view fills its table and chart from
                    snap.turnout.hourly(ELECTIONS[0], None)
                    return snap

                full_s, snap = timed(refresh, args.repeat)
                # The view's usual tick keeps the early-voting figures (asked for every 4th refresh and on F5), and
                # between two ticks the day goes on: --live-events new check-ins arrive before each timed refresh.
                ticks = []
                for i in range(args.repeat):
                    add_live_events(conn, i, args.live_events)
                    t0 = time.perf_counter()
                    refresh(snap.early)
                    ticks.append(time.perf_counter() - t0)
                refresh_s = statistics.median(ticks)
                overview_s, _ = timed(lambda: client.overview(ELECTION_DAY), args.repeat)
        finally:
            server.stop()
        final = snap.turnout.cumulative(ELECTIONS[0], None)[-1]
        out = {
            "bench": "committee_report",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
            "caveat": "shared 2-core machine with other engineers' jobs running; compare ratios, not seconds",
            "data": {**loaded, "load_s": round(load_s, 2), "stations": len(d.stations), "check_ins_counted": n},
            "committee_report": {
                "goal_s": 5.0,
                "median_s": round(report_s, 3),
                "baseline_count_scan_s": round(scan_s, 3),
                "ratio_to_baseline": round(report_s / scan_s, 1),
                "pdf_render_s": round(pdf_s, 3),
                "pdf_bytes": len(pdf),
                "csv_render_s": round(csv_s, 3),
                "csv_bytes": len(csv_bytes),
                "meets_goal": report_s <= 5.0,
            },
            "live_refresh_500_stations": {
                "goal_s": 1.0,
                "refresh_median_s": round(refresh_s, 3),
                "new_check_ins_between_refreshes": args.live_events,
                "full_refresh_with_early_median_s": round(full_s, 3),
                "overview_only_median_s": round(overview_s, 3),
                "baseline_status_roundtrip_s": round(status_s, 4),
                "ratio_to_baseline": round(refresh_s / status_s, 1),
                "stations_in_view": len(snap.stations.rows),
                "meets_goal": refresh_s <= 1.0,
            },
            "check": {
                "day_voters_shu_sho": final.total,
                "early_voters_shu_sho": report.early.total(ELECTIONS[0]).total,
            },
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
    finally:
        drop()


if __name__ == "__main__":
    main()
