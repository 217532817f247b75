"""The election committee's endpoints on the tally server, and the queries behind them.

Everything here answers to a *committee* client certificate only (a kiosk certificate is refused
with 403): every kiosk's state, live turnout by station and reporting time, early voting by day and 事由,
duplicate attempts the server stopped online (claims refused as already voted) and conflicts found after offline
work — each with both events and the committee's resolution notes — the void and override log, for one voter,
who viewed their record and when (the Estonian principle; the committee's own lookup is recorded as well), and the
exact totals of refused handshakes and requests (a flood is counted into few rows: ``sync.server.refusals``).

The counts aggregate in the database over narrow per-event facts (``checkin_facts``, ``declaration_facts``: an
insert trigger of migration 2 copies election, station, voter, JST day and second, kind, sex and 事由 out of each
sealed event when it arrives), so a report over a million check-ins neither scans the wide ``events`` rows nor parses
JSON per row, and ships grouped rows — not a million rows — to Python. The voter's sex comes from the register,
loaded once into ``voter_sex`` (register key → M/F; nothing else of the register is stored).

A voter is counted once per election, at their first standing (not voided) check-in. Standing duplicates can only
be conflicts (the claim lets one through), so the set-wise counts are corrected by the few conflict events.
Times are JST for people; stored times are canonical UTC ISO text (``Event.to_dict``), so time filters compare text.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ballots.events import CheckInKind, EventType
from ballots.issuance import JST
from ballots.model import ElectionDefinition
from sync.pki import CertRole, ClientIdentity
from sync.server import storage as st

__all__ = [
    "ONLINE_WITHIN_S",
    "TimeBuckets",
    "TurnoutCache",
    "finish_voter_sexes",
    "install",
    "op_claim_recorded",
    "read_access",
    "read_duplicates",
    "read_early",
    "read_stations",
    "read_turnout",
    "read_voids",
    "store_voter_sexes",
    "turnout_buckets",
    "voter_sexes_loaded",
]

log = logging.getLogger(__name__)

# Kiosks heartbeat every 10 s; three missed heartbeats and the committee sees the station as offline.
ONLINE_WITHIN_S = 30.0
MAX_NOTE = 2000

_CHECK_IN = EventType.CHECK_IN.value
_VOID = EventType.VOID.value
_OVERRIDE = EventType.OVERRIDE.value
_DECLARATION = EventType.DECLARATION.value
_RECORD_VIEWED = EventType.RECORD_VIEWED.value
_EARLY = CheckInKind.EARLY.value


def _iso(at: datetime) -> str:
    """The canonical stored form of an instant (what ``Event.to_dict`` writes), for text comparison."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _not_voided(alias: str) -> str:
    return f"NOT EXISTS (SELECT 1 FROM events v WHERE v.target = {alias}.event_id AND v.type = '{_VOID}')"


# ---------------------------------------------------------------------------------------------------------------------
# Time buckets: one CASE over sorted boundaries, the same SQL on both databases.


@dataclass(frozen=True, slots=True)
class TimeBuckets:
    """Instants splitting a period: bucket i holds times in (bounds[i-1], bounds[i]] (bucket 0 from ``start``);
    the last bucket (index ``len(bounds)``) runs to ``end``. ``labels[i]`` names bucket i's upper end."""

    start: datetime
    end: datetime
    bounds: tuple[datetime, ...]
    labels: tuple[str, ...]


def turnout_buckets(day: date, times: Sequence[time]) -> TimeBuckets:
    """Buckets of a JST day ending at every whole hour and at each reporting time (e.g. 19:30), so the published
    figures (cumulative at the package's times) and an hourly chart both come from one query."""
    start = datetime(day.year, day.month, day.day, tzinfo=JST)
    ends = {start + timedelta(hours=h) for h in range(1, 24)}
    ends |= {datetime.combine(day, t, tzinfo=JST) for t in times if t != time(0, 0)}
    bounds = tuple(sorted(ends))
    labels = (*(f"{b:%H:%M}" for b in bounds), "24:00")
    return TimeBuckets(start, start + timedelta(days=1), bounds, labels)


