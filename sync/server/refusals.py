"""Bounded recording of refusals: the first ones in full, then counted, so a flood cannot fill the database.

Every refused TLS handshake and every refused request is evidence the committee wants to see, but one host looping
handshakes can refuse thousands a second; one row each would fill the tally server's database (and its log). So the
server decides per refusal, through ``RefusalLimiter.admit``, whether it is written in full or only counted:

- A *source* is the verified certificate's client id when the refusal names one (a kiosk or committee certificate of
  the committee's own CA: it cannot be spoofed and there are only as many as the committee issued), otherwise the
  peer's address without its port. A *kind* is (stage, client id, reason) — the exact reason text.
- Time runs in windows of ``window_s`` seconds. Within one window the first ``full_per_kind`` refusals of each kind
  from each source are recorded in full; further ones of that kind are only counted.
- Refusals without a certificate (anyone can send them, from many addresses) share a cap of ``full_per_window`` rows
  in full per window, all sources together; beyond it, and for sources or kinds beyond the memory caps
  (``max_sources`` tracked sources, ``kinds_per_source`` kinds each), refusals are counted per stage only.
- When a window closes (``due``, called periodically by the server) or at shutdown (``drain``), every count becomes
  one row with ``count`` = N (``RefusalAggregate``), so the committee's totals (the sum of ``count``) stay exact while
  the number of rows per window stays bounded.

Bounds per window: rows ≤ ``full_per_window`` + the certificate holders' kinds × (``full_per_kind`` + 1) + one
aggregate per tracked kind + one per stage; memory ≤ ``max_sources`` × ``kinds_per_source`` tallies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime

__all__ = ["RefusalAggregate", "RefusalLimiter", "RefusalLimits", "source_of"]

OVERFLOW_SAMPLES = 5  # source addresses named in a per-stage overflow row


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class RefusalLimits:
    """How many refusals the server records in full (server settings; the defaults suit a municipality).

    ``flush_every_s``: how often closed windows are looked for and their counts written (default: a quarter of the
    window, between 0.05 and 5 s).
    """

    window_s: float = 60.0
    full_per_kind: int = 3
    full_per_window: int = 200
    max_sources: int = 1024
    kinds_per_source: int = 8
    flush_every_s: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name == "flush_every_s":
                continue
            whole = f.name not in ("window_s", "flush_every_s")
            kind = int if whole else int | float
            if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
                what = "a positive whole number" if whole else "a positive number of seconds"
                raise ValueError(f"refusal limits: {f.name} must be {what}, not {value!r}")
        if self.window_s > 86400:
            raise ValueError(f"refusal limits: window_s must be at most one day (86400 s), not {self.window_s!r}")

    @property
    def flush_interval_s(self) -> float:
        """Seconds between two looks for closed windows."""
        if self.flush_every_s is not None:
            return float(self.flush_every_s)
        return max(0.05, min(5.0, self.window_s / 4))


@dataclass(frozen=True, slots=True)
class RefusalAggregate:
    """``count`` refusals that were counted, not recorded one by one: one row of ``rejections``.

    ``client_id``/``peer`` are those of the kind (None in a per-stage overflow row); ``first_at``/``last_at`` are the
    UTC times of the first and the last refusal counted.
    """

    stage: str
    client_id: str | None
    peer: str | None
    reason: str
    count: int
    first_at: str
    last_at: str


def source_of(client_id: str | None, peer: str | None) -> tuple[str, str]:
    """The source a refusal is limited by: ("cert", client id) or ("addr", peer address without the port)."""
    if client_id:
        return "cert", client_id
    if not peer:
        return "addr", "-"
    if peer.startswith("["):  # [v6]:port
        return "addr", peer[1:].split("]", 1)[0]
    host, sep, port = peer.rpartition(":")
    # "host:port" (IPv4, or IPv6 written without brackets, as the TLS layer and the ASGI scope give it)
    return "addr", host if sep and port.isdigit() and host else peer


def _host(peer: str | None) -> str | None:
    return None if peer is None else source_of(None, peer)[1]


class _Tally:
    __slots__ = ("count", "first_at", "full", "last_at", "peer")

    def __init__(self) -> None:
        self.full = 0
        self.count = 0
        self.first_at = ""
        self.last_at = ""
        self.peer: str | None = None

    def add(self, at: str, peer: str | None) -> None:
        if self.count == 0:
            self.first_at = at
        self.count += 1
        self.last_at = at
        if peer is not None:
            self.peer = peer


class _Overflow(_Tally):
    __slots__ = ("last_reason", "sources", "sources_more")

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.sources_more = False
        self.last_reason = ""


Kind = tuple[str, str | None, str]


class RefusalLimiter:
    """Decides which refusals are recorded in full and counts the rest (thread-safe; see the module docstring).

    ``clock`` is monotonic seconds (windows), ``wall`` gives the UTC text stored as ``first_at``/``last_at``.
    """

    def __init__(
        self,
        limits: RefusalLimits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], str] = _utc_now,
    ) -> None:
        self.limits = limits or RefusalLimits()
        self._clock, self._wall = clock, wall
        self._lock = threading.Lock()
        self._window_start: float | None = None
        self._sources: dict[tuple[str, str], dict[Kind, _Tally]] = {}
        self._anonymous_full = 0
        self._overflow: dict[str, _Overflow] = {}
        self._ready: list[RefusalAggregate] = []
        self._closed = False
        self.admitted = 0  # refusals recorded in full, since start (for the bench and the log)
        self.counted = 0  # refusals only counted

    # -- deciding --------------------------------------------------------------------------------------------------
    def admit(self, stage: str, client_id: str | None, peer: str | None, reason: str) -> bool:
        """True: record this refusal in full now. False: it was counted and will be part of an aggregate row."""
        with self._lock:
            if self._closed:  # after drain (shutdown): the few refusals still in flight are recorded one by one
                self.admitted += 1
                return True
            now = self._clock()
            if self._window_start is None or now >= self._window_start + self.limits.window_s:
                self._close_window()
                self._window_start = now
            full = self._decide(stage, client_id, peer, reason)
            if full:
                self.admitted += 1
            else:
                self.counted += 1
            return full

    def _decide(self, stage: str, client_id: str | None, peer: str | None, reason: str) -> bool:
        lim = self.limits
        source = source_of(client_id, peer)
        anonymous = source[0] == "addr"
        kinds = self._sources.get(source)
        kind: Kind = (stage, client_id, reason)
        tally = kinds.get(kind) if kinds is not None else None
        budget = not anonymous or self._anonymous_full < lim.full_per_window
        if tally is None:
            trackable = len(kinds) < lim.kinds_per_source if kinds is not None else len(self._sources) < lim.max_sources
            if not (trackable and budget):
                self._count_overflow(stage, source[1], reason)
                return False
            if kinds is None:
                kinds = self._sources[source] = {}
            tally = kinds[kind] = _Tally()
        if tally.full < lim.full_per_kind and budget:
            tally.full += 1
            if anonymous:
                self._anonymous_full += 1
            return True
        tally.add(self._wall(), _host(peer))
        return False

    def _count_overflow(self, stage: str, source: str, reason: str) -> None:
        over = self._overflow.get(stage)
        if over is None:
            over = self._overflow[stage] = _Overflow()
        over.add(self._wall(), None)
        over.last_reason = reason
        if source not in over.sources:
            if len(over.sources) < OVERFLOW_SAMPLES:
                over.sources.append(source)
            else:
                over.sources_more = True

    # -- closing windows -------------------------------------------------------------------------------------------
    def _close_window(self) -> None:
        window = f"{self.limits.window_s:g} s"
        for (kind_of_source, name), kinds in self._sources.items():
            for (stage, client_id, reason), t in kinds.items():
                if t.count == 0:
                    continue
                who = f"certificate {name}" if kind_of_source == "cert" else name
                text = (
                    f"{t.count} further refusal{'s' if t.count != 1 else ''} of this kind from {who} within one "
                    f"{window} window, {t.first_at} to {t.last_at} (the first {t.full} recorded in full): {reason}"
                )
                self._ready.append(RefusalAggregate(stage, client_id, t.peer, text, t.count, t.first_at, t.last_at))
        for stage, o in sorted(self._overflow.items()):
            samples = ", ".join(o.sources) + (", …" if o.sources_more else "")
            text = (
                f"{o.count} further refusal{'s' if o.count != 1 else ''} at stage {stage} within one {window} window, "
                f"{o.first_at} to {o.last_at}, beyond the server's limits ({self.limits.full_per_window} recorded "
                f"in full per window without a certificate, {self.limits.max_sources} sources and "
                f"{self.limits.kinds_per_source} kinds per source tracked); sources include {samples}; "
                f"last reason: {o.last_reason}"
            )
            self._ready.append(RefusalAggregate(stage, None, None, text, o.count, o.first_at, o.last_at))
        self._sources.clear()
        self._overflow.clear()
        self._anonymous_full = 0
        self._window_start = None

    def due(self) -> list[RefusalAggregate]:
        """The aggregates of the windows closed by now (each returned once)."""
        with self._lock:
            if self._window_start is not None and self._clock() >= self._window_start + self.limits.window_s:
                self._close_window()
            out, self._ready = self._ready, []
            return out

    def drain(self) -> list[RefusalAggregate]:
        """At shutdown: close the current window and return every aggregate not yet returned. Refusals arriving
        afterwards are admitted in full (only those of connections still in flight can come)."""
        with self._lock:
            self._close_window()
            self._closed = True
            out, self._ready = self._ready, []
            return out

    @property
    def tracked(self) -> int:
        """(source, kind) tallies held now (bounded by ``max_sources`` × ``kinds_per_source``)."""
        with self._lock:
            return sum(len(k) for k in self._sources.values())

    @property
    def tracked_sources(self) -> int:
        """Sources held now (bounded by ``max_sources``)."""
        with self._lock:
            return len(self._sources)
