"""Tally-server storage: the same SQL on SQLite and PostgreSQL, written through group-committing writer threads.

Why writer threads: SQLite allows one writer, and committing each claim alone would cap the server at the fsync rate.
So every write is an *operation* (a function of a connection) queued to a writer, which runs everything waiting in
one transaction and resolves each caller's future only after COMMIT — nobody is told "accepted" before it is durable.

- SQLite: one writer thread does claims and pushes.
- PostgreSQL: several claim writers (claims are single primary-key inserts, safe to run concurrently — the key, not a
  prior SELECT, decides the winner) and exactly one event writer, so event cursors are committed in cursor order and a
  pulling kiosk can never skip a cursor that commits late.

Reads (pull, status, conflicts) use separate connections in a small thread pool.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlparse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ballots.events import Event, EventType
from sync.chain import GENESIS, ChainError, SealedEvent, verify_sealed
from sync.server.migrations import MIGRATIONS
from sync.server.refusals import RefusalAggregate

__all__ = [
    "ClaimRequest",
    "ClaimResult",
    "Database",
    "PushResult",
    "Rejector",
    "StorageError",
    "VerifiedBatch",
    "connect",
    "parse_database_url",
    "verify_batch",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

# Pulled by kiosks for their replica: the check-ins and the voids that may cancel them. Nothing else leaves the server
# towards a kiosk (staff sign-ins, record views … are the committee's business).
REPLICATED_TYPES = (EventType.CHECK_IN.value, EventType.VOID.value)


class StorageError(RuntimeError):
    """The database cannot be used (wrong URL, other election's database, migration failure)."""


def utc_now() -> str:
    """Server timestamps: ISO 8601 UTC with microseconds (same text in both databases)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def parse_database_url(url: str) -> tuple[str, str]:
    """Split ``sqlite:///path`` or ``postgresql://…`` into (dialect, target); raise StorageError otherwise."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite://") :]
        if not path.startswith("/") or path == "/":
            raise StorageError(f"database URL {url!r}: use sqlite:///relative/path or sqlite:////absolute/path")
        path = path[1:]
        if not path:
            raise StorageError(f"database URL {url!r}: no file name")
        return "sqlite", path
    if parsed.scheme in ("postgresql", "postgres"):
        return "postgres", url
    raise StorageError(f"database URL {url!r}: expected sqlite:///… or postgresql://…")


class Conn(Protocol):
    """What the operations need from a connection: parameterised execute with ``?`` placeholders."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None: ...
    def in_list(self, values: Sequence[Any]) -> tuple[str, list[Any]]: ...
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class _SqliteConn:
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are opened explicitly (BEGIN IMMEDIATE takes the write lock up front, so a
        # batch never fails half-way on a lock upgrade).
        self._c = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._c.execute("PRAGMA journal_mode=WAL")
        self._c.execute("PRAGMA synchronous=FULL")
        self._c.execute("PRAGMA foreign_keys=ON")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._c.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._c.executemany(sql, rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Plain bulk insert (our own table and column names only)."""
        marks = ", ".join("?" * len(columns))
        self._c.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def in_list(self, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``IN (…)`` with one placeholder per value (SQLite allows 32766 variables)."""
        return f"IN ({', '.join('?' * len(values))})", list(values)

    def begin(self) -> None:
        self._c.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._c.execute("COMMIT")

    def rollback(self) -> None:
        if self._c.in_transaction:
            self._c.execute("ROLLBACK")

    def close(self) -> None:
        self._c.close()


class _PgConn:
    dialect = "postgres"

    def __init__(self, dsn: str) -> None:
        import psycopg  # imported here: SQLite-only installs and kiosks never need it

        self._c = psycopg.connect(dsn, autocommit=True)
        self._in_tx = False

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        # Only our own SQL comes here and none of it contains a literal '?'.
        return self._c.execute(sql.replace("?", "%s"), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        # psycopg pipelines executemany: one round trip for the whole batch.
        with self._c.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """COPY: several times faster than row inserts for a pushed batch (our own table and column names only)."""
        with self._c.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def in_list(self, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``= ANY(array)``: one parameter, whatever the length."""
        return "= ANY(?)", [list(values)]

    def begin(self) -> None:
        self._c.execute("BEGIN")
        self._in_tx = True

    def commit(self) -> None:
        self._c.execute("COMMIT")
        self._in_tx = False

    def rollback(self) -> None:
        if self._in_tx:
            try:
                self._c.execute("ROLLBACK")
            finally:
                self._in_tx = False

    def close(self) -> None:
        self._c.close()


def connect(url: str) -> Conn:
    """Open one connection for ``url``."""
    dialect, target = parse_database_url(url)
    try:
        return _SqliteConn(target) if dialect == "sqlite" else _PgConn(target)
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(f"{url}: cannot open: {exc}") from None
    except Exception as exc:  # psycopg.OperationalError and friends, without importing psycopg for SQLite users
        raise StorageError(f"{_redact(url)}: cannot connect: {exc}") from None


def _redact(url: str) -> str:
    p = urlparse(url)
    if p.password:
        return url.replace(f":{p.password}@", ":***@")
    return url


def migrate(conn: Conn) -> list[int]:
    """Bring the schema up to date; return the versions applied now."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    done = {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for m in MIGRATIONS:
        if m.version in done:
            continue
        conn.begin()
        try:
            for stmt in m.sqlite if conn.dialect == "sqlite" else m.postgres:
                conn.execute(stmt)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (m.version, m.name, utc_now()),
            )
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        applied.append(m.version)
    return applied


# ---------------------------------------------------------------------------------------------------------------------
# Operations (run inside a writer's transaction)


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """An online claim: the kiosk is about to hand ``voter`` the ballot of ``election``, as event ``event_id``."""

    election: str
    voter: str
    event_id: str
    station_id: str
    kind: str
    at: str


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """accepted, or already voted with who holds the claim."""

    accepted: bool
    holder: dict[str, Any]


@dataclass(slots=True)
class PushResult:
    """Outcome of one pushed batch: accepted up to ``last_seq``; ``rejected`` says why the rest was refused."""

    last_seq: int
    last_hash: str
    accepted: int = 0
    duplicates: int = 0
    rejected_seq: int | None = None
    reason: str | None = None
    max_cursor: int = 0
    conflicts: int = 0


def _claim_holder(conn: Conn, election: str, voter: str, gen: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT event_id, kiosk_id, station_id, kind, at, source FROM claims "
        "WHERE election = ? AND voter = ? AND gen = ?",
        (election, voter, gen),
    ).fetchone()
    if row is None:
        return None
    return {
        "event_id": row[0],
        "kiosk_id": row[1],
        "station_id": row[2],
        "kind": row[3],
        "at": row[4],
        "source": row[5],
    }


def _generation(conn: Conn, election: str, voter: str) -> int:
    # Releases are numbered 0..n-1 with no holes, so the live generation is their count.
    return int(
        conn.execute("SELECT COUNT(*) FROM releases WHERE election = ? AND voter = ?", (election, voter)).fetchone()[0]
    )


def op_claim(conn: Conn, kiosk_id: str, req: ClaimRequest) -> ClaimResult:
    """Claim (election, voter) by primary-key insert; the database, not a prior read, decides who wins.

    The live generation is computed inside the INSERT itself, so a winner costs one statement and a loser two.
    """
    won = conn.execute(
        "INSERT INTO claims (election, voter, gen, event_id, kiosk_id, station_id, kind, at, source, claimed_at) "
        "SELECT ?, ?, (SELECT COUNT(*) FROM releases WHERE election = ? AND voter = ?), ?, ?, ?, ?, ?, 'online', ? "
        "ON CONFLICT DO NOTHING RETURNING gen",
        (
            req.election,
            req.voter,
            req.election,
            req.voter,
            req.event_id,
            kiosk_id,
            req.station_id,
            req.kind,
            req.at,
            utc_now(),
        ),
    ).fetchone()
    if won is not None:
        return ClaimResult(
            True,
            {
                "event_id": req.event_id,
                "kiosk_id": kiosk_id,
                "station_id": req.station_id,
                "kind": req.kind,
                "at": req.at,
                "source": "online",
            },
        )
    holder = _claim_holder(conn, req.election, req.voter, _generation(conn, req.election, req.voter))
    if holder is None:  # cannot happen: we lost to a row that is committed or ours to see
        raise StorageError(f"claim {req.election}/{req.voter}: no holder after a refused insert")
    # A retry of our own claim (the first answer was lost) is still ours — but only from the kiosk that made it:
    # another kiosk naming the holder's event id (by accident or on purpose) is refused like any other loser.
    ours = holder["event_id"] == req.event_id and holder["kiosk_id"] == kiosk_id
    return ClaimResult(accepted=ours, holder=holder)


def _kiosk_row(
    conn: Conn, kiosk_id: str, ledger_key: str, now: str, register: bool = True
) -> tuple[int, str] | str | None:
    """(last_seq, last_hash) of the kiosk; a reason string if its key changed; None if unknown and not registered.

    ``register``: record the kiosk (and its ledger key, from its certificate) at first contact.
    """
    row = conn.execute("SELECT ledger_key, last_seq, last_hash FROM kiosks WHERE kiosk_id = ?", (kiosk_id,)).fetchone()
    if row is None:
        if not register:
            return None
        conn.execute(
            "INSERT INTO kiosks (kiosk_id, ledger_key, first_seen, last_seen, last_seq, last_hash) "
            "VALUES (?, ?, ?, ?, 0, ?)",
            (kiosk_id, ledger_key, now, now, GENESIS),
        )
        return 0, GENESIS
    if row[0] != ledger_key:
        return (
            f"kiosk {kiosk_id}: the certificate's ledger key differs from the key registered at first contact "
            "(a re-issued certificate must keep the kiosk's ledger key)"
        )
    return int(row[1]), str(row[2])


def _is_voided(conn: Conn, event_id: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM events WHERE target = ? AND type = ? LIMIT 1", (event_id, EventType.VOID.value)
        ).fetchone()
        is not None
    )


def _apply_check_in(conn: Conn, se: SealedEvent, body: dict[str, Any], now: str) -> bool:
    """Claim for a pushed check-in; True if it became a conflict (a second accepted check-in)."""
    if _is_voided(conn, se.event_id):
        return False  # its void arrived first (from another kiosk): it holds nothing
    election, voter = str(body["election"]), str(body["voter"])
    kind = str(body.get("data", {}).get("kind", ""))
    gen = _generation(conn, election, voter)
    won = conn.execute(
        "INSERT INTO claims (election, voter, gen, event_id, kiosk_id, station_id, kind, at, source, claimed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'push', ?) ON CONFLICT DO NOTHING RETURNING gen",
        (election, voter, gen, se.event_id, se.kiosk_id, body["station_id"], kind, body["at"], now),
    ).fetchone()
    if won is not None:
        return False
    holder = _claim_holder(conn, election, voter, gen)
    if holder is None or holder["event_id"] == se.event_id:
        return False  # the online claim of this very check-in: the normal case
    conn.execute(
        "INSERT INTO conflicts (election, voter, first_event_id, first_kiosk, first_station, first_at, "
        "second_event_id, "
        "second_kiosk, second_station, second_at, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (
            election,
            voter,
            holder["event_id"],
            holder["kiosk_id"],
            holder["station_id"],
            holder["at"],
            se.event_id,
            se.kiosk_id,
            body["station_id"],
            body["at"],
            now,
        ),
    )
    log.warning("conflict: %s/%s second check-in %s from %s", election, voter, se.event_id, se.kiosk_id)
    return True


def _apply_void(conn: Conn, target: str, void_event_id: str, now: str) -> None:
    """A void of the check-in holding a claim releases it; a still-valid conflicting check-in then holds the claim."""
    row = conn.execute(
        "SELECT election, voter, gen FROM claims WHERE event_id = ? ORDER BY gen DESC LIMIT 1", (target,)
    ).fetchone()
    if row is None:
        return
    election, voter, gen = str(row[0]), str(row[1]), int(row[2])
    if gen != _generation(conn, election, voter):
        return  # already released
    conn.execute(
        "INSERT INTO releases (election, voter, gen, void_event_id, released_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (election, voter, gen, void_event_id, now),
    )
    # The voter was checked in twice (a conflict) and the holder was voided: the other check-in still stands, so it
    # must hold the claim, or the voter could be issued a third ballot.
    for second_id, kiosk, station, at in conn.execute(
        "SELECT second_event_id, second_kiosk, second_station, second_at FROM conflicts "
        "WHERE first_event_id = ? ORDER BY id",
        (target,),
    ).fetchall():
        if _is_voided(conn, second_id):
            continue
        conn.execute(
            "INSERT INTO claims (election, voter, gen, event_id, kiosk_id, station_id, kind, at, source, claimed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, '', ?, 'conflict', ?) ON CONFLICT DO NOTHING",
            (election, voter, gen + 1, second_id, kiosk, station, at, now),
        )
        break


MAX_REASON = 2000


def op_reject(conn: Conn, stage: str, client_id: str | None, peer: str | None, reason: str) -> None:
    """Record one refusal and its reason (the server decides first whether it is recorded in full:
    ``sync.server.refusals``)."""
    conn.execute(
        "INSERT INTO rejections (at, stage, client_id, peer, reason) VALUES (?, ?, ?, ?, ?)",
        (utc_now(), stage, client_id, peer, reason[:MAX_REASON]),
    )


# How an operation records a refusal in its own transaction, (conn, stage, client_id, peer, reason): ``op_reject``,
# or the server's version that records in full only what its refusal limiter admits.
Rejector = Callable[[Conn, str, str | None, str | None, str], None]


def op_reject_counted(conn: Conn, aggregates: Sequence[RefusalAggregate]) -> None:
    """Record refusals that were counted, not recorded one by one: one row each with its ``count`` (``at`` = the
    last refusal counted, ``first_at`` = the first)."""
    conn.executemany(
        "INSERT INTO rejections (at, stage, client_id, peer, reason, count, first_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(a.last_at, a.stage, a.client_id, a.peer, a.reason[:MAX_REASON], a.count, a.first_at) for a in aggregates],
    )


@dataclass(frozen=True, slots=True)
class VerifiedBatch:
    """A pushed batch after the checks that need no database: parsed, hash, signature and body verified.

    ``events`` is the verified prefix; ``rejected_seq``/``reason`` describe the first event that failed, if any.
    Done outside the writer (``verify_batch``), so the signature work of a big batch never holds the write lock.
    """

    events: list[tuple[SealedEvent, Event]]
    rejected_seq: int | None = None
    reason: str | None = None


def verify_batch(events: Sequence[Any], kiosk_id: str, ledger_key: Ed25519PublicKey) -> VerifiedBatch:
    """Parse and verify each event (its kiosk is the certificate's, hash, Ed25519 signature, fields), in order."""
    ok: list[tuple[SealedEvent, Event]] = []
    for raw in events:
        try:
            se = SealedEvent.from_dict(raw)
        except ChainError as exc:
            return VerifiedBatch(ok, None, str(exc))
        if se.kiosk_id != kiosk_id:
            reason = f"seq {se.seq}: event names kiosk {se.kiosk_id!r} but the certificate is kiosk {kiosk_id!r}"
            return VerifiedBatch(ok, se.seq, reason)
        try:
            ev = verify_sealed(se, ledger_key)
        except ChainError as exc:
            return VerifiedBatch(ok, se.seq, f"tampered: {exc}")
        ok.append((se, ev))
    return VerifiedBatch(ok)


def op_push(
    conn: Conn, kiosk_id: str, ledger_key_hex: str, batch: VerifiedBatch, reject: Rejector = op_reject
) -> PushResult:
    """Store one verified batch of a kiosk's events, in chain order, stopping at the first refusal.

    Checked here, against the stored chain: the certificate's kiosk id, contiguous seq, the hash link, and that the
    event id is new (a replay otherwise). A retry of events already stored is acknowledged (idempotent). A refusal —
    from here or from ``verify_batch`` — is recorded with its reason; the accepted prefix is kept.
    """
    now = utc_now()
    state = _kiosk_row(conn, kiosk_id, ledger_key_hex, now, register=False)
    if isinstance(state, str):
        reject(conn, "push", kiosk_id, None, state)
        return PushResult(0, GENESIS, reason=state)
    stored_seq, stored_hash = state if state is not None else (0, GENESIS)
    res = PushResult(stored_seq, stored_hash)
    parsed = batch.events
    # Two queries answer every duplicate and replay question of the batch.
    old = [se.seq for se, _ in parsed if se.seq <= stored_seq]
    existing: dict[int, str] = {}
    if old:
        rows = conn.execute(
            "SELECT seq, hash FROM events WHERE kiosk_id = ? AND seq >= ? AND seq <= ?", (kiosk_id, min(old), max(old))
        ).fetchall()
        existing = {int(q): str(h) for q, h in rows}
    fresh_ids = [ev.event_id for se, ev in parsed if se.seq > stored_seq]
    taken: dict[str, tuple[str, int]] = {}
    if fresh_ids:
        frag, params = conn.in_list(fresh_ids)
        taken = {
            str(e): (str(k), int(q))
            for e, k, q in conn.execute(f"SELECT event_id, kiosk_id, seq FROM events WHERE event_id {frag}", params)
        }
    last_seq, last_hash = stored_seq, stored_hash
    accepted: list[tuple[SealedEvent, Event]] = []
    in_batch: dict[int, str] = {}
    ids_in_batch: dict[str, int] = {}
    for se, ev in parsed:
        reason = None
        if se.kiosk_id != kiosk_id:
            reason = f"seq {se.seq}: event names kiosk {se.kiosk_id!r} but the certificate is kiosk {kiosk_id!r}"
        elif se.seq <= last_seq:
            if (existing.get(se.seq) or in_batch.get(se.seq)) == se.hash:
                res.duplicates += 1  # a retry of something already stored: idempotent
                continue
            reason = f"fork: seq {se.seq} is already recorded with a different hash"
        elif se.seq != last_seq + 1:
            reason = f"gap: expected seq {last_seq + 1}, got seq {se.seq}"
        elif se.prev_hash != last_hash:
            reason = f"chain broken: prev_hash of seq {se.seq} does not match seq {last_seq}"
        else:
            prior = taken.get(se.event_id) or (
                (kiosk_id, ids_in_batch[se.event_id]) if se.event_id in ids_in_batch else None
            )
            if prior is not None:
                reason = f"replay: event {se.event_id} is already recorded as kiosk {prior[0]} seq {prior[1]}"
        if reason is not None:
            res.rejected_seq, res.reason = se.seq, reason
            break
        accepted.append((se, ev))
        in_batch[se.seq] = se.hash
        ids_in_batch[se.event_id] = se.seq
        last_seq, last_hash = se.seq, se.hash
    else:
        res.rejected_seq, res.reason = batch.rejected_seq, batch.reason
    if accepted:
        conn.insert_rows("events", _EVENT_COLUMNS, [_event_row(se, ev, now) for se, ev in accepted])
        # One event writer: the newest cursor is ours.
        res.max_cursor = int(conn.execute("SELECT MAX(cursor) FROM events").fetchone()[0])
        res.conflicts = _apply(conn, accepted, now)
        res.accepted = len(accepted)
        if state is None:
            _kiosk_row(conn, kiosk_id, ledger_key_hex, now)
        conn.execute(
            "UPDATE kiosks SET last_seq = ?, last_hash = ?, last_seen = ? WHERE kiosk_id = ?",
            (last_seq, last_hash, now, kiosk_id),
        )
    res.last_seq, res.last_hash = last_seq, last_hash
    if res.reason is not None:
        reject(conn, "push", kiosk_id, None, res.reason)
    return res


_EVENT_COLUMNS = (
    "event_id",
    "kiosk_id",
    "seq",
    "type",
    "election",
    "voter",
    "station_id",
    "at",
    "hash",
    "target",
    "sealed",
    "received_at",
)


def _event_row(se: SealedEvent, ev: Event, now: str) -> tuple[Any, ...]:
    target = str(ev.data.get("target")) if ev.type is EventType.VOID else None
    return (
        se.event_id,
        se.kiosk_id,
        se.seq,
        ev.type.value,
        ev.election,
        ev.voter,
        ev.station_id,
        se.body["at"],
        se.hash,
        target,
        json.dumps(se.to_dict(), ensure_ascii=False, separators=(",", ":")),
        now,
    )


def _apply(conn: Conn, accepted: list[tuple[SealedEvent, Event]], now: str) -> int:
    """Claims for the batch's check-ins, releases for its voids; return how many conflicts were found."""
    checkins = [(se, ev) for se, ev in accepted if ev.type is EventType.CHECK_IN]
    keys = [(str(ev.election), str(ev.voter)) for _, ev in checkins]
    has_void = any(ev.type is EventType.VOID for _, ev in accepted)
    if has_void or len(set(keys)) != len(keys):
        # Order matters inside this batch (a void, or one voter twice): one event at a time, as they happened.
        conflicts = 0
        for se, ev in accepted:
            if ev.type is EventType.CHECK_IN:
                conflicts += int(_apply_check_in(conn, se, dict(se.body), now))
            elif ev.type is EventType.VOID and ev.data.get("target"):
                _apply_void(conn, str(ev.data["target"]), se.event_id, now)
        return conflicts
    if not checkins:
        return 0
    # The common case: distinct voters, no voids — a handful of set-wise statements for the whole batch.
    frag, params = conn.in_list([se.event_id for se, _ in checkins])
    voided = {
        str(t) for (t,) in conn.execute(f"SELECT target FROM events WHERE type = 'void' AND target {frag}", params)
    }
    live = [(se, ev) for se, ev in checkins if se.event_id not in voided]
    if not live:
        return 0
    # Per election, so the lookups use the (election, voter, …) primary keys instead of scanning the tables.
    by_election: dict[str, set[str]] = {}
    for _, ev in live:
        by_election.setdefault(str(ev.election), set()).add(str(ev.voter))
    gens: dict[tuple[str, str], int] = {}
    for election, voters in by_election.items():
        vfrag, vparams = conn.in_list(sorted(voters))
        for v, n in conn.execute(
            f"SELECT voter, COUNT(*) FROM releases WHERE election = ? AND voter {vfrag} GROUP BY voter",
            [election, *vparams],
        ):
            gens[(election, str(v))] = int(n)

    def gen_of(ev: Event) -> int:
        return gens.get((str(ev.election), str(ev.voter)), 0)

    conn.executemany(
        "INSERT INTO claims (election, voter, gen, event_id, kiosk_id, station_id, kind, at, source, claimed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'push', ?) ON CONFLICT DO NOTHING",
        [
            (
                ev.election,
                ev.voter,
                gen_of(ev),
                se.event_id,
                se.kiosk_id,
                ev.station_id,
                str(ev.data.get("kind", "")),
                se.body["at"],
                now,
            )
            for se, ev in live
        ],
    )
    holders: dict[tuple[str, str, int], tuple[str, str, str, str]] = {}
    for election, voters in by_election.items():
        vfrag, vparams = conn.in_list(sorted(voters))
        for v, g, eid, k, stn, at in conn.execute(
            f"SELECT voter, gen, event_id, kiosk_id, station_id, at FROM claims WHERE election = ? AND voter {vfrag}",
            [election, *vparams],
        ):
            holders[(election, str(v), int(g))] = (str(eid), str(k), str(stn), str(at))
    rows = []
    for se, ev in live:
        holder = holders.get((str(ev.election), str(ev.voter), gen_of(ev)))
        if holder is None or holder[0] == se.event_id:
            continue
        rows.append((ev.election, ev.voter, *holder, se.event_id, se.kiosk_id, ev.station_id, se.body["at"], now))
        log.warning("conflict: %s/%s second check-in %s from %s", ev.election, ev.voter, se.event_id, se.kiosk_id)
    if rows:
        conn.executemany(
            "INSERT INTO conflicts (election, voter, first_event_id, first_kiosk, first_station, first_at, "
            "second_event_id, second_kiosk, second_station, second_at, detected_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )
    return len(rows)


@dataclass(frozen=True, slots=True)
class KioskReport:
    """What a kiosk says about itself in a heartbeat."""

    pending: int
    replica_cursor: int
    replica_age_s: float | None
    client_time: str
    skew_ms: float | None
    station_id: str | None


def op_heartbeat(
    conn: Conn, kiosk_id: str, ledger_key_hex: str, report: KioskReport, reject: Rejector = op_reject
) -> tuple[int, str] | str:
    """Store a kiosk's status; return its (last_seq, last_hash) on the server, or a refusal reason."""
    now = utc_now()
    state = _kiosk_row(conn, kiosk_id, ledger_key_hex, now)
    if isinstance(state, str):
        reject(conn, "heartbeat", kiosk_id, None, state)
        return state
    assert state is not None  # registered above
    conn.execute(
        "UPDATE kiosks SET last_seen = ?, pending = ?, replica_cursor = ?, replica_age_s = ?, client_time = ?, "
        "skew_ms = ?, station_id = ? WHERE kiosk_id = ?",
        (
            now,
            report.pending,
            report.replica_cursor,
            report.replica_age_s,
            report.client_time,
            report.skew_ms,
            report.station_id,
            kiosk_id,
        ),
    )
    return state


# ---------------------------------------------------------------------------------------------------------------------
# Reads


def read_pull(conn: Conn, after: int, limit: int) -> list[tuple[int, str]]:
    """Replicated events with cursor > ``after``, oldest first."""
    return [
        (int(c), str(s))
        for c, s in conn.execute(
            "SELECT cursor, sealed FROM events WHERE cursor > ? AND type IN (?, ?) ORDER BY cursor LIMIT ?",
            (after, *REPLICATED_TYPES, limit),
        ).fetchall()
    ]


def read_head(conn: Conn) -> int:
    """The highest event cursor."""
    return int(conn.execute("SELECT COALESCE(MAX(cursor), 0) FROM events").fetchone()[0])


_CONFLICT_COLS = (
    "id, election, voter, first_event_id, first_kiosk, first_station, first_at, second_event_id, second_kiosk, "
    "second_station, second_at, detected_at"
)


def read_conflicts(conn: Conn, kiosk_id: str | None, after_id: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """Conflicts (all, or those involving ``kiosk_id``), with whether either event has since been voided."""
    sql = f"SELECT {_CONFLICT_COLS} FROM conflicts WHERE id > ?"
    params: list[Any] = [after_id]
    if kiosk_id is not None:
        sql += " AND (first_kiosk = ? OR second_kiosk = ?)"
        params += [kiosk_id, kiosk_id]
    rows = conn.execute(sql + " ORDER BY id LIMIT ?", (*params, limit)).fetchall()
    out = []
    for r in rows:
        d = dict(zip(_CONFLICT_COLS.split(", "), r, strict=True))
        d["first_voided"] = _is_voided(conn, d["first_event_id"])
        d["second_voided"] = _is_voided(conn, d["second_event_id"])
        out.append(d)
    return out


_KIOSK_COLS = (
    "kiosk_id, first_seen, last_seen, last_seq, last_hash, pending, replica_cursor, replica_age_s, client_time, "
    "skew_ms, station_id"
)


def read_kiosks(conn: Conn, kiosk_id: str | None = None) -> list[dict[str, Any]]:
    """Status rows of all kiosks, or of one."""
    sql = f"SELECT {_KIOSK_COLS} FROM kiosks"
    params: tuple[Any, ...] = ()
    if kiosk_id is not None:
        sql, params = sql + " WHERE kiosk_id = ?", (kiosk_id,)
    return [
        dict(zip(_KIOSK_COLS.split(", "), r, strict=True))
        for r in conn.execute(sql + " ORDER BY kiosk_id", params).fetchall()
    ]


def read_rejections(conn: Conn, after_id: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """Recorded refusals, oldest first. A row stands for ``count`` refusals (1, or N counted within one window from
    ``first_at`` to ``at``)."""
    cols = ("id", "at", "stage", "client_id", "peer", "reason", "count", "first_at")
    rows = conn.execute(
        f"SELECT {', '.join(cols)} FROM rejections WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
    ).fetchall()
    out = [dict(zip(cols, r, strict=True)) for r in rows]
    for r in out:
        r["count"] = int(r["count"])
    return out


def read_rejection_totals(conn: Conn) -> dict[str, Any]:
    """How many refusals were recorded (the sum of ``count``, exact however many were only counted) and in how many
    rows, in all and per stage."""
    stages = {
        str(stage): {"refusals": int(n), "rows": int(rows), "first_at": first, "last_at": last}
        for stage, n, rows, first, last in conn.execute(
            "SELECT stage, SUM(count), COUNT(*), MIN(COALESCE(first_at, at)), MAX(at) FROM rejections "
            "GROUP BY stage ORDER BY stage"
        ).fetchall()
    }
    return {
        "refusals": sum(s["refusals"] for s in stages.values()),
        "rows": sum(s["rows"] for s in stages.values()),
        "stages": stages,
    }


def read_counts(conn: Conn) -> dict[str, int]:
    """Row counts of the fact tables (tests and the committee overview)."""
    return {
        t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
        for t in ("events", "claims", "releases", "conflicts", "rejections", "kiosks")
    }


# ---------------------------------------------------------------------------------------------------------------------
# Writers and the database handle


@dataclass
class _Job:
    fn: Callable[[Conn], Any]
    future: cf.Future[Any] = field(default_factory=cf.Future)


class _Writer(threading.Thread):
    """Runs queued operations in group-committed transactions; the future resolves after COMMIT."""

    def __init__(
        self,
        name: str,
        jobs: queue.SimpleQueue[_Job | None],
        url: str,
        max_batch: int,
        after_commit: Callable[[list[Any]], None] | None,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._jobs, self._url, self._max = jobs, url, max_batch
        self._after_commit = after_commit
        self._conn = connect(url)
        self.batches = 0
        self.operations = 0

    def run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                break
            batch = [first]
            stop = False
            while len(batch) < self._max:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._run_batch(batch)
            if stop:
                break
        self._conn.close()

    def _run_batch(self, batch: list[_Job]) -> None:
        live = [j for j in batch if j.future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            self._conn.begin()
            results = [j.fn(self._conn) for j in live]
            self._conn.commit()
        except Exception:
            # One operation failed (or the database did): nothing of the batch is committed. Re-run each alone so
            # only the faulty one fails.
            self._safe_rollback()
            results = []
            for j in live:
                try:
                    self._conn.begin()
                    r = j.fn(self._conn)
                    self._conn.commit()
                except Exception as exc:
                    self._safe_rollback()
                    log.exception("storage operation failed")
                    j.future.set_exception(exc)
                    continue
                j.future.set_result(r)
                results.append(r)
            self._notify(results)
            return
        self.batches += 1
        self.operations += len(live)
        for j, r in zip(live, results, strict=True):
            j.future.set_result(r)
        self._notify(results)

    def _notify(self, results: list[Any]) -> None:
        if self._after_commit is not None:
            try:
                self._after_commit(results)
            except Exception:  # a listener's bug must not kill the writer
                log.exception("after-commit listener failed")

    def _safe_rollback(self) -> None:
        try:
            self._conn.rollback()
        except Exception:
            # The connection itself is broken: replace it so the server keeps serving.
            log.exception("rollback failed; reconnecting")
            try:
                self._conn.close()
            finally:
                self._conn = connect(self._url)


class Database:
    """The server's storage: migrated schema, writer threads, read connections."""

    def __init__(
        self, url: str, package_hash: str, *, claim_writers: int = 3, max_batch: int = 256, read_threads: int = 4
    ) -> None:
        self.url = url
        self.dialect, _ = parse_database_url(url)
        conn = connect(url)
        try:
            migrate(conn)
            self._bind_package(conn, package_hash)
        finally:
            conn.close()
        self._listeners: list[Callable[[int], None]] = []
        self._event_jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writers = [_Writer("event-writer", self._event_jobs, url, max_batch, self._events_committed)]
        if self.dialect == "sqlite":
            self._claim_jobs = self._event_jobs  # one writer for everything: SQLite has one write lock
        else:
            self._claim_jobs = queue.SimpleQueue()
            self._writers += [
                _Writer(f"claim-writer-{i}", self._claim_jobs, url, max_batch, None)
                for i in range(max(1, claim_writers))
            ]
        self._local = threading.local()
        self._read_conns: list[Conn] = []
        self._read_lock = threading.Lock()
        self._reader = cf.ThreadPoolExecutor(max_workers=read_threads, thread_name_prefix="db-read")
        for w in self._writers:
            w.start()
        self._closed = False

    @staticmethod
    def _bind_package(conn: Conn, package_hash: str) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'package_hash'").fetchone()
        if row is None:
            conn.begin()
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('package_hash', ?) ON CONFLICT DO NOTHING", (package_hash,)
            )
            conn.commit()
            row = conn.execute("SELECT value FROM meta WHERE key = 'package_hash'").fetchone()
        if row[0] != package_hash:
            raise StorageError(
                f"this database belongs to election package {row[0][:16]}…, not {package_hash[:16]}…; "
                "use a new database"
            )

    # -- listeners -----------------------------------------------------------------------------------------------
    def add_commit_listener(self, fn: Callable[[int], None]) -> None:
        """Call ``fn(max_cursor)`` (from the writer thread) after a commit that added replicated events."""
        self._listeners.append(fn)

    def _events_committed(self, results: list[Any]) -> None:
        top = max((r.max_cursor for r in results if isinstance(r, PushResult)), default=0)
        if top:
            for fn in self._listeners:
                fn(top)

    # -- writes --------------------------------------------------------------------------------------------------
    def submit_claim(self, fn: Callable[[Conn], T]) -> cf.Future[T]:
        """Queue a claim operation (PostgreSQL: any claim writer)."""
        job = _Job(fn)
        self._claim_jobs.put(job)
        return job.future

    def submit_event(self, fn: Callable[[Conn], T]) -> cf.Future[T]:
        """Queue an operation for the single event writer (pushes, heartbeats, rejections)."""
        job = _Job(fn)
        self._event_jobs.put(job)
        return job.future

    # -- reads ---------------------------------------------------------------------------------------------------
    def _read_conn(self) -> Conn:
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.url)
            self._local.conn = conn
            with self._read_lock:
                self._read_conns.append(conn)
        return conn

    def read(self, fn: Callable[[Conn], T]) -> cf.Future[T]:
        """Run a read-only function on a read connection in the reader pool."""

        def run() -> T:
            conn = self._read_conn()
            return fn(conn)  # autocommit connections: each read sees the latest commit

        return self._reader.submit(run)

    def read_now(self, fn: Callable[[Conn], T]) -> T:
        """Blocking read (for tests and the command line)."""
        return self.read(fn).result()

    def close(self) -> None:
        """Finish queued work, stop the writers and close every connection."""
        if self._closed:
            return
        self._closed = True
        for w in self._writers:
            (self._event_jobs if w.name == "event-writer" else self._claim_jobs).put(None)
        for w in self._writers:
            w.join(timeout=30)
        self._reader.shutdown(wait=True)
        with self._read_lock:
            for c in self._read_conns:
                try:
                    c.close()
                except Exception:
                    log.debug("closing read connection failed", exc_info=True)