# ---------------------------------------------------------------------------------------------------------------------
# Claims refused as already voted (recorded in the claim's own transaction)


def op_claim_recorded(conn: st.Conn, kiosk_id: str, req: st.ClaimRequest) -> st.ClaimResult:
    """``storage.op_claim``, and a refused claim is recorded with both sides (the duplicate attempt stopped online)."""
    res = st.op_claim(conn, kiosk_id, req)
    if not res.accepted:
        h = res.holder
        conn.execute(
            "INSERT INTO claim_refusals (refused_at, election, voter, event_id, kiosk_id, station_id, kind, at, "
            "holder_event_id, holder_kiosk, holder_station, holder_kind, holder_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                st.utc_now(),
                req.election,
                req.voter,
                req.event_id,
                kiosk_id,
                req.station_id,
                req.kind,
                req.at,
                h["event_id"],
                h["kiosk_id"],
                h["station_id"],
                h["kind"],
                h["at"],
            ),
        )
        log.info("claim refused as already voted: %s/%s at %s", req.election, req.voter, req.station_id)
    return res


# ---------------------------------------------------------------------------------------------------------------------
# Register sexes


def voter_sexes_loaded(conn: st.Conn, package_hash: str) -> bool:
    """Whether the register's sexes of this package are in ``voter_sex``."""
    done = conn.execute("SELECT value FROM meta WHERE key = 'voter_sex'").fetchone()
    return done is not None and done[0] == package_hash


def store_voter_sexes(conn: st.Conn, rows: Sequence[tuple[str, str]]) -> None:
    """Store a chunk of register key → sex (``M``/``F``)."""
    conn.executemany(
        "INSERT INTO voter_sex (voter, sex) VALUES (?, ?) ON CONFLICT (voter) DO UPDATE SET sex = excluded.sex", rows
    )


def finish_voter_sexes(conn: st.Conn, package_hash: str) -> None:
    """Give check-ins recorded before the register was loaded their sex, and mark the package's register loaded."""
    conn.execute(
        "UPDATE checkin_facts SET sex = (SELECT s.sex FROM voter_sex s WHERE s.voter = checkin_facts.voter) "
        "WHERE sex IS NULL"
    )
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('voter_sex', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (package_hash,),
    )


# ---------------------------------------------------------------------------------------------------------------------
# Reads


def read_stations(conn: st.Conn, definition: ElectionDefinition, now: datetime) -> list[dict[str, Any]]:
    """Every kiosk the server knows (and every package station with none): online, last contact, pending events,
    package match, clock skew. A kiosk refused for holding another package after its last contact is a mismatch."""
    kiosks = st.read_kiosks(conn)
    refused = {
        str(c): str(at)
        for c, at in conn.execute(
            "SELECT client_id, MAX(at) FROM rejections WHERE stage = 'package' AND client_id IS NOT NULL "
            "GROUP BY client_id"
        ).fetchall()
    }
    names = {s.id: s.name for s in definition.stations}
    cutoff = _iso(now - timedelta(seconds=ONLINE_WITHIN_S))
    out = []
    for k in kiosks:
        wrong = refused.get(k["kiosk_id"])
        out.append(
            {
                "kiosk_id": k["kiosk_id"],
                "station_id": k["station_id"],
                "station_name": names.get(k["station_id"] or "", k["station_id"] or ""),
                "online": k["last_seen"] >= cutoff,
                "last_seen": k["last_seen"],
                "pending": k["pending"],
                "last_seq": k["last_seq"],
                "package_match": wrong is None or wrong < k["last_seen"],
                "skew_ms": k["skew_ms"],
                "replica_age_s": k["replica_age_s"],
            }
        )
    known = {k["kiosk_id"] for k in kiosks}
    for client, at in sorted(refused.items()):
        if client not in known:  # refused from its first request on: it never got a status row
            out.append(
                {
                    "kiosk_id": client,
                    "station_id": None,
                    "station_name": "",
                    "online": False,
                    "last_seen": at,
                    "pending": None,
                    "last_seq": 0,
                    "package_match": False,
                    "skew_ms": None,
                    "replica_age_s": None,
                }
            )
    seen_stations = {k["station_id"] for k in kiosks}
    for s in definition.stations:
        if s.id not in seen_stations:
            out.append(
                {
                    "kiosk_id": None,
                    "station_id": s.id,
                    "station_name": s.name,
                    "online": False,
                    "last_seen": None,
                    "pending": None,
                    "last_seq": 0,
                    "package_match": None,
                    "skew_ms": None,
                    "replica_age_s": None,
                }
            )
    return out


