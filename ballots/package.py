"""The election package: one file with the election definition and the register, signed and encrypted.

File layout (all integers big-endian)::

    MAGIC            b"UKETSUKE PACKAGE 1\\n"
    header_length    4 bytes
    header           canonical JSON (sorted keys, UTF-8): format, created, municipality, election_day, elections,
                     counts, kdf (scrypt n/r/p/salt), cipher (AES-256-GCM nonce), payload_length, signer
    ciphertext       payload_length bytes: AES-256-GCM(payload), tag included; the AAD is MAGIC + length + header
    signature        64 bytes: Ed25519 over SIGNATURE_CONTEXT + SHA-256(everything before the signature)

    payload          4-byte length + election.toml (UTF-8) + the register as a SQLite database image
                     (``RegisterIndex.to_bytes``: folded keys and indexes built at package time)

The signature covers every byte before it, so ``verify_package`` needs only the committee's public key; the register
stays unreadable without the passphrase (key = scrypt(passphrase, salt)). The *package hash* that every kiosk and the
server show and compare is the SHA-256 of the whole file, in hex; ``short_hash`` gives the 16-digit form for screens.
A kiosk loading a package does no per-voter work: verify, decrypt, and hand the database image to SQLite.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ballots.model import DefinitionError, ElectionDefinition
from ballots.register import RegisterIndex, read_register_rows

__all__ = [
    "MAGIC",
    "ElectionPackage",
    "PackageError",
    "PackageInfo",
    "build_package",
    "load_definition",
    "open_package",
    "package_hash",
    "read_package_info",
    "short_hash",
    "verify_package",
]

MAGIC = b"UKETSUKE PACKAGE 1\n"
FORMAT = 1
SIGNATURE_CONTEXT = b"uketsuke-election-package-v1\x00"
SIGNATURE_BYTES = 64
MAX_HEADER = 1 << 20
# scrypt for the register key: ~32 MiB and a fraction of a second, paid once per kiosk start.
KDF_N, KDF_R, KDF_P = 2**15, 8, 1
MIN_PASSPHRASE = 8

PublicKeySource = str | os.PathLike[str] | Ed25519PublicKey


class PackageError(ValueError):
    """A package that cannot be built, verified or opened; the message names the file and what is wrong."""


def short_hash(hex_digest: str) -> str:
    """The first 16 hex digits in groups of four (``1a2b-3c4d-5e6f-7a8b``): enough to compare by eye on screens."""
    h = hex_digest.lower()
    return "-".join(h[i : i + 4] for i in range(0, 16, 4))


def package_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the whole package file, hex (what the server compares; no key needed)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """What a package says about itself (from its header) plus its hash and whether the signature was checked."""

    path: str
    package_hash: str
    size: int
    format: int
    created: str
    municipality: dict[str, str]
    election_day: str
    elections: tuple[dict[str, Any], ...]
    voters: int
    precincts: int
    stations: int
    staff: int
    signer: str  # SHA-256 of the signer's raw public key, hex
    signature_verified: bool

    @property
    def short_hash(self) -> str:
        """``short_hash(package_hash)``."""
        return short_hash(self.package_hash)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``package info --json``)."""
        return {
            "path": self.path,
            "package_hash": self.package_hash,
            "short_hash": self.short_hash,
            "size": self.size,
            "format": self.format,
            "created": self.created,
            "municipality": dict(self.municipality),
            "election_day": self.election_day,
            "elections": [dict(e) for e in self.elections],
            "voters": self.voters,
            "precincts": self.precincts,
            "stations": self.stations,
            "staff": self.staff,
            "signer": self.signer,
            "signature_verified": self.signature_verified,
        }


@dataclass(frozen=True)
class ElectionPackage:
    """An opened package: the definition, the searchable register and the package hash."""

    definition: ElectionDefinition
    register: RegisterIndex
    package_hash: str
    info: PackageInfo
    election_toml: str = field(repr=False)

    @property
    def short_hash(self) -> str:
        """``short_hash(package_hash)``."""
        return short_hash(self.package_hash)


# ---------------------------------------------------------------------------------------------------------------
# keys


