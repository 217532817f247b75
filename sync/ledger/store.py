"""The kiosk's local ledger: an append-only, hash-chained, signed event log in SQLite, plus the replica of other kiosks.

Durability: WAL journal with ``synchronous=FULL``, one ``BEGIN IMMEDIATE`` transaction per append, so when
:meth:`Ledger.append` returns the event is on disk and the clerk may be told the check-in is recorded. ``BEGIN
IMMEDIATE`` takes the write lock before the last seq is read, which is what keeps two writers (threads or processes)
from forking the chain.

Hot paths (append, check-in lookups) use the sqlite3 connection directly; sqlite-utils runs the schema migrations.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlite_utils import Database

from ballots.events import CheckInKind, Event, EventError, EventType, validate_event
from sync.chain import (
    GENESIS,
    ChainError,
    SealedEvent,
    canonical_json,
    event_hash,
    seal_body,
    verify_chain,
    verify_sealed,
)
from sync.keys import KeyFileError, public_key_from_hex, public_key_hex
from sync.ledger.records import (
    CheckInRecord,
    ElectionStatus,
    LedgerCounts,
    LedgerError,
    ReplicaReport,
    VerifyReport,
)
from sync.ledger.schema import GUARD_TRIGGERS, MIGRATION_SET, MIGRATIONS, known_migration_names

__all__ = ["Ledger", "read_events"]

BUSY_TIMEOUT_S: Final = 30.0  # another writer holds the lock for one short transaction; waiting is right
_HEX64 = re.compile(r"[0-9a-f]{64}")
_UNSET: Final = object()

_EVENT_COLUMNS = "seq, event_id, type, voter, election, target, at, prev_hash, hash, signature, body"
_REPLICA_COLUMNS = "id, event_id, kiosk_id, seq, type, voter, election, target, at, prev_hash, hash, signature, body"
_INSERT_EVENT = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_REPLICA = (
    "INSERT OR IGNORE INTO replica (event_id, kiosk_id, seq, type, voter, election, target, at, prev_hash, hash,"
    " signature, body, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A check-in stands unless some VOID (own or pulled from another kiosk) targets it; `target` is only set on voids.
_NOT_VOIDED = (
    "NOT EXISTS (SELECT 1 FROM events v WHERE v.target = {t}.event_id)"
    " AND NOT EXISTS (SELECT 1 FROM replica v WHERE v.target = {t}.event_id)"
)
_CHECKINS_FOR = (
    "SELECT e.event_id, e.election, e.at, e.body, ? AS kiosk_id, 1 AS own FROM events e"
    f" WHERE e.voter = ? AND e.type = 'check_in' AND {_NOT_VOIDED.format(t='e')}"
    " UNION ALL "
    "SELECT r.event_id, r.election, r.at, r.body, r.kiosk_id, 0 AS own FROM replica r"
    f" WHERE r.voter = ? AND r.type = 'check_in' AND {_NOT_VOIDED.format(t='r')}"
    " ORDER BY 3"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _void_target(ev_type: str, data: Any) -> str | None:
    """The denormalised ``target`` column: the voided event's id, only for VOID events."""
    if ev_type == EventType.VOID.value and isinstance(data, dict):
        target = data.get("target")
        return str(target) if target is not None else None
    return None


def _where(i: int, ev: Event) -> str:
    """How an error names the event: its position in the append and its id (built only when there is an error)."""
    return f"event #{i + 1} ({ev.event_id})"


def _row_values(se: SealedEvent, body_json: str) -> tuple[Any, ...]:
    b = se.body
    return (
        se.seq,
        b["event_id"],
        b["type"],
        b.get("voter"),
        b.get("election"),
        _void_target(b["type"], b.get("data")),
        b["at"],
        se.prev_hash,
        se.hash,
        se.signature,
        body_json,
    )


