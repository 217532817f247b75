"""Kiosk UI figures, printed as JSON (issue 6; goals in docs/performance.md):

- ``card_to_photo``: from the card read starting (software card in-process, so no link time) to the face photo on the
  voter screen — card read, register match, durable RECORD_VIEWED append, eligibility preview and rendering.
  Baseline in the same run: the bare card read alone. Goal ≤ 100 ms.
- ``start_to_ready``: from creating the window to the ready screen with a package of ``--voters`` (default 1,000,000)
  voters: open + verify + decrypt the package, sign-in, opening check, open the station (the people's typing is
  not counted). Baseline in the same run: ``open_package`` alone. Goal ≤ 4 s.
- ``ui_stall``: the longest gap between 10 ms timer ticks on the UI thread while receptions run against the tally
  server (claims, push, pull; the embedded server in a child process, as the real one is another machine) with every
  宣誓書 and a report printed (file printer). Baseline in the same run: the longest gap while idle. Goal ≤ 100 ms.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui_latency.py [--voters N] [--work DIR] [--rounds R]``.
The 1,000,000-voter sample and package are generated once into ``--work`` and reused. The machine is shared: read
the ratios to the baselines more than the absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballots.rules import JST
from kiosk import workflow as wf
from kiosk.ui.stallmeter import TickRecorder, application, process_until


class Clock:
    """The kiosk's clock, pinned to an early-voting day of the sample election."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def wait(app: Any, cond: Any, timeout: float = 120.0) -> None:
    """Process events until ``cond()`` (what a person would see), or fail."""
    process_until(cond, timeout)


