"""Canonical encoding, per-kiosk hash chain and Ed25519 signatures over ledger events.

A sealed event commits to (kiosk_id, seq, prev_hash, event body); ``hash`` is SHA-256 over the canonical JSON of those,
and ``signature`` is the kiosk's Ed25519 signature over the 32 raw hash bytes. The first event of a kiosk has
``prev_hash == GENESIS``. Both the local ledger and the server verify with the same functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ballots.events import Event, EventError

__all__ = [
    "GENESIS",
    "ChainError",
    "SealedEvent",
    "canonical_json",
    "event_hash",
    "seal",
    "seal_body",
    "verify_chain",
    "verify_sealed",
]

GENESIS = "0" * 64


class ChainError(ValueError):
    """A sealed event or chain that does not verify; ``index`` is the position of the first bad one, if known."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


# json.dumps with non-default options builds a new encoder on every call; one shared encoder (stateless) does the
# same encoding for less, which matters on the ledger's per-check-in path.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(obj: Any) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no spaces, no NaN. Hashes and signatures are over these bytes."""
    return _CANONICAL.encode(obj).encode("utf-8")


def _digest_of_json(kiosk_id: str, seq: int, prev_hash: str, body_json: bytes) -> str:
    # Byte for byte canonical_json({"event": body, "kiosk_id": …, "prev_hash": …, "seq": …}) (keys in sorted order),
    # built around the body's own canonical JSON so a caller that already encoded the body does not encode it again.
    head = b'{"event":'
    tail = canonical_json({"kiosk_id": kiosk_id, "prev_hash": prev_hash, "seq": seq})[1:]  # drop its "{"
    return hashlib.sha256(head + body_json + b"," + tail).hexdigest()


def event_hash(kiosk_id: str, seq: int, prev_hash: str, body: Mapping[str, Any]) -> str:
    """The hash a sealed event with these fields must carry (checks content where no public key is at hand)."""
    return _digest_of_json(kiosk_id, seq, prev_hash, canonical_json(body))


@dataclass(frozen=True, slots=True)
class SealedEvent:
    """An event as stored in a ledger and sent to the server."""

    kiosk_id: str
    seq: int
    prev_hash: str
    body: Mapping[str, Any]
    hash: str
    signature: str

    @property
    def event(self) -> Event:
        """The domain event (validated)."""
        return Event.from_dict(self.body)

    @property
    def event_id(self) -> str:
        """The event's id (idempotency key)."""
        return str(self.body["event_id"])

    def to_dict(self) -> dict[str, Any]:
        """Wire / storage form."""
        return {
            "kiosk_id": self.kiosk_id,
            "seq": self.seq,
            "prev_hash": self.prev_hash,
            "event": dict(self.body),
            "hash": self.hash,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SealedEvent:
        """Parse the wire form; raise ChainError on a missing or mistyped field."""
        try:
            se = cls(
                kiosk_id=str(d["kiosk_id"]),
                seq=int(d["seq"]),
                prev_hash=str(d["prev_hash"]),
                body=dict(d["event"]),
                hash=str(d["hash"]),
                signature=str(d["signature"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ChainError(f"malformed sealed event: {exc!r}") from None
        return se


def seal(event: Event, *, kiosk_id: str, seq: int, prev_hash: str, key: Ed25519PrivateKey) -> SealedEvent:
    """Chain and sign one event."""
    body = event.to_dict()
    return seal_body(body, canonical_json(body), kiosk_id=kiosk_id, seq=seq, prev_hash=prev_hash, key=key)


def seal_body(
    body: Mapping[str, Any], body_json: bytes, *, kiosk_id: str, seq: int, prev_hash: str, key: Ed25519PrivateKey
) -> SealedEvent:
    """Chain and sign an event body whose canonical JSON (``canonical_json(body)``) the caller already holds, as the
    ledger does on its append path, so the body is encoded once per check-in."""
    if seq < 1:
        raise ValueError("seq starts at 1")
    h = _digest_of_json(kiosk_id, seq, prev_hash, body_json)
    sig = key.sign(bytes.fromhex(h)).hex()
    return SealedEvent(kiosk_id=kiosk_id, seq=seq, prev_hash=prev_hash, body=body, hash=h, signature=sig)


def verify_sealed(se: SealedEvent, public_key: Ed25519PublicKey) -> Event:
    """Check hash, signature and body of one sealed event; return the domain event or raise ChainError."""
    try:
        expected = event_hash(se.kiosk_id, se.seq, se.prev_hash, se.body)
    except (TypeError, ValueError) as exc:
        raise ChainError(f"seq {se.seq}: body cannot be encoded: {exc}") from None
    if expected != se.hash:
        raise ChainError(f"seq {se.seq}: hash does not match the content (edited?)")
    try:
        public_key.verify(bytes.fromhex(se.signature), bytes.fromhex(se.hash))
    except (InvalidSignature, ValueError):
        raise ChainError(f"seq {se.seq}: signature does not verify") from None
    try:
        return Event.from_dict(se.body)
    except EventError as exc:
        raise ChainError(f"seq {se.seq}: {exc}") from None


def verify_chain(
    events: Iterable[SealedEvent], public_key: Ed25519PublicKey, *, start_seq: int = 1, start_hash: str = GENESIS
) -> int:
    """Verify a contiguous run of one kiosk's chain; return how many were checked, or raise ChainError(index=i)."""
    prev_hash, expect_seq, kiosk = start_hash, start_seq, None
    n = 0
    for i, se in enumerate(events):
        if kiosk is None:
            kiosk = se.kiosk_id
        if se.kiosk_id != kiosk:
            raise ChainError(f"seq {se.seq}: belongs to kiosk {se.kiosk_id!r}, not {kiosk!r}", i)
        if se.seq != expect_seq:
            raise ChainError(f"expected seq {expect_seq}, found {se.seq} (row deleted, inserted or reordered)", i)
        if se.prev_hash != prev_hash:
            raise ChainError(f"seq {se.seq}: prev_hash does not match the previous event (chain broken)", i)
        try:
            verify_sealed(se, public_key)
        except ChainError as exc:
            raise ChainError(str(exc), i) from None
        prev_hash, expect_seq = se.hash, expect_seq + 1
        n += 1
    return n
