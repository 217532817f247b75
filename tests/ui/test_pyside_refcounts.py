"""PySide6 6.12 dropped a reference to None/True/False on every void Qt call and bool signal on Python 3.11, which
aborted the interpreter after minutes of desk use ("none_dealloc"). requirements.lock pins 6.11.3, which does not:
this test keeps any future upgrade honest."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel

class Emitter(QObject):
    flag = Signal(bool)

app = QApplication([])
label, emitter = QLabel(), Emitter()
emitter.flag.connect(lambda value: None)
before = [sys.getrefcount(x) for x in (None, True, False)]
for i in range(20_000):
    label.setText("受付")  # a Qt method returning nothing
    emitter.flag.emit(i % 2 == 0)
app.processEvents()
after = [sys.getrefcount(x) for x in (None, True, False)]
print(*(a - b for a, b in zip(after, before)))
"""


def test_void_qt_calls_and_bool_signals_keep_singleton_refcounts() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    drift = [int(x) for x in out.stdout.split()]
    # A leak shows as thousands lost; allow small noise from objects alive at either sampling point.
    assert all(abs(d) < 100 for d in drift), f"refcount drift of None/True/False: {drift}"
