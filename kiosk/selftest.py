"""The terminal self-test: is this machine ready to run a reception desk (or the tally server)?

``uketsuke selftest`` runs every check below and prints one pass/fail line per item, with a Japanese label for the
people setting up the station and an English detail for whoever supports them. Each check turns every problem it finds
into a result — a missing reader, a stopped print queue or an unreachable server are *expected states*, not crashes —
so one broken item never hides the others. The exit code is 0 only when every required item passed.

The checks talk to the outside world only through the small probe functions of :class:`Probes`, so tests replace
them with fakes and the command line uses the real ones. Nothing here imports Qt: the self-test must run on a terminal
whose display is broken, and from the bundle in CI.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import hashlib
import importlib
import io
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CheckResult",
    "CheckStatus",
    "PcscListing",
    "PrinterInfo",
    "Probes",
    "SelftestOptions",
    "SelftestReport",
    "ServerProbe",
    "check_clock",
    "check_components",
    "check_fonts",
    "check_ledger",
    "check_package",
    "check_pcsc",
    "check_printer",
    "check_server",
    "parse_lpstat",
    "parse_windows_printers",
    "run_selftest",
]

# Clock difference to the server: check-in times decide "who voted first" in a conflict report and hourly turnout.
# Above FAIL_SKEW_SECONDS the kiosk's own opening check flags the clock too (kiosk/app.py); between the two, time
# synchronisation is not set up well and the self-test warns while the terminal is still being installed.
WARN_SKEW_SECONDS = 5.0
FAIL_SKEW_SECONDS = 30.0
# Japan Standard Time: the times shown to clerks and printed on the 投票録 are local times in Japan.
JST_OFFSET = dt.timedelta(hours=9)


class CheckStatus(enum.StrEnum):
    """Outcome of one check. Only FAIL on a required item makes the self-test fail."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


_STATUS_JA = {
    CheckStatus.PASS: "合格",
    CheckStatus.WARN: "注意",
    CheckStatus.FAIL: "不合格",
    CheckStatus.SKIP: "対象外",
}


@dataclass(frozen=True)
class CheckResult:
    """One line of the self-test: what was checked, how it went, and the facts behind it."""

    key: str
    label: str
    status: CheckStatus
    detail: str
    required: bool = True
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """A required item that did not pass (warnings and skipped items never fail the self-test)."""
        return self.required and self.status is CheckStatus.FAIL

    def line(self) -> str:
        """The printed line: ``[合格] カードリーダー — 1 reader: …``."""
        return f"[{_STATUS_JA[self.status]}] {self.label} — {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "key": self.key,
            "label": self.label,
            "status": self.status.value,
            "required": self.required,
            "detail": self.detail,
            "data": self.data,
        }


