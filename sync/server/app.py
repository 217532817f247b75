"""The tally server's HTTP API (FastAPI), version 1.

Identity: every request must come over a connection whose client certificate the TLS layer verified
(``sync.server.tls``); the certificate says who the caller is (kiosk id + ledger key, or committee). Nothing the
client sends can change that — a kiosk's pushed events must carry the certificate's kiosk id and verify with the
certificate's ledger key, and its claims are recorded under the certificate's kiosk id.
Every ``/v1`` request also names the election package hash it holds (header ``X-Uketsuke-Package``); a kiosk with a
different package is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ballots.events import CheckInKind
from ballots.model import ElectionDefinition, is_decision_holder_key
from sync.pki import CertRole, ClientIdentity, PKIError, RevocationList, identity_from_der
from sync.server import committee
from sync.server import storage as st
from sync.server.refusals import RefusalAggregate, RefusalLimiter

__all__ = ["PACKAGE_HEADER", "ServedPackage", "create_app"]

log = logging.getLogger(__name__)

PACKAGE_HEADER = "X-Uketsuke-Package"
# Demo only (server started without TLS on loopback): who the caller claims to be.
DEMO_KIOSK_HEADER, DEMO_KEY_HEADER = "X-Uketsuke-Demo-Kiosk", "X-Uketsuke-Demo-Ledger-Key"
MAX_BATCH = 1000
MAX_WAIT_S = 30.0

ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class ServedPackage(Protocol):
    """What the server needs of the opened election package (``ballots.package.ElectionPackage``)."""

    @property
    def package_hash(self) -> str: ...
    @property
    def definition(self) -> ElectionDefinition: ...


# ---------------------------------------------------------------------------------------------------------------------
# Wire models (they are the OpenAPI document)

_ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
_HEX64 = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")


def _aware_iso(value: str) -> str:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date-time") from None
    if at.tzinfo is None:
        raise ValueError("must carry a time zone")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class ClaimIn(BaseModel):
    """Claim (election, voter) for the check-in event the kiosk is about to record."""

    model_config = ConfigDict(extra="forbid")
    election: str = _ID
    voter: str = Field(min_length=1, max_length=32, pattern=r"^[0-9]+$")
    event_id: str = _ID
    station_id: str = _ID
    kind: CheckInKind
    at: str = Field(max_length=40, description="when the ballot is handed over (ISO 8601 with zone)")

    _at = field_validator("at")(_aware_iso)


class Holder(BaseModel):
    """Who holds a claim."""

    event_id: str
    kiosk_id: str
    station_id: str
    kind: str
    at: str
    source: str


class ClaimOut(BaseModel):
    """``accepted``: hand over the ballot. ``already_voted``: stop; ``holder`` says where, when and how."""

    result: str = Field(description="accepted | already_voted")
    accepted: bool
    holder: Holder


class SealedIn(BaseModel):
    """One sealed ledger event (sync.chain.SealedEvent wire form)."""

    model_config = ConfigDict(extra="forbid")
    kiosk_id: str = _ID
    seq: int = Field(ge=1, le=2**53)
    prev_hash: str = _HEX64
    event: dict[str, Any]
    hash: str = _HEX64
    signature: str = Field(min_length=128, max_length=128, pattern=r"^[0-9a-f]{128}$")


class PushIn(BaseModel):
    """A batch of one kiosk's events in chain order."""

    model_config = ConfigDict(extra="forbid")
    events: list[SealedIn] = Field(min_length=1, max_length=MAX_BATCH)


class PushOut(BaseModel):
    """Where the kiosk's chain stands on the server after the batch; ``reason`` if part of it was refused."""

    last_seq: int
    last_hash: str
    accepted: int
    duplicates: int
    conflicts: int
    rejected_seq: int | None = None
    reason: str | None = None