@dataclass(frozen=True, slots=True)
class _Extra:
    """A standing check-in that is not its voter's first for that election (one side of a conflict)."""

    event_id: str
    election: str
    voter: str
    station_id: str
    at: str
    sex: str
    kind: str


def _standing_extras(conn: st.Conn) -> list[_Extra]:
    """Second and later standing check-ins of one (election, voter): only conflicts can produce them."""
    # A join (by primary key) with the few conflict events: an id list would make PostgreSQL scan every fact.
    rows = conn.execute(
        "SELECT f.event_id, f.election, f.voter, f.station_id, f.at, COALESCE(f.sex, ''), f.kind "
        "FROM (SELECT first_event_id AS id FROM conflicts UNION SELECT second_event_id FROM conflicts) c "
        "JOIN checkin_facts f ON f.event_id = c.id WHERE f.voided = 0"
    ).fetchall()
    by_claim: dict[tuple[str, str], list[_Extra]] = defaultdict(list)
    for r in rows:
        x = _Extra(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6] or ""))
        by_claim[(x.election, x.voter)].append(x)
    extras: list[_Extra] = []
    for group in by_claim.values():
        group.sort(key=lambda x: (x.at, x.event_id))
        extras += group[1:]
    return extras


def _bucket_of(buckets: TimeBuckets, at: str) -> int | None:
    if not (_iso(buckets.start) <= at < _iso(buckets.end)):
        return None
    for i, b in enumerate(buckets.bounds):
        if at <= _iso(b):
            return i
    return len(buckets.bounds)


def _turnout_case(buckets: TimeBuckets) -> tuple[str, list[float]]:
    # Buckets by JST second of day (the facts' column): a number comparison per boundary, not a time parse per row.
    seconds = [(b - buckets.start).total_seconds() for b in buckets.bounds]
    whens = " ".join(f"WHEN f.jst_second <= ? THEN {i}" for i in range(len(seconds)))
    return f"CASE {whens} ELSE {len(seconds)} END", seconds


_Counts = dict[tuple[str, str, int, str], int]


def _turnout_counts(conn: st.Conn, buckets: TimeBuckets, day: date, after: int = 0, upto: int | None = None) -> _Counts:
    """Standing check-in facts of ``day`` grouped by (election, station, bucket, sex); with ``after``/``upto``, only
    those of events with a cursor in (after, upto] (what arrived since an earlier count)."""
    case, seconds = _turnout_case(buckets)
    if upto is None:
        sql = (
            f"SELECT f.election, f.station_id, {case} AS b, COALESCE(f.sex, '') AS sx, COUNT(*) "
            "FROM checkin_facts f WHERE f.jst_day = ? AND f.voided = 0 GROUP BY f.election, f.station_id, b, sx"
        )
        params: tuple[Any, ...] = (*seconds, day.isoformat())
    else:
        sql = (
            f"SELECT f.election, f.station_id, {case} AS b, COALESCE(f.sex, '') AS sx, COUNT(*) "
            "FROM checkin_facts f WHERE f.cursor > ? AND f.cursor <= ? AND f.jst_day = ? AND f.voided = 0 "
            "GROUP BY f.election, f.station_id, b, sx"
        )
        params = (*seconds, after, upto, day.isoformat())
    return {(str(r[0]), str(r[1]), int(r[2]), str(r[3])): int(r[4]) for r in conn.execute(sql, params).fetchall()}