@dataclass(frozen=True)
class SelftestReport:
    """All results, in the order they were checked."""

    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        """True when every required item passed."""
        return not any(r.failed for r in self.results)

    def result(self, key: str) -> CheckResult:
        """The result of the check named ``key``; KeyError if it was not run."""
        for r in self.results:
            if r.key == key:
                return r
        raise KeyError(key)

    def text(self) -> str:
        """The report for people: one line per item, then the verdict."""
        lines = [r.line() for r in self.results]
        failed = [r.label for r in self.results if r.failed]
        required = [r for r in self.results if r.required and r.status is not CheckStatus.SKIP]
        passed = len(required) - len(failed)
        if failed:
            lines.append(
                f"結果: 不合格 — {'、'.join(failed)} (self-test FAILED: {passed}/{len(required)} required passed)"
            )
        else:
            lines.append(f"結果: 合格 (self-test passed: {passed}/{len(required)} required items)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"ok": self.ok, "results": [r.to_dict() for r in self.results]}


@dataclass(frozen=True)
class SelftestOptions:
    """What to check beyond the machine itself (all optional, as on the command line)."""

    package: Path | None = None
    pubkey: Path | None = None
    ledger: Path | None = None
    server: str | None = None
    tls_dir: Path | None = None
    printer: str | None = None
    reader: str | None = None  # a reader whose name contains this must be attached (as kiosk.toml's reader_name)
    ledger_key: Path | None = None  # the kiosk's ledger signing key (kiosk.toml's key), compared with the certificate
    # A committee or server machine has no reader or printer, and a desk configured with the software card or the
    # file printer needs neither: those items are then reported but not required.
    reader_required: bool = True
    printer_required: bool = True


@dataclass(frozen=True)
class PcscListing:
    """What the PC/SC layer reports: is the service running, and which readers are attached."""

    service_running: bool
    readers: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class PrinterInfo:
    """One print queue as the operating system reports it."""

    name: str
    enabled: bool = True
    default: bool = False


@dataclass(frozen=True)
class ServerProbe:
    """Result of one request to the tally server: reachable or not, and the server's clock if it answered."""

    reachable: bool
    detail: str
    status_code: int | None = None
    server_time: dt.datetime | None = None
    round_trip_s: float | None = None


@dataclass
class Probes:
    """The outside world as the checks see it. Defaults are the real thing; tests pass fakes."""

    list_readers: Callable[[], PcscListing] = field(default_factory=lambda: _pcsc_listing)
    list_printers: Callable[[], list[PrinterInfo]] = field(default_factory=lambda: _system_printers)
    printer_problem: Callable[[str], str | None] = field(default_factory=lambda: _printer_problem)
    probe_server: Callable[[str, Path | None, str | None], ServerProbe] = field(default_factory=lambda: _http_probe)
    now: Callable[[], dt.datetime] = field(default_factory=lambda: _utc_now)
    local_offset: Callable[[], dt.timedelta] = field(default_factory=lambda: _local_offset)
    install_time: Callable[[], dt.datetime | None] = field(default_factory=lambda: _install_time)


# --------------------------------------------------------------------------------------------------------- checks


def check_pcsc(probes: Probes, options: SelftestOptions) -> list[CheckResult]:
    """PC/SC service and card readers: two items, because the fixes differ (start a service vs plug a cable)."""
    try:
        listing = probes.list_readers()
    except Exception as exc:  # a probe that breaks is itself a finding, reported like any other
        listing = PcscListing(False, (), f"PC/SC query failed: {exc}")
    required = options.reader_required
    if not listing.service_running:
        detail = listing.detail or "PC/SC service not running"
        return [
            CheckResult("pcsc", "PC/SCサービス", CheckStatus.FAIL, f"{detail} ({_pcsc_service_hint()})", required),
            CheckResult(
                "readers", "カードリーダー", CheckStatus.FAIL, "not checked: PC/SC service unavailable", required
            ),
        ]
    service = CheckResult(
        "pcsc", "PC/SCサービス", CheckStatus.PASS, listing.detail or "PC/SC service running", required
    )
    wanted = [name for name in listing.readers if options.reader is None or options.reader in name]
    if not listing.readers:
        readers = CheckResult(
            "readers", "カードリーダー", CheckStatus.FAIL, "no card reader connected (plug in the reader)", required
        )
    elif not wanted:
        readers = CheckResult(
            "readers",
            "カードリーダー",
            CheckStatus.FAIL,
            f"no reader named like {options.reader!r} (attached: {', '.join(listing.readers)})",
            required,
            {"readers": list(listing.readers)},
        )
    else:
        names = ", ".join(listing.readers)
        readers = CheckResult(
            "readers",
            "カードリーダー",
            CheckStatus.PASS,
            f"{len(listing.readers)} reader(s): {names}",
            required,
            {"readers": list(listing.readers)},
        )
    return [service, readers]


def check_fonts() -> CheckResult:
    """The IPAex fonts are shipped and reportlab embeds them (a PDF that relies on installed fonts prints boxes)."""
    from ballots.resources import resource_path

    label = "フォント（IPAex）"
    try:
        font_dir = resource_path("fonts")
        files = {"gothic": resource_path("fonts", "ipaexg.ttf"), "mincho": resource_path("fonts", "ipaexm.ttf")}
        resource_path("fonts", "LICENSE-IPAex.txt")  # the licence must travel with the font files
        embedded = _embedded_font_count(files)
    except Exception as exc:
        return CheckResult("fonts", label, CheckStatus.FAIL, f"{exc}")
    return CheckResult(
        "fonts",
        label,
        CheckStatus.PASS,
        f"IPAex Gothic and Mincho embedded in a test PDF ({embedded} font files) from {font_dir}",
        data={"dir": str(font_dir)},
    )


def _embedded_font_count(files: dict[str, Path]) -> int:
    # Render a tiny PDF with both faces and count the embedded TrueType programs: this is what proves the fonts are
    # usable, since reportlab refuses fonts whose licence bits forbid embedding and a bad file fails to parse here.
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for role, path in files.items():
        name = f"UketsukeSelftest-{role}"
        try:
            pdfmetrics.registerFont(TTFont(name, str(path)))
        except Exception as exc:  # reportlab's TTFError and plain errors from a corrupt file
            raise ValueError(f"{path}: cannot be embedded: {exc}") from exc
        pdf.setFont(name, 12)
        pdf.drawString(72, 720 if role == "gothic" else 700, "受付 令和8年12月13日 髙橋")
    pdf.save()
    count = buffer.getvalue().count(b"/FontFile2")
    if count < len(files):
        raise ValueError(f"only {count} of {len(files)} fonts were embedded in the test PDF")
    return count


def check_printer(probes: Probes, options: SelftestOptions) -> CheckResult:
    """A print queue to print the 宣誓書 and reports on: the one named, else any enabled queue."""
    label = "プリンター"
    required = options.printer_required
    try:
        printers = probes.list_printers()
    except Exception as exc:
        return CheckResult("printer", label, CheckStatus.FAIL, f"cannot list printers: {exc}", required)
    data: dict[str, Any] = {
        "printers": [{"name": p.name, "enabled": p.enabled, "default": p.default} for p in printers]
    }
    default = next((p.name for p in printers if p.default), None)
    if options.printer is not None:
        chosen = next((p for p in printers if p.name == options.printer), None)
        if chosen is None:
            known = ", ".join(p.name for p in printers) or "none"
            return CheckResult(
                "printer",
                label,
                CheckStatus.FAIL,
                f"printer {options.printer!r} not found (known: {known})",
                required,
                data,
            )
        if not chosen.enabled:
            return CheckResult(
                "printer", label, CheckStatus.FAIL, f"printer {chosen.name!r} is disabled or paused", required, data
            )
        try:
            problem = probes.printer_problem(chosen.name)
        except Exception as exc:
            problem = f"cannot ask the printer's state: {exc}"
        if problem is not None:
            return CheckResult("printer", label, CheckStatus.FAIL, problem, required, data)
        return CheckResult("printer", label, CheckStatus.PASS, f"printer {chosen.name!r} ready", required, data)
    usable = [p for p in printers if p.enabled]
    if not usable:
        what = "no printer installed" if not printers else "every printer is disabled or paused"
        return CheckResult("printer", label, CheckStatus.FAIL, what, required, data)
    names = ", ".join(p.name for p in usable)
    if default is None:
        return CheckResult(
            "printer",
            label,
            CheckStatus.WARN,
            f"{len(usable)} ready ({names}) but no default printer set",
            required,
            data,
        )
    return CheckResult(
        "printer", label, CheckStatus.PASS, f"{len(usable)} ready ({names}); default {default!r}", required, data
    )


def check_package(options: SelftestOptions) -> CheckResult:
    """The election package's signature and hash, when one is given."""
    label = "選挙パッケージ"
    if options.package is None:
        return CheckResult("package", label, CheckStatus.SKIP, "not checked (no --package given)", required=False)
    if options.pubkey is None:
        return CheckResult("package", label, CheckStatus.FAIL, "--package needs --pubkey (the committee public key)")
    try:
        from ballots.package import verify_package

        info = verify_package(options.package, options.pubkey)
    except Exception as exc:  # PackageError names the file and what failed; anything else is reported the same way
        return CheckResult("package", label, CheckStatus.FAIL, f"{exc}")
    town = info.municipality.get("name", "?")
    detail = (
        f"{options.package}: signature valid; {town}, election day {info.election_day}, {info.voters} voters; "
        f"hash {info.short_hash}"
    )
    data = {"package_hash": info.package_hash, "election_day": info.election_day, "voters": info.voters}
    return CheckResult("package", label, CheckStatus.PASS, detail, data=data)


def check_ledger(options: SelftestOptions) -> CheckResult:
    """The ledger's folder is writable (SQLite WAL needs side files there), the signing key is the one the kiosk
    certificate binds (else the server refuses every event), and an existing ledger verifies — against the
    certificate's key when the certificate folder is known."""
    label = "台帳（保存先）"
    if options.ledger is None:
        return CheckResult("ledger", label, CheckStatus.SKIP, "not checked (no --ledger given)", required=False)
    path = options.ledger
    folder = path.parent  # Path("x.db").parent is Path("."): the working directory
    if path.exists() and path.is_dir():
        return CheckResult("ledger", label, CheckStatus.FAIL, f"{path} is a directory, not a ledger file")
    problem = _not_writable(folder)
    if problem:
        return CheckResult("ledger", label, CheckStatus.FAIL, f"{folder}: {problem}")
    try:
        cert_key = _certificate_ledger_key(options.tls_dir)
        key_note = _check_signing_key(options.ledger_key, cert_key)
    except Exception as exc:  # PKIError / KeyFileError name the file and what is wrong with it
        return CheckResult("ledger", label, CheckStatus.FAIL, str(exc))
    if not path.exists():
        detail = f"{folder} writable; {path.name} will be created" + key_note
        return CheckResult("ledger", label, CheckStatus.PASS, detail)
    if not os.access(path, os.R_OK | os.W_OK):
        return CheckResult("ledger", label, CheckStatus.FAIL, f"{path}: not readable and writable by this user")
    try:
        verified, warnings = _verify_ledger(path, cert_key)
    except Exception as exc:
        return CheckResult("ledger", label, CheckStatus.FAIL, f"{path}: verification failed: {exc}")
    if warnings:
        detail = f"{path}: {verified}{key_note}; but: {'; '.join(warnings)}"
        return CheckResult("ledger", label, CheckStatus.WARN, detail)
    return CheckResult("ledger", label, CheckStatus.PASS, f"{path}: writable; {verified}{key_note}")


def _certificate_ledger_key(tls_dir: Path | None) -> tuple[Any, str] | None:
    """The ledger public key bound in the kiosk certificate of ``tls_dir`` (None without a kiosk certificate)."""
    if tls_dir is None or not (tls_dir / "client.crt").is_file():
        return None
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from sync.pki import identity_from_der

    cert_path = tls_dir / "client.crt"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"{cert_path}: not a PEM certificate ({exc})") from None
    identity = identity_from_der(cert.public_bytes(serialization.Encoding.DER))
    if identity.ledger_key is None:
        return None  # a committee certificate: no ledger on that machine
    return identity.ledger_key, f"{cert_path} ({identity.client_id})"


