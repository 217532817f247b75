"""The kiosk's sync client: claim before handing over a ballot, push the outbox, pull everyone's check-ins.

No Qt here. Two background threads do the steady work — a *pusher* (outbox push + heartbeat, woken when the ledger
grows) and a *puller* (long-poll of the replica) — while :meth:`SyncClient.claim` runs on the caller's thread with a
short timeout. When the server cannot be reached the claim answers ``offline`` and the caller decides from its local
ledger and replica (architecture: "Double-voting", rule 2). Failing requests back off exponentially with jitter.

The UI reads :meth:`SyncClient.state` (a frozen snapshot) or registers an observer, a plain callback called from the
worker threads whenever the snapshot changes (the Qt bridge turns it into a signal).
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from ballots.events import Event, EventType
from sync.chain import ChainError, SealedEvent

__all__ = [
    "PACKAGE_HEADER",
    "Backoff",
    "ClaimOutcome",
    "ClientTLS",
    "LedgerPort",
    "SyncClient",
    "SyncError",
    "SyncState",
]

log = logging.getLogger(__name__)

PACKAGE_HEADER = "X-Uketsuke-Package"
DEMO_KIOSK_HEADER, DEMO_KEY_HEADER = "X-Uketsuke-Demo-Kiosk", "X-Uketsuke-Demo-Ledger-Key"


class SyncError(RuntimeError):
    """The server answered, but not with what sync needs (refused, wrong package, protocol error)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LedgerPort(Protocol):
    """What the client needs of the local ledger (``sync.ledger.Ledger`` provides it)."""

    @property
    def kiosk_id(self) -> str: ...
    @property
    def pending_count(self) -> int: ...
    @property
    def replica_cursor(self) -> str | int | None: ...
    @property
    def replica_updated_at(self) -> datetime | None: ...
    def unpushed(self, limit: int = 500) -> list[SealedEvent]: ...
    def mark_pushed(self, upto_seq: int) -> int: ...
    def add_replica(self, sealed_events: Iterable[SealedEvent], *, cursor: Any = ...) -> int: ...


@dataclass(frozen=True, slots=True)
class ClientTLS:
    """The kiosk's certificate, key and the committee CA (files written by ``uketsuke pki issue-kiosk``)."""

    cert: Path
    key: Path
    ca: Path

    @classmethod
    def from_dir(cls, directory: Path) -> ClientTLS:
        """``client.crt``, ``client.key`` and ``ca.crt`` in one directory."""
        return cls(directory / "client.crt", directory / "client.key", directory / "ca.crt")

    def ssl_context(self) -> ssl.SSLContext:
        """Client context: verify the server against the committee CA only, present the kiosk certificate."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
        ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """``accepted`` (hand over the ballot), ``already_voted`` (stop; ``holder`` says where/when) or ``offline``."""

    status: str
    holder: Mapping[str, Any] | None = None
    rtt_ms: float | None = None
    error: str | None = None

    @property
    def accepted(self) -> bool:
        """True when the server granted the claim."""
        return self.status == "accepted"


@dataclass(frozen=True, slots=True)
class SyncState:
    """Snapshot for the UI's banner and the pre-opening freshness check."""

    online: bool
    since: datetime | None  # when the current online/offline state began
    pending: int
    last_contact: datetime | None
    replica_cursor: str | int | None
    replica_updated_at: datetime | None
    clock_skew_ms: float | None  # server clock minus kiosk clock
    clock_warning: bool
    last_error: str | None
    conflicts: tuple[Mapping[str, Any], ...] = ()
    claim_rtt_ms: float | None = None

    def replica_age_s(self, now: datetime | None = None) -> float | None:
        """Seconds since the replica was last refreshed (None if never)."""
        if self.replica_updated_at is None:
            return None
        return ((now or datetime.now(UTC)) - self.replica_updated_at).total_seconds()


