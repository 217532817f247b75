"""``uketsuke ledger show|verify``: look at a kiosk ledger and prove it untampered.

Both open the ledger read-only. ``show`` prints register keys (識別コード), never names: events carry no names.
``verify`` exits 0 when the ledger is intact and 1 naming the first bad row (2 for errors such as a missing file).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ballots.events import EventType
from ballots.wareki import format_wareki
from kiosk.cli import CommandError, emit
from sync.chain import SealedEvent
from sync.keys import load_public_key
from sync.ledger import Ledger, ReplicaReport, VerifyReport

__all__ = ["register"]

_JST = ZoneInfo("Asia/Tokyo")

# What each event type is called at the desk.
TYPE_LABELS: dict[EventType, str] = {
    EventType.CHECK_IN: "受付（投票用紙交付）",
    EventType.VOID: "取消",
    EventType.DECLARATION: "宣誓書",
    EventType.BALLOT_REISSUED: "再交付",
    EventType.PROVISIONAL: "仮投票",
    EventType.REFUSAL: "拒否",
    EventType.PROXY_VOTE: "代理投票",
    EventType.BRAILLE: "点字投票",
    EventType.OVERRIDE: "管理者による続行",
    EventType.STOP_SHOWN: "停止表示（投票済み等）",
    EventType.STAFF_SIGN_IN: "係員ログイン",
    EventType.STAFF_SIGN_OUT: "係員ログアウト",
    EventType.STAFF_SIGN_IN_FAILED: "係員ログイン失敗",
    EventType.STAFF_UNLOCKED: "係員ロック解除",
    EventType.RECORD_VIEWED: "記録の閲覧",
    EventType.STOCK_RECEIVED: "投票用紙受領",
    EventType.STATION_OPENED: "開設",
    EventType.STATION_CLOSED: "閉鎖",
}


def register(subparsers: Any) -> None:
    """Add ``ledger show`` and ``ledger verify``."""
    ledger = subparsers.add_parser(
        "ledger",
        help="show or verify a kiosk ledger",
        description="Show or verify a kiosk ledger (opened read-only). show prints register keys, never names; "
        "verify exits 0 when intact, 1 naming the first bad row, 2 on errors such as a missing file.",
    )
    sub = ledger.add_subparsers(dest="ledger_command", metavar="SUBCOMMAND")
    sub.required = True

    show = sub.add_parser("show", help="list the ledger's events (register keys, never names)")
    show.add_argument("db", metavar="DB", help="ledger file (SQLite)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument("--limit", type=_positive_int, metavar="N", help="only the newest N events")
    show.add_argument(
        "--type",
        dest="types",
        action="append",
        choices=[t.value for t in EventType],
        metavar="T",
        help="only events of this type (repeatable): " + ", ".join(t.value for t in EventType),
    )
    show.set_defaults(func=cmd_show)

    verify = sub.add_parser(
        "verify",
        help="check seq, hash chain and signatures; exit 1 naming the first bad row",
        description="Check that no event was edited, deleted, reordered or inserted. Exit 0 if intact, 1 if not.",
    )
    verify.add_argument("db", metavar="DB", help="ledger file (SQLite)")
    verify.add_argument(
        "--pubkey",
        metavar="F",
        help="the kiosk's public key (PEM or hex) from a trusted source; without it the key recorded in the ledger "
        "is used, which only proves internal consistency",
    )
    verify.add_argument(
        "--replica-keys",
        metavar="DIR",
        help="directory of other kiosks' public keys named <kiosk_id>.pub, to check the replica's signatures too",
    )
    verify.add_argument("--json", action="store_true", help="print JSON")
    verify.set_defaults(func=cmd_verify)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _local(iso: str) -> str:
    """A stored UTC time as 和暦 date and JST clock time, as clerks read it."""
    t = datetime.fromisoformat(iso).astimezone(_JST)
    return f"{format_wareki(t.date())} {t:%H:%M:%S}"


def _details(body: Mapping[str, Any]) -> str:
    data = body.get("data") or {}
    return " ".join(f"{k}={v}" for k, v in sorted(data.items()))


def _event_line(se: SealedEvent) -> str:
    b = se.body
    label = TYPE_LABELS.get(EventType(b["type"]), b["type"])
    parts = [
        f"{se.seq:>7}",
        _local(b["at"]),
        f"{label}[{b['type']}]",
        f"投票所={b['station_id']}",
        f"係員={b['staff_id']}",
    ]
    if b.get("voter"):
        parts.append(f"識別コード={b['voter']}")
    if b.get("election"):
        parts.append(f"選挙={b['election']}")
    details = _details(b)
    if details:
        parts.append(details)
    return "  ".join(parts)


def cmd_show(args: argparse.Namespace) -> int:
    """``uketsuke ledger show DB``."""
    with Ledger.open_readonly(args.db) as ledger:
        if args.limit and not args.types:
            # Only the tail is needed: do not load a whole election day's ledger to print a few lines.
            events = ledger.sealed(after_seq=max(0, ledger.last_seq - args.limit))
        else:
            events = ledger.sealed()
        if args.types:
            events = [se for se in events if se.body["type"] in set(args.types)]
        if args.limit:
            events = events[-args.limit :]
        updated = ledger.replica_updated_at
        summary = {
            "path": str(ledger.path),
            "kiosk_id": ledger.kiosk_id,
            "package_hash": ledger.package_hash,
            "last_seq": ledger.last_seq,
            "acked_seq": ledger.acked_seq,
            "pending": ledger.pending_count,
            "replica_events": ledger.replica_count,
            "replica_updated_at": updated.isoformat() if updated else None,
            "shown": len(events),
        }
    if args.json:
        emit(summary | {"events": [se.to_dict() for se in events]}, True)
        return 0

    def text(_: Any) -> str:
        lines = [
            f"台帳 {summary['path']}  端末 {summary['kiosk_id']}  記録 {summary['last_seq']}件  "
            f"未送信 {summary['pending']}件  他端末の記録 {summary['replica_events']}件"
            + (f"（{_local(str(summary['replica_updated_at']))} 更新）" if updated else "（未取得）"),
            f"選挙パッケージ {summary['package_hash'] or '未設定'}",
        ]
        lines += [_event_line(se) for se in events] or ["（該当する記録はありません）"]
        return "\n".join(lines)

    emit(summary, False, text)
    return 0


def _verify_text(report: VerifyReport) -> str:
    lines = []
    if report.ok:
        lines.append(
            f"検証OK: 端末 {report.kiosk_id} の台帳 {report.checked}件（seq 1–{report.last_seq}）は"
            "連続しており、ハッシュ連鎖・署名・内容がすべて一致しました。"
        )
    else:
        lines.append(f"検証NG: seq {report.bad_seq} の行で改ざん・欠落を検出しました。")
        lines.append(f"  理由: {report.reason}")
        lines.append(f"  それより前の {report.checked}件 は正しく検証されました。")
    if report.acked_seq:
        lines.append(f"サーバー受領済み: seq {report.acked_seq} まで")
    if report.key_source == "recorded":
        lines.append(
            "注意: 公開鍵が指定されていないため、台帳内に記録された鍵で検証しました。これは台帳の内部整合性を"
            "示すだけです（ファイルを書き換えられる者は鍵も差し替えられます）。改ざんのないことを証明するには、"
            "委員会が保管する端末の公開鍵を --pubkey で指定してください。"
        )
    if report.recorded_key_matches is False:
        lines.append(
            "注意: 指定された公開鍵は、台帳に記録された鍵と一致しません"
            "（別の端末の鍵か、台帳の鍵が差し替えられています）。"
        )
    lines += [f"警告: {w}" for w in report.warnings]
    return "\n".join(lines)


def _replica_text(report: ReplicaReport) -> str:
    if not report.kiosks:
        return "他端末の記録: なし"
    if not report.ok:
        return (
            f"検証NG（他端末の記録）: 端末 {report.bad_kiosk_id} seq {report.bad_seq}"
            f"（event {report.bad_event_id}）: {report.reason}"
        )
    text = (
        f"他端末の記録: {report.checked}件（{len(report.kiosks)}端末）の内容・連鎖が一致しました。"
        f"署名を確認したもの {report.signatures_checked}件"
    )
    if report.kiosks_without_key:
        text += f"（公開鍵なしのため署名未確認: {', '.join(report.kiosks_without_key)}）"
    return text


def _load_replica_keys(directory: str) -> dict[str, Ed25519PublicKey]:
    path = Path(directory)
    if not path.is_dir():
        raise CommandError(f"{path}: not a directory of <kiosk_id>.pub files")
    return {pub.stem: load_public_key(pub) for pub in sorted(path.glob("*.pub"))}


def cmd_verify(args: argparse.Namespace) -> int:
    """``uketsuke ledger verify DB``: exit 0 if intact, 1 naming the first bad row (own chain or replica)."""
    public_key = load_public_key(args.pubkey) if args.pubkey else None
    replica_keys = _load_replica_keys(args.replica_keys) if args.replica_keys else None
    with Ledger.open_readonly(args.db) as ledger:
        report = ledger.verify(public_key)
        replica = ledger.verify_replica(replica_keys)
    emit(
        report.to_dict() | {"replica": replica.to_dict()},
        args.json,
        lambda _: _verify_text(report) + "\n" + _replica_text(replica),
    )
    return 0 if report.ok and replica.ok else 1
