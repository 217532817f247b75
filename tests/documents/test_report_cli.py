"""``uketsuke report``: from real kiosk ledgers and a real election package to PDF and CSV files."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from documents_support import at, check_in, decision_check_in, ev

from ballots.events import EventType
from ballots.model import decision_holder_key

pytest.importorskip("ballots.package")

from ballots.package import build_package, open_package
from ballots.sample import generate_sample
from sync.keys import generate_key
from sync.ledger import Ledger

DECISION = "令和8年選管決定第7号"  # a 決定書等所持者 (not in the register) voted 比例代表 at desk 1


@dataclass(frozen=True)
class Setup:
    package: Path
    pubkey: Path
    passphrase_file: Path
    ledgers: tuple[Path, Path]
    voters: tuple[str, ...]  # register keys of the first register entries, used in the ledgers


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    out = tmp_path_factory.mktemp("report-cli")
    generate_sample(out, 120, seed=3, personas=2)
    passphrase_file = out / "passphrase.txt"
    package = out / "election.pkg"
    build_package(
        out / "election.toml", out / "register.csv", out / "committee.key", package, passphrase_file.read_text().strip()
    )
    opened = open_package(package, out / "committee.pub", passphrase_file.read_text().strip())
    voters = tuple(v.code for v in list(opened.register)[:6])
    a, b = voters[0], voters[1]
    desk1 = [
        ev(EventType.STOCK_RECEIVED, at(5, "08:00"), election="shu-sho", staff="m01", count=50),
        ev(EventType.DECLARATION, at(5, "09:00"), voter=a, reason=1),
        check_in(at(5, "09:01"), a, "shu-sho"),
        ev(EventType.DECLARATION, at(5, "09:30"), voter=b, reason=3),
        check_in(at(5, "09:31"), b, "shu-sho", eid="b-first"),
        check_in(at(5, "11:00"), voters[2], "shu-sho", eid="mistake"),
        ev(EventType.VOID, at(5, "11:05"), staff="m01", target="mistake", reason="別人を受付"),
        ev(EventType.BALLOT_REISSUED, at(5, "11:10"), voter=a, election="shu-sho", reason="書き損じ"),
        ev(EventType.STOCK_RECEIVED, at(5, "08:00"), election="shu-hirei", staff="m01", count=50),
        ev(EventType.DECLARATION, at(5, "12:00"), voter=decision_holder_key(DECISION), reason=4),
        decision_check_in(at(5, "12:01"), DECISION, "shu-hirei"),
    ]
    desk2 = [  # a second desk, offline for a while: it handed voter b a second ballot
        ev(EventType.DECLARATION, at(5, "10:00"), voter=b, reason=3),
        check_in(at(5, "10:01"), b, "shu-sho", eid="b-second"),
        ev(EventType.DECLARATION, at(6, "10:00"), voter=voters[3], reason=2),
        check_in(at(6, "10:01"), voters[3], "shu-sho"),
    ]
    paths = (out / "desk1.db", out / "desk2.db")
    for path, events, kiosk in zip(paths, (desk1, desk2), ("E01-1", "E01-2"), strict=True):
        with Ledger.open(path, kiosk_id=kiosk, key=generate_key()) as ledger:
            ledger.append_many(events)
    return Setup(package, out / "committee.pub", passphrase_file, paths, voters)


def _run(cmd: list[str], setup: Setup, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [*cmd, "report", *args, "--package", str(setup.package), "--pubkey", str(setup.pubkey)]
    for ledger in setup.ledgers:
        argv += ["--ledger", str(ledger)]
    env = {k: v for k, v in os.environ.items() if k != "UKETSUKE_PASSPHRASE"}
    env["UKETSUKE_PASSPHRASE"] = setup.passphrase_file.read_text().strip()
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)


def test_station_report_csv_counts_the_conflict_once(uketsuke_cmd: list[str], setup: Setup, tmp_path: Path) -> None:
    out = tmp_path / "station.csv"
    done = _run(uketsuke_cmd, setup, "station", "--station", "E01", "--date", "2026-12-05", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "mismatch" in done.stderr  # the double issuance is announced
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    voters = next(r for r in rows if r[0] == "shu-sho" and r[2] == "投票者数")
    assert voters[5] == "2"  # a and b; b's second ballot does not make a third voter
    issued = {r[2]: r[5] for r in rows if r[0] == "shu-sho"}
    assert issued["受付による交付数"] == "3" and issued["再交付数"] == "1" and issued["残数（計算）"] == "46"
    assert issued["取り消した受付"] == "1"
    assert any(r[2] == "不一致:conflict" for r in rows)
    # the decision holder is a voter of 比例代表 on the 投票録's own line, sex not recorded, and no mismatch
    hirei = {r[2]: r[3:] for r in rows if r[0] == "shu-hirei"}
    assert hirei["投票者数"] == ["0", "0", "1"] and hirei["決定書又は判決書により投票した者"] == ["0", "0", "1"]
    assert hirei["投票者数のうち性別不明"] == ["", "", "1"] and hirei["受付による交付数"] == ["", "", "1"]
    assert sorted(r[2] for r in rows if r[2].startswith("不一致:")) == [
        "不一致:check_ins_exceed_voters",
        "不一致:conflict",
    ]


def test_station_report_pdf(
    uketsuke_cmd: list[str],
    setup: Setup,
    tmp_path: Path,
    pdf_text: Callable[..., str],
    render_pages: Callable[[bytes], int],
) -> None:
    out = tmp_path / "station.pdf"
    done = _run(uketsuke_cmd, setup, "station", "--station", "E01", "--date", "2026-12-05", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert '"mismatches": 2' in done.stdout  # the double issuance; the decision holder is none
    pdf = out.read_bytes()
    assert render_pages(pdf) >= 1
    flat = "".join(pdf_text(pdf).split())
    assert "期日前投票録" in flat and "架空市役所本庁舎期日前投票所" in flat and "二重交付" in flat
    assert "うち決定書又は判決書により投票した者" in flat
    assert f"{DECISION}{decision_holder_key(DECISION)}" in flat  # its line in the list: reference, then the key
    assert "選挙人名簿にありません" not in flat


def test_reasons_and_hourly(uketsuke_cmd: list[str], setup: Setup, tmp_path: Path) -> None:
    out = tmp_path / "reasons.csv"
    assert _run(uketsuke_cmd, setup, "reasons", "--out", str(out)).returncode == 0
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    by_day = {r[1]: r for r in rows[1:] if r[0] == "shu-sho"}
    assert by_day["2026-12-05"][4] == "2" and by_day["2026-12-05"][5] == "1" and by_day["2026-12-05"][7] == "1"
    assert by_day["2026-12-06"][4] == "1" and by_day["2026-12-06"][6] == "1"
    hirei = [r for r in rows[1:] if r[0] == "shu-hirei"]
    assert hirei == [["shu-hirei", "2026-12-05", "0", "0", "1", "0", "0", "0", "1", "0", "0", "0"]]  # 事由4, sex 不明

    hourly = tmp_path / "hourly.csv"
    assert _run(uketsuke_cmd, setup, "hourly", "--date", "2026-12-05", "--out", str(hourly)).returncode == 0
    rows = list(csv.reader(io.StringIO(hourly.read_text("utf-8-sig"))))
    total = {r[2]: r[5] for r in rows if r[0] == "shu-sho" and r[1] == ""}
    assert total["10:00"] == "2" and total["最終"] == "2"
    hirei = {r[2]: r[5] for r in rows if r[0] == "shu-hirei" and r[1] == ""}
    assert hirei["12:00"] == "0" and hirei["14:00"] == "1" and hirei["最終"] == "1"


def test_voted_list(
    uketsuke_cmd: list[str], setup: Setup, tmp_path: Path, render_pages: Callable[[bytes], int]
) -> None:
    out = tmp_path / "voted.pdf"
    done = _run(uketsuke_cmd, setup, "voted", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert render_pages(out.read_bytes()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["station", "--station", "X9"], "--station 'X9': not in the election package"),
        (["voted", "--format", "csv"], "PDF only"),
        (["station", "--date", "5 Dec"], "expected a date YYYY-MM-DD"),
    ],
)
def test_bad_arguments_say_what_is_wrong(
    uketsuke_cmd: list[str], setup: Setup, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "r.pdf"
    done = _run(uketsuke_cmd, setup, *args, "--out", str(out))
    assert done.returncode == 2
    assert message in done.stderr
    assert not out.exists()


def test_missing_ledger_is_named(uketsuke_cmd: list[str], setup: Setup, tmp_path: Path) -> None:
    argv = [
        *uketsuke_cmd,
        "report",
        "station",
        "--ledger",
        str(tmp_path / "nope.db"),
        "--package",
        str(setup.package),
        "--pubkey",
        str(setup.pubkey),
        "--passphrase-file",
        str(setup.passphrase_file),
        "--out",
        str(tmp_path / "r.pdf"),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "nope.db: no such file" in done.stderr