def _check_signing_key(key_path: Path | None, cert_key: tuple[Any, str] | None) -> str:
    """'' when there is nothing to compare; a note when the key file matches; raises when it does not."""
    if key_path is None or cert_key is None or not key_path.is_file():
        return ""
    from sync.keys import public_key_hex
    from sync.pki import load_ledger_key

    own = public_key_hex(load_ledger_key(key_path))
    if own != public_key_hex(cert_key[0]):
        raise ValueError(
            f"{key_path} is not the ledger key bound in {cert_key[1]}: the server would refuse every event "
            "(use the ledger.key issued with the certificate)"
        )
    return "; signing key matches the certificate"


def _not_writable(folder: Path) -> str | None:
    # os.access is unreliable on Windows (ACLs) and network shares: creating and removing a file is the real test.
    if not folder.is_dir():
        return "folder does not exist"
    try:
        fd, name = tempfile.mkstemp(prefix=".uketsuke-selftest-", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return f"not writable ({exc.strerror or exc})"
    return None


def _verify_ledger(path: Path, cert_key: tuple[Any, str] | None) -> tuple[str, tuple[str, ...]]:
    """What verification proved, and its warnings (e.g. a dropped append-only trigger); raises if it failed."""
    from sync.ledger import Ledger

    with Ledger.open_readonly(path) as ledger:
        report = ledger.verify(cert_key[0] if cert_key else None)
    if not report.ok:
        raise ValueError(f"first bad row seq {report.bad_seq}: {report.reason}")
    if cert_key and report.recorded_key_matches is False:
        # An empty ledger verifies under any key; its recorded key still decides what the kiosk will sign with.
        raise ValueError(f"the ledger was created with another key than the one bound in {cert_key[1]}")
    # Against the key recorded in the ledger itself this proves internal consistency only (see `ledger verify`).
    source = f"key from {cert_key[1]}" if cert_key else "key recorded in the ledger"
    return f"chain verified: {report.checked} events of kiosk {report.kiosk_id} ({source})", report.warnings


def check_clock(probes: Probes, server: ServerProbe | None) -> CheckResult:
    """The clock is plausible, in Japan time, and (when a server answered) close to the server's."""
    label = "時計"
    now = probes.now()
    offset = probes.local_offset()
    data: dict[str, Any] = {"utc": now.isoformat(), "utc_offset_hours": offset.total_seconds() / 3600}
    installed = probes.install_time()
    if installed is not None and now < installed - dt.timedelta(days=1):
        # A terminal whose clock battery died boots in the past; every check-in would carry a wrong time.
        return CheckResult(
            "clock",
            label,
            CheckStatus.FAIL,
            f"clock reads {now:%Y-%m-%d %H:%M} UTC, before this program was installed ({installed:%Y-%m-%d})",
            data=data,
        )
    if server is not None and server.server_time is not None:
        # The server's Date header has one-second resolution and is stamped during the round trip.
        half_trip = (server.round_trip_s or 0.0) / 2
        skew = (now - server.server_time).total_seconds() - half_trip
        data["skew_seconds"] = round(skew, 3)
        if abs(skew) > FAIL_SKEW_SECONDS:
            return CheckResult(
                "clock",
                label,
                CheckStatus.FAIL,
                f"{skew:+.1f} s off the server's clock (limit ±{FAIL_SKEW_SECONDS:g} s): set the time",
                data=data,
            )
        if abs(skew) > WARN_SKEW_SECONDS:
            return CheckResult(
                "clock",
                label,
                CheckStatus.WARN,
                f"{skew:+.1f} s off the server's clock (more than ±{WARN_SKEW_SECONDS:g} s): check time sync (NTP)",
                data=data,
            )
    skew_text = f", {data['skew_seconds']:+.1f} s from the server" if "skew_seconds" in data else ""
    if offset != JST_OFFSET:
        hours = offset.total_seconds() / 3600
        return CheckResult(
            "clock",
            label,
            CheckStatus.WARN,
            f"time zone is UTC{hours:+g}, not Japan Standard Time (UTC+9){skew_text}",
            data=data,
        )
    return CheckResult("clock", label, CheckStatus.PASS, f"{now:%Y-%m-%d %H:%M:%S} UTC, JST zone{skew_text}", data=data)


def check_server(server: ServerProbe | None, options: SelftestOptions) -> CheckResult:
    """The tally server answers over TLS with this terminal's certificate."""
    label = "集計サーバー"
    if options.server is None or server is None:
        return CheckResult("server", label, CheckStatus.SKIP, "not checked (no --server given)", required=False)
    data: dict[str, Any] = {"url": options.server, "status_code": server.status_code}
    if server.round_trip_s is not None:
        data["round_trip_ms"] = round(server.round_trip_s * 1000, 1)
    status = CheckStatus.PASS if server.reachable else CheckStatus.FAIL
    return CheckResult("server", label, status, f"{options.server}: {server.detail}", data=data)


# Libraries the bundle must carry, and what breaks without them. Imported by name so a missing hidden import in
# build.spec shows up here, on the terminal, instead of in the middle of election day.
_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("reportlab", "PDF documents"),
    ("cryptography", "signatures, package encryption, TLS certificates"),
    ("sqlite3", "local ledger"),
    ("httpx", "sync client"),
    ("fastapi", "tally server"),
    ("uvicorn", "tally server"),
    ("psycopg", "PostgreSQL storage"),
    ("PIL", "face photo (JPEG 2000)"),
)


