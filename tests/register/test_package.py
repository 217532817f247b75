"""The election package: build, verify, open — and refusal of every kind of tampering."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ballots.matching import MatchStatus
from ballots.package import (
    MAGIC,
    PackageError,
    build_package,
    open_package,
    package_hash,
    read_package_info,
    short_hash,
    verify_package,
)
from ballots.register import RegisterError, read_register

from .conftest import Built


def test_open_gives_definition_register_and_hash(built: Built) -> None:
    pkg = open_package(built.package, built.pubkey, built.passphrase)
    assert pkg.definition.municipality_name == "架空市"
    assert [e.short_name for e in pkg.definition.ordered_elections()] == [
        "小選挙区",
        "比例代表",
        "国民審査",
        "市長選挙",
    ]
    voters = read_register(built.sample.out_dir / "register.csv")
    assert len(pkg.register) == len(voters) == 600
    assert list(pkg.register) == sorted(voters, key=lambda v: v.code)
    assert pkg.package_hash == hashlib.sha256(built.package.read_bytes()).hexdigest() == package_hash(built.package)
    assert pkg.short_hash == short_hash(pkg.package_hash)
    assert pkg.info.voters == 600 and pkg.info.signature_verified


def test_verify_needs_no_passphrase_and_info_is_unverified(built: Built) -> None:
    info = verify_package(built.package, built.pubkey)
    assert info.signature_verified and info.package_hash == package_hash(built.package)
    assert info.elections[0]["id"] == "shu-sho"
    unverified = read_package_info(built.package)
    assert not unverified.signature_verified and unverified.package_hash == info.package_hash
    assert json.loads(json.dumps(info.to_dict()))["short_hash"] == info.short_hash


def test_short_hash_form() -> None:
    assert short_hash("0123456789ABCDEF" + "0" * 48) == "0123-4567-89ab-cdef"


def _layout(data: bytes) -> tuple[int, int, int]:
    """Offsets of header start, ciphertext start and signature start."""
    (length,) = struct.unpack_from(">I", data, len(MAGIC))
    header_start = len(MAGIC) + 4
    header = json.loads(data[header_start : header_start + length])
    cipher_start = header_start + length
    return header_start, cipher_start, cipher_start + header["payload_length"]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("magic", "not an Uketsuke election package"),
        ("header_length", "header length|damaged|size"),
        ("header", "signature check failed|damaged header"),
        ("header_value", "signature check failed"),
        ("ciphertext_first", "signature check failed"),
        ("ciphertext_middle", "signature check failed"),
        ("ciphertext_last", "signature check failed"),
        ("signature", "signature check failed"),
        ("truncate", "truncated or extended"),
        ("append", "truncated or extended"),
    ],
)
def test_tampering_is_refused_everywhere(built: Built, tmp_path: Path, where: str, message: str) -> None:
    data = bytearray(built.package.read_bytes())
    header_start, cipher_start, signature_start = _layout(bytes(data))
    if where == "magic":
        data[0] ^= 0x01
    elif where == "header_length":
        data[len(MAGIC) + 3] ^= 0x10
    elif where == "header":
        data[header_start + 10] ^= 0x01
    elif where == "header_value":  # still valid JSON: only a value changes (voter count 600 → 700)
        text = bytes(data[header_start:cipher_start]).replace(b'"voters":600', b'"voters":700')
        assert len(text) == cipher_start - header_start
        data[header_start:cipher_start] = text
    elif where == "ciphertext_first":
        data[cipher_start] ^= 0x80
    elif where == "ciphertext_middle":
        data[(cipher_start + signature_start) // 2] ^= 0x01
    elif where == "ciphertext_last":
        data[signature_start - 1] ^= 0x01  # inside the GCM tag
    elif where == "signature":
        data[-1] ^= 0x01
    elif where == "truncate":
        del data[-10:]
    elif where == "append":
        data += b"\x00"
    bad = tmp_path / "tampered.pkg"
    bad.write_bytes(bytes(data))
    with pytest.raises(PackageError, match=message):
        verify_package(bad, built.pubkey)
    with pytest.raises(PackageError, match=message):
        open_package(bad, built.pubkey, built.passphrase)


def test_wrong_public_key_is_refused(built: Built, tmp_path: Path) -> None:
    other = tmp_path / "other.pub"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(PackageError, match="not signed by this committee key"):
        verify_package(built.package, other)


def test_wrong_passphrase_is_refused(built: Built) -> None:
    with pytest.raises(PackageError, match="wrong passphrase"):
        open_package(built.package, built.pubkey, built.passphrase + "x")


def test_resigned_with_another_key_is_refused(built: Built, tmp_path: Path) -> None:
    """A forger who rebuilds the package with their own key and passphrase still fails the committee's key."""
    forged_key = tmp_path / "forger.key"
    forged_key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    out = tmp_path / "forged.pkg"
    d = built.sample.out_dir
    build_package(d / "election.toml", d / "register.csv", forged_key, out, "forger-passphrase")
    with pytest.raises(PackageError, match="signature check failed"):
        open_package(out, built.pubkey, "forger-passphrase")


