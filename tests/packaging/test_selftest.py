"""kiosk.selftest: every item's pass/fail table with fake probes, the parsers, and the real thing on this machine."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ballots.resources import RESOURCES_ENV, resource_root
from kiosk.selftest import (
    CheckResult,
    CheckStatus,
    PcscListing,
    PrinterInfo,
    Probes,
    SelftestOptions,
    SelftestReport,
    ServerProbe,
    check_clock,
    check_fonts,
    check_ledger,
    check_package,
    check_pcsc,
    check_printer,
    check_server,
    parse_lpstat,
    parse_windows_printers,
    run_selftest,
)

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 13, 0, 30, tzinfo=dt.UTC)
JST = dt.timedelta(hours=9)
ONE_READER = PcscListing(True, ("Reader 0",))


def probes(
    readers: PcscListing | Exception = ONE_READER,
    printers: list[PrinterInfo] | Exception | None = None,
    printer_problem: str | None = None,
    server: ServerProbe | None = None,
    offset: dt.timedelta = JST,
    installed: dt.datetime | None = NOW - dt.timedelta(days=30),
) -> Probes:
    def raise_or(value: object) -> Callable[..., Any]:
        # A fake probe: returns the canned value, or raises it like a broken service would.
        def probe(*_args: object) -> Any:
            if isinstance(value, Exception):
                raise value
            return value

        return probe

    return Probes(
        list_readers=raise_or(readers),
        list_printers=raise_or([PrinterInfo("PDF", True, True)] if printers is None else printers),
        printer_problem=raise_or(printer_problem),
        probe_server=raise_or(server or ServerProbe(True, "answered HTTP 200", 200, NOW, 0.01)),
        now=lambda: NOW,
        local_offset=lambda: offset,
        install_time=lambda: installed,
    )


def statuses(results: list[CheckResult]) -> list[tuple[str, CheckStatus, bool]]:
    return [(r.key, r.status, r.required) for r in results]


# ------------------------------------------------------------------------------------------------ PC/SC and readers

P, F, W, S = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.WARN, CheckStatus.SKIP


ACR = PcscListing(True, ("ACS ACR1252 1S CL Reader PICC 0", "Virtual PCD 00 00"))


@pytest.mark.parametrize(
    ("listing", "wanted", "required", "expected", "detail_part"),
    [
        (PcscListing(True, ("ACS ACR1252 0",)), None, True, [("pcsc", P, True), ("readers", P, True)], "ACR1252"),
        (PcscListing(True, ()), None, True, [("pcsc", P, True), ("readers", F, True)], "no card reader"),
        (PcscListing(False, (), "not running"), None, True, [("pcsc", F, True), ("readers", F, True)], "not running"),
        (RuntimeError("boom"), None, True, [("pcsc", F, True), ("readers", F, True)], "boom"),
        (PcscListing(True, ()), None, False, [("pcsc", P, False), ("readers", F, False)], "no card reader"),
        (ACR, "ACR1252", True, [("pcsc", P, True), ("readers", P, True)], "2 reader(s)"),
        (ACR, "SCR3310", True, [("pcsc", P, True), ("readers", F, True)], "no reader named like 'SCR3310'"),
    ],
)
def test_pcsc_items(
    listing: PcscListing | Exception, wanted: str | None, required: bool, expected: list, detail_part: str
) -> None:
    results = check_pcsc(probes(readers=listing), SelftestOptions(reader=wanted, reader_required=required))
    assert statuses(results) == expected
    assert detail_part in " ".join(r.detail for r in results)


# ---------------------------------------------------------------------------------------------------------- printer


@pytest.mark.parametrize(
    ("printers", "wanted", "status", "detail_part"),
    [
        ([PrinterInfo("PDF", True, True)], None, P, "default 'PDF'"),
        ([PrinterInfo("A", True, False), PrinterInfo("B", False, False)], None, W, "no default printer"),
        ([PrinterInfo("A", False, True)], None, F, "disabled or paused"),
        ([], None, F, "no printer installed"),
        ([PrinterInfo("A", True, True)], "B", F, "'B' not found (known: A)"),
        ([PrinterInfo("A", True, False), PrinterInfo("B", False, True)], "B", F, "'B' is disabled"),
        ([PrinterInfo("A", False, True), PrinterInfo("B", True, False)], "B", P, "'B' ready"),
        (RuntimeError("CUPS not answering: x"), None, F, "CUPS not answering"),
    ],
)
def test_printer_item(
    printers: list[PrinterInfo] | Exception, wanted: str | None, status: CheckStatus, detail_part: str
):
    result = check_printer(probes(printers=printers), SelftestOptions(printer=wanted))
    assert result.status is status
    assert detail_part in result.detail


def test_named_printer_with_a_problem_fails_with_the_reason() -> None:
    printers = [PrinterInfo("Front-Desk", True, True)]
    result = check_printer(
        probes(printers=printers, printer_problem="printer 'Front-Desk' is out of paper"),
        SelftestOptions(printer="Front-Desk"),
    )
    assert result.status is F and "out of paper" in result.detail


LPSTAT_P = """printer UKETSUKE_PDF is idle.  enabled since Sat Nov 28 00:20:11 2026
printer Office disabled since Sat Nov 28 00:21:00 2026 -
	reason unknown