class ConflictOut(BaseModel):
    """Two accepted check-ins for one (election, voter)."""

    id: int
    election: str
    voter: str
    first_event_id: str
    first_kiosk: str
    first_station: str
    first_at: str
    second_event_id: str
    second_kiosk: str
    second_station: str
    second_at: str
    detected_at: str
    first_voided: bool
    second_voided: bool


class PullOut(BaseModel):
    """Replicated events (check-ins and voids of every station) after the cursor."""

    events: list[dict[str, Any]]
    cursor: int = Field(description="pass as `after` next time")
    head: int
    server_time: str
    conflicts: list[ConflictOut] = Field(description="conflicts involving this kiosk with id > conflicts_after")


class HeartbeatIn(BaseModel):
    """What the kiosk reports about itself."""

    model_config = ConfigDict(extra="forbid")
    pending: int = Field(ge=0, le=2**53)
    replica_cursor: int = Field(ge=0, le=2**53)
    replica_age_s: float | None = Field(default=None, ge=0, le=1e9)
    client_time: str = Field(max_length=40)
    skew_ms: float | None = Field(default=None, ge=-1e12, le=1e12)
    station_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")

    _client_time = field_validator("client_time")(_aware_iso)


class HeartbeatOut(BaseModel):
    """Server time (for the kiosk's clock-skew measurement), the kiosk's chain position and its conflicts."""

    server_time: str
    last_seq: int
    last_hash: str
    head: int
    conflicts: int


class KioskOut(BaseModel):
    """Kiosk status as the server last saw it."""

    kiosk_id: str
    first_seen: str
    last_seen: str
    last_seq: int
    last_hash: str
    pending: int | None
    replica_cursor: int | None
    replica_age_s: float | None
    client_time: str | None
    skew_ms: float | None
    station_id: str | None


class StatusOut(BaseModel):
    """The calling client's own view."""

    client_id: str
    role: str
    server_time: str
    package_hash: str
    kiosk: KioskOut | None


class RejectionOut(BaseModel):
    """A recorded refusal, or ``count`` refusals of one kind that were counted rather than recorded one by one
    (from ``first_at`` to ``at``; ``sync.server.refusals``). Totals are the sum of ``count``."""

    id: int
    at: str
    stage: str
    client_id: str | None
    peer: str | None
    reason: str
    count: int = Field(default=1, description="refusals this row stands for (1 unless counted within a window)")
    first_at: str | None = Field(default=None, description="first refusal counted in this row (None when count is 1)")


# ---------------------------------------------------------------------------------------------------------------------
# Identity


