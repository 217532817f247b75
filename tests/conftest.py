"""Shared test set-up: Qt offscreen, and the external services started by scripts/services.sh.

A test that needs a service asks for its fixture. Without the service it is skipped — except when
UKETSUKE_REQUIRE_SERVICES is set (scripts/test.sh and CI), where a missing service fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]


def _missing(what: str) -> None:
    if os.environ.get("UKETSUKE_REQUIRE_SERVICES"):
        pytest.fail(f"required service missing: {what} (run scripts/services.sh start)")
    pytest.skip(f"service not available: {what}")


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """DSN of the throw-away PostgreSQL cluster."""
    dsn = os.environ.get("UKETSUKE_TEST_PG")
    if not dsn:
        _missing("PostgreSQL (UKETSUKE_TEST_PG)")
    return str(dsn)


@pytest.fixture(scope="session")
def pcscd_running() -> None:
    """pcscd with the vpcd virtual reader is running."""
    if not os.environ.get("UKETSUKE_TEST_PCSCD") or not Path("/run/pcscd/pcscd.comm").exists():
        _missing("pcscd with vpcd")


@pytest.fixture(scope="session")
def cups_queue() -> str:
    """Name of a cups-pdf queue on the running cupsd."""
    queue = os.environ.get("UKETSUKE_TEST_CUPS_QUEUE")
    if not queue or shutil.which("lpstat") is None:
        _missing("cupsd with a cups-pdf queue")
    if subprocess.run(["lpstat", "-p", str(queue)], capture_output=True).returncode != 0:
        _missing(f"CUPS queue {queue}")
    return str(queue)


@pytest.fixture(scope="session")
def uketsuke_cmd() -> list[str]:
    """Command prefix that runs the CLI from this checkout."""
    return [sys.executable, "-m", "kiosk"]
