"""The event hash is SHA-256 over the canonical JSON of (event, kiosk_id, prev_hash, seq), whether or not the caller
hands over the body's JSON it already encoded."""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sync.chain import canonical_json, event_hash

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@given(
    kiosk=st.text(min_size=1, max_size=20),
    seq=st.integers(min_value=1, max_value=2**40),
    prev=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    body=st.dictionaries(st.text(max_size=10), _json, max_size=6),
)
def test_event_hash_is_sha256_of_the_canonical_whole(kiosk: str, seq: int, prev: str, body: dict[str, Any]) -> None:
    whole = canonical_json({"kiosk_id": kiosk, "seq": seq, "prev_hash": prev, "event": body})
    assert event_hash(kiosk, seq, prev, body) == hashlib.sha256(whole).hexdigest()
