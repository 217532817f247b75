"""``uketsuke register search``: look voters up in a package, as the reception desk would (a clerk's tool)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

from ballots.matching import CardMatch, MatchStatus
from ballots.model import Voter
from ballots.package import open_package
from ballots.register import parse_birth_date
from ballots.wareki import format_wareki
from kiosk.cli import CommandError, emit
from kiosk.cli.package import add_passphrase_argument, passphrase_from


def register(subparsers: Any) -> None:
    """Add the ``register`` command and its ``search`` subcommand."""
    p = subparsers.add_parser("register", help="search the voter register inside a package")
    sub = p.add_subparsers(dest="register_command", metavar="SUBCOMMAND")
    sub.required = True
    s = sub.add_parser(
        "search",
        help="find voters by 入場券 barcode, kana/kanji prefix (and birth date) or card basic information",
        description="Open the package (signature checked, register decrypted) and search it. --card takes a card "
        "persona or `card read --json` output and shows the match decision: one voter, or ranked candidates.",
    )
    s.add_argument("--package", required=True, metavar="PKG")
    s.add_argument("--pubkey", required=True, metavar="FILE", help="committee Ed25519 public key (PEM)")
    add_passphrase_argument(s)
    what = s.add_mutually_exclusive_group(required=True)
    what.add_argument("--barcode", metavar="CODE", help="入場券 barcode (識別コード, 15+ digits)")
    what.add_argument("--kana", metavar="PREFIX", help="kana or kanji prefix of the name (old forms folded)")
    what.add_argument("--card", metavar="FILE", help="card basic information as JSON (name, address, birth_date, sex)")
    s.add_argument("--birth", metavar="YYYY-MM-DD", help="with --kana: only voters born on this day (和暦 accepted)")
    s.add_argument("--limit", type=int, default=50, help="with --kana: at most this many results (default 50)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_search)


def voter_dict(v: Voter) -> dict[str, Any]:
    """A register entry as JSON (register data: this is a clerk's tool)."""
    return {
        "code": v.code,
        "precinct": v.precinct,
        "volume": v.volume,
        "page": v.page,
        "line": v.line,
        "name": v.name,
        "kana": v.kana,
        "birth_date": v.birth_date.isoformat(),
        "birth_date_wareki": format_wareki(v.birth_date),
        "sex": v.sex.label,
        "address": v.address,
        "address_extra": v.address_extra,
        "moved": v.moved,
        "barred_kinds": sorted(k.value for k in v.barred_kinds),
        "absentee": v.absentee.value if v.absentee else None,
    }


def voter_line(v: Voter) -> str:
    """One line per voter for the terminal."""
    marks = []
    if v.moved:
        marks.append("転出")
    if v.barred_kinds:
        marks.append("".join(sorted(k.value for k in v.barred_kinds)) + "不可")
    if v.absentee:
        marks.append(f"不在者{v.absentee.value}")
    place = v.address + (f"　{v.address_extra}" if v.address_extra else "")
    return (
        f"{v.code}  {v.name}（{v.kana}）  {format_wareki(v.birth_date)}  {v.sex.label}  {place}  "
        f"第{v.precinct}投票区 {v.volume}冊{v.page}頁{v.line}行" + (f"  [{' '.join(marks)}]" if marks else "")
    )


def _load_card(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"{path}: cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CommandError(f"{path}: expected a JSON object with name, address, birth_date, sex")
    missing = [k for k in ("name", "address", "birth_date") if not isinstance(data.get(k), str) or not data.get(k)]
    if missing:
        raise CommandError(f"{path}: missing or empty {', '.join(missing)}")
    return data


def _match_dict(m: CardMatch) -> dict[str, Any]:
    return {
        "status": m.status.value,
        "voter": voter_dict(m.voter) if m.voter else None,
        "message": m.message,
        "candidates": [
            {"score": c.score, "reasons": list(c.reasons), "voter": voter_dict(c.voter)} for c in m.candidates
        ],
    }


def _match_text(m: CardMatch) -> str:
    if m.status is MatchStatus.UNIQUE and m.voter:
        head = "照合結果: 1名に一致（本人確認をしてください）\n" + voter_line(m.voter)
    elif m.status is MatchStatus.AMBIGUOUS:
        head = f"照合結果: 候補 {len(m.candidates)}名 — {m.message}"
    else:
        head = f"照合結果: 該当なし — {m.message}"
    rest = [f"  候補 {i}. {voter_line(c.voter)}  ({'・'.join(c.reasons)})" for i, c in enumerate(m.candidates, 1)]
    return "\n".join([head, *rest]) if m.status is not MatchStatus.UNIQUE else head


def run_search(args: argparse.Namespace) -> int:
    """Search and print; exit 1 when nothing is found."""
    if args.birth and not args.kana:
        raise CommandError("--birth narrows a --kana search; use it with --kana")
    birth: date | None = None
    if args.birth:
        try:
            birth = parse_birth_date(args.birth)
        except ValueError as exc:
            raise CommandError(f"--birth: {exc}") from None
    card = _load_card(args.card) if args.card else None
    package = open_package(args.package, args.pubkey, passphrase_from(args))
    register = package.register
    if args.barcode:
        try:
            voter = register.by_barcode(args.barcode)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        emit(
            {"package_hash": package.package_hash, "voter": voter_dict(voter) if voter else None},
            args.json,
            lambda _: voter_line(voter) if voter else f"該当なし: 識別コード {args.barcode}",
        )
        return 0 if voter else 1
    if card is not None:
        m = register.match_card(card["name"], card["address"], card["birth_date"], str(card.get("sex", "")))
        emit({"package_hash": package.package_hash, **_match_dict(m)}, args.json, lambda _: _match_text(m))
        return 1 if m.status is MatchStatus.NONE else 0
    try:
        found = register.search(args.kana, birth_date=birth, limit=args.limit)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    emit(
        {"package_hash": package.package_hash, "voters": [voter_dict(v) for v in found]},
        args.json,
        lambda _: "\n".join(voter_line(v) for v in found) if found else "該当なし",
    )
    return 0 if found else 1