def check_components(import_module: Callable[[str], Any] = importlib.import_module) -> CheckResult:
    """Every library the program needs imports, with its version (the bundle is complete)."""
    label = "構成部品"
    versions: dict[str, str] = {}
    missing: list[str] = []
    for name, purpose in _COMPONENTS:
        try:
            module = import_module(name)
        except Exception as exc:
            missing.append(f"{name} ({purpose}): {exc}")
            continue
        versions[name] = str(getattr(module, "__version__", getattr(module, "sqlite_version", "?")))
    try:
        pq = import_module("psycopg").pq
        versions["libpq"] = f"{pq.version()} ({pq.__impl__})"
    except Exception as exc:
        missing.append(f"libpq (PostgreSQL client library): {exc}")
    if missing:
        return CheckResult("components", label, CheckStatus.FAIL, "missing: " + "; ".join(missing), data=versions)
    frozen = "bundle" if getattr(sys, "frozen", False) else "checkout"
    return CheckResult(
        "components", label, CheckStatus.PASS, f"{len(versions)} libraries present ({frozen})", data=versions
    )


def run_selftest(options: SelftestOptions, probes: Probes | None = None) -> SelftestReport:
    """Run every check and return the report; never raises for what it finds."""
    probes = probes or Probes()
    server: ServerProbe | None = None
    if options.server is not None:
        try:
            package_hash = _package_hash(options.package) if options.package and options.package.is_file() else None
            server = probes.probe_server(options.server, options.tls_dir, package_hash)
        except Exception as exc:
            server = ServerProbe(False, f"probe failed: {exc}")
    results: list[CheckResult] = []
    results.extend(check_pcsc(probes, options))
    results.append(check_fonts())
    results.append(check_printer(probes, options))
    results.append(check_package(options))
    results.append(check_ledger(options))
    results.append(check_clock(probes, server))
    results.append(check_server(server, options))
    results.append(check_components())
    return SelftestReport(tuple(results))


