"""The PyInstaller bundle: built once per session by scripts/build-bundle.sh, which also runs `--version`, the
headless demo and `selftest` from it; the tests here then look inside the bundle and run it again.

Set UKETSUKE_BUNDLE_DIR to an already built dist/ directory to test that bundle instead of building a new one.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BundleRun:
    """The build script's run and where it left things."""

    proc: subprocess.CompletedProcess[str]
    bundle: Path
    out: Path
    station: bool

    @property
    def exe(self) -> Path:
        windows = self.bundle / "uketsuke.exe"
        return windows if windows.exists() else self.bundle / "uketsuke"


@pytest.fixture(scope="session")
def bundle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BundleRun]:
    # With pcscd+vpcd and a print queue running (scripts/services.sh) the self-test runs as on a station terminal;
    # without them it runs as on a server machine. Under UKETSUKE_REQUIRE_SERVICES a missing service fails here.
    station = True
    try:
        request.getfixturevalue("pcscd_running")
        request.getfixturevalue("cups_queue")
    except pytest.skip.Exception:
        station = False
    base = tmp_path_factory.mktemp("bundle")
    existing = os.environ.get("UKETSUKE_BUNDLE_DIR")
    dist = Path(existing) if existing else base / "dist"
    cmd = ["bash", str(REPO / "scripts" / "build-bundle.sh"), "--dist", str(dist), "--out", str(base / "out")]
    cmd += ["--no-build"] if existing else ["--work", str(base / "work")]
    cmd += [] if station else ["--no-station"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1200, check=False)
    try:
        yield BundleRun(proc, dist / "uketsuke", base / "out", station)
    finally:
        if not existing:  # ~250 MB per build: do not leave them in pytest's kept temp directories
            shutil.rmtree(base / "dist", ignore_errors=True)
            shutil.rmtree(base / "work", ignore_errors=True)


