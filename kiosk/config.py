"""The kiosk's configuration: which package, station, ledger, server, card reader and printer this terminal uses.

Built from the command line (``uketsuke kiosk …``) or a TOML file (``--config kiosk.toml``, same keys, command-line
options win). :func:`validate` says what is wrong and where before anything is opened. The real-or-fake choices are
made from this once, in kiosk/app.py.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "KioskConfig", "PrinterKind", "ReaderKind", "load_config", "validate"]


class ConfigError(ValueError):
    """The configuration is incomplete or contradictory; the message names the key (or option) at fault."""


class ReaderKind(enum.StrEnum):
    """Where card reads go: a PC/SC reader (real card or vpcd), or the in-process software card (demo, tests)."""

    PCSC = "pcsc"
    SOFT = "soft"


class PrinterKind(enum.StrEnum):
    """Where documents go: a CUPS queue, the system printer via Qt, a directory of PDFs, or memory (tests)."""

    CUPS = "cups"
    QT = "qt"
    FILE = "file"
    MEMORY = "memory"


@dataclass(frozen=True, slots=True)
class KioskConfig:
    """Everything a terminal needs; paths are as given (relative to the working directory)."""

    package: Path
    pubkey: Path
    station: str
    ledger: Path
    kiosk_id: str = ""  # default: <station>-<hostname-free ledger stem>
    key: Path | None = None  # kiosk Ed25519 key (PEM); default: <ledger>.key, created on first start
    passphrase_file: Path | None = None  # else typed on the unlock screen
    server: str | None = None  # https://host:port; None: standalone (claims decided locally)
    tls_dir: Path | None = None  # kiosk certificate, key and the committee CA for mTLS
    reader: ReaderKind = ReaderKind.PCSC
    reader_name: str | None = None  # PC/SC reader name (substring); None: the first reader
    soft_card: Path | None = None  # persona JSON for the in-process software card
    printer: PrinterKind = PrinterKind.FILE
    printer_queue: str | None = None  # CUPS queue
    printer_dir: Path | None = None  # FILE backend directory; default: <ledger dir>/prints
    fullscreen: bool = False

    @property
    def effective_kiosk_id(self) -> str:
        """The kiosk id recorded in the ledger and sent to the server."""
        return self.kiosk_id or f"{self.station}-{self.ledger.stem}"

    @property
    def effective_key(self) -> Path:
        """Where the kiosk's signing key lives: ``key`` if given; else the ``ledger.key`` that ``uketsuke pki
        issue-kiosk`` wrote beside the kiosk certificate (the server accepts only events signed with the key the
        certificate binds); else ``<ledger>.key``, created on first start."""
        if self.key is not None:
            return self.key
        if self.tls_dir is not None and (self.tls_dir / "ledger.key").is_file():
            return self.tls_dir / "ledger.key"
        return self.ledger.with_suffix(self.ledger.suffix + ".key")

    @property
    def effective_printer_dir(self) -> Path:
        """Where the file printer writes PDFs."""
        return self.printer_dir or self.ledger.parent / "prints"

    @property
    def test_ledger(self) -> Path:
        """The separate ledger used in test mode (logic-and-accuracy test); deleted by the reset."""
        return self.ledger.with_name(self.ledger.stem + ".test" + self.ledger.suffix)


def validate(config: KioskConfig) -> KioskConfig:
    """Check that the configuration is complete and consistent; raise ConfigError naming the key at fault."""
    for key in ("package", "pubkey"):
        path: Path = getattr(config, key)
        if not path.is_file():
            raise ConfigError(f"{key}: file not found: {path}")
    if not config.station.strip():
        raise ConfigError("station: must not be empty")
    if not config.ledger.parent.is_dir():
        raise ConfigError(f"ledger: directory does not exist: {config.ledger.parent}")
    if config.passphrase_file is not None and not config.passphrase_file.is_file():
        raise ConfigError(f"passphrase_file: file not found: {config.passphrase_file}")
    if config.server is not None:
        if not config.server.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ConfigError(f"server: expected an https:// URL (plain http only on loopback), got {config.server!r}")
        if config.server.startswith("https://") and config.tls_dir is None:
            raise ConfigError("tls_dir: required with an https server (kiosk certificate and the committee CA)")
    if config.tls_dir is not None and not config.tls_dir.is_dir():
        raise ConfigError(f"tls_dir: directory not found: {config.tls_dir}")
    if config.reader is ReaderKind.SOFT:
        if config.soft_card is None:
            raise ConfigError("soft_card: a persona JSON is required with reader = soft")
        if not config.soft_card.is_file():
            raise ConfigError(f"soft_card: file not found: {config.soft_card}")
    if config.printer is PrinterKind.CUPS and not config.printer_queue:
        raise ConfigError("printer_queue: required with printer = cups")
    return config


_PATHS = {"package", "pubkey", "ledger", "key", "passphrase_file", "tls_dir", "soft_card", "printer_dir"}


def _coerce(key: str, value: Any, where: str) -> Any:
    if value is None:
        return None
    if key in _PATHS:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key}: expected a path string, got {type(value).__name__}")
        return Path(value)
    if key == "reader":
        try:
            return ReaderKind(value)
        except ValueError:
            raise ConfigError(f"{where}: reader: {value!r} is not one of pcsc, soft") from None
    if key == "printer":
        try:
            return PrinterKind(value)
        except ValueError:
            raise ConfigError(f"{where}: printer: {value!r} is not one of cups, qt, file, memory") from None
    if key == "fullscreen":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: fullscreen: expected true or false")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key}: expected a string, got {type(value).__name__}")
    return value


def load_config(path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> KioskConfig:
    """Read a TOML file (optional) and apply ``overrides`` (command-line options; None values are ignored)."""
    known = {f.name for f in fields(KioskConfig)}
    values: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the configuration: {exc}") from None
        for key, value in data.items():
            if key not in known:
                raise ConfigError(f"{path}: unknown key {key!r}")
            values[key] = _coerce(key, value, str(path))
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in known:
            raise ConfigError(f"option --{key.replace('_', '-')}: unknown")
        values[key] = value if not isinstance(value, str) else _coerce(key, value, "command line")
    for key in ("package", "pubkey", "station", "ledger"):
        if key not in values:
            raise ConfigError(f"{key}: required (option --{key} or key {key!r} in the configuration file)")
    config = KioskConfig(**values)
    if config.soft_card is not None and "reader" not in values:
        config = replace(config, reader=ReaderKind.SOFT)
    return config