# ------------------------------------------------------------------------------------------------ real probes


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _local_offset() -> dt.timedelta:
    return dt.datetime.now().astimezone().utcoffset() or dt.timedelta(0)


def _install_time() -> dt.datetime | None:
    # When frozen, the executable's timestamp is when the bundle was built or copied; in a checkout, this file's.
    path = Path(sys.executable) if getattr(sys, "frozen", False) else Path(__file__)
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except OSError:
        return None


def _pcsc_service_hint() -> str:
    if sys.platform == "win32":
        return "start the Windows 'Smart Card' service (SCardSvr)"
    if sys.platform == "darwin":
        return "macOS starts its smart card service on demand: reconnect the reader"
    return "start pcscd, e.g. `systemctl start pcscd.socket`"


def _pcsc_listing() -> PcscListing:
    # reader.pcsc is the only module that loads pyscard (and with it WinSCard or libpcsclite): import it only here,
    # so a terminal without the PC/SC library still gets the rest of the report.
    try:
        from reader.pcsc import list_readers
    except ImportError as exc:
        return PcscListing(False, (), f"PC/SC library not loadable: {exc}")
    from reader.transport import ServiceUnavailableError, TransportError

    try:
        readers = list_readers()
    except ServiceUnavailableError as exc:
        return PcscListing(False, (), f"PC/SC service not running: {exc}")
    except TransportError as exc:
        return PcscListing(False, (), f"PC/SC error: {exc}")
    return PcscListing(True, tuple(readers), "PC/SC service running")


