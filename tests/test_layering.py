"""The layering rules of docs/architecture: checked on imports, in fresh interpreters and statically."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WINGS = ("kiosk", "reader", "sync", "ballots")
# Which wings each wing may import (besides itself).
ALLOWED = {
    "ballots": set(),
    "reader": set(),
    "sync": {"ballots"},
    "kiosk": {"sync", "ballots", "reader"},
}


def _modules() -> list[str]:
    mods = []
    for wing in WINGS:
        for path in sorted((REPO / wing).rglob("*.py")):
            rel = path.relative_to(REPO).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__main__":
                continue  # importing it would run the program
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods.append(".".join(parts))
    return mods


def _is_ui(mod: str) -> bool:
    return mod == "kiosk.ui" or mod.startswith("kiosk.ui.") or mod.startswith("kiosk.committee_ui")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("wing", WINGS)
def test_wing_imports_only_allowed_wings(wing: str) -> None:
    bad = []
    for path in (REPO / wing).rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in WINGS and top != wing and top not in ALLOWED[wing]:
                bad.append(f"{path.relative_to(REPO)} imports {name}")
            if top == "PySide6" and wing != "kiosk":
                bad.append(f"{path.relative_to(REPO)} imports PySide6 outside kiosk/")
            if top == "smartcard" and path.relative_to(REPO).as_posix() != "reader/pcsc.py":
                bad.append(f"{path.relative_to(REPO)} imports pyscard outside reader/pcsc.py")
    assert not bad, "\n".join(bad)


def test_server_side_of_sync_does_not_import_reader_or_kiosk() -> None:
    for path in (REPO / "sync").rglob("*.py"):
        for name in _imports(path):
            assert name.split(".")[0] not in ("reader", "kiosk"), f"{path} imports {name}"


def test_non_ui_modules_run_headless() -> None:
    """Import every non-UI module in one fresh interpreter: PySide6 must not load; pyscard only via reader.pcsc."""
    mods = [m for m in _modules() if not _is_ui(m)]
    code = (
        "import importlib, sys\n"
        f"mods = {mods!r}\n"
        "for m in mods:\n"
        "    if m == 'reader.pcsc':\n"
        "        continue\n"
        "    importlib.import_module(m)\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('PySide6', 'shiboken6', 'smartcard')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"loaded in a headless import: {out.stdout.strip()}"