printer Front-Desk now printing Front-Desk-12.  enabled since Sat Nov 28 00:22:00 2026
"""


@pytest.mark.parametrize(
    ("printers_text", "default_text", "expected"),
    [
        (
            LPSTAT_P,
            "system default destination: Front-Desk\n",
            [
                PrinterInfo("UKETSUKE_PDF", True, False),
                PrinterInfo("Office", False, False),
                PrinterInfo("Front-Desk", True, True),
            ],
        ),
        ("", "no system default destination\n", []),
        ("printer X is idle.  enabled since now\n", "", [PrinterInfo("X", True, False)]),
    ],
)
def test_parse_lpstat(printers_text: str, default_text: str, expected: list[PrinterInfo]) -> None:
    assert parse_lpstat(printers_text, default_text) == expected


@given(st.text(), st.text())
def test_parse_lpstat_never_crashes(printers_text: str, default_text: str) -> None:
    for printer in parse_lpstat(printers_text, default_text):
        assert printer.name and not any(c.isspace() for c in printer.name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ('{"Name":"Canon","Default":true,"WorkOffline":false,"PrinterStatus":3}', [PrinterInfo("Canon", True, True)]),
        (
            '[{"Name":"A","Default":false,"WorkOffline":true,"PrinterStatus":3},'
            '{"Name":"B","Default":true,"WorkOffline":false,"PrinterStatus":7}]',
            [PrinterInfo("A", False, False), PrinterInfo("B", False, True)],
        ),
    ],
)
def test_parse_windows_printers(text: str, expected: list[PrinterInfo]) -> None:
    assert parse_windows_printers(text) == expected


@given(st.text())
def test_parse_windows_printers_gives_printers_or_a_value_error(text: str) -> None:
    try:
        result = parse_windows_printers(text)
    except ValueError:
        return  # includes json.JSONDecodeError: a clear refusal, never another exception
    assert all(isinstance(p, PrinterInfo) for p in result)


# ------------------------------------------------------------------------------------------------------------ clock


@pytest.mark.parametrize(
    ("offset", "installed", "server_time", "status", "detail_part"),
    [
        (JST, NOW - dt.timedelta(days=3), None, P, "JST zone"),
        (dt.timedelta(0), NOW - dt.timedelta(days=3), None, W, "not Japan Standard Time"),
        (JST, NOW + dt.timedelta(days=400), None, F, "before this program was installed"),
        (JST, None, NOW - dt.timedelta(seconds=2), P, "+2.0 s from the server"),
        (JST, None, NOW + dt.timedelta(seconds=12), W, "-12.0 s off the server's clock (more than"),
        (JST, None, NOW + dt.timedelta(seconds=60), F, "-60.0 s off the server's clock (limit"),
        (JST, None, NOW - dt.timedelta(hours=1), F, "+3600.0 s off"),
    ],
)
def test_clock_item(
    offset: dt.timedelta,
    installed: dt.datetime | None,
    server_time: dt.datetime | None,
    status: CheckStatus,
    detail_part: str,
) -> None:
    server = None if server_time is None else ServerProbe(True, "ok", 200, server_time, 0.0)
    result = check_clock(probes(offset=offset, installed=installed), server)
    assert result.status is status
    assert detail_part in result.detail


# ----------------------------------------------------------------------------------------------- server (loopback)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_reachable_and_clock_compared(http_server: str) -> None:
    report = run_selftest(SelftestOptions(server=http_server), probes_with_real_server())
    server = report.result("server")
    assert server.status is P and "answered" in server.detail
    assert "skew_seconds" in report.result("clock").data


def test_server_unreachable_is_a_failed_item_not_a_crash() -> None:
    report = run_selftest(SelftestOptions(server=f"http://127.0.0.1:{_closed_port()}"), probes_with_real_server())
    assert report.result("server").status is F
    assert "unreachable" in report.result("server").detail
    assert not report.ok


def test_https_server_without_certificates_is_refused_before_connecting(tmp_path: Path) -> None:
    report = run_selftest(SelftestOptions(server="https://127.0.0.1:9"), probes_with_real_server())
    assert "--tls-dir" in report.result("server").detail
    report = run_selftest(SelftestOptions(server="https://127.0.0.1:9", tls_dir=tmp_path), probes_with_real_server())
    assert "certificate file missing" in report.result("server").detail


def probes_with_real_server() -> Probes:
    fake = probes()
    return Probes(
        list_readers=fake.list_readers,
        list_printers=fake.list_printers,
        now=lambda: dt.datetime.now(dt.UTC),
        local_offset=lambda: JST,
        install_time=lambda: None,
    )


def test_server_skipped_without_url() -> None:
    assert check_server(None, SelftestOptions()).status is S


# -------------------------------------------------------------------------------------------------- fonts, ledger


def test_fonts_pass_from_the_shipped_resources() -> None:
    result = check_fonts()
    assert result.status is P, result.detail


@pytest.mark.parametrize("broken", ["no-licence", "no-mincho", "not-a-font"])
def test_fonts_fail_on_a_broken_resources_dir(broken: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(resource_root() / "fonts", tmp_path / "fonts")
    if broken == "no-licence":
        (tmp_path / "fonts" / "LICENSE-IPAex.txt").unlink()
    elif broken == "no-mincho":
        (tmp_path / "fonts" / "ipaexm.ttf").unlink()
    else:
        (tmp_path / "fonts" / "ipaexm.ttf").write_bytes(b"not a TrueType file")
    monkeypatch.setenv(RESOURCES_ENV, str(tmp_path))
    result = check_fonts()
    assert result.status is F
    assert ("LICENSE-IPAex.txt" if broken == "no-licence" else "ipaexm.ttf") in result.detail


def test_ledger_items(tmp_path: Path) -> None:
    assert check_ledger(SelftestOptions()).status is S
    new = check_ledger(SelftestOptions(ledger=tmp_path / "kiosk.db"))
    assert new.status is P and "will be created" in new.detail
    assert not list(tmp_path.iterdir()), "the writability probe must leave nothing behind"
    missing_dir = check_ledger(SelftestOptions(ledger=tmp_path / "nope" / "kiosk.db"))
    assert missing_dir.status is F and "does not exist" in missing_dir.detail
    assert check_ledger(SelftestOptions(ledger=tmp_path)).status is F
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not an SQLite database" * 10)
    result = check_ledger(SelftestOptions(ledger=garbage))
    assert result.status is F and "garbage.db" in result.detail


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_ledger_folder_not_writable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = check_ledger(SelftestOptions(ledger=locked / "kiosk.db"))
    finally:
        locked.chmod(0o700)
    assert result.status is F and "not writable" in result.detail


def test_package_items(tmp_path: Path) -> None:
    assert check_package(SelftestOptions()).status is S
    no_key = check_package(SelftestOptions(package=tmp_path / "x.pkg"))
    assert no_key.status is F and "--pubkey" in no_key.detail


# --------------------------------------------------------------------------------------------------- whole report


def test_report_verdict_counts_only_required_failures() -> None:
    report = SelftestReport(
        (
            CheckResult("a", "甲", P, "fine"),
            CheckResult("b", "乙", W, "careful"),
            CheckResult("c", "丙", F, "broken", required=False),
            CheckResult("d", "丁", S, "skipped", required=False),
        )
    )
    assert report.ok
    assert report.text().splitlines()[-1].startswith("結果: 合格")
    failing = SelftestReport((*report.results, CheckResult("e", "戊", F, "dead")))
    assert not failing.ok
    assert "戊" in failing.text().splitlines()[-1] and "FAILED" in failing.text()
    assert [line.split("]")[0] for line in failing.text().splitlines()[:5]] == [
        "[合格",
        "[注意",
        "[不合格",
        "[対象外",
        "[不合格",
    ]


def test_full_run_with_fakes_passes_and_names_every_item() -> None:
    report = run_selftest(SelftestOptions(), probes())
    keys = [r.key for r in report.results]
    assert keys == ["pcsc", "readers", "fonts", "printer", "package", "ledger", "clock", "server", "components"]
    assert report.ok, report.text()


# ------------------------------------------------------------------------------------------------- command line


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "selftest", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--package", "x.pkg"], "--package needs --pubkey"),
        (["--pubkey", "k.pub"], "--pubkey is only used with --package"),
        (["--tls-dir", "d"], "--tls-dir is only used with --server"),
        (["--server", "tally:8443"], "must be an http(s) URL"),
    ],
)
def test_cli_refuses_bad_option_combinations(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.cli import main

    assert main(["selftest", *args]) == 2
    assert message in capsys.readouterr().err


def test_cli_json_on_this_machine(tmp_path: Path) -> None:
    out = _cli("--json", "--no-station", "--ledger", str(tmp_path / "k.db"))
    data = json.loads(out.stdout)
    by_key = {r["key"]: r for r in data["results"]}
    assert by_key["fonts"]["status"] == "pass"
    assert by_key["ledger"]["status"] == "pass"
    assert by_key["components"]["status"] == "pass", by_key["components"]["detail"]
    assert by_key["readers"]["required"] is False
    assert out.returncode == (0 if data["ok"] else 1)


def test_ledger_verified_and_tampering_found(tmp_path: Path) -> None:
    import sqlite3

    from ballots.events import Event, EventType
    from sync.keys import generate_key
    from sync.ledger import Ledger

    path = tmp_path / "kiosk.db"
    with Ledger.open(path, kiosk_id="E01-1", key=generate_key()) as ledger:
        for staff in ("c01", "c02"):
            ledger.append(Event(EventType.STAFF_SIGN_IN, "E01", staff, NOW))
    good = check_ledger(SelftestOptions(ledger=path))
    assert good.status is P and "2 events" in good.detail, good.detail
    # A tamperer with the file drops the append-only trigger and edits a row: verify must name that row.
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET body = replace(body, 'c02', 'c99') WHERE seq = 2")
    conn.commit()
    conn.close()
    bad = check_ledger(SelftestOptions(ledger=path))
    assert bad.status is F and "seq 2" in bad.detail, bad.detail


@pytest.mark.parametrize(
    ("behaviour", "running", "detail_part"),
    [
        (["Reader A", "Reader B"], True, "running"),
        ([], True, "running"),
        ("ServiceUnavailableError", False, "not running"),
        ("CommunicationError", False, "PC/SC error"),
    ],
)
def test_real_pcsc_probe_maps_reader_outcomes(
    behaviour: list[str] | str, running: bool, detail_part: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reader.pcsc
    import reader.transport

    def fake_list_readers() -> list[str]:
        if isinstance(behaviour, str):
            raise getattr(reader.transport, behaviour)("establish context: Service not available. (0x8010001D)")
        return behaviour

    monkeypatch.setattr(reader.pcsc, "list_readers", fake_list_readers)
    listing = Probes().list_readers()
    assert listing.service_running is running
    assert detail_part in listing.detail
    assert listing.readers == (tuple(behaviour) if isinstance(behaviour, list) else ())


def test_pcsc_through_the_real_pcscd(pcscd_running: None) -> None:
    results = check_pcsc(Probes(), SelftestOptions())
    assert [r.status for r in results] == [P, P], [r.detail for r in results]
    assert any("Virtual PCD" in name for name in results[1].data["readers"])


def test_printer_through_the_real_cups(cups_queue: str) -> None:
    result = check_printer(Probes(), SelftestOptions(printer=cups_queue))
    assert result.status is P, result.detail


def test_cli_takes_the_desk_configuration(tmp_path: Path) -> None:
    (tmp_path / "kiosk.toml").write_text(
        'package = "missing.pkg"\npubkey = "committee.pub"\nstation = "E01"\nledger = "desk1.db"\n'
        'printer = "file"\nsoft_card = "persona.json"\n',
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-m", "kiosk", "selftest", "--json", "--config", "kiosk.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    by_key = {r["key"]: r for r in json.loads(out.stdout)["results"]}
    # The package named in kiosk.toml is checked (and is missing here); the desk needs neither reader nor printer.
    assert by_key["package"]["status"] == "fail" and "missing.pkg" in by_key["package"]["detail"]
    assert by_key["ledger"]["status"] == "pass" and "desk1.db will be created" in by_key["ledger"]["detail"]
    assert by_key["readers"]["required"] is False and by_key["printer"]["required"] is False
    assert out.returncode == 1


def test_cli_refuses_a_broken_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kiosk.toml").write_text('package = "x.pkg"\nstation = "E01"\n', encoding="utf-8")
    from kiosk.cli import main

    assert main(["selftest", "--config", str(tmp_path / "kiosk.toml")]) == 2
    assert "pubkey" in capsys.readouterr().err


# ------------------------------------------------------------------------- the real tally server, mutual TLS (loopback)


@dataclass(frozen=True)
class _Served:
    package_hash: str
    definition: Any


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """The real tally server over mutual TLS on 127.0.0.1, serving a package whose file is returned."""
    import tomllib

    from ballots.model import ElectionDefinition
    from sync import pki
    from sync.server.runner import ServerTLS, start_embedded

    base = tmp_path_factory.mktemp("tls")
    package = base / "election.pkg"
    package.write_bytes(os.urandom(4096))  # the server compares hashes only; the selftest hashes the file
    definition = ElectionDefinition.from_toml_dict(
        tomllib.loads((resource_root() / "sample" / "election.toml").read_text(encoding="utf-8"))
    )
    pki.init_ca(base / "ca")
    pki.issue_server(base / "ca", "127.0.0.1", base / "server")
    pki.issue_client(base / "ca", "E01-1", base / "kiosk", role=pki.CertRole.KIOSK)
    served = _Served(hashlib.sha256(package.read_bytes()).hexdigest(), definition)
    server = start_embedded(served, f"sqlite:///{base / 'server.db'}", tls=ServerTLS(base / "server", base / "ca"))
    try:
        yield server.url, base, package
    finally:
        server.stop()


def _server_item(url: str, tls_dir: Path | None, package: Path | None) -> CheckResult:
    return run_selftest(
        SelftestOptions(server=url, tls_dir=tls_dir, package=package), probes_with_real_server()
    ).result("server")


def test_tls_server_same_package(tls_server: tuple[str, Path, Path]) -> None:
    url, base, package = tls_server
    result = _server_item(url, base / "kiosk", package)
    assert result.status is P, result.detail
    assert "same package" in result.detail and "'E01-1'" in result.detail


def test_tls_server_without_package_checks_the_certificate_only(tls_server: tuple[str, Path, Path]) -> None:
    url, base, _ = tls_server
    result = _server_item(url, base / "kiosk", None)
    assert result.status is P and "certificate accepted" in result.detail, result.detail


def test_tls_server_other_package(tls_server: tuple[str, Path, Path], tmp_path: Path) -> None:
    url, base, _ = tls_server
    other = tmp_path / "other.pkg"
    other.write_bytes(b"another election")
    result = _server_item(url, base / "kiosk", other)
    assert result.status is F and "different election package" in result.detail, result.detail


def test_tls_server_refuses_a_certificate_of_another_ca(tls_server: tuple[str, Path, Path], tmp_path: Path) -> None:
    from sync import pki

    url, _, package = tls_server
    pki.init_ca(tmp_path / "rogue-ca")
    pki.issue_client(tmp_path / "rogue-ca", "E01-1", tmp_path / "rogue", role=pki.CertRole.KIOSK)
    result = _server_item(url, tmp_path / "rogue", package)
    assert result.status is F, result.detail


@pytest.fixture(scope="module")
def real_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small signed, encrypted package built from a generated sample municipality, and the committee key."""
    from ballots.package import build_package
    from ballots.sample import generate_sample

    base = tmp_path_factory.mktemp("package")
    generate_sample(base / "sample", 60, personas=1)
    passphrase = (base / "sample" / "passphrase.txt").read_text(encoding="utf-8").strip()
    build_package(
        base / "sample" / "election.toml",
        base / "sample" / "register.csv",
        base / "sample" / "committee.key",
        base / "election.pkg",
        passphrase,
    )
    return base / "election.pkg", base / "sample" / "committee.pub"


