"""Staff PIN hashing (scrypt) as stored in election.toml."""

from __future__ import annotations

from typing import Any

import pytest

from ballots.staff import PinHashError, hash_pin, validate_pin, verify_pin

FAST: dict[str, Any] = {"n": 2**4, "r": 1, "p": 1}  # tiny cost: these tests check format and logic


@pytest.mark.parametrize(
    ("pin", "attempt", "expected"),
    [
        ("1234", "1234", True),
        ("1234", "1235", False),
        ("1234", "12345", False),
        ("000000", "000000", True),
        ("123456789012", "123456789012", True),
        ("1234", "", False),
        ("1234", "abcd", False),
        ("1234", "１２３４", False),  # full-width digits are not the PIN
    ],
)
def test_verify_pin(pin: str, attempt: str, expected: bool) -> None:
    assert verify_pin(hash_pin(pin, **FAST), attempt) is expected


def test_default_hash_format_and_salt_is_random() -> None:
    a, b = hash_pin("2468"), hash_pin("2468")
    assert a != b
    parts = a.split("$")
    assert parts[:4] == ["scrypt", "16384", "8", "1"]
    assert len(bytes.fromhex(parts[4])) == 16 and len(bytes.fromhex(parts[5])) == 32
    assert verify_pin(a, "2468") and verify_pin(b, "2468")


def test_given_salt_is_deterministic() -> None:
    salt = bytes(range(16))
    assert hash_pin("9999", salt=salt, **FAST) == hash_pin("9999", salt=salt, **FAST)


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", "", " 1234", "１２３４"])
def test_bad_pins_are_refused_when_hashing(pin: str) -> None:
    with pytest.raises(PinHashError, match="4 to 12 digits"):
        hash_pin(pin, **FAST)
    with pytest.raises(PinHashError):
        validate_pin(pin)


@pytest.mark.parametrize(
    ("pin_hash", "message"),
    [
        ("", "must look like"),
        ("bcrypt$16$8$1$00$00", "must look like"),
        ("scrypt$16384$8$1$0011", "must look like"),
        ("scrypt$x$8$1$00112233445566778899$00112233445566778899aabbccddeeff", "integers"),
        ("scrypt$1000$8$1$00112233445566778899$00112233445566778899aabbccddeeff", "power of two"),
        ("scrypt$2097152$8$1$00112233445566778899$00112233445566778899aabbccddeeff", "power of two"),
        ("scrypt$16384$99$1$00112233445566778899$00112233445566778899aabbccddeeff", "scrypt r"),
        ("scrypt$16384$8$1$XYZ$00112233445566778899aabbccddeeff", "hex"),
        ("scrypt$16384$8$1$0011$00112233445566778899aabbccddeeff", "too short"),
    ],
)
def test_malformed_hashes_raise(pin_hash: str, message: str) -> None:
    with pytest.raises(PinHashError, match=message):
        verify_pin(pin_hash, "1234")
