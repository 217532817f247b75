"""Benchmark: the one-folder bundle — size, build time, and start-up of `--version` and `selftest`. Prints JSON.

A terminal starts `uketsuke` cold many times a day (kiosk start, selftest, reports): the bundle must not be slower
to start than the checkout it was built from. Each bundle figure comes with the same command run from the checkout
(`python -m kiosk …`) in the same run, and the ratio; `python -c pass` is the interpreter's floor.

    .venv/bin/python bench/bundle_startup.py [--bundle dist/uketsuke | --build] [--repeat N]

`--build` builds a fresh bundle into a temporary directory with build.spec first (and reports the build time);
otherwise an existing bundle is measured (default dist/uketsuke, made by scripts/build-bundle.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _stats(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p90_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.9))], 1),
        "min_ms": round(samples[0], 1),
    }


def _timed(commands: dict[str, tuple[list[str], Path]], repeat: int) -> dict[str, dict[str, float]]:
    """Wall time in ms of each command over ``repeat`` rounds. The commands run interleaved, one of each per round,
    so a busy machine slows all of them alike and the ratios stay meaningful; two warm-up rounds fill the file cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "UKETSUKE_RESOURCES")}
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_no in range(repeat + 2):
        for name, (cmd, cwd) in commands.items():
            started = time.perf_counter()
            out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
            elapsed = (time.perf_counter() - started) * 1000
            if out.returncode not in (0, 1):  # selftest exits 1 when a required item fails: still a full run
                raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.decode(errors='replace')}")
            if round_no >= 2:
                samples[name].append(elapsed)
    return {name: _stats(values) for name, values in samples.items()}


def _size(bundle: Path) -> dict[str, Any]:
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]  # PyInstaller links some libraries
    total = sum(p.stat().st_size for p in files)
    qt = sum(p.stat().st_size for p in files if "PySide6" in p.parts)
    return {"files": len(files), "size_mb": round(total / 1e6, 1), "qt_mb": round(qt / 1e6, 1)}


def main() -> None:
    """Measure and print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--bundle", type=Path, default=REPO / "dist" / "uketsuke", help="existing bundle folder")
    where.add_argument("--build", action="store_true", help="build a fresh bundle into a temporary directory first")
    parser.add_argument("--repeat", type=int, default=10, help="runs per command (default 10)")
    args = parser.parse_args()

    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "python": platform.python_version(),
            "platform": platform.platform(),
        }
    }
    temp = Path(tempfile.mkdtemp(prefix="uketsuke-bench-bundle-"))
    try:
        bundle = args.bundle
        if args.build:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath",
                 str(temp / "dist"), "--workpath", str(temp / "work"), str(REPO / "build.spec")],
                cwd=REPO, check=True, capture_output=True,
            )  # fmt: skip
            result["build_s"] = round(time.perf_counter() - started, 1)
            bundle = temp / "dist" / "uketsuke"
        exe = bundle / ("uketsuke.exe" if os.name == "nt" else "uketsuke")
        if not exe.is_file():
            raise SystemExit(f"no bundle at {bundle}: run scripts/build-bundle.sh or pass --build")
        result["bundle"] = {"path": str(bundle), **_size(bundle)}
        run_dir = temp / "run"
        run_dir.mkdir()
        checkout = [sys.executable, "-m", "kiosk"]
        result["python_floor"] = _timed({"floor": ([sys.executable, "-c", "pass"], run_dir)}, args.repeat)["floor"]
        for name, command in (
            ("version", ["--version"]),
            ("help", ["--help"]),  # imports every command module, as any command does
            ("selftest", ["selftest", "--no-station", "--json"]),
        ):
            timed = _timed(
                {"bundle": ([str(exe), *command], run_dir), "checkout": ([*checkout, *command], REPO)}, args.repeat
            )
            result[name] = {
                **timed,
                "ratio_bundle_to_checkout": round(timed["bundle"]["median_ms"] / timed["checkout"]["median_ms"], 2),
            }
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