def _run(run: BundleRun, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "UKETSUKE_RESOURCES", "VIRTUAL_ENV")}
    return subprocess.run([str(run.exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_build_script_builds_and_smoke_tests_the_bundle(bundle: BundleRun) -> None:
    output = bundle.proc.stdout + bundle.proc.stderr
    assert bundle.proc.returncode == 0, output[-4000:]
    for stage in ("uketsuke --version", "uketsuke demo --headless", "uketsuke selftest", "bundle OK"):
        assert f"== {stage}" in output
    assert "結果: 合格" in output
    assert "[合格] 選挙パッケージ" in output  # the package the bundle built (or the demo left) verifies


def _commands(help_text: str) -> set[str]:
    # argparse lists each subcommand indented by four spaces under the COMMAND positional.
    section = help_text.split("COMMAND", 2)[-1]
    return set(re.findall(r"^    ([a-z][a-z0-9-]*)", section, flags=re.MULTILINE))


def test_bundle_has_every_command_of_the_checkout(bundle: BundleRun, tmp_path: Path) -> None:
    frozen = _run(bundle, "--help", cwd=tmp_path)
    checkout = subprocess.run([sys.executable, "-m", "kiosk", "--help"], cwd=REPO, capture_output=True, text=True)
    assert frozen.returncode == 0 and checkout.returncode == 0, frozen.stderr + checkout.stderr
    expected = _commands(checkout.stdout)
    assert {"selftest", "demo"} <= expected
    assert _commands(frozen.stdout) == expected


def test_bundle_selftest_passes_and_knows_it_is_frozen(bundle: BundleRun, tmp_path: Path) -> None:
    args = ["selftest", "--json", "--ledger", str(tmp_path / "ledger.db")]
    out = _run(bundle, *args if bundle.station else [*args, "--no-station"], cwd=tmp_path)
    report = json.loads(out.stdout)
    by_key = {r["key"]: r for r in report["results"]}
    assert report["ok"], out.stdout
    assert out.returncode == 0
    assert by_key["components"]["detail"].endswith("(bundle)")
    assert Path(by_key["fonts"]["data"]["dir"]).is_relative_to(bundle.bundle)
    if bundle.station:
        assert by_key["readers"]["status"] == "pass"


def test_bundle_carries_every_resource(bundle: BundleRun) -> None:
    shipped = bundle.bundle / "_internal" / "resources"
    source = REPO / "resources"
    missing = [
        str(p.relative_to(source))
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not (shipped / p.relative_to(source)).is_file()
    ]
    assert not missing, f"not in the bundle: {missing}"
    assert (shipped / "fonts" / "LICENSE-IPAex.txt").is_file(), "the IPAex licence must ship with the fonts"


def test_bundle_leaves_out_unused_qt(bundle: BundleRun) -> None:
    internal = bundle.bundle / "_internal"
    names = {p.name for p in internal.rglob("*")}
    assert not [n for n in names if re.match(r"(libQt6(Qml|Quick)|Qt6(Qml|Quick)).*", n)], "QML/Quick got bundled"
    translations = list((internal / "PySide6" / "Qt" / "translations").glob("*.qm"))
    assert translations and all(p.name.endswith("_ja.qm") for p in translations)


def test_demo_from_the_bundle_left_its_output(bundle: BundleRun) -> None:
    assert bundle.proc.returncode == 0, bundle.proc.stdout[-2000:] + bundle.proc.stderr[-2000:]
    demo = bundle.out / "demo"
    assert demo.is_dir() and any(demo.iterdir())
    assert (bundle.out / "demo.log").read_text(encoding="utf-8").strip()


# ------------------------------------------------------------------------- build.spec vs. the code (no build needed)


def _excluded_qt_modules() -> list[str]:
    tree = ast.parse((REPO / "build.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "EXCLUDED_QT" for t in node.targets
        ):
            return [str(ast.literal_eval(e)) for e in node.value.elts]  # type: ignore[attr-defined]
    raise AssertionError("build.spec has no EXCLUDED_QT list")


def test_no_code_imports_a_qt_module_the_bundle_excludes() -> None:
    excluded = set(_excluded_qt_modules())
    assert "PySide6.QtWidgets" not in excluded and "PySide6.QtPrintSupport" not in excluded
    bad = []
    for path in REPO.glob("kiosk/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            bad += [f"{path.relative_to(REPO)}: {n}" for n in names if n in excluded]
    assert not bad, "imports a Qt module build.spec excludes (remove it from EXCLUDED_QT): " + ", ".join(bad)


def test_bundle_builds_a_package_and_starts_the_qt_kiosk(bundle: BundleRun, tmp_path: Path) -> None:
    """Qt from the bundle: the headless demo and selftest never load it, so start the real kiosk window offscreen
    on a package the bundle itself builds from the demo's sample, and watch it come up and stay up."""
    import time

    assert bundle.proc.returncode == 0, bundle.proc.stdout[-2000:]
    sample = bundle.out / "demo" / "sample"
    package = tmp_path / "election.pkg"
    build = _run(
        bundle,
        *("package", "build", "--election", str(sample / "election.toml"), "--register", str(sample / "register.csv")),
        *("--key", str(sample / "committee.key"), "--passphrase-file", str(sample / "passphrase.txt")),
        *("--out", str(package)),
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr
    persona = sorted((sample / "personas").glob("*.json"))[0]
    ledger = tmp_path / "desk.db"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "UKETSUKE_RESOURCES", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    cmd = [str(bundle.exe), "kiosk", "--package", str(package), "--pubkey", str(sample / "committee.pub")]
    cmd += ["--station", "E01", "--ledger", str(ledger), "--passphrase-file", str(sample / "passphrase.txt")]
    cmd += ["--soft-card", str(persona), "--printer", "memory"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ledger.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # the window is up by now; a missing Qt plugin or library would have ended the process
        alive = proc.poll() is None
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert alive, f"the kiosk exited by itself ({proc.returncode}): {err[-3000:]}"
    assert ledger.exists(), "the kiosk did not open its ledger"
    assert "Could not load the Qt platform plugin" not in err and "Traceback" not in err, err[-3000:]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def scratch_database(pg_dsn: str) -> Iterator[str]:
    """A database of its own on the test PostgreSQL (other tests use the default one), dropped afterwards."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"uketsuke_bundle_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(pg_dsn)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_bundle_runs_the_tls_server_on_postgresql_and_its_selftest_reaches_it(
    bundle: BundleRun, scratch_database: str, tmp_path: Path
) -> None:
    """The committee's path, all from the bundle: CA and certificates, the server on PostgreSQL over mutual TLS, and a
    terminal's selftest that reaches it with its kiosk certificate and the same package."""
    import socket
    import time

    assert bundle.proc.returncode == 0, bundle.proc.stdout[-2000:]
    demo, sample = bundle.out / "demo", bundle.out / "demo" / "sample"
    package, pubkey = demo / "election.pkg", sample / "committee.pub"
    for args in (
        ("pki", "init", "--out", "ca"),
        ("pki", "issue-server", "--ca", "ca", "--name", "127.0.0.1", "--out", "server-tls"),
        ("pki", "issue-kiosk", "--ca", "ca", "--kiosk-id", "E01-9", "--out", "E01-9"),
    ):
        out = _run(bundle, *args, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "UKETSUKE_RESOURCES", "VIRTUAL_ENV")}
    server = subprocess.Popen(
        [
            *(str(bundle.exe), "server", "--package", str(package), "--pubkey", str(pubkey)),
            *("--passphrase-file", str(sample / "passphrase.txt"), "--database", scratch_database),
            *("--listen", f"127.0.0.1:{port}", "--tls-dir", "server-tls", "--ca", "ca", "--log-level", "warning"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while server.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        assert server.poll() is None, f"the bundled server exited: {server.communicate()[1][-3000:]}"
        check = _run(
            bundle,
            *("selftest", "--json", "--no-station", "--server", f"https://127.0.0.1:{port}", "--tls-dir", "E01-9"),
            *("--package", str(package), "--pubkey", str(pubkey)),
            cwd=tmp_path,
        )
    finally:
        server.terminate()
        try:
            server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
    by_key = {r["key"]: r for r in json.loads(check.stdout)["results"]}
    assert by_key["server"]["status"] == "pass", by_key["server"]["detail"]
    assert "same package, this terminal is kiosk 'E01-9'" in by_key["server"]["detail"]
    assert by_key["package"]["status"] == "pass"
