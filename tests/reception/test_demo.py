"""``uketsuke demo``: the scripted reception day end to end, as a subprocess, checked through what it left on disk."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ballots.events import EventType
from sync.ledger import Ledger, read_events

REPO = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cmd, *args], cwd=REPO, capture_output=True, text=True, timeout=240, env=env or dict(os.environ)
    )


@pytest.fixture(scope="module")
def demo(uketsuke_cmd: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One headless demo run (with the embedded server): its JSON summary and stderr."""
    out = tmp_path_factory.mktemp("demo") / "day"
    proc = _run(uketsuke_cmd, "demo", "--headless", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_demo_ledgers_verify_with_the_kiosk_public_keys(
    demo: tuple[dict[str, Any], str], uketsuke_cmd: list[str]
) -> None:
    summary, _ = demo
    assert sorted(summary["ledgers"]) == ["D001-1", "D001-2", "E01-1"]
    for path in summary["ledgers"].values():
        proc = _run(uketsuke_cmd, "ledger", "verify", path, "--pubkey", path + ".pub")
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_demo_records_the_expected_events(demo: tuple[dict[str, Any], str]) -> None:
    summary, _ = demo
    assert summary["server"] and summary["server"].startswith("http://127.0.0.1:")
    by_kiosk = {kiosk: read_events(path) for kiosk, path in summary["ledgers"].items()}
    early = by_kiosk["E01-1"]
    day = by_kiosk["D001-1"] + by_kiosk["D001-2"]
    types = {t: [e for e in early + day if e.type is t] for t in EventType}

    # Early voting: declarations with their 事由, early check-ins; the first visit only for the elections open then.
    assert sorted(e.data["reason"] for e in types[EventType.DECLARATION]) == [1, 2, 2, 5]
    assert {e.data["kind"] for e in early if e.type is EventType.CHECK_IN} == {"early"}
    assert {e.data["kind"] for e in day if e.type is EventType.CHECK_IN} == {"day"}
    partial = [e for e in early if e.type is EventType.CHECK_IN and e.data.get("reason") == 2]
    by_voter: dict[str, set[str]] = {}
    for e in partial:
        by_voter.setdefault(str(e.voter), set()).add(str(e.election))
    assert by_voter and all(len(elections) == 4 for elections in by_voter.values())  # two visits, four elections

    # The moved voter got the national ballots only.
    (moved,) = {e.voter for e in types[EventType.DECLARATION] if e.data["reason"] == 5}
    assert {e.election for e in early if e.type is EventType.CHECK_IN and e.voter == moved} == {
        "shu-sho",
        "shu-hirei",
        "shinsa",
    }

    # Nobody received a ballot twice for one election.
    pairs = [(e.voter, e.election) for e in types[EventType.CHECK_IN]]
    assert len(pairs) == len(set(pairs))

    # The manager's decisions are logged with who and why; every record shown was logged.
    assert types[EventType.OVERRIDE] and all(
        e.staff_id == "m01" and e.data["reason"] for e in types[EventType.OVERRIDE]
    )
    (proxy,) = types[EventType.PROXY_VOTE]
    assert proxy.data["helpers"] == ["c02", "c03"]
    assert len(types[EventType.RECORD_VIEWED]) >= 8
    assert len(types[EventType.STAFF_SIGN_IN]) == len(types[EventType.STAFF_SIGN_OUT]) == 4


def test_demo_stops_the_double_vote_and_the_wrong_station(demo: tuple[dict[str, Any], str]) -> None:
    summary, _ = demo
    stops = summary["stops"]
    fully_voted = [s for s in stops if set(s["codes"].values()) == {"already_voted"}]
    # The early voter on election day, the classic incident, and the voter who went straight to the next desk.
    assert len(fully_voted) == 3
    # That last one was stopped by the server's claim alone: the second desk's ledger had never seen the vote.
    second_desk = [s for s in fully_voted if s["kiosk"] == "D001-2"]
    assert len(second_desk) == 1
    (shown,) = [e for e in read_events(summary["ledgers"]["D001-2"]) if e.type is EventType.STOP_SHOWN]
    first_desk_ids = {e.event_id for e in read_events(summary["ledgers"]["D001-1"]) if e.type is EventType.CHECK_IN}
    assert len(shown.data["existing"]) == 4
    assert {x["event_id"] for x in shown.data["existing"]} <= first_desk_ids  # the server named desk 1's check-ins
    assert any(set(s["codes"].values()) == {"wrong_station"} for s in stops)
    assert any("absentee_issued" in s["codes"].values() for s in stops)
    everything = [e for p in summary["ledgers"].values() for e in read_events(p)]
    # Every full-screen stop the desks showed is in a ledger, with the voter (the wrong station is a refusal screen).
    shown = [e for e in everything if e.type is EventType.STOP_SHOWN]
    assert sorted(str(e.voter) for e in shown) == sorted(s["voter"] for s in stops if s["screen"] == "stop")
    stopped = {s["voter"] for s in fully_voted}
    assert len(stopped) == 3
    # The stopped voters hold exactly one check-in per election over both kiosks: the stop gave nothing twice.
    for voter in stopped:
        mine = [e.election for e in everything if e.type is EventType.CHECK_IN and e.voter == voter]
        assert sorted(mine) == sorted(["shu-sho", "shu-hirei", "shinsa", "shicho"])


def test_demo_leaves_a_verifiable_package_its_ledgers_belong_to(demo: tuple[dict[str, Any], str]) -> None:
    from ballots.package import verify_package

    summary, _ = demo
    out = Path(summary["out"])
    info = verify_package(summary["package"], out / "sample" / "committee.pub")
    assert info.package_hash == summary["package_hash"] and info.voters == 3000
    for path in summary["ledgers"].values():
        ledger = Ledger.open_readonly(path)
        try:
            assert ledger.package_hash == summary["package_hash"]
        finally:
            ledger.close()


def test_demo_leaves_the_printed_declarations(demo: tuple[dict[str, Any], str]) -> None:
    summary, _ = demo
    names = [Path(p).name for p in summary["printed"]]
    assert sum("宣誓書" in n for n in names) == 4
    for report in ("期日前投票録", "投票事由調書", "投票録_", "時間別投票者数", "投票済み一覧"):
        assert any(report in n for n in names), (report, names)
    for path in summary["printed"]:
        assert Path(path).read_bytes().startswith(b"%PDF")
    hourly = next(Path(p) for p in summary["printed"] if "時間別投票者数" in Path(p).name)
    text = subprocess.run(["pdftotext", str(hourly), "-"], capture_output=True, text=True, check=True).stdout
    assert "時間別投票者数" in text and "男" in text and "女" in text
    out = Path(summary["out"])
    # Privacy: files name voters by register key; no face photo was written outside the sample's personas.
    assert not [p for p in out.rglob("*") if p.suffix in {".jp2", ".png", ".jpg"} and "personas" not in p.parts]


def test_demo_without_display_says_so_and_runs_headless(uketsuke_cmd: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = _run(uketsuke_cmd, "demo", "--out", str(tmp_path / "d"), "--no-server", "--voters", "3000", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "no display" in proc.stderr and "headless" in proc.stderr
    assert "投票済みです" in proc.stdout
    assert "この投票所では投票できません" in proc.stdout
    assert "転出者は市区町村の選挙に投票できません" in proc.stdout
    assert "検証 OK" in proc.stdout


def test_demo_refuses_a_non_empty_directory(uketsuke_cmd: list[str], tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    proc = _run(uketsuke_cmd, "demo", "--headless", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "not empty" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
