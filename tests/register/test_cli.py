"""The commands through a real subprocess: sample → package build → verify / info → register search."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ballots.package import package_hash, short_hash

from .conftest import Built


def run(cmd: list[str], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    if env is None:
        full_env.pop("UKETSUKE_PASSPHRASE", None)
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, env=full_env, check=False)


def test_sample_build_verify_info_search(uketsuke_cmd: list[str], tmp_path: Path) -> None:
    d = tmp_path / "town"
    r = run(uketsuke_cmd, "sample", "--voters", "300", "--out", str(d), "--seed", "5", "--personas", "10", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["voters"] == 300 and len(summary["personas"]) == 10

    pkg = d / "election.pkg"
    r = run(
        uketsuke_cmd, "package", "build", "--election", str(d / "election.toml"), "--register",
        str(d / "register.csv"), "--key", str(d / "committee.key"), "--passphrase-file", str(d / "passphrase.txt"),
        "--out", str(pkg), "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    built = json.loads(r.stdout)
    assert built["voters"] == 300 and built["signature_verified"]

    r = run(uketsuke_cmd, "package", "verify", str(pkg), "--pubkey", str(d / "committee.pub"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"OK {built['short_hash']}")
    r = run(uketsuke_cmd, "package", "info", str(pkg), "--json")
    info = json.loads(r.stdout)
    assert info["package_hash"] == built["package_hash"] and info["signature_verified"] is False
    assert info["elections"][0]["name"] == "衆議院小選挙区選出議員選挙"

    env = {"UKETSUKE_PASSPHRASE": (d / "passphrase.txt").read_text("utf-8").strip()}
    search = [*uketsuke_cmd, "register", "search", "--package", str(pkg), "--pubkey", str(d / "committee.pub")]
    persona = json.loads(next((d / "personas").glob("*-plain.json")).read_text("utf-8"))

    r = run(search, "--barcode", persona["register_code"] + "0001", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["voter"]["code"] == persona["register_code"]

    r = run(search, "--kana", persona["kana"].split("\u3000")[0], "--birth", persona["birth_date"], "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert persona["register_code"] in [v["code"] for v in json.loads(r.stdout)["voters"]]

    card = next((d / "personas").glob("*-plain.json"))
    r = run(search, "--card", str(card), env=env)
    assert r.returncode == 0, r.stderr
    assert "1名に一致" in r.stdout and persona["register_code"] in r.stdout

    twin = next((d / "personas").glob("*-twin_same_sex.json"))
    r = run(search, "--card", str(twin), "--json", env=env)
    result = json.loads(r.stdout)
    assert result["status"] == "ambiguous" and result["voter"] is None and len(result["candidates"]) >= 2

    r = run(search, "--barcode", "999999999999999", env=env)
    assert r.returncode == 1 and "該当なし" in r.stdout


def test_errors_are_one_line_with_file_and_line(uketsuke_cmd: list[str], built: Built, tmp_path: Path) -> None:
    d = built.sample.out_dir
    bad = tmp_path / "register.csv"
    lines = (d / "register.csv").read_bytes().split(b"\r\n")
    lines[3] += b"X"  # the last column (不在者) is now nonsense
    lines[7] = lines[7].replace(b",\x92\x6a,", b",?,").replace(b",\x8f\x97,", b",?,")  # 性別 男/女 → ?
    bad.write_bytes(b"\r\n".join(lines))
    r = run(
        uketsuke_cmd, "package", "build", "--election", str(d / "election.toml"), "--register", str(bad),
        "--key", str(d / "committee.key"), "--passphrase-file", str(d / "passphrase.txt"), "--out",
        str(tmp_path / "x.pkg"),
    )  # fmt: skip
    assert r.returncode == 2
    assert f"{bad}:4: 不在者 must be empty" in r.stderr
    assert f"{bad}:8: 性別 must be 男 or 女" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "x.pkg").exists()


@pytest.mark.parametrize("case", ["tampered", "no passphrase", "wrong passphrase"])
def test_refusals(uketsuke_cmd: list[str], built: Built, tmp_path: Path, case: str) -> None:
    pkg = built.package
    if case == "tampered":
        data = bytearray(pkg.read_bytes())
        data[len(data) // 2] ^= 0x04
        pkg = tmp_path / "t.pkg"
        pkg.write_bytes(bytes(data))
        r = run(uketsuke_cmd, "package", "verify", str(pkg), "--pubkey", str(built.pubkey))
        assert r.returncode == 1 and "refused" in r.stderr and "signature check failed" in r.stderr
        return
    env = {"UKETSUKE_PASSPHRASE": "not-the-passphrase"} if case == "wrong passphrase" else None
    r = run(
        uketsuke_cmd, "register", "search", "--package", str(pkg), "--pubkey", str(built.pubkey), "--kana", "タ",
        env=env,
    )  # fmt: skip
    assert r.returncode == 2
    expected = "wrong passphrase" if env else "no passphrase: give --passphrase-file FILE or set UKETSUKE_PASSPHRASE"
    assert expected in r.stderr


def test_help_for_every_command(uketsuke_cmd: list[str]) -> None:
    for args in (["sample"], ["package", "build"], ["package", "verify"], ["package", "info"], ["register", "search"]):
        r = run(uketsuke_cmd, *args, "--help")
        assert r.returncode == 0 and "usage:" in r.stdout


@pytest.mark.parametrize(("expect", "code"), [("short", 0), ("full", 0), ("other", 1), ("0123", 1)])
def test_verify_against_a_published_hash(uketsuke_cmd: list[str], built: Built, expect: str, code: int) -> None:
    digest = package_hash(built.package)
    value = {"short": short_hash(digest).upper(), "full": digest, "other": "0" * 64, "0123": "0123"}[expect]
    r = run(uketsuke_cmd, "package", "verify", str(built.package), "--pubkey", str(built.pubkey), "--expect", value)
    assert r.returncode == code, r.stderr
    if code:
        assert "is not the expected" in r.stderr
