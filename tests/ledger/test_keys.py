"""The kiosk key files (sync.keys)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from hypothesis import given
from hypothesis import strategies as st

from sync.keys import (
    KeyFileError,
    ensure_private_key,
    generate_key,
    key_fingerprint,
    load_private_key,
    load_public_key,
    public_key_from_hex,
    public_key_hex,
    public_key_pem,
    save_private_key,
    save_public_key,
)


@pytest.mark.parametrize("passphrase", [None, b"correct horse"])
def test_save_and_load_round_trip_with_mode_0600(tmp_path: Path, passphrase: bytes | None) -> None:
    key = generate_key()
    path = save_private_key(key, tmp_path / "kiosk.pem", passphrase=passphrase)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_private_key(path, passphrase=passphrase)
    assert public_key_hex(loaded) == public_key_hex(key)
    assert not list(tmp_path.glob(".*.tmp"))


def test_existing_key_is_never_replaced_silently(tmp_path: Path) -> None:
    path = save_private_key(generate_key(), tmp_path / "kiosk.pem")
    first = path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        save_private_key(generate_key(), path)
    assert path.read_bytes() == first
    save_private_key(generate_key(), path, overwrite=True)
    assert path.read_bytes() != first and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_ensure_private_key_generates_once(tmp_path: Path) -> None:
    a = ensure_private_key(tmp_path / "k.pem")
    b = ensure_private_key(tmp_path / "k.pem")
    assert public_key_hex(a) == public_key_hex(b)


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        ("ed25519", 0o644, "accessible by group/others"),
        ("garbage", 0o600, "not a readable PEM"),
        ("ec", 0o600, "not an Ed25519 key"),
        (None, 0o600, "cannot read"),
    ],
)
def test_load_private_key_refuses(tmp_path: Path, content: str | None, mode: int, message: str) -> None:
    path = tmp_path / "k.pem"
    if content == "ed25519":
        save_private_key(generate_key(), path)
    elif content == "ec":
        ec = generate_private_key(SECP256R1())
        pem = ec.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_bytes(pem)
    elif content == "garbage":
        path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnope\n")
    if path.exists():
        os.chmod(path, mode)
    with pytest.raises(KeyFileError, match=message):
        load_private_key(path)


def test_public_key_export_in_pem_and_hex(tmp_path: Path) -> None:
    key = generate_key()
    pem = save_public_key(key, tmp_path / "kiosk.pub")
    hexfile = tmp_path / "kiosk.hex"
    hexfile.write_text(public_key_hex(key) + "\n")
    for path in (pem, hexfile):
        assert public_key_hex(load_public_key(path)) == public_key_hex(key)
    assert public_key_pem(key).startswith(b"-----BEGIN PUBLIC KEY-----")
    assert public_key_hex(public_key_from_hex(public_key_hex(key))) == public_key_hex(key)
    assert len(key_fingerprint(key)) == 16 and key_fingerprint(key) == key_fingerprint(key.public_key())


@given(st.binary(max_size=200))
def test_load_public_key_refuses_arbitrary_bytes_cleanly(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("pub") / "x.pub"
    path.write_bytes(data)
    try:
        key = load_public_key(path)
    except KeyFileError as exc:  # the only acceptable failure, and it names the file
        assert str(path) in str(exc)
    else:
        assert len(public_key_hex(key)) == 64