def _with_extras(conn: st.Conn, buckets: TimeBuckets, base: _Counts) -> dict[str, Any]:
    counts = dict(base)
    for x in _standing_extras(conn):
        b = _bucket_of(buckets, x.at)
        if b is not None:
            key = (x.election, x.station_id, b, x.sex)
            counts[key] = counts.get(key, 0) - 1
    return {
        "labels": list(buckets.labels),
        "rows": [[e, s, b, sx, n] for (e, s, b, sx), n in sorted(counts.items()) if n],
    }


def read_turnout(conn: st.Conn, day: date, times: Sequence[time]) -> dict[str, Any]:
    """Voters per (election, station, time bucket, sex) on JST ``day``: one grouped pass over the day's standing
    check-in facts, then the conflicts' extra check-ins taken off. Rows: [election, station, bucket, sex, count]."""
    buckets = turnout_buckets(day, times)
    return {"day": day.isoformat(), **_with_extras(conn, buckets, _turnout_counts(conn, buckets, day))}


class TurnoutCache:
    """The live view's turnout, kept up to date from what arrived since the last count instead of recounting the
    whole day on every refresh.

    Sound because the one event writer commits cursors in order (``sync.server.storage``): every event with a cursor
    at or below the head read first is visible, and nothing below it appears later. New check-ins are added (a check-in
    whose void came first is already marked voided); a new void takes its check-in off if that was counted before.
    Conflicts are few and re-applied on every answer. ``clear()`` when facts change otherwise (register loaded).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: dict[tuple[date, tuple[time, ...]], tuple[int, _Counts]] = {}

    def clear(self) -> None:
        """Forget every count (the next answer recounts the day)."""
        with self._lock:
            self._days.clear()

    def read(self, conn: st.Conn, day: date, times: Sequence[time]) -> dict[str, Any]:
        """Like ``read_turnout``, incrementally."""
        buckets = turnout_buckets(day, times)
        key = (day, tuple(times))
        with self._lock:
            head = int(conn.execute("SELECT COALESCE(MAX(cursor), 0) FROM events").fetchone()[0])
            cached = self._days.get(key)
            if cached is None:
                counts = _turnout_counts(conn, buckets, day, 0, head)
            else:
                last, old = cached
                counts = dict(old)
                if head > last:
                    for k, n in _turnout_counts(conn, buckets, day, last, head).items():
                        counts[k] = counts.get(k, 0) + n
                    case, seconds = _turnout_case(buckets)
                    voided = conn.execute(
                        f"SELECT f.election, f.station_id, {case} AS b, COALESCE(f.sex, '') FROM events e "
                        "JOIN checkin_facts f ON f.event_id = e.target "
                        f"WHERE e.cursor > ? AND e.cursor <= ? AND e.type = '{_VOID}' AND f.cursor <= ? "
                        "AND f.jst_day = ? AND NOT EXISTS (SELECT 1 FROM events w WHERE w.target = e.target "
                        f"AND w.type = '{_VOID}' AND w.cursor < e.cursor)",
                        (*seconds, last, head, last, day.isoformat()),
                    ).fetchall()
                    for r in voided:
                        k = (str(r[0]), str(r[1]), int(r[2]), str(r[3]))
                        counts[k] = counts.get(k, 0) - 1
            self._days[key] = (head, counts)
        return {"day": day.isoformat(), **_with_extras(conn, buckets, counts)}


def read_early(conn: st.Conn, definition: ElectionDefinition) -> dict[str, Any]:
    """Early voters per (election, JST day, sex, 事由) before election day. The 事由 is that of the voter's latest
    standing 宣誓書 at or before the check-in ('' when none). Rows: [election, day index, sex, reason, count] with
    ``labels`` the ISO days."""
    before = definition.election_day.isoformat()
    rows = conn.execute(
        "SELECT f.election, f.jst_day, COALESCE(f.sex, '') AS sx, COALESCE(f.reason, '') AS r, COUNT(*) "
        "FROM checkin_facts f WHERE f.kind = ? AND f.jst_day < ? AND f.voided = 0 "
        "GROUP BY f.election, f.jst_day, sx, r",
        (_EARLY, before),
    ).fetchall()
    counts: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for e, day, sx, r, n in rows:
        counts[(str(e), str(day), str(sx), str(r))] += int(n)
    # The facts hold the reason of the latest 宣誓書 whether or not it was later voided: re-decide those few voters.
    for e, day, sx, stored, voter, at in conn.execute(
        "SELECT f.election, f.jst_day, COALESCE(f.sex, ''), COALESCE(f.reason, ''), f.voter, f.at FROM checkin_facts f "
        f"WHERE f.kind = ? AND f.jst_day < ? AND f.voided = 0 AND f.voter IN ("
        f"SELECT d.voter FROM events v JOIN declaration_facts d ON d.event_id = v.target WHERE v.type = '{_VOID}')",
        (_EARLY, before),
    ).fetchall():
        counts[(str(e), str(day), str(sx), str(stored))] -= 1
        counts[(str(e), str(day), str(sx), _standing_reason(conn, str(voter), str(at)))] += 1
    for x in _standing_extras(conn):
        day = _iso_day(x.at)
        if x.kind == _EARLY and day < before:
            counts[(x.election, day, x.sex, _standing_reason(conn, x.voter, x.at))] -= 1
    labels = sorted({day for (_e, day, _s, _r), n in counts.items() if n})
    index = {d: i for i, d in enumerate(labels)}
    return {
        "labels": labels,
        "rows": [[e, index[d], sx, r, n] for (e, d, sx, r), n in sorted(counts.items()) if n],
    }


def _standing_reason(conn: st.Conn, voter: str, at: str) -> str:
    """The 事由 of the voter's latest standing 宣誓書 at or before ``at`` ('' if none)."""
    found = conn.execute(
        f"SELECT d.reason FROM declaration_facts d WHERE d.voter = ? AND d.at <= ? AND {_not_voided('d')} "
        "ORDER BY d.at DESC LIMIT 1",
        (voter, at),
    ).fetchone()
    return "" if found is None or found[0] is None else str(found[0])


