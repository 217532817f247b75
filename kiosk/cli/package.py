"""``uketsuke package build|verify|info``: make and check the signed, encrypted election package."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ballots.package import PackageError, PackageInfo, build_package, read_package_info, verify_package
from kiosk.cli import CommandError, emit

PASSPHRASE_ENV = "UKETSUKE_PASSPHRASE"


def add_passphrase_argument(parser: argparse.ArgumentParser) -> None:
    """``--passphrase-file`` (else the UKETSUKE_PASSPHRASE environment variable)."""
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help=f"file whose first line is the register passphrase (default: ${PASSPHRASE_ENV})",
    )


def passphrase_from(args: argparse.Namespace) -> str:
    """The passphrase from --passphrase-file or the environment; a CommandError if neither gives one."""
    if args.passphrase_file:
        try:
            text = Path(args.passphrase_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"{args.passphrase_file}: cannot read the passphrase file: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{args.passphrase_file}: the passphrase file must be UTF-8 text") from None
        lines = text.splitlines()
        passphrase = lines[0].strip() if lines else ""
        if not passphrase:
            raise CommandError(f"{args.passphrase_file}: the passphrase file is empty")
        return passphrase
    passphrase = os.environ.get(PASSPHRASE_ENV, "")
    if not passphrase:
        raise CommandError(f"no passphrase: give --passphrase-file FILE or set {PASSPHRASE_ENV}")
    return passphrase


def register(subparsers: Any) -> None:
    """Add the ``package`` command and its subcommands."""
    p = subparsers.add_parser("package", help="build, verify or describe an election package")
    sub = p.add_subparsers(dest="package_command", metavar="SUBCOMMAND")
    sub.required = True

    b = sub.add_parser(
        "build",
        help="validate election.toml and the register, write the signed and encrypted package",
        description="Validate election.toml and register.csv (CP932 or UTF-8), then write one package file: "
        "signed with the committee's Ed25519 key, the register encrypted with AES-256-GCM under a key derived "
        "from the passphrase. Nothing is written if any row is wrong.",
    )
    b.add_argument("--election", required=True, metavar="FILE", help="election.toml")
    b.add_argument("--register", required=True, metavar="FILE", help="register CSV (CP932 or UTF-8)")
    b.add_argument("--key", required=True, metavar="FILE", help="committee Ed25519 private key (PEM)")
    b.add_argument("--out", required=True, metavar="PKG", help="package file to write")
    add_passphrase_argument(b)
    b.add_argument("--json", action="store_true", help="print the package summary as JSON")
    b.set_defaults(func=run_build)

    v = sub.add_parser(
        "verify",
        help="check a package's signature and print its hash (no passphrase needed)",
        description="Check the structure and the committee signature of a package and print its hash. "
        "Exit status 0 if valid, 1 if the package is refused.",
    )
    v.add_argument("package", metavar="PKG")
    v.add_argument("--pubkey", required=True, metavar="FILE", help="committee Ed25519 public key (PEM)")
    v.add_argument(
        "--expect",
        metavar="HASH",
        help="also require this package hash (full hex, or the short form 1a2b-3c4d-5e6f-7a8b the committee published)",
    )
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=run_verify)

    i = sub.add_parser(
        "info",
        help="show what a package contains (header, hash)",
        description="Show a package's header: municipality, elections, counts, hash. With --pubkey the signature "
        "is checked too; without it the header is shown as unverified.",
    )
    i.add_argument("package", metavar="PKG")
    i.add_argument("--pubkey", metavar="FILE", help="also verify the signature with this public key")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=run_info)


def describe(info: PackageInfo) -> str:
    """Human-readable package summary (Japanese labels for committee staff)."""
    m = info.municipality
    lines = [
        f"パッケージ: {info.path}",
        f"ハッシュ:   {info.short_hash}  ({info.package_hash})",
        f"署名:       {'検証済み' if info.signature_verified else '未検証 (--pubkey で検証)'}",
        f"団体:       {m.get('prefecture', '')}{m.get('name', '')} ({m.get('code', '')})  {m.get('committee', '')}",
        f"選挙期日:   {info.election_day}",
        "選挙:",
    ]
    for e in info.elections:
        lines.append(
            f"  {e.get('order')}. {e.get('name')} [{e.get('kind')}] 期日前投票 {e.get('early_voting_start')}から"
        )
    lines += [
        f"選挙人:     {info.voters:,}名  投票区 {info.precincts}  投票所 {info.stations}  職員 {info.staff}",
        f"作成:       {info.created}  サイズ {info.size:,} bytes",
    ]
    return "\n".join(lines)


def run_build(args: argparse.Namespace) -> int:
    """Build the package."""
    info = build_package(args.election, args.register, args.key, args.out, passphrase_from(args))
    emit(info.to_dict(), args.json, lambda _: describe(info))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Verify signature and hash; exit 1 if refused."""
    try:
        info = verify_package(args.package, args.pubkey)
    except PackageError as exc:
        raise CommandError(f"refused: {exc}", code=1) from None
    if args.expect and not _hash_matches(info, args.expect):
        raise CommandError(
            f"refused: {args.package}: package hash {info.short_hash} is not the expected {args.expect.strip()}", code=1
        )
    emit(info.to_dict(), args.json, lambda _: f"OK {info.short_hash}  {info.package_hash}\n" + describe(info))
    return 0


def _hash_matches(info: PackageInfo, expected: str) -> bool:
    """Compare with a full hex hash or a short form (case, spaces and hyphens ignored; the short form is a prefix)."""
    want = expected.strip().lower().replace("-", "").replace(" ", "")
    return len(want) >= 16 and info.package_hash.startswith(want)


def run_info(args: argparse.Namespace) -> int:
    """Print the header (verified if --pubkey is given)."""
    info = verify_package(args.package, args.pubkey) if args.pubkey else read_package_info(args.package)
    emit(info.to_dict(), args.json, lambda _: describe(info))
    return 0