def _printer_problem(name: str) -> str | None:
    """Why the named queue cannot print now (out of paper, offline, cover open …), as the printing port reports it."""
    if sys.platform == "win32":
        return None  # the Windows queue state is in the printer list already (WorkOffline, PrinterStatus)
    from ballots.printing import CupsPrinter, PrinterError

    try:
        CupsPrinter(name).check()
    except PrinterError as exc:
        return exc.message_en
    except ValueError as exc:  # a queue name CUPS would not accept
        return str(exc)
    return None


def _system_printers() -> list[PrinterInfo]:
    if sys.platform == "win32":
        return _windows_printers()
    return _cups_printers()


def _cups_printers() -> list[PrinterInfo]:
    lpstat = shutil.which("lpstat")
    if lpstat is None:
        raise RuntimeError("CUPS client tools (lpstat) not installed")
    # lpstat's wording is translated: force the C locale so the parser sees the English keywords.
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    status = subprocess.run([lpstat, "-p"], capture_output=True, text=True, env=env, timeout=10, check=False)
    default = subprocess.run([lpstat, "-d"], capture_output=True, text=True, env=env, timeout=10, check=False)
    if status.returncode != 0 and "No destinations" not in status.stderr + status.stdout:
        reason = (status.stderr or status.stdout).strip() or f"lpstat exit code {status.returncode}"
        raise RuntimeError(f"CUPS not answering: {reason}")
    return parse_lpstat(status.stdout, default.stdout)


