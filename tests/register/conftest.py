"""Fixtures for the register tests: a small generated municipality and its package, made once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ballots.package import build_package
from ballots.sample import SampleResult, generate_sample

HEADER = "識別コード,投票区,冊,頁,行,氏名,カナ,生年月日,性別,住所,方書,状態,選挙別不可,不在者"
ROW = "139999000000001,001,1,1,1,髙橋　太郎,タカハシ　タロウ,1980-02-17,男,東京都架空市本町１丁目２番３号,,,,"


def csv_text(*rows: str, header: str = HEADER) -> str:
    """A register CSV (CRLF, as municipal exports) with the given data rows."""
    return "\r\n".join([header, *rows]) + "\r\n"


@dataclass(frozen=True)
class Built:
    """A sample and the package built from it."""

    sample: SampleResult
    package: Path
    pubkey: Path
    key: Path
    passphrase: str


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """600 voters, 12 personas, one package (seeded: the same every run)."""
    out = tmp_path_factory.mktemp("sample")
    sample = generate_sample(out, 600, seed=7, personas=12)
    passphrase = (out / "passphrase.txt").read_text("utf-8").strip()
    package = out / "election.pkg"
    build_package(out / "election.toml", out / "register.csv", out / "committee.key", package, passphrase)
    return Built(sample, package, out / "committee.pub", out / "committee.key", passphrase)