class _Refusal(Exception):
    def __init__(self, status: int, reason: str, client_id: str | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.client_id = status, reason, client_id


@lru_cache(maxsize=4096)
def _identity_from_pem(pem: str) -> ClientIdentity:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    return identity_from_der(der)


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _AuthMiddleware:
    """Refuses (and records) any request without a valid, unrevoked client certificate, before routing."""

    def __init__(self, app: ASGIApp, server: _Server) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        peer = f"{client[0]}:{client[1]}" if client else None
        try:
            ident = self.server.identify(scope)
        except _Refusal as r:
            await self.server.record_rejection("auth", r.client_id, peer, r.reason)
            resp = JSONResponse({"detail": r.reason}, status_code=r.status)
            await resp(scope, receive, send)
            return
        scope.setdefault("state", {})["identity"] = ident
        await self.app(scope, receive, send)


class _Server:
    """Shared state of one running app: database, package, revocation list, long-poll wake-up."""

    def __init__(
        self,
        package: ServedPackage,
        db: st.Database,
        revocations: RevocationList | None,
        demo_loopback: bool,
        refusals: RefusalLimiter,
    ) -> None:
        self.package, self.db, self.revocations = package, db, revocations
        self.refusals = refusals
        self.demo_loopback = demo_loopback
        self.package_hash = package.package_hash
        self.elections = {e.id for e in package.definition.elections}
        self.stations = {s.id for s in package.definition.stations}
        register = getattr(package, "register", None)
        self._by_code: Callable[[str], Any] | None = getattr(register, "by_code", None)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Event()
        self.head = 0
        self.closing = False

    # -- identity ------------------------------------------------------------------------------------------------
    def identify(self, scope: Mapping[str, Any]) -> ClientIdentity:
        tls = (scope.get("extensions") or {}).get("tls")
        chain = tls.get("client_cert_chain") if isinstance(tls, Mapping) else None
        if chain:
            try:
                ident = _identity_from_pem(chain[0])
            except (PKIError, ValueError) as exc:
                raise _Refusal(403, f"client certificate not usable: {exc}") from None
            if self.revocations is not None:
                try:
                    revoked = self.revocations.is_revoked(ident.serial)
                except PKIError as exc:
                    # An unreadable CRL must not let a revoked kiosk back in: refuse until it is fixed.
                    raise _Refusal(503, f"revocation list unusable: {exc}", ident.client_id) from None
                if revoked:
                    raise _Refusal(
                        403,
                        f"certificate revoked ({ident.role.value} {ident.client_id}, serial {ident.serial:x})",
                        ident.client_id,
                    )
            return ident
        if self.demo_loopback:
            return self._demo_identity(scope)
        raise _Refusal(401, "no client certificate")

    def _demo_identity(self, scope: Mapping[str, Any]) -> ClientIdentity:
        client = scope.get("client")
        if not client or not _is_loopback(client[0]):
            raise _Refusal(401, "no client certificate (demo mode accepts loopback only)")
        headers = {k.decode("latin1").lower(): v.decode("latin1") for k, v in scope.get("headers", [])}
        kiosk, key = headers.get(DEMO_KIOSK_HEADER.lower()), headers.get(DEMO_KEY_HEADER.lower())
        if not kiosk or not key:
            raise _Refusal(401, "no client certificate")
        try:
            pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key))
        except ValueError:
            raise _Refusal(401, "demo ledger key is not 32 bytes of hex") from None
        return ClientIdentity(client_id=kiosk[:64], role=CertRole.KIOSK, serial=0, ledger_key=pub)

    def known_voter(self, code: str) -> bool:
        """True if the register has ``code`` (always true when the package carries no register, as in tests), or if
        ``code`` is a 決定書等所持者's synthetic key (法42条ただし書; docs/contracts.md): such a voter is by definition
        not in the register, and is still claimed here so it stays one ballot per decision per election."""
        if self._by_code is None:
            return True
        try:
            if self._by_code(code) is not None:
                return True
        except (KeyError, LookupError, ValueError):
            pass
        return is_decision_holder_key(code)

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called at start-up, on the serving loop: long-poll wake-ups are scheduled onto it."""
        self.loop = loop
        self._changed = asyncio.Event()

    # -- rejections ------------------------------------------------------------------------------------------------
    # Every refusal goes through the limiter: the first ones of a kind are recorded (and logged) in full, further ones
    # only counted and written as one row when their window closes (sync.server.refusals). A flood costs a counter
    # increment per refusal, not a database row and a log line.
    def _admit(self, stage: str, client_id: str | None, peer: str | None, reason: str) -> bool:
        if self.refusals.admit(stage, client_id, peer, reason):
            log.warning("refused (%s) %s %s: %s", stage, client_id or "-", peer or "-", reason)
            return True
        return False

    async def record_rejection(self, stage: str, client_id: str | None, peer: str | None, reason: str) -> None:
        """Record a refusal (or count it); returns once a row recorded in full is committed."""
        if self._admit(stage, client_id, peer, reason):
            # Shielded: a caller that goes away (or shutdown) must not cancel the queued row.
            write = self.db.submit_event(lambda c: st.op_reject(c, stage, client_id, peer, reason))
            await asyncio.shield(asyncio.wrap_future(write))

    def record_rejection_threadsafe(self, stage: str, peer: str, reason: str) -> None:
        """From the TLS layer (any thread or the loop): record (or count) a refused handshake without waiting."""
        if self._admit(stage, None, peer, reason):
            self.db.submit_event(lambda c: st.op_reject(c, stage, None, peer, reason))

    def rejector(self, peer: str | None) -> st.Rejector:
        """For a storage operation that may refuse (push, heartbeat): records in the operation's own transaction what
        the limiter admits. The decision is taken once per refusal, so the writer re-running a failed batch neither
        counts it twice nor loses it."""
        decided: dict[tuple[str, str | None, str], bool] = {}

        def reject(conn: st.Conn, stage: str, client_id: str | None, _peer: str | None, reason: str) -> None:
            key = (stage, client_id, reason)
            if key not in decided:
                decided[key] = self._admit(stage, client_id, peer, reason)
            if decided[key]:
                st.op_reject(conn, stage, client_id, peer, reason)

        return reject

    async def write_counted(self, aggregates: list[RefusalAggregate]) -> None:
        """Write the rows of refusals that were only counted (a closed window, or everything at shutdown)."""
        if not aggregates:
            return
        for a in aggregates:
            log.warning("refused (%s) %s %s: %s", a.stage, a.client_id or "-", a.peer or "-", a.reason)
        try:
            # Shielded: shutdown cancelling the periodic writer must not drop the counts it is writing.
            await asyncio.shield(
                asyncio.wrap_future(self.db.submit_event(lambda c: st.op_reject_counted(c, aggregates)))
            )
        except Exception:
            # The counts are in the log above; the server keeps serving.
            log.exception("could not record %d counted refusals", sum(a.count for a in aggregates))

    async def write_closed_windows(self) -> None:
        """Until cancelled: write the counts of each refusal window once it closes."""
        while True:
            await asyncio.sleep(self.refusals.limits.flush_interval_s)
            await self.write_counted(self.refusals.due())

    # -- long-poll -------------------------------------------------------------------------------------------------
    def on_commit(self, cursor: int) -> None:
        """From the writer thread: wake long-polls."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._wake, cursor)

    def _wake(self, cursor: int) -> None:
        self.head = max(self.head, cursor)
        self._changed.set()
        self._changed = asyncio.Event()

    def changed(self) -> asyncio.Event:
        return self._changed

    def wake_all(self) -> None:
        self.closing = True
        self._changed.set()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _peer(request: Request) -> str | None:
    client = request.client
    return f"{client.host}:{client.port}" if client else None