def parse_lpstat(printers_text: str, default_text: str) -> list[PrinterInfo]:
    """Parse ``LC_ALL=C lpstat -p`` and ``lpstat -d`` output into printers (continuation lines are ignored)."""
    default = None
    for line in default_text.splitlines():
        if line.startswith("system default destination:"):
            default = line.split(":", 1)[1].strip()
    printers: list[PrinterInfo] = []
    for line in printers_text.splitlines():
        words = line.split()
        if len(words) < 3 or words[0] != "printer":
            continue
        name = words[1]
        enabled = "disabled" not in words[2:4]
        printers.append(PrinterInfo(name=name, enabled=enabled, default=name == default))
    return printers


def _windows_printers() -> list[PrinterInfo]:
    # PowerShell writes in the console's OEM code page unless told otherwise; printer names may be Japanese.
    command = (
        "[Console]::OutputEncoding = [System.Text.Encoding]::UTF8; "
        "Get-CimInstance -ClassName Win32_Printer | "
        "Select-Object Name,Default,WorkOffline,PrinterStatus | ConvertTo-Json -Compress"
    )
    out = subprocess.run(
        ["powershell", "-NoProfile", "-NonInteractive", "-Command", command],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=30,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"cannot query printers: {out.stderr.strip() or out.returncode}")
    return parse_windows_printers(out.stdout)


# Win32_Printer.PrinterStatus values meaning the printer cannot print now (1 other, 7 offline).
_WINDOWS_UNUSABLE_STATUS = {7}