@dataclass
class Backoff:
    """Exponential backoff with "equal jitter": half the delay fixed, half random, so kiosks do not retry in step."""

    base_s: float = 0.25
    cap_s: float = 30.0
    attempts: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        """The delay before the next attempt (grows ×2 per failure up to the cap)."""
        full = min(self.cap_s, self.base_s * (2 ** min(self.attempts, 30)))
        self.attempts += 1
        return full / 2 + self.rng.uniform(0, full / 2)

    def reset(self) -> None:
        """Back to the shortest delay (after a success)."""
        self.attempts = 0


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class SyncClient:
    """One kiosk's connection to the tally server (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        ledger: LedgerPort,
        package_hash: str,
        *,
        station_id: str | None = None,
        tls: ClientTLS | None = None,
        transport: httpx.BaseTransport | None = None,
        claim_timeout_s: float = 1.5,
        request_timeout_s: float = 10.0,
        pull_wait_s: float = 20.0,
        heartbeat_s: float = 10.0,
        push_batch: int = 500,
        skew_warn_s: float = 60.0,
        backoff: Backoff | None = None,
        demo_ledger_key_hex: str | None = None,
    ) -> None:
        self._ledger = ledger
        self._station = station_id
        self._claim_timeout = claim_timeout_s
        self._pull_wait = pull_wait_s
        self._heartbeat_s = heartbeat_s
        self._batch = push_batch
        self._skew_warn_ms = skew_warn_s * 1000
        self._backoff_proto = backoff or Backoff()
        headers = {PACKAGE_HEADER: package_hash}
        if demo_ledger_key_hex is not None:  # demo server without TLS (loopback only)
            headers |= {DEMO_KIOSK_HEADER: ledger.kiosk_id, DEMO_KEY_HEADER: demo_ledger_key_hex}
        if transport is None:
            verify: ssl.SSLContext | bool = tls.ssl_context() if tls is not None else True
            # One pool: claim, push and the long-poll each keep their own persistent connection (a TLS handshake
            # costs the server ~25 requests' worth of CPU). TCP_NODELAY: h11 writes headers and body separately, and
            # Nagle + the server's delayed ACK would add ~40 ms to every claim.
            transport = httpx.HTTPTransport(
                verify=verify,
                limits=httpx.Limits(max_connections=8, max_keepalive_connections=8, keepalive_expiry=300),
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            )
        self._http = httpx.Client(
            base_url=base_url, headers=headers, transport=transport, timeout=httpx.Timeout(request_timeout_s)
        )
        self._lock = threading.Lock()
        self._observers: list[Callable[[SyncState], None]] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next_heartbeat = 0.0
        self._conflicts_seen = 0
        self._state = SyncState(
            online=False,
            since=None,
            pending=self._safe_pending(),
            last_contact=None,
            replica_cursor=ledger.replica_cursor,
            replica_updated_at=ledger.replica_updated_at,
            clock_skew_ms=None,
            clock_warning=False,
            last_error=None,
        )

    # -- life cycle --------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the pusher and puller threads."""
        if self._threads:
            return
        self._stop.clear()
        for name, target in (("sync-push", self._push_loop), ("sync-pull", self._pull_loop)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads and close the connections (a pending long-poll is cut)."""
        self._stop.set()
        self._wake.set()
        self._http.close()
        for t in self._threads:
            t.join(timeout)
        self._threads = []

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- observers and state -----------------------------------------------------------------------------------------
    def add_observer(self, fn: Callable[[SyncState], None]) -> None:
        """Call ``fn(state)`` (from a worker thread) whenever the state changes."""
        with self._lock:
            self._observers.append(fn)

    def state(self) -> SyncState:
        """The current snapshot."""
        with self._lock:
            return self._state

    def _update(self, **changes: Any) -> None:
        with self._lock:
            old = self._state
            if "online" in changes and changes["online"] != old.online:
                changes["since"] = datetime.now(UTC)
            new = replace(old, **changes)
            self._state = new
            observers = list(self._observers)
        if new != old:
            for fn in observers:
                try:
                    fn(new)
                except Exception:  # an observer's bug must not stop sync
                    log.exception("sync observer failed")

    def _contact(self, **changes: Any) -> None:
        self._update(online=True, last_contact=datetime.now(UTC), last_error=None, **changes)

    def _lost(self, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self._update(online=False, last_error=text, pending=self._safe_pending())

    def _safe_pending(self) -> int:
        try:
            return int(self._ledger.pending_count)
        except Exception:
            return -1

    def notify_appended(self) -> None:
        """Tell the pusher the ledger grew (push without waiting for the next heartbeat)."""
        self._update(pending=self._safe_pending())
        self._wake.set()

    # -- requests ------------------------------------------------------------------------------------------------
    def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        resp = self._http.request(method, url, **kw)
        if resp.status_code >= 500:
            raise httpx.HTTPStatusError(f"server error {resp.status_code}", request=resp.request, response=resp)
        return resp

    @staticmethod
    def _detail(resp: httpx.Response) -> str:
        try:
            body = resp.json()
        except ValueError:
            return resp.text[:200]
        if isinstance(body, Mapping):
            return str(body.get("reason") or body.get("detail") or body)
        return str(body)

    # -- claim ---------------------------------------------------------------------------------------------------
    def claim(self, check_in: Event) -> ClaimOutcome:
        """Claim the check-in's (election, voter) before the ballot is handed over; never blocks past the timeout.

        ``offline`` means the server could not answer in time: decide from the ledger and replica, record the
        check-in with ``data.offline`` and carry on.
        """
        if check_in.type is not EventType.CHECK_IN:
            raise ValueError(f"claim: expected a check_in event, got {check_in.type.value}")
        body = {
            "election": check_in.election,
            "voter": check_in.voter,
            "event_id": check_in.event_id,
            "station_id": check_in.station_id,
            "kind": check_in.data.get("kind"),
            "at": check_in.at.astimezone(UTC).isoformat(timespec="microseconds"),
        }
        t0 = time.perf_counter()
        try:
            resp = self._request("POST", "/v1/claims", json=body, timeout=self._claim_timeout)
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            self._lost(exc)
            return ClaimOutcome("offline", error=str(exc) or type(exc).__name__)
        rtt = (time.perf_counter() - t0) * 1000
        if resp.status_code != 200:
            # The server is there but refuses (bad request, revoked, wrong package): not an "offline" situation —
            # the caller must show it rather than silently go on.
            raise SyncError(f"claim refused ({resp.status_code}): {self._detail(resp)}", resp.status_code)
        data = resp.json()
        self._contact(claim_rtt_ms=rtt)
        return ClaimOutcome(str(data["result"]), holder=data.get("holder"), rtt_ms=rtt)

    # -- push ----------------------------------------------------------------------------------------------------
    def push_pending(self) -> int:
        """Push the whole outbox now, in batches; return how many events the server newly accepted."""
        total = 0
        while True:
            batch = self._ledger.unpushed(self._batch)
            if not batch:
                break
            resp = self._request("POST", "/v1/events", json={"events": [se.to_dict() for se in batch]})
            if resp.status_code not in (200, 409):
                raise SyncError(f"push refused ({resp.status_code}): {self._detail(resp)}", resp.status_code)
            data = resp.json()
            if "last_seq" not in data:
                raise SyncError(f"push refused ({resp.status_code}): {self._detail(resp)}", resp.status_code)
            # What the server holds is safe even if it refused the rest of the batch.
            if int(data["last_seq"]) > 0:
                self._ledger.mark_pushed(int(data["last_seq"]))
            total += int(data.get("accepted", 0))
            self._contact(pending=self._safe_pending())
            if resp.status_code == 409:
                raise SyncError(f"server refused seq {data.get('rejected_seq')}: {data.get('reason')}", 409)
            if len(batch) < self._batch:
                break
        return total

    def heartbeat(self) -> float:
        """Report status; measure and return the clock skew (server minus kiosk, ms)."""
        age = self.state().replica_age_s()
        body = {
            "pending": max(0, self._safe_pending()),
            "replica_cursor": self._int_cursor(),
            "replica_age_s": age,
            "client_time": datetime.now(UTC).isoformat(timespec="microseconds"),
            "skew_ms": self.state().clock_skew_ms,
            "station_id": self._station,
        }
        t0 = time.time()
        resp = self._request("POST", "/v1/heartbeat", json=body)
        t1 = time.time()
        if resp.status_code != 200:
            raise SyncError(f"heartbeat refused ({resp.status_code}): {self._detail(resp)}", resp.status_code)
        data = resp.json()
        # The server stamped its time somewhere in the round trip: assume the middle.
        skew = (_parse_time(data["server_time"]).timestamp() - (t0 + t1) / 2) * 1000
        self._contact(clock_skew_ms=skew, clock_warning=abs(skew) > self._skew_warn_ms)
        if abs(skew) > self._skew_warn_ms:
            log.warning("clock skew %.0f ms against the server", skew)
        return skew

    def _int_cursor(self) -> int:
        cur = self._ledger.replica_cursor
        return int(cur) if isinstance(cur, int) or (isinstance(cur, str) and cur.isdigit()) else 0

    def _push_loop(self) -> None:
        backoff = replace(self._backoff_proto, attempts=0)
        while not self._stop.is_set():
            try:
                self.push_pending()
                if time.monotonic() >= self._next_heartbeat:
                    self.heartbeat()
                    self._next_heartbeat = time.monotonic() + self._heartbeat_s
                backoff.reset()
                self._wake.wait(self._heartbeat_s)
                self._wake.clear()
            except Exception as exc:
                if self._stop.is_set():
                    break
                if isinstance(exc, httpx.TransportError | httpx.HTTPStatusError):
                    self._lost(exc)
                else:  # refused or a ledger problem: the server is there, but someone must look
                    log.error("push failed: %s", exc)
                    self._update(last_error=str(exc), pending=self._safe_pending())
                self._stop.wait(backoff.next_delay())

    # -- pull ----------------------------------------------------------------------------------------------------
    def pull_once(self, wait_s: float = 0.0) -> int:
        """One replica pull (long-poll up to ``wait_s``); return how many events it brought."""
        params = {"after": self._int_cursor(), "wait": wait_s, "conflicts_after": self._conflicts_seen}
        resp = self._request("GET", "/v1/checkins", params=params, timeout=httpx.Timeout(wait_s + 10))
        if resp.status_code != 200:
            raise SyncError(f"pull refused ({resp.status_code}): {self._detail(resp)}", resp.status_code)
        data = resp.json()
        try:
            sealed = [SealedEvent.from_dict(e) for e in data["events"]]
        except ChainError as exc:
            raise SyncError(f"pull: server sent a malformed event: {exc}") from None
        self._ledger.add_replica(sealed, cursor=int(data["cursor"]))
        new_conflicts: Sequence[Mapping[str, Any]] = data.get("conflicts") or []
        conflicts = self.state().conflicts
        if new_conflicts:
            self._conflicts_seen = max(int(c["id"]) for c in new_conflicts)
            conflicts = conflicts + tuple(new_conflicts)
            for c in new_conflicts:
                log.warning(
                    "conflict reported: %s/%s events %s and %s",
                    c["election"],
                    c["voter"],
                    c["first_event_id"],
                    c["second_event_id"],
                )
        self._contact(
            replica_cursor=self._ledger.replica_cursor,
            replica_updated_at=self._ledger.replica_updated_at,
            conflicts=conflicts,
        )
        return len(sealed)

    def _pull_loop(self) -> None:
        backoff = replace(self._backoff_proto, attempts=0)
        while not self._stop.is_set():
            try:
                self.pull_once(self._pull_wait)
                backoff.reset()
            except Exception as exc:
                if self._stop.is_set():
                    break
                if isinstance(exc, httpx.TransportError | httpx.HTTPStatusError):
                    self._lost(exc)
                else:
                    log.error("pull failed: %s", exc)
                    self._update(last_error=str(exc))
                self._stop.wait(backoff.next_delay())