def prepare(work: Path, voters: int) -> dict[str, Any]:
    """Sample + package, generated once per size and reused."""
    from ballots.package import build_package
    from ballots.sample import generate_sample

    d = work / f"sample-{voters}"
    pkg = d / "election.pkg"
    t0 = time.perf_counter()
    if not (d / "register.csv").exists():
        generate_sample(d, voters, seed=7, personas=8)
    # The package format follows the code: rebuild when the package or register code is newer than the file.
    code = max((Path(__file__).resolve().parents[1] / "ballots" / f).stat().st_mtime
               for f in ("package.py", "register.py"))
    if not pkg.exists() or pkg.stat().st_mtime < code:
        passphrase = (d / "passphrase.txt").read_text("utf-8").strip()
        build_package(d / "election.toml", d / "register.csv", d / "committee.key", pkg, passphrase)
        print(f"prepared {voters:,} voters in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    personas = sorted((d / "personas").glob("*.json"))
    # The demo README lists each staff id with its PIN: "  m01   2201  manager  …".
    pins = {}
    for line in (d / "README.txt").read_text("utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] in ("manager", "clerk"):
            pins[parts[0]] = parts[1]
    return {
        "manager_pin": pins["m01"],
        "dir": d,
        "package": pkg,
        "pubkey": d / "committee.pub",
        "passphrase": (d / "passphrase.txt").read_text("utf-8").strip(),
        "persona": next(p for p in personas if "plain" in p.name),
    }


def make_kiosk(app: Any, files: dict[str, Any], ledger: Path, **kw: Any) -> Any:
    from ballots.printing import FilePrinter
    from kiosk.app import KioskRuntime
    from kiosk.config import KioskConfig, PrinterKind, ReaderKind
    from kiosk.ui.main import create_kiosk
    from reader.service import CardReader
    from reader.softcard import SoftwareCard

    config = KioskConfig(package=files["package"], pubkey=files["pubkey"], station="E01", ledger=ledger,
                         reader=ReaderKind.SOFT, soft_card=files["persona"], printer=PrinterKind.FILE,
                         printer_dir=ledger.parent / "prints", server=kw.pop("server", None))
    (ledger.parent / "prints").mkdir(exist_ok=True)
    card = CardReader(SoftwareCard.from_persona(files["persona"]).connector())
    runtime = KioskRuntime(config, card=card, printer=FilePrinter(ledger.parent / "prints"),
                           clock=Clock(datetime(2026, 12, 7, 10, 0, tzinfo=JST).astimezone(UTC)), **kw)
    _, window, controller = create_kiosk(runtime, app)
    window.show()
    return runtime, window, controller


def to_ready(app: Any, controller: Any, passphrase: str, pin: str) -> None:
    """Unlock, manager sign-in, opening check, open: what the desk does before the first voter (no typing)."""
    controller.unlock(passphrase)
    wait(app, lambda: controller.info is not None and controller.ops.busy == 0)
    controller.dispatch(wf.SignIn("m01", pin))
    wait(app, lambda: controller.state.screen is wf.Screen.READY and controller.ops.busy == 0)
    controller.open_station(False)
    wait(app, lambda: controller.station_open and controller.ops.busy == 0)


def persona_birth(persona: Path) -> tuple[Any, str]:
    from datetime import date

    raw = json.loads(persona.read_text("utf-8"))
    return date.fromisoformat(raw["birth_date"]), raw["security_code"]


def bench_card_to_photo(app: Any, files: dict[str, Any], work: Path, rounds: int) -> dict[str, Any]:
    from reader.service import CardReader
    from reader.softcard import SoftwareCard

    runtime, window, controller = make_kiosk(app, files, work / "card.db")
    to_ready(app, controller, files["passphrase"], files["manager_pin"])
    birth, code = persona_birth(files["persona"])
    bare = CardReader(SoftwareCard.from_persona(files["persona"]).connector())
    baseline, total, card_only = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        outcome = bare.read_with_collation(birth, code)
        baseline.append(time.perf_counter() - t0)
        assert getattr(outcome, "photo", None) is not None, outcome
        t0 = time.perf_counter()
        controller.read_card_collation(birth, code, "")
        wait(app, lambda: window.current_page() is window.voter)
        total.append(time.perf_counter() - t0)
        pix = window.voter.photo.pixmap()
        assert pix is not None and not pix.isNull()
        controller.dispatch(wf.Cancel())
        wait(app, lambda: controller.state.screen is wf.Screen.READY and controller.ops.busy == 0)
        t0 = time.perf_counter()
        runtime.read_card_collation(birth, code, None)
        card_only.append(time.perf_counter() - t0)
    controller.shutdown()
    med, base = statistics.median(total), statistics.median(baseline)
    return {
        "rounds": rounds,
        "median_ms": round(med * 1000, 2),
        "p95_ms": round(sorted(total)[int(0.95 * (len(total) - 1))] * 1000, 2),
        "max_ms": round(max(total) * 1000, 2),
        "baseline_bare_card_read_median_ms": round(base * 1000, 2),
        "ratio_to_baseline": round(med / base, 2),
        "goal_ms": 100,
        "meets_goal": med * 1000 <= 100,
    }


def bench_start_to_ready(app: Any, files: dict[str, Any], work: Path, voters: int) -> dict[str, Any]:
    from ballots.package import open_package

    t0 = time.perf_counter()
    pkg = open_package(files["package"], files["pubkey"], files["passphrase"])
    baseline = time.perf_counter() - t0
    assert len(pkg.register) == voters
    del pkg
    ledger = work / "start.db"
    for suffix in ("", "-wal", "-shm", ".key"):
        Path(str(ledger) + suffix).unlink(missing_ok=True)
    t0 = time.perf_counter()
    _runtime, window, controller = make_kiosk(app, files, ledger)
    to_ready(app, controller, files["passphrase"], files["manager_pin"])
    wait(app, lambda: window.current_page() is window.reception)
    total = time.perf_counter() - t0
    opened_in = controller.info.opened_in if controller.info else None
    controller.shutdown()
    return {
        "voters": voters,
        "seconds": round(total, 3),
        "package_open_in_runtime_s": round(opened_in, 3) if opened_in else None,
        "baseline_open_package_s": round(baseline, 3),
        "ratio_to_baseline": round(total / baseline, 2),
        "goal_s": 4,
        "meets_goal": total <= 4,
    }


class _ServerProcess:
    """``start_embedded`` (loopback, SQLite, demo mode) in a child process; ``url`` once it listens."""

    _CODE = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ballots.package import open_package\n"
        "from sync.server.runner import start_embedded\n"
        "pkg = open_package(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])\n"
        "server = start_embedded(pkg, 'sqlite:///' + sys.argv[4], host='127.0.0.1', port=0)\n"
        "print(server.url, flush=True)\n"
        "sys.stdin.read()\n"
        "server.stop()\n"
    )

    def __init__(self, files: dict[str, Any], db: Path) -> None:
        import subprocess

        root = Path(__file__).resolve().parents[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", self._CODE, str(files["package"]), str(files["pubkey"]), files["passphrase"],
             str(db.resolve())],
            cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.proc.kill()
            raise RuntimeError(f"the server did not start: {self.url!r}")

    def stop(self) -> None:
        """Close its stdin (it stops itself), then wait; kill only if it hangs."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


def bench_ui_stall(app: Any, files: dict[str, Any], work: Path, rounds: int) -> dict[str, Any]:
    from kiosk.config import KioskConfig

    # The tally server runs in its own process, as in production (it is another machine): in this process its
    # event loop and writer thread would compete with the kiosk's UI thread for the GIL and inflate the figure.
    server = _ServerProcess(files, work / "server.db")
    try:
        from kiosk.app import sync_factory_for

        cfg = KioskConfig(package=files["package"], pubkey=files["pubkey"], station="E01",
                          ledger=work / "stall.db", server=server.url)
        runtime, _window, controller = make_kiosk(app, files, work / "stall.db", server=server.url,
                                                 sync_factory=sync_factory_for(cfg))
        to_ready(app, controller, files["passphrase"], files["manager_pin"])
        register = list(runtime._need().package.register)
        voters = [v for v in register if not v.moved and v.absentee is None
                  and v.age_on(runtime.definition.election_day) >= 19][:rounds]
        ticks = TickRecorder()
        # Baseline: the same window, idle, for a fixed time.
        with ticks:
            t0 = time.perf_counter()
            wait(app, lambda: time.perf_counter() - t0 > 2.0)
        idle_gap, idle_ticks = ticks.longest_gap, len(ticks.ticks)
        with ticks:
            t0 = time.perf_counter()
            for v in voters:
                controller.dispatch(wf.BarcodeScanned(v.code))
                wait(app, lambda: controller.state.screen is wf.Screen.CONFIRM_IDENTITY and controller.ops.busy == 0)
                controller.dispatch(wf.Confirmed())
                wait(app, lambda: controller.state.screen is wf.Screen.CHOOSE_REASON and controller.ops.busy == 0)
                controller.dispatch(wf.ReasonChosen(1))  # claims at the server + the 宣誓書 printed
                wait(app, lambda: controller.state.screen is wf.Screen.ISSUE and controller.ops.busy == 0)
                controller.dispatch(wf.Finish())
                wait(app, lambda: controller.state.screen is wf.Screen.READY and controller.ops.busy == 0)
            controller.print_report("station")
            wait(app, lambda: controller.ops.busy == 0)
            # Let the pusher drain the outbox while we keep watching the UI thread.
            wait(app, lambda: runtime._need().ledger.pending_count == 0, timeout=60)
            busy_s = time.perf_counter() - t0
        busy_gap = ticks.longest_gap
        prints = len(list((work / "prints").glob("*.pdf")))
        controller.shutdown()
    finally:
        server.stop()
    return {
        "receptions": len(voters),
        "printed_pdfs": prints,
        "seconds": round(busy_s, 2),
        "longest_gap_ms": round(busy_gap * 1000, 1),
        "baseline_idle_longest_gap_ms": round(idle_gap * 1000, 1),
        "ticks": len(ticks.ticks),
        "baseline_ticks": idle_ticks,
        "ratio_to_baseline": round(busy_gap / idle_gap, 2) if idle_gap else None,
        "goal_ms": 100,
        "meets_goal": busy_gap * 1000 <= 100,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voters", type=int, default=1_000_000, help="package size for start_to_ready")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "uketsuke-bench-ui")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    app = application(["ui-bench"])
    small = prepare(args.work, 2000)
    run = Path(tempfile.mkdtemp(prefix="run-", dir=args.work))
    result: dict[str, Any] = {
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "card_to_photo": bench_card_to_photo(app, small, run, args.rounds),
        "ui_stall": bench_ui_stall(app, small, run, args.rounds),
    }
    big = prepare(args.work, args.voters)
    result["start_to_ready"] = bench_start_to_ready(app, big, run, args.voters)
    result["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