def parse_windows_printers(text: str) -> list[PrinterInfo]:
    """Parse ``Get-CimInstance Win32_Printer | ConvertTo-Json`` output (one object, or a list, or nothing)."""
    text = text.strip()
    if not text:
        return []
    data = json.loads(text)
    rows = data if isinstance(data, list) else [data]
    printers = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("Name"), str):
            raise ValueError(f"unexpected printer entry from PowerShell: {row!r}")
        offline = bool(row.get("WorkOffline")) or row.get("PrinterStatus") in _WINDOWS_UNUSABLE_STATUS
        printers.append(PrinterInfo(name=row["Name"], enabled=not offline, default=bool(row.get("Default"))))
    return printers


def _http_probe(url: str, tls_dir: Path | None, package_hash: str | None) -> ServerProbe:
    """One authenticated request to the tally server, as the kiosk's sync client makes it.

    With the package's hash: ``GET /v1/status``, which also proves the server serves the same package and gives its
    clock to the microsecond. Without it: ``GET /openapi.json`` (authenticated, but no package check, so the server
    does not log a package-mismatch rejection against this terminal) and the clock from the HTTP Date header.
    """
    import httpx

    from sync.client import PACKAGE_HEADER, ClientTLS

    verify: ssl.SSLContext | bool = True
    if url.startswith("https://"):
        if tls_dir is None:
            return ServerProbe(False, "an https server needs --tls-dir (this terminal's certificate folder)")
        tls = ClientTLS.from_dir(tls_dir)
        for needed in (tls.ca, tls.cert, tls.key):
            if not needed.is_file():
                return ServerProbe(False, f"certificate file missing: {needed}")
        try:
            verify = tls.ssl_context()
        except (ssl.SSLError, OSError) as exc:
            return ServerProbe(False, f"certificate files in {tls_dir} unusable: {exc}")
    base = url.rstrip("/")
    request = (f"{base}/v1/status", {PACKAGE_HEADER: package_hash}) if package_hash else (f"{base}/openapi.json", {})
    started = time.monotonic()
    try:
        with httpx.Client(verify=verify, timeout=5.0) as client:
            response = client.get(request[0], headers=request[1])
    except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
        return ServerProbe(False, f"unreachable: {type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    server_time = _server_time(response)
    code = response.status_code
    took = f"in {elapsed * 1000:.0f} ms"
    if code == 200 and package_hash:
        body = response.json()
        detail = f"same package, this terminal is {body.get('role')} {body.get('client_id')!r} ({took})"
        return ServerProbe(True, detail, code, server_time, elapsed)
    if code == 200:
        what = "certificate accepted" if url.startswith("https://") else "answered"
        return ServerProbe(True, f"{what} ({took}; package not compared without --package)", code, server_time, elapsed)
    reason = _error_detail(response)
    if code == 409:
        return ServerProbe(
            False, f"the server serves a different election package: {reason}", code, server_time, elapsed
        )
    if code in (401, 403):
        return ServerProbe(False, f"certificate refused (HTTP {code}): {reason}", code, server_time, elapsed)
    return ServerProbe(False, f"unexpected answer HTTP {code}: {reason}", code, server_time, elapsed)


def _server_time(response: Any) -> dt.datetime | None:
    # Prefer the server's own microsecond timestamp; fall back to the HTTP Date header (one-second resolution).
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("server_time"), str):
            return dt.datetime.fromisoformat(body["server_time"]).astimezone(dt.UTC)
    except ValueError:
        pass
    if "date" in response.headers:
        try:
            return email.utils.parsedate_to_datetime(response.headers["date"]).astimezone(dt.UTC)
        except (TypeError, ValueError):
            return None
    return None


def _error_detail(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:200]
    return str(body)[:200]


def _package_hash(path: Path) -> str:
    # The package hash every kiosk and the server compare is the hex SHA-256 of the package file (docs/contracts.md).
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