def test_package_verified(real_package: tuple[Path, Path]) -> None:
    package, pubkey = real_package
    result = check_package(SelftestOptions(package=package, pubkey=pubkey))
    assert result.status is P, result.detail
    assert "signature valid" in result.detail and "60 voters" in result.detail
    assert result.data["package_hash"] == hashlib.sha256(package.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", ["flipped-byte", "other-committee-key"])
def test_package_refused(damage: str, real_package: tuple[Path, Path], tmp_path: Path) -> None:
    package, pubkey = real_package
    if damage == "flipped-byte":
        data = bytearray(package.read_bytes())
        data[len(data) // 2] ^= 0x01
        package = tmp_path / "damaged.pkg"
        package.write_bytes(bytes(data))
    else:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        pubkey = tmp_path / "other.pub"
        pubkey.write_bytes(
            Ed25519PrivateKey.generate()
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    result = check_package(SelftestOptions(package=package, pubkey=pubkey))
    assert result.status is F
    assert f"{package}: signature check failed" in result.detail, result.detail


@pytest.fixture
def kiosk_tls(tmp_path: Path) -> Path:
    """A kiosk certificate folder from the committee CA: client.crt binds the ledger.key written beside it."""
    from sync import pki

    pki.init_ca(tmp_path / "ca")
    pki.issue_client(tmp_path / "ca", "E01-1", tmp_path / "E01-1", role=pki.CertRole.KIOSK)
    return tmp_path / "E01-1"


def _ledger_with(path: Path, key_file: Path, events: int = 2) -> None:
    from ballots.events import Event, EventType
    from sync.ledger import Ledger
    from sync.pki import load_ledger_key

    with Ledger.open(path, kiosk_id="E01-1", key=load_ledger_key(key_file)) as ledger:
        for n in range(events):
            ledger.append(Event(EventType.STAFF_SIGN_IN, "E01", f"c0{n}", NOW))


def _other_key(path: Path) -> Path:
    from sync.keys import generate_key, save_private_key

    return save_private_key(generate_key(), path)


def test_ledger_verified_against_the_certificate_key(kiosk_tls: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "desk.db"
    _ledger_with(ledger, kiosk_tls / "ledger.key")
    result = check_ledger(SelftestOptions(ledger=ledger, tls_dir=kiosk_tls, ledger_key=kiosk_tls / "ledger.key"))
    assert result.status is P, result.detail
    assert "key from" in result.detail and "client.crt (E01-1)" in result.detail
    assert "signing key matches the certificate" in result.detail


@pytest.mark.parametrize("events", [0, 2])
def test_ledger_signed_with_another_key_than_the_certificate(kiosk_tls: Path, tmp_path: Path, events: int) -> None:
    ledger = tmp_path / "desk.db"
    _ledger_with(ledger, _other_key(tmp_path / "other.key"), events)
    result = check_ledger(SelftestOptions(ledger=ledger, tls_dir=kiosk_tls))
    assert result.status is F, result.detail
    assert "verification failed" in result.detail


def test_configured_key_is_not_the_certificate_key(kiosk_tls: Path, tmp_path: Path) -> None:
    wrong = _other_key(tmp_path / "wrong.key")
    result = check_ledger(SelftestOptions(ledger=tmp_path / "new.db", tls_dir=kiosk_tls, ledger_key=wrong))
    assert result.status is F
    assert f"{wrong} is not the ledger key bound in" in result.detail


def test_components_name_what_is_missing_and_what_breaks() -> None:
    import importlib

    from kiosk.selftest import check_components

    def without_psycopg(name: str) -> Any:
        if name == "psycopg":
            raise ImportError("no pq wrapper available")
        return importlib.import_module(name)

    result = check_components(without_psycopg)
    assert result.status is F
    assert "psycopg (PostgreSQL storage): no pq wrapper available" in result.detail
    assert "libpq (PostgreSQL client library)" in result.detail
    assert check_components().status is P
