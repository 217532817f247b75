"""``uketsuke report committee|conflicts|access|turnout`` against the real server (SQLite here; the figures are
reconciled on both backends in test_committee_reconcile), and the argument checks of the committee's commands."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from committee_support import PKI, Seeded, voter_code

from kiosk.cli import main
from sync.server.runner import EmbeddedServer


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'server.db'}"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM for Excel
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def _pdf_text(path: Path) -> str:
    assert path.read_bytes().startswith(b"%PDF")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def remote(server: EmbeddedServer, committee_pki: PKI, seeded: Seeded) -> list[str]:
    return ["--server", server.url, "--tls-dir", str(committee_pki.committee())]


def test_turnout_csv_has_the_published_figures_and_the_previous_election(
    remote: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "turnout.csv"
    code, stdout, _ = _run(capsys, "report", "turnout", *remote, "--date", "2026-12-13", "--out", str(out))
    assert code == 0 and "turnout: wrote" in stdout
    rows = _csv(out)
    assert rows[0] == ["選挙ID", "投票所ID", "時刻", "男", "女", "計"]
    assert ["shu-sho", "", "最終", "11", "10", "22"] in rows
    assert ["shu-sho", "D01", "10:00", "3", "2", "5"] in rows
    assert ["shu-sho", "前回", "10:00", "", "", "2"] in rows
    assert not any(r[1] == "前回" and r[2] == "19:30" for r in rows)  # the package gives no 19:30 figure


def test_turnout_pdf_reads_as_the_published_form(
    remote: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "turnout.pdf"
    assert _run(capsys, "report", "turnout", *remote, "--date", "2026-12-13", "--out", str(out))[0] == 0
    text = _pdf_text(out)
    for expected in (
        "時間別投票者数",
        "令和8年12月13日",
        "第1投票所",
        "19:30",
        "最終",
        "前回比",
        "架空市選挙管理委員会",
    ):
        assert expected in text, expected


def test_committee_report_pdf_and_csv(remote: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf, csv_path = tmp_path / "committee.pdf", tmp_path / "committee.csv"
    assert _run(capsys, "report", "committee", *remote, "--date", "2026-12-13", "--out", str(pdf))[0] == 0
    text = _pdf_text(pdf)
    for expected in ("投票所端末の状態", "期日前投票", "二重交付", "取消・管理者判断", "誤って受付", "第3投票所"):
        assert expected in text, expected
    assert _run(capsys, "report", "committee", *remote, "--date", "2026-12-13", "--out", str(csv_path))[0] == 0
    rows = _csv(csv_path)
    early_total = sum(int(r[7]) for r in rows if r[0] == "期日前" and r[1] == "shu-sho" and r[4] == "投票者数")
    assert early_total == 10
    assert ["重複", "", "", "", "オフライン受付の重複", "", "", "1"] in rows
    assert ["重複", "", "", "", "オンラインで防止", "", "", "1"] in rows


def test_conflicts_and_access_reports(
    remote: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], seeded: Seeded
) -> None:
    out = tmp_path / "conflicts.csv"
    code, _, err = _run(capsys, "report", "conflicts", *remote, "--out", str(out))
    assert code == 0 and "1 conflict(s) without a resolution note" in err
    kinds = [(r[0], r[3]) for r in _csv(out)[1:]]
    assert kinds == [("防止", seeded.refused_voter), ("重複", seeded.conflict_voter)]
    access = tmp_path / "access.pdf"
    assert _run(capsys, "report", "access", *remote, "--voter", seeded.viewed_voter, "--out", str(access))[0] == 0
    text = _pdf_text(access)
    assert seeded.viewed_voter in text and "本人確認" in text and "委員会による照会" in text
    assert "髙橋" not in text  # the register key, never the name


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "access", "--out", "{tmp}/a.pdf"], "--voter must be a 15-digit"),
        (["report", "access", "--voter", "123", "--out", "{tmp}/a.pdf"], "--voter must be a 15-digit"),
        (["report", "turnout", "--voter", voter_code(1), "--out", "{tmp}/a.pdf"], "--voter is only for report access"),
        (["report", "turnout", "--station", "D01", "--out", "{tmp}/a.pdf"], "--station is for station reports"),
        (["report", "turnout", "--out", "{tmp}/missing/a.pdf"], "does not exist"),
    ],
)
def test_committee_report_arguments_are_checked_before_any_request(
    remote: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = _run(capsys, *args[:2], *remote, *args[2:])
    assert code == 2 and message in err
    assert list(tmp_path.iterdir()) == []


def test_station_reports_still_need_their_ledgers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "report", "hourly", "--out", str(tmp_path / "h.pdf"))
    assert code == 2 and "--ledger, --package, --pubkey required" in err


def test_the_server_and_certificate_are_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "report", "turnout", "--out", str(tmp_path / "t.pdf"))
    assert code == 2 and "--server URL is required" in err
    code, _, err = _run(
        capsys, "report", "turnout", "--server", "https://127.0.0.1:9", "--tls-dir", str(tmp_path), "--out", "t.pdf"
    )
    assert code == 2 and f"{tmp_path}/client.crt: not found" in err


def test_a_kiosk_certificate_gets_a_clear_refusal(
    server: EmbeddedServer, committee_pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kiosk_dir = committee_pki.kiosk("K-D02")
    code, _, err = _run(
        capsys,
        "report",
        "turnout",
        "--server",
        server.url,
        "--tls-dir",
        str(kiosk_dir),
        "--out",
        str(tmp_path / "t.pdf"),
    )
    assert code == 2 and "HTTP 403" in err and "committee certificate required" in err
    assert not (tmp_path / "t.pdf").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--refresh", "1"], "at least 2 seconds"),
        (["--voter", "12"], "a 15-digit 識別コード"),
        (["--voter", voter_code(1)], "only with --screenshots"),
    ],
)
def test_committee_view_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, _, err = _run(capsys, "committee", "--server", "https://127.0.0.1:9", "--tls-dir", str(tmp_path), *extra)
    assert code == 2 and message in err
