"""``uketsuke ledger show|verify`` through a real subprocess."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from sync.keys import generate_key, save_public_key
from sync.ledger import Ledger


def _run(cmd: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cmd, "ledger", *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def db(ledger: Ledger, ledger_path: Path, make_event) -> Path:
    """A small ledger: three check-ins, a void, a staff sign-in."""
    first = ledger.append(make_event(voter="100000000000001"))
    ledger.append(make_event(voter="100000000000002", election="shi"))
    ledger.append(make_event(voter="100000000000003"))
    ledger.append(make_event("void", voter=None, election=None, target=first.event_id, reason="誤り"))
    ledger.append(make_event("staff_sign_in", voter=None, election=None, staff="m01"))
    return ledger_path


def test_show_text_lists_keys_in_wareki_and_never_names(uketsuke_cmd: list[str], db: Path) -> None:
    out = _run(uketsuke_cmd, "show", str(db))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "端末 K01" in lines[0] and "記録 5件" in lines[0]
    assert len(lines) == 2 + 5
    assert "令和8年12月13日" in lines[2] and "識別コード=100000000000001" in lines[2]
    assert "取消[void]" in lines[5]


def test_show_json_with_limit_and_type(uketsuke_cmd: list[str], db: Path) -> None:
    out = _run(uketsuke_cmd, "show", str(db), "--json", "--type", "check_in", "--limit", "2")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["kiosk_id"] == "K01" and data["last_seq"] == 5 and data["shown"] == 2
    assert [e["seq"] for e in data["events"]] == [2, 3]
    assert {e["event"]["type"] for e in data["events"]} == {"check_in"}
    tail = json.loads(_run(uketsuke_cmd, "show", str(db), "--json", "--limit", "1").stdout)
    assert [e["seq"] for e in tail["events"]] == [5]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "{missing}"], "no ledger file"),
        (["show", "{db}", "--type", "teleport"], "invalid choice"),
        (["show", "{db}", "--limit", "0"], "at least 1"),
        (["verify", "{db}", "--pubkey", "{missing}"], "cannot read public key"),
    ],
)
def test_bad_arguments_say_what_is_wrong(uketsuke_cmd, db: Path, tmp_path: Path, args: list[str], message: str):
    filled = [a.format(db=db, missing=tmp_path / "nope") for a in args]
    out = _run(uketsuke_cmd, *filled)
    assert out.returncode == 2 and message in out.stderr, out.stderr


def test_verify_intact_with_and_without_pubkey(uketsuke_cmd: list[str], db: Path, tmp_path: Path, key) -> None:
    out = _run(uketsuke_cmd, "verify", str(db))
    assert out.returncode == 0, out.stderr
    assert "検証OK" in out.stdout and "内部整合性" in out.stdout
    pub = save_public_key(key, tmp_path / "kiosk.pub")
    out = _run(uketsuke_cmd, "verify", str(db), "--pubkey", str(pub), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] and report["checked"] == 5 and report["key_source"] == "given"


def test_verify_exit_1_names_the_first_bad_row(uketsuke_cmd: list[str], db: Path, tmp_path: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute("UPDATE events SET body = json_set(body, '$.election', 'ken') WHERE seq = 3")
    out = _run(uketsuke_cmd, "verify", str(db))
    assert out.returncode == 1
    assert "検証NG: seq 3" in out.stdout and "events_no_update" in out.stdout
    report = json.loads(_run(uketsuke_cmd, "verify", str(db), "--json").stdout)
    assert (report["ok"], report["bad_seq"], report["checked"]) == (False, 3, 2)


def test_verify_with_the_wrong_pubkey_fails(uketsuke_cmd: list[str], db: Path, tmp_path: Path) -> None:
    pub = save_public_key(generate_key(), tmp_path / "other.pub")
    out = _run(uketsuke_cmd, "verify", str(db), "--pubkey", str(pub))
    assert out.returncode == 1
    assert "seq 1" in out.stdout and "signature" in out.stdout and "公開鍵" in out.stdout


def test_verify_checks_the_replica_too(uketsuke_cmd: list[str], db: Path, tmp_path: Path, make_event) -> None:
    other_key = generate_key()
    with Ledger.open(tmp_path / "k02.db", kiosk_id="K02", key=other_key) as other:
        pulled = other.append_many([make_event(voter=f"5{i:014d}", station="D01") for i in range(3)])
    with Ledger.open(db, kiosk_id="K01") as led:
        led.add_replica(pulled)
    keys = tmp_path / "keys"
    keys.mkdir()
    save_public_key(other_key, keys / "K02.pub")
    out = _run(uketsuke_cmd, "verify", str(db), "--replica-keys", str(keys), "--json")
    assert out.returncode == 0, out.stderr
    replica = json.loads(out.stdout)["replica"]
    assert (replica["ok"], replica["checked"], replica["signatures_checked"]) == (True, 3, 3)
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER replica_no_update")
        conn.execute("UPDATE replica SET voter = '000000000000000' WHERE seq = 2")
    out = _run(uketsuke_cmd, "verify", str(db))
    assert out.returncode == 1
    assert "検証OK" in out.stdout and "検証NG（他端末の記録）: 端末 K02 seq 2" in out.stdout


def test_every_event_type_has_a_japanese_label() -> None:
    """`ledger show` is read by committee staff: no raw English type names."""
    from ballots.events import EventType
    from kiosk.cli.ledger import TYPE_LABELS

    assert set(TYPE_LABELS) == set(EventType)
