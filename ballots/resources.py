"""Where the shipped resources (fonts, sample election, styles, icons) live — in a checkout and in the bundle.

Every wing that reads a file from ``resources/`` asks :func:`resource_path` for it instead of building a path from
``__file__``: in the PyInstaller one-folder bundle the modules are frozen into an archive and the data files sit under
``sys._MEIPASS`` (``dist/uketsuke/_internal/``). A ``__file__``-relative path only works there as long as build.spec
happens to mirror the checkout's layout; this helper states the rule once, honours an override and says where it
looked when a file is missing. The module lives in
``ballots`` because it is the wing at the bottom of the layering: ``sync`` and ``kiosk`` may import it too.
``reader`` must not import ``ballots`` and needs no resources.

``UKETSUKE_RESOURCES`` overrides the location (a municipality's own fonts or styles, or tests).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

__all__ = ["RESOURCES_ENV", "resource_path", "resource_root"]

RESOURCES_ENV = "UKETSUKE_RESOURCES"


def resource_root() -> Path:
    """The ``resources`` directory in use: ``$UKETSUKE_RESOURCES``, else the bundle's, else the checkout's."""
    override = os.environ.get(RESOURCES_ENV)
    if override:
        return Path(override)
    bundle_dir = getattr(sys, "_MEIPASS", None)
    if bundle_dir:
        # PyInstaller sets _MEIPASS to the folder that holds the collected data (build.spec puts resources/ there).
        return Path(bundle_dir) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def _check_part(part: str) -> None:
    # A resource name is always relative and stays inside resources/, on every OS: reject what would escape it.
    if not isinstance(part, str) or not part:
        raise ValueError(f"resource path part must be a non-empty string, got {part!r}")
    for flavour in (PurePosixPath(part), PureWindowsPath(part)):
        if flavour.is_absolute() or flavour.drive or flavour.anchor:
            raise ValueError(f"resource path part must be relative, got {part!r}")
        if ".." in flavour.parts:
            raise ValueError(f"resource path part must not contain '..', got {part!r}")


def resource_path(*parts: str, must_exist: bool = True) -> Path:
    """The path of a shipped resource, e.g. ``resource_path("fonts", "ipaexg.ttf")``.

    Parts are relative names (``/`` inside a part is allowed). Raises ``ValueError`` for a part that is absolute or
    contains ``..``, and ``FileNotFoundError`` naming the resource and the directory searched when ``must_exist`` and
    the file or directory is missing.
    """
    if not parts:
        raise ValueError("resource_path needs at least one path part")
    for part in parts:
        _check_part(part)
    root = resource_root()
    path = root.joinpath(*parts)
    if must_exist and not path.exists():
        name = "/".join(parts)
        raise FileNotFoundError(f"resource not found: {name} (looked in {root}; set {RESOURCES_ENV} to override)")
    return path