def _key_fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PackageError(f"{path}: cannot read the committee key: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise PackageError(f"{path}: the committee key is encrypted; give an unencrypted PEM key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise PackageError(f"{path}: not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise PackageError(f"{path}: the committee key must be Ed25519, got {type(key).__name__}")
    return key


def _load_public_key(source: PublicKeySource) -> Ed25519PublicKey:
    if isinstance(source, Ed25519PublicKey):
        return source
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise PackageError(f"{source}: cannot read the committee public key: {exc.strerror}") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise PackageError(f"{source}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PackageError(f"{source}: the committee public key must be Ed25519, got {type(key).__name__}")
    return key


def _derive_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=128 * n * r * (p + 1) + (1 << 20)
    )


# ---------------------------------------------------------------------------------------------------------------
# build


def load_definition(path: str | os.PathLike[str]) -> tuple[ElectionDefinition, str]:
    """Read and validate election.toml; errors say ``path: what``. Returns the definition and the text."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise PackageError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise PackageError(f"{path}: election.toml must be UTF-8 (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackageError(f"{path}: invalid TOML: {exc}") from None
    try:
        return ElectionDefinition.from_toml_dict(data), text
    except DefinitionError as exc:
        raise PackageError(f"{path}: {exc}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise PackageError(f"{path}: malformed election definition ({type(exc).__name__}: {exc})") from None


def _summary(definition: ElectionDefinition) -> dict[str, Any]:
    return {
        "municipality": {
            "code": definition.municipality_code,
            "name": definition.municipality_name,
            "prefecture": definition.prefecture,
            "committee": definition.committee_name,
        },
        "election_day": definition.election_day.isoformat(),
        "elections": [
            {
                "id": e.id,
                "kind": e.kind.value,
                "name": e.name,
                "order": e.order,
                "early_voting_start": e.early_voting_start.isoformat(),
            }
            for e in definition.ordered_elections()
        ],
        "precincts": len(definition.precincts),
        "stations": len(definition.stations),
        "staff": len(definition.staff),
    }


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def build_package(
    election: str | os.PathLike[str],
    register: str | os.PathLike[str],
    key: str | os.PathLike[str],
    out: str | os.PathLike[str],
    passphrase: str,
    *,
    created: datetime | None = None,
    today: date | None = None,
) -> PackageInfo:
    """Validate election.toml and the register, then write the signed, encrypted package to ``out`` atomically.

    Nothing is written if anything is wrong (RegisterError / PackageError say ``file:line: what``).
    """
    if len(passphrase) < MIN_PASSPHRASE:
        raise PackageError(f"the passphrase must be at least {MIN_PASSPHRASE} characters")
    signing_key = _load_private_key(key)
    definition, toml_text = load_definition(election)
    rows = read_register_rows(register, [p.code for p in definition.precincts], today=today)
    index = RegisterIndex.from_rows(rows)
    voters = len(index)
    del rows
    toml_bytes = toml_text.encode("utf-8")
    payload = struct.pack(">I", len(toml_bytes)) + toml_bytes + index.to_bytes()
    index.close()

    salt, nonce = os.urandom(16), os.urandom(12)
    header = {
        "format": FORMAT,
        "created": (created or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        **_summary(definition),
        "voters": voters,
        "kdf": {"name": "scrypt", "n": KDF_N, "r": KDF_R, "p": KDF_P, "salt": salt.hex()},
        "cipher": {"name": "AES-256-GCM", "nonce": nonce.hex()},
        "payload_length": len(payload) + 16,  # the GCM tag
        "signer": _key_fingerprint(signing_key.public_key()),
    }
    header_bytes = _canonical(header)
    prefix = MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes
    ciphertext = AESGCM(_derive_key(passphrase, salt, KDF_N, KDF_R, KDF_P)).encrypt(nonce, payload, prefix)
    del payload
    digest = hashlib.sha256(prefix)
    digest.update(ciphertext)
    signature = signing_key.sign(SIGNATURE_CONTEXT + digest.digest())

    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".pkg-", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(prefix)
            fh.write(ciphertext)
            fh.write(signature)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    digest.update(signature)
    return _info(str(out_path), header, digest.hexdigest(), len(prefix) + len(ciphertext) + SIGNATURE_BYTES, True)


# ---------------------------------------------------------------------------------------------------------------
# reading


@dataclass(frozen=True)
class _Parsed:
    data: bytes
    header: dict[str, Any]
    prefix_end: int  # where the ciphertext starts
    payload_end: int  # where the signature starts
    signed_digest: bytes
    file_hash: str


def _parse(path: str | os.PathLike[str]) -> _Parsed:
    where = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PackageError(f"{where}: cannot read: {exc.strerror}") from None
    if not data.startswith(MAGIC):
        raise PackageError(f"{where}: not an Uketsuke election package (bad magic at byte 0)")
    at = len(MAGIC)
    if len(data) < at + 4:
        raise PackageError(f"{where}: truncated (no header length at byte {at})")
    (header_length,) = struct.unpack_from(">I", data, at)
    at += 4
    if header_length > MAX_HEADER or at + header_length > len(data):
        raise PackageError(f"{where}: header length {header_length} at byte {at - 4} is impossible (damaged file)")
    try:
        header = json.loads(data[at : at + header_length].decode("utf-8"))
        payload_length = int(header["payload_length"])
        if header["format"] != FORMAT:
            raise PackageError(f"{where}: package format {header['format']} is not supported (expected {FORMAT})")
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, PackageError):
            raise
        raise PackageError(f"{where}: damaged header at byte {at} ({type(exc).__name__})") from None
    prefix_end = at + header_length
    payload_end = prefix_end + payload_length
    if payload_length < 16 or payload_end + SIGNATURE_BYTES != len(data):
        raise PackageError(
            f"{where}: size {len(data)} does not match the header (expected {payload_end + SIGNATURE_BYTES}): "
            "truncated or extended"
        )
    view = memoryview(data)
    digest = hashlib.sha256(view[:payload_end])
    signed = digest.digest()
    digest.update(view[payload_end:])
    return _Parsed(data, header, prefix_end, payload_end, signed, digest.hexdigest())


def _info(path: str, header: dict[str, Any], file_hash: str, size: int, verified: bool) -> PackageInfo:
    try:
        return PackageInfo(
            path=path,
            package_hash=file_hash,
            size=size,
            format=int(header["format"]),
            created=str(header["created"]),
            municipality={k: str(v) for k, v in header["municipality"].items()},
            election_day=str(header["election_day"]),
            elections=tuple(dict(e) for e in header["elections"]),
            voters=int(header["voters"]),
            precincts=int(header["precincts"]),
            stations=int(header["stations"]),
            staff=int(header["staff"]),
            signer=str(header["signer"]),
            signature_verified=verified,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PackageError(f"{path}: header is missing or has a bad {exc}") from None


def _verify(parsed: _Parsed, path: str | os.PathLike[str], pubkey: PublicKeySource) -> None:
    public = _load_public_key(pubkey)
    signature = parsed.data[parsed.payload_end :]
    try:
        public.verify(signature, SIGNATURE_CONTEXT + parsed.signed_digest)
    except InvalidSignature:
        raise PackageError(
            f"{path}: signature check failed — the package was altered or not signed by this committee key "
            f"(package hash {short_hash(parsed.file_hash)})"
        ) from None


def read_package_info(path: str | os.PathLike[str]) -> PackageInfo:
    """The header and hash of a package WITHOUT checking its signature (``signature_verified`` is False)."""
    parsed = _parse(path)
    return _info(str(path), parsed.header, parsed.file_hash, len(parsed.data), False)


def verify_package(path: str | os.PathLike[str], pubkey: PublicKeySource) -> PackageInfo:
    """Check structure, hash and the committee's signature (no passphrase needed); PackageError if anything fails."""
    parsed = _parse(path)
    _verify(parsed, path, pubkey)
    return _info(str(path), parsed.header, parsed.file_hash, len(parsed.data), True)


def open_package(path: str | os.PathLike[str], pubkey: PublicKeySource, passphrase: str) -> ElectionPackage:
    """Verify, decrypt and load a package: the kiosk's start-up. Refuses a package that fails any check."""
    parsed = _parse(path)
    _verify(parsed, path, pubkey)
    header = parsed.header
    try:
        kdf, cipher = header["kdf"], header["cipher"]
        if kdf["name"] != "scrypt" or cipher["name"] != "AES-256-GCM":
            raise PackageError(f"{path}: unsupported key derivation or cipher {kdf['name']}/{cipher['name']}")
        salt, nonce = bytes.fromhex(kdf["salt"]), bytes.fromhex(cipher["nonce"])
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, PackageError):
            raise
        raise PackageError(f"{path}: header has a bad kdf/cipher entry ({exc})") from None
    if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise PackageError(f"{path}: scrypt parameters out of range")
    view = memoryview(parsed.data)
    try:
        payload = AESGCM(_derive_key(passphrase, salt, n, r, p)).decrypt(
            nonce, view[parsed.prefix_end : parsed.payload_end], view[: parsed.prefix_end]
        )
    except InvalidTag:
        raise PackageError(f"{path}: wrong passphrase (the register could not be decrypted)") from None
    del view
    if len(payload) < 4 or struct.unpack_from(">I", payload, 0)[0] > len(payload) - 4:
        raise PackageError(f"{path}: the decrypted payload is malformed")
    (toml_length,) = struct.unpack_from(">I", payload, 0)
    try:
        toml_text = payload[4 : 4 + toml_length].decode("utf-8")
        definition = ElectionDefinition.from_toml_dict(tomllib.loads(toml_text))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, DefinitionError) as exc:
        raise PackageError(f"{path}: the election definition inside is invalid: {exc}") from None
    register = RegisterIndex.from_bytes(memoryview(payload)[4 + toml_length :])
    del payload
    info = _info(str(path), header, parsed.file_hash, len(parsed.data), True)
    if len(register) != info.voters or definition.municipality_code != info.municipality.get("code"):
        raise PackageError(f"{path}: the contents do not agree with the header (voters or municipality)")
    return ElectionPackage(definition, register, parsed.file_hash, info, toml_text)
