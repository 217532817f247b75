"""The ledger's SQLite schema, as sqlite-utils migrations recorded in the database (table ``_sqlite_migrations``).

Add a change as a new function decorated with ``@MIGRATIONS()`` at the end; never edit one that has shipped. Every
migration runs in one transaction together with the record that it was applied.

Design notes (why the schema looks like this):
- ``events.seq`` is the INTEGER PRIMARY KEY: the chain position is the row id, so there is no second ordering that
  could disagree with it, and an append touches one index fewer (the commit figure is measured against a bare insert).
- ``type``, ``voter``, ``election``, ``target`` and ``at`` are copies of fields of ``body`` kept for indexed lookups;
  ``body`` (canonical JSON) is what is hashed and signed, and ``Ledger.verify`` checks the copies equal the body, so a
  copy edited with raw SQL is caught like any other edit.
- ``target`` is set only on VOID events (the voided event's id), so its partial index stays tiny.
- Triggers make UPDATE and DELETE on events and replica fail: corrections are new events, never edits. They guard
  against mistakes, not attackers (who can drop them); the hash chain and signatures are what prove integrity.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

__all__ = ["GUARD_TRIGGERS", "MIGRATIONS", "MIGRATION_SET", "known_migration_names"]

MIGRATION_SET = "uketsuke-ledger"
MIGRATIONS = Migrations(MIGRATION_SET)

_APPEND_ONLY_TRIGGERS = """
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only: record a VOID event instead of editing'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only: record a VOID event instead of deleting'); END;
CREATE TRIGGER replica_no_update BEFORE UPDATE ON replica
BEGIN SELECT RAISE(ABORT, 'replica events are append-only'); END;
CREATE TRIGGER replica_no_delete BEFORE DELETE ON replica
BEGIN SELECT RAISE(ABORT, 'replica events are append-only'); END;
CREATE TRIGGER meta_identity_fixed BEFORE UPDATE ON meta
WHEN OLD.key IN ('kiosk_id', 'public_key', 'created_at')
BEGIN SELECT RAISE(ABORT, 'a ledger''s kiosk id, public key and creation time never change'); END;
CREATE TRIGGER meta_identity_kept BEFORE DELETE ON meta
WHEN OLD.key IN ('kiosk_id', 'public_key', 'created_at')
BEGIN SELECT RAISE(ABORT, 'a ledger''s kiosk id, public key and creation time never change'); END;
"""

# Names of the guard triggers; verify() warns when one is missing (someone dropped it to edit rows).
GUARD_TRIGGERS = (
    "events_no_update",
    "events_no_delete",
    "replica_no_update",
    "replica_no_delete",
    "meta_identity_fixed",
    "meta_identity_kept",
)


@MIGRATIONS()
def m0001_initial(db: Database) -> None:
    """Meta, own events (chained and signed), replica of other kiosks' events, and their indexes and guards."""
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            voter TEXT,
            election TEXT,
            target TEXT,
            at TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            signature TEXT NOT NULL,
            body TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE replica (
            id INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            kiosk_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            voter TEXT,
            election TEXT,
            target TEXT,
            at TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            signature TEXT NOT NULL,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL
        )"""
    )
    # Partial indexes: the double-voting lookup only ever asks for check-ins of one voter, and for voids of an event.
    db.execute("CREATE INDEX events_checkin_voter ON events (voter) WHERE type = 'check_in'")
    db.execute("CREATE INDEX events_void_target ON events (target) WHERE target IS NOT NULL")
    db.execute("CREATE INDEX replica_checkin_voter ON replica (voter) WHERE type = 'check_in'")
    db.execute("CREATE INDEX replica_void_target ON replica (target) WHERE target IS NOT NULL")
    db.executescript(_APPEND_ONLY_TRIGGERS)


def known_migration_names() -> set[str]:
    """Names of every migration this version knows (a ledger recording others was written by a newer version)."""
    # sqlite-utils has no public accessor for the registered list; pending() on an empty in-memory db gives it.
    return {m.name for m in MIGRATIONS.pending(Database(memory=True, execute_plugins=False))}


@MIGRATIONS()
def m0002_replica_kiosk_seq(db: Database) -> None:
    """Index replica rows by (kiosk, seq): chain-continuity checks of the replica and per-kiosk heads for sync.

    Not UNIQUE on purpose: two different events claiming one kiosk's seq would be a fork, which verify_replica
    reports; refusing the insert would instead stop the kiosk from pulling anything more.
    """
    db.execute("CREATE INDEX replica_kiosk_seq ON replica (kiosk_id, seq)")
