"""Staff PINs: scrypt hashes as stored in election.toml (``scrypt$n$r$p$salt_hex$hash_hex``).

A PIN is short, so the hash must be slow and salted: scrypt (RFC 7914) with n=2**14, r=8, p=1 costs ~16 MiB and
tens of milliseconds per try, which is fine for a sign-in and expensive for guessing every 4-digit PIN of a stolen
package in bulk. The parameters travel in the string so they can be raised later without breaking old packages.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

__all__ = ["PinHashError", "hash_pin", "validate_pin", "verify_pin"]

DEFAULT_N = 2**14
DEFAULT_R = 8
DEFAULT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
# Upper bounds stop a hostile package from making a kiosk allocate gigabytes in verify_pin.
_MAX_N = 2**20
_MAX_R = 32
_MAX_P = 16

_PIN = re.compile(r"[0-9]{4,12}")
_HEX = re.compile(r"(?:[0-9a-f]{2})+")


class PinHashError(ValueError):
    """A PIN or a stored PIN hash that is not well formed (the message says which part)."""


def validate_pin(pin: str) -> str:
    """Return ``pin`` if it is 4 to 12 ASCII digits, else raise PinHashError."""
    if not isinstance(pin, str) or not _PIN.fullmatch(pin):
        raise PinHashError("a PIN must be 4 to 12 digits (0-9)")
    return pin


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int, dklen: int = HASH_BYTES) -> bytes:
    # maxmem must cover 128*n*r bytes plus slack, or OpenSSL refuses the larger allowed parameters.
    return hashlib.scrypt(
        pin.encode("ascii"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=128 * n * r * (p + 1) + 2**20
    )


def hash_pin(pin: str, *, salt: bytes | None = None, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P) -> str:
    """Hash a staff PIN for election.toml.

    ``salt`` is random unless given; the sample generator passes a seeded salt so that its output is reproducible.
    """
    validate_pin(pin)
    if salt is None:
        salt = os.urandom(SALT_BYTES)
    if len(salt) < 8:
        raise PinHashError("the salt must be at least 8 bytes")
    _check_params(n, r, p)
    digest = _scrypt(pin, salt, n, r, p)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def _check_params(n: int, r: int, p: int) -> None:
    if n < 2 or n > _MAX_N or n & (n - 1):
        raise PinHashError(f"scrypt n must be a power of two from 2 to {_MAX_N}, got {n}")
    if not 1 <= r <= _MAX_R:
        raise PinHashError(f"scrypt r must be 1 to {_MAX_R}, got {r}")
    if not 1 <= p <= _MAX_P:
        raise PinHashError(f"scrypt p must be 1 to {_MAX_P}, got {p}")


def _parse(pin_hash: str) -> tuple[int, int, int, bytes, bytes]:
    parts = pin_hash.split("$") if isinstance(pin_hash, str) else []
    if len(parts) != 6 or parts[0] != "scrypt":
        raise PinHashError("a PIN hash must look like scrypt$n$r$p$salt_hex$hash_hex")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
    except ValueError:
        raise PinHashError("PIN hash: n, r and p must be integers") from None
    _check_params(n, r, p)
    if not _HEX.fullmatch(parts[4]) or not _HEX.fullmatch(parts[5]):
        raise PinHashError("PIN hash: salt and hash must be lower-case hex")
    salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    if len(salt) < 8 or len(digest) < 16:
        raise PinHashError("PIN hash: salt or hash too short")
    return n, r, p, salt, digest


def verify_pin(pin_hash: str, pin: str) -> bool:
    """True if ``pin`` matches ``pin_hash``. A malformed hash raises PinHashError; a malformed PIN is simply False."""
    n, r, p, salt, digest = _parse(pin_hash)
    if not isinstance(pin, str) or not _PIN.fullmatch(pin):
        return False
    candidate = _scrypt(pin, salt, n, r, p, dklen=len(digest))
    # Constant-time comparison: the kiosk is not a remote oracle, but there is no reason to leak timing.
    return hmac.compare_digest(candidate, digest)
