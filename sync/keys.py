"""The kiosk's Ed25519 signing key: generate, save as PEM readable by the owner only, load, export the public half.

Every ledger event is signed with this key; the server and ``uketsuke ledger verify --pubkey`` check the signatures
with the public key. The private key file is created with mode 0600 atomically (never world-readable, not even for a
moment) and loading refuses a file that group or others can read, as ssh does, because anyone who can read it can
forge a kiosk's ledger.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "KeyFileError",
    "ensure_private_key",
    "generate_key",
    "key_fingerprint",
    "load_private_key",
    "load_public_key",
    "public_key_from_hex",
    "public_key_hex",
    "public_key_pem",
    "save_private_key",
    "save_public_key",
]


class KeyFileError(ValueError):
    """A key file that is missing, unreadable, of the wrong kind, or too widely readable; the message names the file."""


def generate_key() -> Ed25519PrivateKey:
    """A fresh kiosk signing key."""
    return Ed25519PrivateKey.generate()


def _encryption(passphrase: bytes | None) -> serialization.KeySerializationEncryption:
    if passphrase:
        return serialization.BestAvailableEncryption(passphrase)
    return serialization.NoEncryption()


def save_private_key(
    key: Ed25519PrivateKey, path: str | os.PathLike[str], *, passphrase: bytes | None = None, overwrite: bool = False
) -> Path:
    """Write ``key`` as PKCS#8 PEM with mode 0600 (optionally passphrase-encrypted); refuse to replace a file.

    Replacing a kiosk key orphans its ledger (old events no longer verify against the new public key), so an existing
    file is only replaced when ``overwrite`` is true, and then via a temporary file and rename so a crash never leaves
    half a key.
    """
    target = Path(path)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _encryption(passphrase))
    if target.exists() and not overwrite:
        raise KeyFileError(f"{target}: key file already exists (refusing to replace a kiosk key)")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # O_EXCL + mode 0600 at creation: the key is never readable by others, not even between open and chmod.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            # link() fails if the target appeared meanwhile, so two kiosks starting at once cannot both "win".
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise KeyFileError(f"{target}: key file already exists (refusing to replace a kiosk key)") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def load_private_key(path: str | os.PathLike[str], *, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """Read a kiosk key saved by :func:`save_private_key`; refuse group/other-readable files and non-Ed25519 keys."""
    source = Path(path)
    try:
        mode = source.stat().st_mode
        data = source.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{source}: cannot read key file: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{source}: key file is accessible by group/others (mode {stat.S_IMODE(mode):o}); chmod 600")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{source}: not a readable PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{source}: not an Ed25519 key ({type(key).__name__})")
    return key


def ensure_private_key(path: str | os.PathLike[str], *, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """Load the kiosk key at ``path``, generating and saving one on first start."""
    target = Path(path)
    if not target.exists():
        # KeyFileError here means another process created it first; then load theirs.
        with contextlib.suppress(KeyFileError):
            save_private_key(generate_key(), target, passphrase=passphrase)
    return load_private_key(target, passphrase=passphrase)


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM of the public half (what the server and ``ledger verify --pubkey`` take)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def save_public_key(key: Ed25519PrivateKey | Ed25519PublicKey, path: str | os.PathLike[str]) -> Path:
    """Write the public key as PEM (world-readable is fine: it is public)."""
    target = Path(path)
    target.write_bytes(public_key_pem(key))
    return target


def public_key_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The 32 raw public key bytes as hex (the form stored in a ledger's meta table)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def public_key_from_hex(text: str) -> Ed25519PublicKey:
    """Inverse of :func:`public_key_hex`; raise KeyFileError on anything but 64 hex digits."""
    try:
        raw = bytes.fromhex(text)
        if len(raw) != 32:
            raise ValueError(f"{len(raw)} bytes, expected 32")
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise KeyFileError(f"not a raw Ed25519 public key in hex: {exc}") from None


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Read a public key file: PEM (SubjectPublicKeyInfo) or 64 hex digits on one line."""
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{source}: cannot read public key file: {exc.strerror}") from None
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(stripped)
        except ValueError as exc:
            raise KeyFileError(f"{source}: not a readable PEM public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(f"{source}: not an Ed25519 public key ({type(key).__name__})")
        return key
    try:
        return public_key_from_hex(stripped.decode("ascii"))
    except (UnicodeDecodeError, KeyFileError):
        raise KeyFileError(f"{source}: neither a PEM public key nor 64 hex digits") from None


def key_fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short, human-comparable id of a public key: the first 16 hex digits of SHA-256 over the raw key."""
    return hashlib.sha256(bytes.fromhex(public_key_hex(key))).hexdigest()[:16]
