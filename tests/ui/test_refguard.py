"""The PySide6 6.12 reference defect on Python 3.11, and the guard that keeps the kiosk alive despite it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from kiosk.ui.refguard import NEEDED, RefcountGuard

pytestmark = pytest.mark.skipif(not NEEDED, reason="None/True/False are immortal on Python >= 3.12")

_LOSE = """
import sys
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
{guard}
for i in range(60_000):
    label.setText("受付")  # a Qt method returning nothing
    {top_up}
print("alive", sys.getrefcount(None))
"""


def _run(guard: str, top_up: str) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(_LOSE).format(guard=guard, top_up=top_up)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})


def test_without_the_guard_void_qt_calls_kill_the_interpreter() -> None:
    """The defect itself, so that a PySide6 upgrade that fixes it shows up here (then the guard can go)."""
    out = _run("", "pass")
    assert out.returncode != 0 and "none_dealloc" in out.stderr


def test_with_the_guard_the_same_calls_are_survived() -> None:
    guard = "from kiosk.ui.refguard import RefcountGuard\nguard = RefcountGuard(floor=100_000)\nguard.start()"
    out = _run(guard, "i % 5000 == 0 and guard.top_up()")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("alive")


def test_top_up_restores_the_floor(qtbot: Any) -> None:
    guard = RefcountGuard(floor=sys.getrefcount(None) + 1000)
    added = guard.top_up()
    assert added > 0 and sys.getrefcount(None) >= guard.floor
    assert guard.top_up() == 0 or sys.getrefcount(None) >= guard.floor