def test_bad_register_writes_nothing(built: Built, tmp_path: Path) -> None:
    d = built.sample.out_dir
    lines = (d / "register.csv").read_bytes().split(b"\r\n")
    lines[5] = lines[5].replace(b",001,", b",999,").replace(b",002,", b",999,").replace(b",003,", b",999,")
    bad = tmp_path / "register.csv"
    bad.write_bytes(b"\r\n".join(lines))
    out = tmp_path / "election.pkg"
    with pytest.raises(RegisterError, match=rf"{bad}:6: unknown 投票区 '999'"):
        build_package(d / "election.toml", bad, d / "committee.key", out, built.passphrase)
    assert list(tmp_path.iterdir()) == [bad]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('kind = "国"', 'kind = "州"', 1), r"elections\[0\].kind: '州' is not one of"),
        (lambda t: t + "\n[[broken", "invalid TOML"),
        (lambda t: t.replace("election_day = ", "electionday = ", 1), "missing key 'election_day'"),
    ],
)
def test_bad_election_toml_is_refused(built: Built, tmp_path: Path, change: object, message: str) -> None:
    d = built.sample.out_dir
    bad = tmp_path / "election.toml"
    bad.write_text(change((d / "election.toml").read_text("utf-8")), encoding="utf-8")  # type: ignore[operator]
    with pytest.raises(PackageError, match=message):
        build_package(bad, d / "register.csv", d / "committee.key", tmp_path / "x.pkg", built.passphrase)
    assert not (tmp_path / "x.pkg").exists()


def test_key_and_passphrase_checks(built: Built, tmp_path: Path) -> None:
    d = built.sample.out_dir
    ec = tmp_path / "ec.key"
    ec.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    args = (d / "election.toml", d / "register.csv")
    with pytest.raises(PackageError, match="must be Ed25519"):
        build_package(*args, ec, tmp_path / "x.pkg", built.passphrase)
    with pytest.raises(PackageError, match="not a PEM private key"):
        build_package(*args, d / "committee.pub", tmp_path / "x.pkg", built.passphrase)
    with pytest.raises(PackageError, match="at least 8 characters"):
        build_package(*args, d / "committee.key", tmp_path / "x.pkg", "short")
    with pytest.raises(PackageError, match="not a PEM public key"):
        verify_package(built.package, d / "committee.key")
    assert not (tmp_path / "x.pkg").exists()


def test_unique_match_for_personas_through_the_package(built: Built) -> None:
    pkg = open_package(built.package, built.pubkey, built.passphrase)
    for path in built.sample.personas:
        persona = json.loads(path.read_text("utf-8"))
        m = pkg.register.match_card(persona["name"], persona["address"], persona["birth_date"], persona["sex"])
        if persona["scenario"] == "twin_same_sex":
            assert m.status is MatchStatus.AMBIGUOUS
            assert persona["register_code"] in [c.voter.code for c in m.candidates]
        elif persona["scenario"] == "not_registered":
            assert m.voter is None
        else:
            assert m.status is MatchStatus.UNIQUE, persona["scenario"]
            assert m.voter is not None and m.voter.code == persona["register_code"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused(built: Built, tmp_path: Path, position: int, bit: int) -> None:
    data = bytearray(built.package.read_bytes())
    data[position % len(data)] ^= 1 << bit
    bad = tmp_path / "flipped.pkg"
    bad.write_bytes(bytes(data))
    with pytest.raises(PackageError):
        verify_package(bad, built.pubkey)
