"""Schema migrations of the tally server, for SQLite and PostgreSQL side by side.

Each migration is applied once, in order, inside one transaction together with its row in ``schema_migrations``.
Nothing in the schema is ever updated in place for the election's facts: events, claims, releases, conflicts and
rejections are insert-only (refusals beyond a limit are counted and written once, as one row with a count, never
by updating a row); only the ``kiosks`` status row and ``meta`` are rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MIGRATIONS", "Migration"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step; ``sqlite`` and ``postgres`` are lists of statements with the same meaning."""

    version: int
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


def _both(
    *statements: str, serial_sqlite: str = "INTEGER PRIMARY KEY AUTOINCREMENT"
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Write a statement once; ``{serial}`` becomes each dialect's auto-increment key."""
    lite = tuple(s.replace("{serial}", serial_sqlite) for s in statements)
    pg = tuple(s.replace("{serial}", "BIGSERIAL PRIMARY KEY") for s in statements)
    return lite, pg


_INITIAL = _both(
    # Fixed at first start: a database belongs to exactly one election package.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Per kiosk: where its chain stands on the server, and what it last told us about itself.
    """CREATE TABLE kiosks (
        kiosk_id TEXT PRIMARY KEY, ledger_key TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
        last_seq BIGINT NOT NULL DEFAULT 0, last_hash TEXT NOT NULL,
        pending BIGINT, replica_cursor BIGINT, replica_age_s DOUBLE PRECISION, client_time TEXT,
        skew_ms DOUBLE PRECISION, station_id TEXT)""",
    # Every accepted sealed event; ``cursor`` is the pull position (assigned by the one event writer, so cursors
    # become visible in order).
    """CREATE TABLE events (
        cursor {serial}, event_id TEXT NOT NULL UNIQUE, kiosk_id TEXT NOT NULL, seq BIGINT NOT NULL,
        type TEXT NOT NULL, election TEXT, voter TEXT, station_id TEXT NOT NULL, at TEXT NOT NULL,
        hash TEXT NOT NULL, target TEXT, sealed TEXT NOT NULL, received_at TEXT NOT NULL, UNIQUE (kiosk_id, seq))""",
    "CREATE INDEX events_type_cursor ON events (type, cursor)",
    "CREATE INDEX events_target ON events (target)",
    # The claim: at most one row per (election, voter, generation). Inserted by primary key, never checked first.
    # A void of the holding check-in adds a ``releases`` row; the next claim uses the next generation.
    """CREATE TABLE claims (
        election TEXT NOT NULL, voter TEXT NOT NULL, gen INTEGER NOT NULL, event_id TEXT NOT NULL,
        kiosk_id TEXT NOT NULL, station_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
        source TEXT NOT NULL, claimed_at TEXT NOT NULL, PRIMARY KEY (election, voter, gen))""",
    "CREATE INDEX claims_event ON claims (event_id)",
    """CREATE TABLE releases (
        election TEXT NOT NULL, voter TEXT NOT NULL, gen INTEGER NOT NULL, void_event_id TEXT NOT NULL,
        released_at TEXT NOT NULL, PRIMARY KEY (election, voter, gen))""",
    # A second accepted check-in for a claimed (election, voter): both events stay, this row reports it.
    """CREATE TABLE conflicts (
        id {serial}, election TEXT NOT NULL, voter TEXT NOT NULL,
        first_event_id TEXT NOT NULL, first_kiosk TEXT NOT NULL, first_station TEXT NOT NULL, first_at TEXT NOT NULL,
        second_event_id TEXT NOT NULL UNIQUE, second_kiosk TEXT NOT NULL, second_station TEXT NOT NULL,
        second_at TEXT NOT NULL, detected_at TEXT NOT NULL)""",
    "CREATE INDEX conflicts_first ON conflicts (first_event_id)",
    # Everything refused, with its reason: TLS handshakes, authorisation, chain and signature checks.
    """CREATE TABLE rejections (
        id {serial}, at TEXT NOT NULL, stage TEXT NOT NULL, client_id TEXT, peer TEXT, reason TEXT NOT NULL)""",
)

# The committee's records (sync.server.committee): claims refused as already voted (the online duplicate attempts),
# resolution notes and the committee's own lookups of a voter (insert-only, with who and when), the register's sex per
# voter for the 男/女 counts, and narrow per-event facts for the committee's counts. Why facts tables: a count over a
# million check-ins must not scan the wide ``events`` rows (the sealed JSON is most of each row) nor parse JSON per
# row, so an insert trigger copies what the counts need — election, station, voter, JST day and second of day, kind,
# sex, 事由 — once, when the event arrives. Stored times are canonical UTC text (Event.to_dict), and JST is UTC + 9 h,
# so the JST second of day comes from the text: ((hh + 9) mod 24) * 3600 + mm * 60 + ss.ffffff.
_JST_SECOND = (
    "((CAST(substr(NEW.at, 12, 2) AS INTEGER) + 9) - 24 * ((CAST(substr(NEW.at, 12, 2) AS INTEGER) + 9) / 24)) * 3600"
    " + CAST(substr(NEW.at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.at, 18, 9) AS DOUBLE PRECISION)"
)
_COMMITTEE_TABLES = (
    """CREATE TABLE claim_refusals (
        id {serial}, refused_at TEXT NOT NULL, election TEXT NOT NULL, voter TEXT NOT NULL, event_id TEXT NOT NULL,
        kiosk_id TEXT NOT NULL, station_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
        holder_event_id TEXT NOT NULL, holder_kiosk TEXT NOT NULL, holder_station TEXT NOT NULL,
        holder_kind TEXT NOT NULL, holder_at TEXT NOT NULL)""",
    """CREATE TABLE committee_notes (
        id {serial}, subject TEXT NOT NULL, subject_id BIGINT NOT NULL, note TEXT NOT NULL, author TEXT NOT NULL,
        at TEXT NOT NULL)""",
    "CREATE INDEX committee_notes_subject ON committee_notes (subject, subject_id, id)",
    """CREATE TABLE committee_lookups (
        id {serial}, at TEXT NOT NULL, client_id TEXT NOT NULL, voter TEXT NOT NULL)""",
    "CREATE INDEX committee_lookups_voter ON committee_lookups (voter)",
    "CREATE TABLE voter_sex (voter TEXT PRIMARY KEY, sex TEXT NOT NULL)",
    "CREATE INDEX events_voter ON events (voter, type, at)",
    "CREATE INDEX events_type_at ON events (type, at)",
    """CREATE TABLE checkin_facts (
        event_id TEXT PRIMARY KEY, election TEXT NOT NULL, voter TEXT NOT NULL, station_id TEXT NOT NULL,
        at TEXT NOT NULL, jst_day TEXT NOT NULL, jst_second DOUBLE PRECISION NOT NULL, kind TEXT, sex TEXT,
        reason TEXT, reason_at TEXT, voided INTEGER NOT NULL DEFAULT 0, cursor BIGINT NOT NULL)""",
    "CREATE INDEX checkin_facts_cursor ON checkin_facts (cursor)",
    "CREATE INDEX checkin_facts_day ON checkin_facts (jst_day)",
    "CREATE INDEX checkin_facts_voter ON checkin_facts (voter)",
    """CREATE TABLE declaration_facts (
        event_id TEXT PRIMARY KEY, voter TEXT NOT NULL, at TEXT NOT NULL, reason TEXT)""",
    "CREATE INDEX declaration_facts_voter ON declaration_facts (voter, at)",
)
# The 事由 of a check-in is that of the voter's latest 宣誓書 at or before it: looked up when the check-in arrives,
# and set again when a 宣誓書 arrives after its check-in (another desk's events pushed later). A voided 宣誓書 is
# rare and is corrected at query time.
_LATEST = (
    "(SELECT d.{col} FROM declaration_facts d WHERE d.voter = NEW.voter AND d.at <= NEW.at ORDER BY d.at DESC LIMIT 1)"
)
_REGISTER_SEX = "(SELECT sex FROM voter_sex WHERE voter = NEW.voter)"
_FACT_VALUES = (
    "VALUES (NEW.event_id, NEW.election, NEW.voter, NEW.station_id, NEW.at, {day}, " + _JST_SECOND + ", {kind}, "
    "{sex}, "
    + _LATEST.format(col="reason")
    + ", "
    + _LATEST.format(col="at")
    + ", CAST(EXISTS (SELECT 1 FROM events v WHERE v.target = NEW.event_id AND v.type = 'void') AS INTEGER), "
    "NEW.cursor)"
)
_CHECKIN_INSERT = (
    "INSERT INTO checkin_facts (event_id, election, voter, station_id, at, jst_day, jst_second, kind, sex, reason, "
    "reason_at, voided, cursor) " + _FACT_VALUES
)
_DECLARATION_INSERT = (
    "INSERT INTO declaration_facts (event_id, voter, at, reason) VALUES (NEW.event_id, NEW.voter, NEW.at, {reason}); "
    "UPDATE checkin_facts SET reason = {reason}, reason_at = NEW.at WHERE voter = NEW.voter AND at >= NEW.at "
    "AND (reason_at IS NULL OR reason_at < NEW.at)"
)
# A void marks the check-in it cancels (a void that arrives before its check-in is found by the insert above).
_VOID_UPDATE = "UPDATE checkin_facts SET voided = 1 WHERE event_id = NEW.target"
_SQLITE_KIND = "json_extract(NEW.sealed, '$.event.data.kind')"
_PG_KIND = "(NEW.sealed::json #>> '{event,data,kind}')"
_PG_DAY = "to_char(CAST(substr(NEW.at, 1, 19) AS TIMESTAMP) + INTERVAL '9 hours', 'YYYY-MM-DD')"


def _sqlite_checkin_trigger(sex: str) -> str:
    return (
        "CREATE TRIGGER events_checkin_facts AFTER INSERT ON events WHEN NEW.type = 'check_in' BEGIN "
        + _CHECKIN_INSERT.format(day="date(NEW.at, '+9 hours')", kind=_SQLITE_KIND, sex=sex)
        + "; END"
    )


def _pg_facts_function(sex: str, create: str = "CREATE") -> str:
    return (
        f"{create} FUNCTION committee_facts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.type = 'check_in' THEN "
        + _CHECKIN_INSERT.format(day=_PG_DAY, kind=_PG_KIND, sex=sex)
        + "; ELSIF NEW.type = 'declaration' THEN "
        + _DECLARATION_INSERT.format(reason="(NEW.sealed::json #>> '{event,data,reason}')")
        + "; ELSIF NEW.type = 'void' THEN "
        + _VOID_UPDATE
        + "; END IF; RETURN NULL; END $$"
    )


_COMMITTEE_SQLITE = (
    *_both(*_COMMITTEE_TABLES)[0],
    _sqlite_checkin_trigger(_REGISTER_SEX),
    "CREATE TRIGGER events_declaration_facts AFTER INSERT ON events WHEN NEW.type = 'declaration' BEGIN "
    + _DECLARATION_INSERT.format(reason="CAST(json_extract(NEW.sealed, '$.event.data.reason') AS TEXT)")
    + "; END",
    "CREATE TRIGGER events_void_facts AFTER INSERT ON events WHEN NEW.type = 'void' BEGIN " + _VOID_UPDATE + "; END",
)
_COMMITTEE_POSTGRES = (
    *_both(*_COMMITTEE_TABLES)[1],
    _pg_facts_function(_REGISTER_SEX),
    "CREATE TRIGGER events_committee_facts AFTER INSERT ON events FOR EACH ROW "
    "WHEN (NEW.type IN ('check_in', 'declaration', 'void')) EXECUTE FUNCTION committee_facts()",
)

# A 決定書等所持者 (not in the register) has no voter_sex row; the manager records the sex from the decision in the
# check-in (data.decision_sex, M/F), so the committee's 男/女 add up to 計 like the station's 投票録. Only M or F
# is taken: anything else stays unknown, as the station report also treats it.
_SQLITE_DECISION_SEX = (
    "COALESCE(" + _REGISTER_SEX + ", CASE json_extract(NEW.sealed, '$.event.data.decision_sex') "
    "WHEN 'M' THEN 'M' WHEN 'F' THEN 'F' END)"
)
_PG_DECISION_SEX = (
    "COALESCE(" + _REGISTER_SEX + ", CASE NEW.sealed::json #>> '{event,data,decision_sex}' "
    "WHEN 'M' THEN 'M' WHEN 'F' THEN 'F' END)"
)
_BACKFILL = (
    "UPDATE checkin_facts SET sex = (SELECT CASE {path} WHEN 'M' THEN 'M' WHEN 'F' THEN 'F' END FROM events e "
    "WHERE e.event_id = checkin_facts.event_id) WHERE sex IS NULL"
)
_DECISION_SEX_SQLITE = (
    "DROP TRIGGER events_checkin_facts",
    _sqlite_checkin_trigger(_SQLITE_DECISION_SEX),
    _BACKFILL.format(path="json_extract(e.sealed, '$.event.data.decision_sex')"),
)
_DECISION_SEX_POSTGRES = (
    _pg_facts_function(_PG_DECISION_SEX, create="CREATE OR REPLACE"),
    _BACKFILL.format(path="e.sealed::json #>> '{event,data,decision_sex}'"),
)

# Refusals are recorded in full only up to a limit per source, kind and window (sync.server.refusals); further ones
# are counted and written as one row with ``count`` = N, ``first_at`` = the first counted (``at`` = the last), so
# totals are SUM(count). Rows written before this migration are single refusals: count 1, first_at NULL.
_REJECTION_COUNTS = _both(
    "ALTER TABLE rejections ADD COLUMN count BIGINT NOT NULL DEFAULT 1",
    "ALTER TABLE rejections ADD COLUMN first_at TEXT",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _INITIAL[0], _INITIAL[1]),
    Migration(2, "committee records", _COMMITTEE_SQLITE, _COMMITTEE_POSTGRES),
    Migration(3, "rejection counts", _REJECTION_COUNTS[0], _REJECTION_COUNTS[1]),
    Migration(4, "decision holder sex", _DECISION_SEX_SQLITE, _DECISION_SEX_POSTGRES),
)