class _BadRow(Exception):
    """Raised from inside verify's row stream when a stored row is unusable or its lookup columns disagree."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


class Ledger:
    """One kiosk's ledger file. Open with :meth:`open` (read-write) or :meth:`open_readonly` (reports, verify).

    A Ledger object may be shared between threads (a lock serialises use of its connection); several Ledger objects
    or processes may use one file at once (SQLite's write lock serialises appends).
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, *, readonly: bool, key: Ed25519PrivateKey | None):
        """Internal: use :meth:`open` or :meth:`open_readonly`."""
        self.path = path
        self._conn = conn
        self._readonly = readonly
        self._key = key
        self._lock = threading.RLock()
        meta = self._meta_all()
        try:
            self._kiosk_id = meta["kiosk_id"]
            self._public_key = public_key_from_hex(meta["public_key"])
        except (KeyError, KeyFileError) as exc:
            raise LedgerError(f"{path}: ledger identity (kiosk id / public key) is missing or damaged: {exc}") from None

    # ----------------------------------------------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        kiosk_id: str,
        key: Ed25519PrivateKey | None = None,
        create: bool = True,
    ) -> Ledger:
        """Open (and, if ``create``, create) the ledger of kiosk ``kiosk_id`` for appending.

        A new ledger needs ``key``; its public half is recorded in the ledger. An existing ledger must belong to
        ``kiosk_id`` and, when ``key`` is given, to that key. Without a key the ledger can be read and synced but
        :meth:`append` is refused. Pending schema migrations are applied.
        """
        p = Path(path)
        if not kiosk_id or not isinstance(kiosk_id, str):
            raise LedgerError("kiosk_id must be a non-empty string")
        existed = p.exists() and p.stat().st_size > 0
        if not existed and not create:
            raise LedgerError(f"{p}: no ledger here (and create=False)")
        if not existed and key is None:
            raise LedgerError(f"{p}: a new ledger needs the kiosk key (its public key is recorded in the ledger)")
        try:
            conn = sqlite3.connect(p, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise LedgerError(f"{p}: cannot open ledger: {exc}") from None
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise LedgerError(f"{p}: cannot switch the ledger to WAL mode (got {mode!r})")
            # FULL: the WAL is fsynced at every commit, so an acknowledged check-in survives power loss too.
            conn.execute("PRAGMA synchronous=FULL")
            cls._migrate_and_claim(p, conn, existed=existed, kiosk_id=kiosk_id, key=key)
            return cls(p, conn, readonly=False, key=key)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise LedgerError(f"{p}: not a usable ledger database: {exc}") from None
        except BaseException:
            conn.close()
            raise

    @classmethod
    def open_readonly(cls, path: str | os.PathLike[str]) -> Ledger:
        """Open an existing ledger for reading only (reports, ``ledger show``, ``ledger verify``)."""
        p = Path(path)
        if not p.is_file():
            raise LedgerError(f"{p}: no ledger file here")
        uri = f"file:{quote(str(p.resolve()))}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise LedgerError(f"{p}: cannot open ledger: {exc}") from None
        try:
            conn.execute("PRAGMA query_only=ON")
            cls._check_schema(p, Database(conn, execute_plugins=False, recursive_triggers=False))
            return cls(p, conn, readonly=True, key=None)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise LedgerError(f"{p}: not a usable ledger database: {exc}") from None
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _check_schema(path: Path, db: Database) -> None:
        applied = {m.name for m in MIGRATIONS.applied(db)}
        if not applied:
            raise LedgerError(f"{path}: not an Uketsuke ledger (no {MIGRATION_SET} migrations recorded)")
        unknown = applied - known_migration_names()
        if unknown:
            raise LedgerError(f"{path}: ledger was written by a newer Uketsuke (unknown migrations {sorted(unknown)})")
        if MIGRATIONS.pending(db):
            raise LedgerError(f"{path}: ledger schema is out of date; open it read-write once to migrate")

    @classmethod
    def _migrate_and_claim(
        cls, path: Path, conn: sqlite3.Connection, *, existed: bool, kiosk_id: str, key: Ed25519PrivateKey | None
    ) -> None:
        db = Database(conn, execute_plugins=False)
        # One write transaction around migrations and identity, so two processes opening a new file at once cannot
        # both create tables or record different kiosks.
        conn.execute("BEGIN IMMEDIATE")
        try:
            if existed and not MIGRATIONS.applied(db):
                raise LedgerError(f"{path}: not an Uketsuke ledger (no {MIGRATION_SET} migrations recorded)")
            unknown = {m.name for m in MIGRATIONS.applied(db)} - known_migration_names()
            if unknown:
                raise LedgerError(
                    f"{path}: ledger was written by a newer Uketsuke (unknown migrations {sorted(unknown)})"
                )
            MIGRATIONS.apply(db)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if "kiosk_id" not in meta:
                if key is None:
                    raise LedgerError(f"{path}: a new ledger needs the kiosk key")
                conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("kiosk_id", kiosk_id),
                        ("public_key", public_key_hex(key)),
                        ("created_at", _now()),
                        ("acked_seq", "0"),
                    ],
                )
            else:
                if meta["kiosk_id"] != kiosk_id:
                    raise LedgerError(f"{path}: this ledger belongs to kiosk {meta['kiosk_id']!r}, not {kiosk_id!r}")
                if key is not None and meta.get("public_key") != public_key_hex(key):
                    raise LedgerError(f"{path}: the kiosk key given is not the key this ledger was created with")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -------------------------------------------------------------------------------------------------------- meta
    def _meta_all(self) -> dict[str, str]:
        with self._lock:
            return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def _meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        """Caller holds the lock and an open write transaction."""
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _write(self) -> _WriteTx:
        if self._readonly:
            raise LedgerError(f"{self.path}: ledger is open read-only")
        return _WriteTx(self)

    @property
    def kiosk_id(self) -> str:
        """The kiosk this ledger belongs to."""
        return self._kiosk_id

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The kiosk public key recorded when the ledger was created."""
        return self._public_key

    @property
    def created_at(self) -> datetime | None:
        """When the ledger was created (UTC)."""
        value = self._meta("created_at")
        return datetime.fromisoformat(value) if value else None

    @property
    def package_hash(self) -> str | None:
        """Hex SHA-256 of the election package this ledger was recorded under (None until set)."""
        return self._meta("package_hash")

    @package_hash.setter
    def package_hash(self, value: str) -> None:
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise LedgerError(f"package hash must be 64 lowercase hex digits, got {value!r}")
        with self._write():
            self._set_meta("package_hash", value)

    @property
    def readonly(self) -> bool:
        """True when opened with :meth:`open_readonly`."""
        return self._readonly

    # ------------------------------------------------------------------------------------------------------ append
    def append(self, event: Event) -> SealedEvent:
        """Validate, chain, sign and durably store one event; return it sealed.

        Durable on return (WAL fsynced). Appending an event whose ``event_id`` is already in the ledger with the same
        content returns the stored one (so a retry after a crash is safe); different content is refused.
        """
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[Event]) -> list[SealedEvent]:
        """Append several events in ONE transaction: all are recorded or none (e.g. the check-ins of all elections a
        voter receives ballots for at once). Same rules as :meth:`append`."""
        if self._key is None:
            raise LedgerError(f"{self.path}: opened without the kiosk key; cannot append")
        prepared: list[tuple[Event, dict[str, Any], bytes]] = []
        seen: set[str] = set()
        for i, ev in enumerate(events):
            if not isinstance(ev, Event):
                raise LedgerError(f"event #{i + 1}: expected ballots.events.Event, got {type(ev).__name__}")
            try:
                validate_event(ev)
                body = ev.to_dict()
                body_json = canonical_json(body)
            except EventError as exc:
                raise LedgerError(f"{_where(i, ev)}: {exc}") from None
            except (TypeError, ValueError) as exc:
                raise LedgerError(f"{_where(i, ev)}: data is not JSON-encodable: {exc}") from None
            if ev.event_id in seen:
                raise LedgerError(f"{_where(i, ev)}: event_id appears twice in one append")
            seen.add(ev.event_id)
            prepared.append((ev, body, body_json))
        if not prepared:
            return []
        out: list[SealedEvent] = []
        with self._write() as conn:
            last = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev_hash = (int(last[0]), str(last[1])) if last else (0, GENESIS)
            for i, (ev, body, body_json) in enumerate(prepared):
                text = body_json.decode("utf-8")
                if ev.type is EventType.VOID:
                    # A retried void must be recognised before the target check, which would see it as a second void.
                    existing = self._existing(conn, _where(i, ev), ev.event_id, text)
                    if existing is not None:
                        out.append(existing)
                        continue
                    self._check_void_target(conn, _where(i, ev), str(ev.data["target"]))
                if conn.execute("SELECT 1 FROM replica WHERE event_id = ?", (ev.event_id,)).fetchone():
                    raise LedgerError(f"{_where(i, ev)}: event_id belongs to another kiosk's event")
                sealed = seal_body(
                    body, body_json, kiosk_id=self._kiosk_id, seq=seq + 1, prev_hash=prev_hash, key=self._key
                )
                try:
                    conn.execute(_INSERT_EVENT, _row_values(sealed, text))
                except sqlite3.IntegrityError:
                    # The UNIQUE event_id index found a retry; looking it up only then keeps the common path short.
                    existing = self._existing(conn, _where(i, ev), ev.event_id, text)
                    if existing is None:
                        raise
                    out.append(existing)
                    continue
                seq, prev_hash = seq + 1, sealed.hash
                out.append(sealed)
        return out

    def _existing(self, conn: sqlite3.Connection, where: str, event_id: str, body_json: str) -> SealedEvent | None:
        """The stored event with this id if its content is the same (an idempotent retry); refuse other content."""
        row = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_id = ?", (event_id,)).fetchone()
        if row is None:
            return None
        if row[10] != body_json:
            raise LedgerError(f"{where}: event_id already recorded (seq {row[0]}) with other content")
        return self._sealed_from_row(row)

    @staticmethod
    def _check_void_target(conn: sqlite3.Connection, where: str, target: str) -> None:
        """Refuse a void of an unknown event, of a void, or of an event that is already voided.

        Runs inside the append transaction, so events inserted earlier in the same batch are seen too.
        """
        row = conn.execute(
            "SELECT type FROM events WHERE event_id = ? UNION ALL SELECT type FROM replica WHERE event_id = ?",
            (target, target),
        ).fetchone()
        if row is None:
            raise LedgerError(f"{where}: void target {target!r} is not a known event")
        if row[0] == EventType.VOID.value:
            raise LedgerError(f"{where}: a void cannot be voided (target {target!r} is itself a void)")
        voided = conn.execute(
            "SELECT event_id FROM events WHERE target = ? UNION ALL SELECT event_id FROM replica WHERE target = ?",
            (target, target),
        ).fetchone()
        if voided is not None:
            raise LedgerError(f"{where}: event {target!r} is already voided (by {voided[0]})")

    # ----------------------------------------------------------------------------------------------------- reading
    def _sealed_from_row(self, row: Sequence[Any]) -> SealedEvent:
        return SealedEvent(
            kiosk_id=self._kiosk_id,
            seq=int(row[0]),
            prev_hash=str(row[7]),
            body=json.loads(row[10]),
            hash=str(row[8]),
            signature=str(row[9]),
        )

    @property
    def last_seq(self) -> int:
        """Seq of the newest own event (0 when empty)."""
        with self._lock:
            row = self._conn.execute("SELECT max(seq) FROM events").fetchone()
        return int(row[0] or 0)

    @property
    def head_hash(self) -> str:
        """Hash of the newest own event (GENESIS when empty): what the next event chains to."""
        with self._lock:
            row = self._conn.execute("SELECT hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return str(row[0]) if row else GENESIS

    def sealed(self, after_seq: int = 0, limit: int | None = None) -> list[SealedEvent]:
        """Own events with seq > ``after_seq``, oldest first, at most ``limit``."""
        if limit is not None and limit < 0:
            raise LedgerError(f"limit must be ≥ 0, got {limit}")
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, -1 if limit is None else limit),
            ).fetchall()
        return [self._sealed_from_row(r) for r in rows]

    def events(self, *, types: Iterable[EventType] | None = None) -> list[Event]:
        """Own events as domain events, oldest first (optionally only some types)."""
        if types is None:
            return [se.event for se in self.sealed()]
        wanted = sorted({EventType(t).value for t in types})
        if not wanted:
            return []
        marks = ", ".join("?" * len(wanted))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE type IN ({marks}) ORDER BY seq", wanted
            ).fetchall()
        return [self._sealed_from_row(r).event for r in rows]

    def get(self, event_id: str) -> SealedEvent | None:
        """One event by id, own or from the replica; None when unknown."""
        with self._lock:
            row = self._conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_id = ?", (event_id,)).fetchone()
            if row is not None:
                return self._sealed_from_row(row)
            rep = self._conn.execute(
                "SELECT kiosk_id, seq, prev_hash, body, hash, signature FROM replica WHERE event_id = ?", (event_id,)
            ).fetchone()
        if rep is None:
            return None
        return SealedEvent(
            kiosk_id=rep[0], seq=int(rep[1]), prev_hash=rep[2], body=json.loads(rep[3]), hash=rep[4], signature=rep[5]
        )

    def __len__(self) -> int:
        return self.last_seq

    # ------------------------------------------------------------------------------------------------------ outbox
    @property
    def acked_seq(self) -> int:
        """Highest seq the server has ever acknowledged (never decreases; verify checks no such row went missing)."""
        return int(self._meta("acked_seq") or 0)

    def unpushed(self, limit: int = 500) -> list[SealedEvent]:
        """The oldest own events the server has not acknowledged yet, at most ``limit``."""
        return self.sealed(after_seq=self.acked_seq, limit=limit)

    @property
    def pending_count(self) -> int:
        """How many own events wait to be pushed."""
        return max(0, self.last_seq - self.acked_seq)

    def mark_pushed(self, upto_seq: int) -> int:
        """Record that the server holds every own event up to ``upto_seq``; return the acknowledged seq.

        Monotonic: an older acknowledgement than the one recorded changes nothing. Acknowledging a seq this ledger
        does not have is refused (the server and this ledger disagree; someone must look).
        """
        if isinstance(upto_seq, bool) or not isinstance(upto_seq, int) or upto_seq < 0:
            raise LedgerError(f"mark_pushed: upto_seq must be a non-negative integer, got {upto_seq!r}")
        with self._write() as conn:
            current = int(conn.execute("SELECT value FROM meta WHERE key = 'acked_seq'").fetchone()[0])
            last = int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])
            if upto_seq > last:
                raise LedgerError(f"mark_pushed: server acknowledged seq {upto_seq} but this ledger ends at seq {last}")
            if upto_seq > current:
                self._set_meta("acked_seq", str(upto_seq))
                current = upto_seq
        return current

    # ----------------------------------------------------------------------------------------------------- replica
    def add_replica(self, sealed_events: Iterable[SealedEvent], *, cursor: Any = _UNSET) -> int:
        """Store other kiosks' events pulled from the server (which verified them); return how many were new.

        Idempotent by event_id; this kiosk's own events coming back are skipped. The batch is validated first and
        stored in one transaction (with the new ``cursor``, if given), so a bad event changes nothing. Also records
        the pull time as :attr:`replica_updated_at`, even when nothing was new: the replica is fresh as of now.
        """
        rows: list[tuple[Any, ...]] = []
        now = _now()
        for i, se in enumerate(sealed_events):
            where = f"replica event #{i + 1}"
            if not isinstance(se, SealedEvent):
                raise LedgerError(f"{where}: expected SealedEvent, got {type(se).__name__}")
            where += f" (kiosk {se.kiosk_id!r} seq {se.seq})"
            if se.kiosk_id == self._kiosk_id:
                continue
            if not se.kiosk_id or se.seq < 1:
                raise LedgerError(f"{where}: kiosk id and a seq ≥ 1 are required")
            if not (_HEX64.fullmatch(se.hash) and _HEX64.fullmatch(se.prev_hash)) or not re.fullmatch(
                r"[0-9a-f]{128}", se.signature
            ):
                raise LedgerError(f"{where}: hash, prev_hash or signature is not hex of the right length")
            try:
                ev = Event.from_dict(se.body)
                body_json = canonical_json(dict(se.body)).decode("utf-8")
            except EventError as exc:
                raise LedgerError(f"{where}: {exc}") from None
            except (TypeError, ValueError) as exc:
                raise LedgerError(f"{where}: body is not canonical JSON: {exc}") from None
            rows.append(
                (
                    ev.event_id,
                    se.kiosk_id,
                    se.seq,
                    ev.type.value,
                    ev.voter,
                    ev.election,
                    _void_target(ev.type.value, dict(ev.data)),
                    se.body["at"],
                    se.prev_hash,
                    se.hash,
                    se.signature,
                    body_json,
                    now,
                )
            )
        cursor_json = None if cursor is _UNSET else self._encode_cursor(cursor)
        with self._write() as conn:
            before = conn.total_changes
            for row in rows:
                # Skip ids already recorded as our own events (cannot come from another kiosk legitimately).
                if conn.execute("SELECT 1 FROM events WHERE event_id = ?", (row[0],)).fetchone():
                    continue
                conn.execute(_INSERT_REPLICA, row)
            added = conn.total_changes - before
            if cursor_json is not None:
                self._set_meta("replica_cursor", cursor_json)
            self._set_meta("replica_updated_at", now)
        return added

    @staticmethod
    def _encode_cursor(cursor: Any) -> str:
        if cursor is not None and (isinstance(cursor, bool) or not isinstance(cursor, str | int)):
            raise LedgerError(f"replica cursor must be a string, an integer or None, got {type(cursor).__name__}")
        return json.dumps(cursor)

    @property
    def replica_cursor(self) -> str | int | None:
        """The server's opaque pull cursor after the last stored pull (None before the first)."""
        value = self._meta("replica_cursor")
        return None if value is None else json.loads(value)

    @replica_cursor.setter
    def replica_cursor(self, value: str | int | None) -> None:
        encoded = self._encode_cursor(value)
        with self._write():
            self._set_meta("replica_cursor", encoded)

    @property
    def replica_updated_at(self) -> datetime | None:
        """When the replica was last refreshed from the server (shown before polls open); None if never."""
        value = self._meta("replica_updated_at")
        return datetime.fromisoformat(value) if value else None

    @property
    def replica_count(self) -> int:
        """How many other kiosks' events the replica holds."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM replica").fetchone()[0])

    # ----------------------------------------------------------------------------------------------- derived views
    def checkins_for(self, voter: str) -> list[CheckInRecord]:
        """Standing (not voided) check-ins of one voter in any election, own and replica, oldest first."""
        with self._lock:
            rows = self._conn.execute(_CHECKINS_FOR, (self._kiosk_id, voter, voter)).fetchall()
        out = []
        for event_id, election, at, body_json, kiosk_id, own in rows:
            body = json.loads(body_json)
            data = body.get("data") or {}
            out.append(
                CheckInRecord(
                    election=election,
                    station_id=body["station_id"],
                    kiosk_id=kiosk_id,
                    at=datetime.fromisoformat(at),
                    kind=CheckInKind(data["kind"]),
                    event_id=event_id,
                    offline=data.get("offline") is True,
                    own=bool(own),
                )
            )
        return out

    def status(self, voter: str, election: str) -> ElectionStatus:
        """What is known about ``voter`` in ``election``: standing check-ins (0: not voted; 2+: a conflict)."""
        return ElectionStatus(
            voter=voter,
            election=election,
            checkins=tuple(c for c in self.checkins_for(voter) if c.election == election),
        )

    def counts(self, *, include_replica: bool = False) -> LedgerCounts:
        """Standing check-ins per election and kind, voided check-ins per election, and events per type."""
        sources = ["events"] + (["replica"] if include_replica else [])
        checkins: dict[str, dict[str, int]] = {}
        voided: dict[str, int] = {}
        types: dict[str, int] = {}
        with self._lock:
            for table in sources:
                rows = self._conn.execute(
                    f"SELECT c.election, json_extract(c.body, '$.data.kind'), {_NOT_VOIDED.format(t='c')}, count(*)"
                    f" FROM {table} c WHERE c.type = 'check_in' GROUP BY 1, 2, 3"
                ).fetchall()
                for election, kind, standing, n in rows:
                    if standing:
                        per = checkins.setdefault(election, {})
                        per[kind] = per.get(kind, 0) + n
                    else:
                        voided[election] = voided.get(election, 0) + n
                for ev_type, n in self._conn.execute(f"SELECT type, count(*) FROM {table} GROUP BY 1"):
                    types[ev_type] = types.get(ev_type, 0) + n
        return LedgerCounts(checkins=checkins, voided_checkins=voided, events=types)

    # ------------------------------------------------------------------------------------------------------ verify
    def verify(self, public_key: Ed25519PublicKey | None = None) -> VerifyReport:
        """Check every own event: seq contiguous from 1, chain, hash, signature, body, lookup columns; no
        acknowledged event missing. Names the first bad row. Without ``public_key`` the recorded key is used, which
        proves internal consistency only (whoever edits the file could also replace that key).

        Runs on its own read connection inside one read transaction: a consistent snapshot that does not block
        appends.
        """
        key = public_key if public_key is not None else self._public_key
        key_source = "given" if public_key is not None else "recorded"
        matches = None if public_key is None else public_key_hex(public_key) == public_key_hex(self._public_key)
        conn = self._snapshot_connection()
        try:
            conn.execute("BEGIN")
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            acked = int(meta.get("acked_seq") or 0)
            triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
            warnings = [f"guard trigger {t} is missing (dropped?)" for t in GUARD_TRIGGERS if t not in triggers]
            if matches is False:
                warnings.append("the public key given is not the key recorded in this ledger")
            if meta.get("kiosk_id") != self._kiosk_id or meta.get("public_key") != public_key_hex(self._public_key):
                warnings.append("the ledger's recorded identity changed since it was opened")
            state: dict[str, int] = {"seq": 0, "rows": 0}

            def rows() -> Iterator[SealedEvent]:
                for row in conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY seq"):
                    seq = row[0]
                    state["rows"] += 1
                    state["seq"] = seq if isinstance(seq, int) else -1
                    yield self._checked_row(row)

            bad_seq: int | None = None
            reason: str | None = None
            try:
                checked = verify_chain(rows(), key)
            except ChainError as exc:
                checked = state["rows"] - 1
                bad_seq, reason = state["seq"], str(exc)
                if "expected seq" in reason:
                    # A gap names the missing seq (the one that should have been here); a row with a seq below the
                    # expected one (e.g. an inserted seq 0) is itself the bad row.
                    bad_seq = min(state["seq"], checked + 1)
            except _BadRow as exc:
                checked = state["rows"] - 1
                bad_seq, reason = exc.seq, exc.reason
            last_seq = int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])
            head = conn.execute("SELECT hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            if reason is None and acked > checked:
                bad_seq = checked + 1
                reason = (
                    f"seq {checked + 1}..{acked} missing: the server acknowledged events up to seq {acked} "
                    f"but the ledger ends at seq {checked} (rows deleted)"
                )
            conn.execute("COMMIT")
        finally:
            conn.close()
        return VerifyReport(
            ok=reason is None,
            kiosk_id=self._kiosk_id,
            checked=checked,
            last_seq=last_seq,
            head_hash=str(head[0]) if head else GENESIS,
            key_source=key_source,
            bad_seq=bad_seq,
            reason=reason,
            acked_seq=acked,
            recorded_key_matches=matches,
            warnings=tuple(warnings),
        )

    def _snapshot_connection(self) -> sqlite3.Connection:
        """A separate read-only connection, so a long check reads one snapshot and never blocks appends."""
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)

    def verify_replica(self, public_keys: Mapping[str, Ed25519PublicKey] | None = None) -> ReplicaReport:
        """Check the replica of other kiosks' events: content hash, lookup columns, chain between adjacent seqs,
        no two events per (kiosk, seq), and signatures for the kiosks in ``public_keys``. Names the first bad row.

        The offline double-voting check trusts these rows, so an edit that hides a check-in must show up here.
        """
        keys = dict(public_keys or {})
        conn = self._snapshot_connection()
        checked = signatures = 0
        bad: tuple[str, int, str, str] | None = None
        try:
            conn.execute("BEGIN")
            kiosks = {str(k): int(n) for k, n in conn.execute("SELECT kiosk_id, count(*) FROM replica GROUP BY 1")}
            previous: tuple[str, int, str] | None = None
            for row in conn.execute(f"SELECT {_REPLICA_COLUMNS} FROM replica ORDER BY kiosk_id, seq"):
                kiosk, seq, event_id = str(row[2]), int(row[3]), str(row[1])
                problem = self._replica_row_problem(row, previous, keys.get(kiosk))
                if problem is not None:
                    bad = (kiosk, seq, event_id, f"kiosk {kiosk} seq {seq}: {problem}")
                    break
                checked += 1
                signatures += kiosk in keys
                previous = (kiosk, seq, str(row[10]))
            conn.execute("COMMIT")
        finally:
            conn.close()
        return ReplicaReport(
            ok=bad is None,
            checked=checked,
            signatures_checked=signatures,
            kiosks=kiosks,
            kiosks_without_key=tuple(sorted(k for k in kiosks if k not in keys)),
            bad_kiosk_id=bad[0] if bad else None,
            bad_seq=bad[1] if bad else None,
            bad_event_id=bad[2] if bad else None,
            reason=bad[3] if bad else None,
        )

    def _replica_row_problem(
        self, row: Sequence[Any], previous: tuple[str, int, str] | None, key: Ed25519PublicKey | None
    ) -> str | None:
        """What is wrong with one replica row (None if nothing); ``previous`` is the row before in (kiosk, seq)."""
        _, event_id, kiosk, seq, ev_type, voter, election, target, at, prev_hash, hash_, signature, body_json = row
        if kiosk == self._kiosk_id:
            return "this kiosk's own id in the replica (own events are never stored there)"
        try:
            body = json.loads(body_json)
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
            expected = (
                body["event_id"],
                body["type"],
                body.get("voter"),
                body.get("election"),
                _void_target(body["type"], body.get("data")),
                body["at"],
            )
        except (TypeError, ValueError, KeyError) as exc:
            return f"stored body is unreadable ({exc})"
        stored = (event_id, ev_type, voter, election, target, at)
        if stored != expected:
            names = ("event_id", "type", "voter", "election", "target", "at")
            diff = [n for n, a, b in zip(names, stored, expected, strict=True) if a != b]
            return f"column(s) {', '.join(diff)} do not match the signed body (edited)"
        if event_hash(kiosk, seq, prev_hash, body) != hash_:
            return "hash does not match the content (edited)"
        if previous is not None and previous[0] == kiosk:
            if previous[1] == seq:
                return "two different events claim this seq (a forked chain)"
            if previous[1] == seq - 1 and previous[2] != prev_hash:
                return "prev_hash does not match the previous event of that kiosk (chain broken)"
        sealed = SealedEvent(kiosk_id=kiosk, seq=seq, prev_hash=prev_hash, body=body, hash=hash_, signature=signature)
        try:
            if key is not None:
                verify_sealed(sealed, key)
            else:
                Event.from_dict(body)
        except ChainError as exc:
            return str(exc).removeprefix(f"seq {seq}: ")
        except EventError as exc:
            return str(exc)
        return None

    @property
    def replica_heads(self) -> dict[str, int]:
        """Highest seq held per other kiosk."""
        with self._lock:
            return {str(k): int(s) for k, s in self._conn.execute("SELECT kiosk_id, max(seq) FROM replica GROUP BY 1")}

    def _checked_row(self, row: Sequence[Any]) -> SealedEvent:
        """A stored row as a SealedEvent, after checking the body parses and the lookup columns equal the body."""
        seq = row[0]
        if not isinstance(seq, int):
            raise _BadRow(-1, f"row with non-integer seq {seq!r}")
        try:
            body = json.loads(row[10])
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
            expected = (
                body["event_id"],
                body["type"],
                body.get("voter"),
                body.get("election"),
                _void_target(body["type"], body.get("data")),
                body["at"],
            )
        except (TypeError, ValueError, KeyError) as exc:
            raise _BadRow(seq, f"seq {seq}: stored body is unreadable ({exc})") from None
        stored = tuple(row[1:7])
        if stored != expected:
            names = ("event_id", "type", "voter", "election", "target", "at")
            diff = [n for n, a, b in zip(names, stored, expected, strict=True) if a != b]
            raise _BadRow(seq, f"seq {seq}: column(s) {', '.join(diff)} do not match the signed body (edited)")
        return SealedEvent(
            kiosk_id=self._kiosk_id, seq=seq, prev_hash=str(row[7]), body=body, hash=str(row[8]), signature=str(row[9])
        )


class _WriteTx:
    """``with ledger._write() as conn``: hold the object lock and one BEGIN IMMEDIATE transaction; commit or roll
    back. Commit under ``synchronous=FULL`` in WAL mode fsyncs the WAL, which is what makes the write durable."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def __enter__(self) -> sqlite3.Connection:
        self._ledger._lock.acquire()
        conn = self._ledger._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._ledger._lock.release()
            raise
        return conn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn = self._ledger._conn
        try:
            if exc_type is None:
                try:
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            elif conn.in_transaction:
                conn.execute("ROLLBACK")
        finally:
            self._ledger._lock.release()


def read_events(path: str | os.PathLike[str]) -> list[Event]:
    """All own events of the ledger at ``path``, oldest first (read-only; for reports)."""
    with Ledger.open_readonly(path) as ledger:
        return ledger.events()