def _next_chunk(voters: Iterator[Any], size: int = 10_000) -> list[tuple[str, str]]:
    """(register key, M/F) of the next ``size`` voters of a register iterator (run off the event loop)."""
    return [(v.code, v.sex.value) for v in itertools.islice(voters, size)]


def _iso_day(at: str) -> str:
    """JST calendar day (ISO) of a stored UTC instant."""
    return datetime.fromisoformat(at).astimezone(JST).date().isoformat()


def _details(conn: st.Conn, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What the committee needs to see of some events: type, kiosk, station, staff, time, kind/reason."""
    if not event_ids:
        return {}
    frag, params = conn.in_list(sorted(set(event_ids)))
    out = {}
    for eid, kiosk, seq, sealed in conn.execute(
        f"SELECT event_id, kiosk_id, seq, sealed FROM events WHERE event_id {frag}", params
    ).fetchall():
        body = json.loads(sealed)["event"]
        data = body.get("data") or {}
        out[str(eid)] = {
            "event_id": str(eid),
            "type": body.get("type"),
            "kiosk_id": str(kiosk),
            "seq": int(seq),
            "station_id": body.get("station_id"),
            "staff_id": body.get("staff_id"),
            "at": body.get("at"),
            "voter": body.get("voter"),
            "election": body.get("election"),
            "kind": data.get("kind"),
            "offline": data.get("offline"),
            "reason": data.get("reason"),
        }
    return out


def _notes(conn: st.Conn, subject: str) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sid, note, author, at in conn.execute(
        "SELECT subject_id, note, author, at FROM committee_notes WHERE subject = ? ORDER BY id", (subject,)
    ).fetchall():
        out[int(sid)].append({"note": note, "author": author, "at": at})
    return out


_REFUSAL_COLS = (
    "id, refused_at, election, voter, event_id, kiosk_id, station_id, kind, at, holder_event_id, holder_kiosk, "
    "holder_station, holder_kind, holder_at"
)


def read_duplicates(conn: st.Conn, limit: int = 5000) -> dict[str, Any]:
    """Duplicate attempts stopped online and conflicts from offline work, each with both events and its notes."""
    cols = _REFUSAL_COLS.split(", ")
    refusals = [
        dict(zip(cols, r, strict=True))
        for r in conn.execute(f"SELECT {_REFUSAL_COLS} FROM claim_refusals ORDER BY id LIMIT ?", (limit,)).fetchall()
    ]
    conflicts = st.read_conflicts(conn, None, 0, limit)
    details = _details(
        conn,
        [c[k] for c in conflicts for k in ("first_event_id", "second_event_id")]
        + [r["holder_event_id"] for r in refusals],
    )
    refusal_notes, conflict_notes = _notes(conn, "refusal"), _notes(conn, "conflict")
    for r in refusals:
        r["holder"] = details.get(r["holder_event_id"])
        r["notes"] = refusal_notes.get(int(r["id"]), [])
    for c in conflicts:
        c["first"] = details.get(c["first_event_id"])
        c["second"] = details.get(c["second_event_id"])
        c["notes"] = conflict_notes.get(int(c["id"]), [])
    return {"refusals": refusals, "conflicts": conflicts}


def read_voids(conn: st.Conn, limit: int = 5000) -> list[dict[str, Any]]:
    """Every void and manager override, oldest first, with who did it, why, and what a void cancelled."""
    rows = conn.execute(
        f"SELECT e.event_id, e.kiosk_id, e.sealed, t.type, t.at, t.station_id FROM events e "
        f"LEFT JOIN events t ON t.event_id = e.target WHERE e.type IN ('{_VOID}', '{_OVERRIDE}') "
        f"ORDER BY e.at, e.event_id LIMIT ?",
        (limit,),
    ).fetchall()
    out = []
    for eid, kiosk, sealed, ttype, tat, tstation in rows:
        body = json.loads(sealed)["event"]
        data = body.get("data") or {}
        out.append(
            {
                "event_id": eid,
                "type": body["type"],
                "kiosk_id": kiosk,
                "station_id": body.get("station_id"),
                "staff_id": body.get("staff_id"),
                "at": body.get("at"),
                "voter": body.get("voter"),
                "election": body.get("election"),
                "reason": data.get("reason"),
                "stop": data.get("stop"),
                "target": data.get("target"),
                "target_type": ttype,
                "target_at": tat,
                "target_station": tstation,
            }
        )
    return out


def read_access(conn: st.Conn, voter: str) -> dict[str, Any]:
    """For one voter: every record_viewed event (who at which desk, when, why) and every committee lookup."""
    views = []
    for eid, kiosk, sealed in conn.execute(
        f"SELECT event_id, kiosk_id, sealed FROM events WHERE voter = ? AND type = '{_RECORD_VIEWED}' ORDER BY at",
        (voter,),
    ).fetchall():
        body = json.loads(sealed)["event"]
        views.append(
            {
                "event_id": eid,
                "kiosk_id": kiosk,
                "station_id": body.get("station_id"),
                "staff_id": body.get("staff_id"),
                "at": body.get("at"),
                "purpose": (body.get("data") or {}).get("purpose"),
            }
        )
    lookups = [
        {"at": at, "client_id": client}
        for at, client in conn.execute(
            "SELECT at, client_id FROM committee_lookups WHERE voter = ? ORDER BY id", (voter,)
        ).fetchall()
    ]
    return {"voter": voter, "views": views, "committee_lookups": lookups}


# ---------------------------------------------------------------------------------------------------------------------
# HTTP


class NoteIn(BaseModel):
    """A resolution note on a conflict or a refused claim."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(pattern=r"^(conflict|refusal)$")
    subject_id: int = Field(ge=1, le=2**53)
    note: str = Field(min_length=1, max_length=MAX_NOTE)


class AccessIn(BaseModel):
    """Whose record views to list."""

    model_config = ConfigDict(extra="forbid")
    voter: str = Field(min_length=1, max_length=32, pattern=r"^[0-9]+$")


def _committee(request: Request) -> ClientIdentity:
    ident: ClientIdentity = request.scope["state"]["identity"]
    if ident.role is not CertRole.COMMITTEE:
        raise HTTPException(403, "committee certificate required")
    return ident


Committee = Annotated[ClientIdentity, Depends(_committee)]


async def _package_if_named(
    request: Request,
    x_uketsuke_package: Annotated[
        str | None, Header(description="the package hash the committee holds (optional; checked when sent)")
    ] = None,
) -> None:
    # The committee's certificate is what authorises it; the hash is optional so a committee workstation without the
    # package can still learn it (GET /v1/committee/election), but a wrong one is refused like a kiosk's.
    server = request.app.state.server
    if x_uketsuke_package is not None and x_uketsuke_package != server.package_hash:
        raise HTTPException(409, f"package hash mismatch: server serves {server.package_hash[:16]}…")


def install(app: FastAPI) -> None:
    """Add the committee endpoints to the tally server app (``app.state.server`` must be set)."""
    router = APIRouter(prefix="/v1/committee", tags=["committee"], dependencies=[Depends(_committee)])
    router.dependencies.append(Depends(_package_if_named))
    loaded = asyncio.Lock()
    sexes_ready = [False]
    live_turnout = TurnoutCache()

    def srv() -> Any:
        return app.state.server

    async def read(fn: Any) -> Any:
        return await asyncio.wrap_future(srv().db.read(fn))

    async def read_json(fn: Any) -> Response:
        # Large answers (50,000 turnout groups for 500 stations) are encoded in the reader thread, straight to JSON:
        # FastAPI's response validation of plain dicts would cost more than the query.
        def run(c: st.Conn) -> bytes:
            return json.dumps(fn(c), ensure_ascii=False, separators=(",", ":")).encode()

        body = await asyncio.wrap_future(srv().db.read(run))
        return Response(body, media_type="application/json")

    async def ensure_sexes() -> None:
        # The register's sexes are written once per package, on the first committee request, in chunks: each chunk
        # is its own short job for the event writer, so kiosks' pushes are never held up behind a million rows.
        if sexes_ready[0]:
            return
        async with loaded:
            if sexes_ready[0]:
                return
            server = srv()
            register = getattr(server.package, "register", None)
            if register is not None and not await read(lambda c: voter_sexes_loaded(c, server.package_hash)):
                voters = iter(register)
                total = 0
                while True:
                    chunk = await asyncio.to_thread(_next_chunk, voters)
                    if not chunk:
                        break
                    await asyncio.wrap_future(server.db.submit_event(lambda c, rows=chunk: store_voter_sexes(c, rows)))
                    total += len(chunk)
                await asyncio.wrap_future(server.db.submit_event(lambda c: finish_voter_sexes(c, server.package_hash)))
                live_turnout.clear()  # the counts so far were made without the sexes
                log.info("loaded the sex of %d register entries for the committee's counts", total)
            sexes_ready[0] = True

    @router.get("/election")
    async def election(who: Committee) -> dict[str, Any]:
        """The package facts the committee's view and reports need (names, times, previous figures) and its hash."""
        d: ElectionDefinition = srv().package.definition
        return {
            "package_hash": srv().package_hash,
            "municipality_name": d.municipality_name,
            "committee_name": d.committee_name,
            "election_day": d.election_day.isoformat(),
            "elections": [
                {
                    "id": e.id,
                    "name": e.name,
                    "short_name": e.short_name,
                    "order": e.order,
                    "early_voting_start": e.early_voting_start.isoformat(),
                }
                for e in d.ordered_elections()
            ],
            "stations": [{"id": s.id, "name": s.name, "kind": s.kind.value} for s in d.stations],
            "staff": {s.id: s.name for s in d.staff},
            "hourly_times": [f"{t:%H:%M}" for t in d.hourly_times],
            "previous": dict(d.previous_turnout),
            "server_time": st.utc_now(),
        }

    @router.get("/stations")
    async def stations(who: Committee) -> Response:
        """Every kiosk's state and every station without a kiosk."""
        d = srv().package.definition
        return await read_json(lambda c: read_stations(c, d, datetime.now(UTC)))

    def _day(day: date | None) -> date:
        if day is not None:
            return day
        return datetime.now(JST).date()

    @router.get("/turnout")
    async def turnout(
        who: Committee, day: Annotated[date | None, Query(description="JST day; default today")] = None
    ) -> Response:
        """Voters by election, station, time bucket and sex on one day."""
        await ensure_sexes()
        the_day, times = _day(day), srv().package.definition.hourly_times
        return await read_json(lambda c: read_turnout(c, the_day, times))

    @router.get("/overview")
    async def overview(
        who: Committee, day: Annotated[date | None, Query(description="JST day; default today")] = None
    ) -> Response:
        """What the live view refreshes: stations and the day's turnout, with the server time."""
        await ensure_sexes()
        d = srv().package.definition
        the_day = _day(day)

        def both(c: st.Conn) -> dict[str, Any]:
            now = datetime.now(UTC)
            return {
                "server_time": _iso(now),
                "stations": read_stations(c, d, now),
                "turnout": live_turnout.read(c, the_day, d.hourly_times),
            }

        return await read_json(both)

    @router.get("/early")
    async def early(who: Committee) -> Response:
        """Early voters by election, day, sex and 事由."""
        await ensure_sexes()
        d = srv().package.definition
        return await read_json(lambda c: read_early(c, d))

    @router.get("/duplicates")
    async def duplicates(who: Committee) -> Response:
        """Claims refused as already voted, and conflicts, with both events and notes."""
        return await read_json(read_duplicates)

    @router.get("/voids")
    async def voids(who: Committee) -> Response:
        """The void and override log."""
        return await read_json(read_voids)

    @router.get("/rejections")
    async def rejections(who: Committee) -> Response:
        """How many refusals the server recorded, in all and per stage: ``refusals`` is exact (the sum of each row's
        ``count``; a flood is counted, not written row by row), ``rows`` is how many rows hold them."""
        return await read_json(st.read_rejection_totals)

    @router.post("/access")
    async def access(body: AccessIn, who: Committee) -> dict[str, Any]:
        """Who viewed this voter's record and when; the lookup itself is recorded first (who, when)."""
        voter = body.voter

        def record(c: st.Conn) -> None:
            c.execute(
                "INSERT INTO committee_lookups (at, client_id, voter) VALUES (?, ?, ?)",
                (st.utc_now(), who.client_id, voter),
            )

        await asyncio.wrap_future(srv().db.submit_event(record))
        result: dict[str, Any] = await read(lambda c: read_access(c, voter))
        return result

    @router.post("/notes")
    async def add_note(body: NoteIn, who: Committee) -> dict[str, Any]:
        """Add a resolution note (kept with its author and time; notes are never edited or deleted)."""
        table = "conflicts" if body.subject == "conflict" else "claim_refusals"

        def write(c: st.Conn) -> dict[str, Any] | None:
            if c.execute(f"SELECT 1 FROM {table} WHERE id = ?", (body.subject_id,)).fetchone() is None:
                return None
            at = st.utc_now()
            c.execute(
                "INSERT INTO committee_notes (subject, subject_id, note, author, at) VALUES (?, ?, ?, ?, ?)",
                (body.subject, body.subject_id, body.note, who.client_id, at),
            )
            return {"subject": body.subject, "subject_id": body.subject_id, "author": who.client_id, "at": at}

        res = await asyncio.wrap_future(srv().db.submit_event(write))
        if res is None:
            raise HTTPException(404, f"no {body.subject} with id {body.subject_id}")
        log.info("committee note on %s %d by %s", body.subject, body.subject_id, who.client_id)
        return res

    app.include_router(router)