def _identity(request: Request) -> ClientIdentity:
    ident: ClientIdentity = request.scope["state"]["identity"]
    return ident


async def _check_package(
    request: Request,
    x_uketsuke_package: Annotated[str, Header(description="hex SHA-256 of the election package the caller holds")],
) -> None:
    server: _Server = request.app.state.server
    if x_uketsuke_package != server.package_hash:
        ident = _identity(request)
        reason = (
            f"package hash mismatch: caller holds {x_uketsuke_package[:16]!r}…, "
            f"server serves {server.package_hash[:16]}…"
        )
        await server.record_rejection("package", ident.client_id, _peer(request), reason)
        raise HTTPException(409, reason)


def _kiosk(request: Request) -> ClientIdentity:
    ident = _identity(request)
    if ident.role is not CertRole.KIOSK or ident.ledger_key is None:
        raise HTTPException(403, "kiosk certificate required")
    return ident


def _committee(request: Request) -> ClientIdentity:
    ident = _identity(request)
    if ident.role is not CertRole.COMMITTEE:
        raise HTTPException(403, "committee certificate required")
    return ident


Kiosk = Annotated[ClientIdentity, Depends(_kiosk)]
Anyone = Annotated[ClientIdentity, Depends(_identity)]
Committee = Annotated[ClientIdentity, Depends(_committee)]


