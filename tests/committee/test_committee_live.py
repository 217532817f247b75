"""The live view's turnout is kept up to date incrementally (``TurnoutCache``): after more check-ins, voids (of
check-ins counted before, of new ones, and twice of the same one) and a conflict arrive, it equals a full recount."""

from __future__ import annotations

from typing import Any

from committee_support import E_HI, E_SHO, ELECTION_DAY, Desk, Seeded, event, jst

from ballots.events import EventType
from kiosk.committee_client import CommitteeClient


def _live(committee: CommitteeClient) -> Any:
    return committee.overview(ELECTION_DAY)["turnout"]


def _full(committee: CommitteeClient) -> Any:
    return committee._call("GET", "/v1/committee/turnout", params={"day": ELECTION_DAY.isoformat()})


def test_live_turnout_follows_new_events_like_a_full_recount(
    committee: CommitteeClient, desks: dict[str, Desk], seeded: Seeded
) -> None:
    assert _live(committee) == _full(committee)  # first answer: a full count
    d02, d01a, d01b = desks["K-D02"], desks["K-D01a"], desks["K-D01b"]
    d01b.client.pull_once()  # the other desk of D01 knows the seeded check-ins, not yet the void below
    counted_before = next(e for e in seeded.events["K-D01a"] if e.type is EventType.CHECK_IN and e.election == E_HI)
    fresh = d02.record(
        event(EventType.CHECK_IN, jst(13, "16:10"), "D02", voter=40, election=E_SHO, kind="day"),
        event(EventType.CHECK_IN, jst(13, "16:10"), "D02", voter=40, election=E_HI, kind="day"),
        event(EventType.CHECK_IN, jst(13, "17:00"), "D02", voter=41, election=E_SHO, kind="day"),
    )
    d02.record(event(EventType.VOID, jst(13, "17:05"), "D02", staff="m01", target=fresh[2].event_id, reason="誤り"))
    d01a.record(
        event(EventType.VOID, jst(13, "17:10"), "D01", staff="m01", target=counted_before.event_id, reason="誤り"),
        # offline at D01 again: voter 40 a second time → a conflict, counted once
        event(EventType.CHECK_IN, jst(13, "18:30"), "D01", voter=40, election=E_SHO, kind="day", offline=True),
    )
    # The other desk, not having pulled the first void yet, voids the same check-in again: counted off once.
    d01b.record(
        event(EventType.VOID, jst(13, "17:11"), "D01", staff="m01", target=counted_before.event_id, reason="重複取消")
    )
    d02.client.push_pending()
    d01a.client.push_pending()
    d01b.client.push_pending()
    live, full = _live(committee), _full(committee)
    assert live == full
    before = {tuple(r[:4]): r[4] for r in _full(committee)["rows"]}
    assert sum(n for (e, s, _b, _x), n in before.items() if e == E_SHO and s == "D02") == 8  # 7 seeded + voter 40
    assert _live(committee) == full  # nothing new: the cached count as is
