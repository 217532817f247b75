"""The refusal limiter (sync.server.refusals) with a fake clock: which refusals are recorded in full, which counted,
and that the counts add up exactly whatever arrives."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from sync.server.refusals import RefusalAggregate, RefusalLimiter, RefusalLimits, source_of


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class R:
    """One refusal at fake time ``t``."""

    t: float
    peer: str | None = "10.0.0.1:40000"
    reason: str = "TLS: no client certificate presented"
    stage: str = "tls"
    client: str | None = None


def flood(n: int, t: float = 0.0, **kw: object) -> list[R]:
    return [R(t, **kw) for _ in range(n)]  # type: ignore[arg-type]


SMALL = RefusalLimits(window_s=60, full_per_kind=3, full_per_window=5, max_sources=3, kinds_per_source=2)

# (name, limits, refusals, "F" recorded in full / "C" counted per refusal, time of the final due(),
#  aggregates expected by then as (stage, client_id, peer, count))
CASES = [
    (
        "one kind from one peer: the first three in full, the rest counted in one row",
        SMALL,
        flood(10),
        "FFFCCCCCCC",
        60.0,
        [("tls", None, "10.0.0.1", 7)],
    ),
    (
        "the window has not closed: nothing to write yet",
        SMALL,
        flood(10),
        "FFFCCCCCCC",
        59.9,
        [],
    ),
    (
        "a new port is the same source",
        SMALL,
        [R(0, peer=f"10.0.0.1:{p}") for p in range(40000, 40005)],
        "FFFCC",
        60.0,
        [("tls", None, "10.0.0.1", 2)],
    ),
    (
        "IPv6 with and without brackets is one source",
        SMALL,
        [R(0, peer="::1:5000"), R(0, peer="[::1]:5001"), R(0, peer="::1:5002"), R(0, peer="[::1]:5003")],
        "FFFC",
        60.0,
        [("tls", None, "::1", 1)],
    ),
    (
        "a second peer's first refusal is recorded in full during the first peer's flood",
        SMALL,
        [*flood(6), R(1, peer="10.0.0.2:1"), *flood(2, 2)],
        "FFFCCCFCC",
        60.0,
        [("tls", None, "10.0.0.1", 5)],
    ),
    (
        "another reason is another kind",
        SMALL,
        [*flood(4), *flood(4, reason="TLS: client certificate refused: certificate has expired")],
        "FFFCFFCC",
        61.0,
        [("tls", None, "10.0.0.1", 1), ("tls", None, "10.0.0.1", 2)],
    ),
    (
        "the next window starts fresh; the closed one is written",
        SMALL,
        [*flood(4), *flood(4, 60.0)],
        "FFFCFFFC",
        60.0,
        [("tls", None, "10.0.0.1", 1)],
    ),
    (
        "all peers together: five in full per window; beyond them new sources are counted per stage",
        RefusalLimits(window_s=60, full_per_kind=3, full_per_window=5, max_sources=100, kinds_per_source=2),
        [R(0, peer=f"10.0.1.{i}:1") for i in range(7)] + [R(0, peer="10.0.1.0:2")],
        "FFFFFCCC",
        60.0,
        [("tls", None, None, 2), ("tls", None, "10.0.1.0", 1)],
    ),
    (
        "more sources than tracked: counted per stage",
        RefusalLimits(window_s=60, full_per_kind=3, full_per_window=100, max_sources=2, kinds_per_source=2),
        [R(0, peer=f"10.0.2.{i}:1") for i in range(5)],
        "FFCCC",
        60.0,
        [("tls", None, None, 3)],
    ),
    (
        "more kinds from one source than tracked: counted per stage",
        SMALL,
        [R(0, reason=f"TLS: handshake refused: {i}") for i in range(4)],
        "FFCC",
        60.0,
        [("tls", None, None, 2)],
    ),
    (
        "certificate holders are not under the cap for refusals without a certificate",
        RefusalLimits(window_s=60, full_per_kind=1, full_per_window=1, max_sources=10, kinds_per_source=2),
        [R(0, peer="10.0.0.9:1"), R(0, peer="10.0.0.8:1")]
        + [R(0, stage="package", client=f"K-{i}", peer="10.0.0.7:1", reason="package hash mismatch") for i in (1, 2)]
        + [R(0, stage="package", client="K-1", peer="10.0.0.7:2", reason="package hash mismatch")],
        "FCFFC",
        60.0,
        [("tls", None, None, 1), ("package", "K-1", "10.0.0.7", 1)],
    ),
    (
        "no peer known (an operation's refusal without an address)",
        SMALL,
        flood(4, peer=None),
        "FFFC",
        60.0,
        [("tls", None, None, 1)],
    ),
]


@pytest.mark.parametrize(
    ("limits", "refusals", "expected", "due_at", "aggregates"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_first_refusals_in_full_then_counted(
    limits: RefusalLimits,
    refusals: list[R],
    expected: str,
    due_at: float,
    aggregates: list[tuple[str, str | None, str | None, int]],
) -> None:
    clock = FakeClock()
    start = clock.now
    limiter = RefusalLimiter(limits, clock=clock)
    got = ""
    written: list[RefusalAggregate] = []
    for r in refusals:
        clock.now = start + r.t
        got += "F" if limiter.admit(r.stage, r.client, r.peer, r.reason) else "C"
    assert got == expected
    clock.now = start + due_at
    written += limiter.due()
    got_rows = [(a.stage, a.client_id, a.peer, a.count) for a in written]
    assert sorted(got_rows, key=str) == sorted(aggregates, key=str)
    assert limiter.due() == []  # each aggregate is handed out once
    # Whatever is still counted comes out at shutdown, and nothing is lost or counted twice.
    written += limiter.drain()
    assert got.count("F") + sum(a.count for a in written) == len(refusals)
    for a in written:
        assert a.reason.startswith(f"{a.count} further refusal") and a.first_at <= a.last_at


def test_aggregate_row_says_what_was_counted() -> None:
    clock = FakeClock()
    limiter = RefusalLimiter(RefusalLimits(window_s=60, full_per_kind=2), clock=clock)
    for _ in range(5):
        limiter.admit("auth", "K-01", "192.0.2.7:5555", "certificate revoked (kiosk K-01, serial 1f)")
    clock.now += 60
    [a] = limiter.due()
    assert (a.stage, a.client_id, a.peer, a.count) == ("auth", "K-01", "192.0.2.7", 3)
    assert a.reason.startswith("3 further refusals of this kind from certificate K-01 within one 60 s window")
    assert a.reason.endswith("(the first 2 recorded in full): certificate revoked (kiosk K-01, serial 1f)")


def test_drain_writes_the_open_window_and_later_refusals_go_through() -> None:
    clock = FakeClock()
    limiter = RefusalLimiter(RefusalLimits(window_s=3600, full_per_kind=1), clock=clock)
    assert [limiter.admit("tls", None, "10.0.0.1:1", "x") for _ in range(4)] == [True, False, False, False]
    assert limiter.due() == []  # the hour is not over
    [a] = limiter.drain()
    assert a.count == 3
    # After shutdown began only connections in flight can refuse: each is recorded in full, none is left counted.
    assert limiter.admit("tls", None, "10.0.0.1:2", "x") is True
    assert limiter.drain() == [] and limiter.tracked == 0


def test_memory_stays_bounded_under_many_sources_and_kinds() -> None:
    clock = FakeClock()
    limits = RefusalLimits(window_s=60, full_per_kind=3, full_per_window=10_000, max_sources=50, kinds_per_source=4)
    limiter = RefusalLimiter(limits, clock=clock)
    for i in range(2000):
        limiter.admit("tls", None, f"10.{i % 250}.{i // 250}.1:1", f"reason {i % 7}")
        assert limiter.tracked_sources <= 50 and limiter.tracked <= 50 * 4
    clock.now += 60
    limiter.due()
    assert limiter.tracked == 0  # a closed window forgets its sources


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("window_s", 0),
        ("window_s", -1.0),
        ("window_s", 86401),
        ("full_per_kind", 0),
        ("full_per_window", -5),
        ("max_sources", 0),
        ("kinds_per_source", True),
        ("flush_every_s", 0.0),
        ("window_s", "60"),
        ("full_per_kind", 2.5),
    ],
)
def test_bad_limits_are_refused_naming_the_setting(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"refusal limits: {field} must be"):
        RefusalLimits(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("window", "every", "interval"), [(60, None, 5.0), (8, None, 2.0), (0.1, None, 0.05), (60, 0.5, 0.5)]
)
def test_flush_interval(window: float, every: float | None, interval: float) -> None:
    assert RefusalLimits(window_s=window, flush_every_s=every).flush_interval_s == interval


@pytest.mark.parametrize(
    ("client", "peer", "source"),
    [
        (None, "127.0.0.1:5000", ("addr", "127.0.0.1")),
        (None, "::1:5000", ("addr", "::1")),
        (None, "[2001:db8::1]:443", ("addr", "2001:db8::1")),
        (None, "2001:db8::1:443", ("addr", "2001:db8::1")),
        (None, "unix-socket", ("addr", "unix-socket")),
        (None, None, ("addr", "-")),
        ("K-01", "127.0.0.1:5000", ("cert", "K-01")),
    ],
)
def test_source_of(client: str | None, peer: str | None, source: tuple[str, str]) -> None:
    assert source_of(client, peer) == source


_refusal = hs.tuples(
    hs.floats(min_value=0, max_value=30),  # seconds since the previous refusal
    hs.sampled_from(["tls", "auth", "package"]),
    hs.sampled_from([None, None, "K-1", "K-2"]),
    hs.sampled_from([f"10.0.0.{i}:{p}" for i in range(6) for p in (1, 2)]),
    hs.sampled_from(["a", "b", "c"]),
)


@settings(max_examples=150, deadline=None)
@given(refusals=hs.lists(_refusal, max_size=120), due_every=hs.integers(min_value=1, max_value=40))
def test_counts_are_exact_and_rows_bounded_whatever_arrives(
    refusals: list[tuple[float, str, str | None, str, str]], due_every: int
) -> None:
    clock = FakeClock()
    limits = RefusalLimits(window_s=20, full_per_kind=2, full_per_window=4, max_sources=3, kinds_per_source=2)
    limiter = RefusalLimiter(limits, clock=clock)
    full, rows = 0, []
    for i, (dt, stage, client, peer, reason) in enumerate(refusals):
        clock.now += dt
        full += limiter.admit(stage, client, peer, reason)
        if i % due_every == 0:
            rows += limiter.due()
        assert limiter.tracked <= limits.max_sources * limits.kinds_per_source
    rows += limiter.drain()
    assert full + sum(a.count for a in rows) == len(refusals)
    assert all(a.count >= 1 for a in rows)