def create_app(
    package: ServedPackage,
    db: st.Database,
    *,
    ca_dir: Path | None = None,
    demo_loopback: bool = False,
    refusals: RefusalLimiter | None = None,
) -> Any:
    """Build the ASGI app. ``ca_dir`` holds ``crl.pem`` (revocations are re-read when it changes).

    ``demo_loopback`` (no TLS, demo only): callers on 127.0.0.1 identify by header; never use it on a network.
    ``refusals``: how many refusals are recorded in full (default ``RefusalLimits()``); the rest are counted.
    """
    revocations = RevocationList(ca_dir) if ca_dir is not None else None
    server = _Server(package, db, revocations, demo_loopback, refusals or RefusalLimiter())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        server.bind_loop(asyncio.get_running_loop())
        server.head = await asyncio.wrap_future(db.read(st.read_head))
        db.add_commit_listener(server.on_commit)
        flusher = asyncio.create_task(server.write_closed_windows())
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            server.wake_all()
            await server.write_counted(server.refusals.drain())  # what was only counted is written at shutdown

    app = FastAPI(
        lifespan=lifespan,
        title="Uketsuke tally server",
        version="1",
        description="Claims, event sync, replica pull and kiosk status between polling-station kiosks and the "
        "election committee's tally server. Every request needs a client certificate of the committee CA.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.server = server

    v1 = [Depends(_check_package)]

    @app.post("/v1/claims", response_model=ClaimOut, dependencies=v1, tags=["sync"])
    async def claim(body: ClaimIn, who: Kiosk) -> ClaimOut:
        """Atomically claim (election, voter) before handing over the ballot."""
        if body.election not in server.elections:
            raise HTTPException(422, f"election {body.election!r} is not in the election package")
        if body.station_id not in server.stations:
            raise HTTPException(422, f"station {body.station_id!r} is not in the election package")
        if not server.known_voter(body.voter):
            raise HTTPException(422, f"voter {body.voter} is not in the register")
        req = st.ClaimRequest(body.election, body.voter, body.event_id, body.station_id, body.kind.value, body.at)
        res = await asyncio.wrap_future(db.submit_claim(lambda c: committee.op_claim_recorded(c, who.client_id, req)))
        return ClaimOut(
            result="accepted" if res.accepted else "already_voted", accepted=res.accepted, holder=Holder(**res.holder)
        )

    @app.post(
        "/v1/events",
        response_model=PushOut,
        dependencies=v1,
        tags=["sync"],
        responses={409: {"model": PushOut, "description": "part of the batch refused; `reason` says why"}},
    )
    async def push(body: PushIn, who: Kiosk, request: Request) -> Any:
        """Push sealed events in chain order; idempotent by event; signature and chain verified per kiosk."""
        events = [e.model_dump() for e in body.events]
        key = who.ledger_key
        assert key is not None
        key_hex = who.ledger_key_hex or ""
        # Signatures are checked here, in a worker thread, not in the writer: a big batch must not hold the write
        # lock (SQLite has one) while claims queue behind it.
        verified = await asyncio.to_thread(st.verify_batch, events, who.client_id, key)
        reject = server.rejector(_peer(request))
        res = await asyncio.wrap_future(
            db.submit_event(lambda c: st.op_push(c, who.client_id, key_hex, verified, reject))
        )
        out = PushOut(
            last_seq=res.last_seq,
            last_hash=res.last_hash,
            accepted=res.accepted,
            duplicates=res.duplicates,
            conflicts=res.conflicts,
            rejected_seq=res.rejected_seq,
            reason=res.reason,
        )
        if res.reason is not None:
            return JSONResponse(out.model_dump(), status_code=409)
        return out

    @app.get("/v1/checkins", response_model=PullOut, dependencies=v1, tags=["sync"])
    async def pull(
        who: Kiosk,
        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
        wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S, description="long-poll seconds")] = 0.0,
        conflicts_after: Annotated[int, Query(ge=0, le=2**53)] = 0,
    ) -> PullOut:
        """Everyone's check-ins and voids after ``after``; waits up to ``wait`` s for new ones."""
        deadline = time.monotonic() + wait
        while True:
            woken = server.changed()  # taken before reading: a commit in between still wakes us
            rows = await asyncio.wrap_future(db.read(lambda c: st.read_pull(c, after, limit)))
            left = deadline - time.monotonic()
            if rows or left <= 0 or server.closing:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout=left)
        conflicts = await asyncio.wrap_future(db.read(lambda c: st.read_conflicts(c, who.client_id, conflicts_after)))
        return PullOut(
            events=[json.loads(s) for _, s in rows],
            cursor=rows[-1][0] if rows else after,
            head=max(server.head, rows[-1][0] if rows else 0),
            server_time=_now(),
            conflicts=[ConflictOut(**c) for c in conflicts],
        )

    @app.post("/v1/heartbeat", response_model=HeartbeatOut, dependencies=v1, tags=["sync"])
    async def heartbeat(body: HeartbeatIn, who: Kiosk, request: Request) -> HeartbeatOut:
        """Report the kiosk's state; answers server time for clock-skew measurement."""
        report = st.KioskReport(
            body.pending, body.replica_cursor, body.replica_age_s, body.client_time, body.skew_ms, body.station_id
        )
        key_hex = who.ledger_key_hex or ""
        reject = server.rejector(_peer(request))
        res = await asyncio.wrap_future(
            db.submit_event(lambda c: st.op_heartbeat(c, who.client_id, key_hex, report, reject))
        )
        if isinstance(res, str):
            raise HTTPException(409, res)
        conflicts = await asyncio.wrap_future(db.read(lambda c: st.read_conflicts(c, who.client_id)))
        return HeartbeatOut(
            server_time=_now(), last_seq=res[0], last_hash=res[1], head=server.head, conflicts=len(conflicts)
        )

    @app.get("/v1/status", response_model=StatusOut, dependencies=v1, tags=["sync"])
    async def status(who: Anyone) -> StatusOut:
        """Who the server thinks the caller is, and (for a kiosk) its status row."""
        rows = await asyncio.wrap_future(db.read(lambda c: st.read_kiosks(c, who.client_id)))
        kiosk_row = KioskOut(**rows[0]) if rows and who.role is CertRole.KIOSK else None
        return StatusOut(
            client_id=who.client_id,
            role=who.role.value,
            server_time=_now(),
            package_hash=server.package_hash,
            kiosk=kiosk_row,
        )

    @app.get("/v1/conflicts", response_model=list[ConflictOut], dependencies=v1, tags=["sync", "committee"])
    async def conflicts(
        who: Anyone,
        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> list[ConflictOut]:
        """Conflicts: all of them for the committee, those involving the calling kiosk for a kiosk."""
        only = None if who.role is CertRole.COMMITTEE else who.client_id
        rows = await asyncio.wrap_future(db.read(lambda c: st.read_conflicts(c, only, after, limit)))
        return [ConflictOut(**r) for r in rows]

    @app.get("/v1/kiosks", response_model=list[KioskOut], dependencies=v1, tags=["committee"])
    async def kiosks(who: Committee) -> list[KioskOut]:
        """Every kiosk's status (committee only)."""
        rows = await asyncio.wrap_future(db.read(st.read_kiosks))
        return [KioskOut(**r) for r in rows]

    @app.get("/v1/rejections", response_model=list[RejectionOut], dependencies=v1, tags=["committee"])
    async def rejections(
        who: Committee,
        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> list[RejectionOut]:
        """Recorded refusals with their reasons (committee only); a row with ``count`` N stands for N refusals."""
        rows = await asyncio.wrap_future(db.read(lambda c: st.read_rejections(c, after, limit)))
        return [RejectionOut(**r) for r in rows]

    committee.install(app)  # the committee's endpoints (sync.server.committee)

    wrapped = _AuthMiddleware(app, server)
    wrapped.state = app.state  # type: ignore[attr-defined]  # let the runner reach the server object
    return wrapped
