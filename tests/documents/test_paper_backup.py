"""The paper backup list: who has voted, in register order, scoped to the station, printable on demand."""

from __future__ import annotations

from collections.abc import Callable

from documents_support import at, check_in, ev, make_voter

from ballots.events import Event, EventType
from ballots.model import ElectionDefinition, Sex, Voter
from ballots.paper_backup import paper_backup_pdf, voted_list_pdf, voted_so_far

REGISTER = {
    v.code: v
    for v in (
        make_voter(1, precinct="001", volume=2, page=3, line=4, name="後藤　一郎"),
        make_voter(2, precinct="001", volume=1, page=9, line=1, name="阿部　花子", sex=Sex.FEMALE),
        make_voter(3, precinct="002", volume=1, page=1, line=1, name="別区　三郎"),
        make_voter(4, precinct="001", volume=1, page=9, line=2, name="取消　四郎"),
    )
}
C = [f"{n:015d}" for n in range(6)]


def _events() -> list[Event]:
    return [
        check_in(at(5, "10:00"), C[1], "shu-sho"),  # early, at E01
        check_in(at(5, "10:00"), C[1], "shu-hi"),
        check_in(at(13, "09:00"), C[2], "shu-sho", station="D01", kind="day"),
        check_in(at(13, "09:30"), C[2], "shu-sho", station="D01", kind="day"),  # offline duplicate
        check_in(at(13, "09:10"), C[3], "shu-sho", station="D02", kind="day"),  # other 投票区
        check_in(at(13, "09:20"), C[4], "shu-sho", station="D01", kind="day", eid="x"),
        ev(EventType.VOID, at(13, "09:25"), station="D01", staff="m01", target="x", reason="誤り"),
        check_in(at(13, "09:40"), C[5], "shu-sho", station="D01", kind="day"),  # not in the register
    ]


def test_day_station_list_is_in_register_order_and_in_scope(definition: ElectionDefinition) -> None:
    lines = voted_so_far(_events(), definition, REGISTER.get, station_id="D01", as_of=at(13, "12:00"))
    assert [line.code for line in lines] == [C[2], C[1]]  # 冊1頁9行1 before 冊2頁3行4; 002 and voided left out
    assert lines[1].elections == ("小選挙区", "比例代表") and lines[1].stations == ("E01",)
    assert lines[0].conflict and not lines[1].conflict


def test_early_station_list_has_everyone_and_unknown_keys_last(definition: ElectionDefinition) -> None:
    lines = voted_so_far(_events(), definition, REGISTER.get, station_id="E01", as_of=at(13, "12:00"))
    assert [line.code for line in lines] == [C[2], C[1], C[3], C[5]]
    assert lines[-1].voter is None


def test_as_of_leaves_out_later_check_ins(definition: ElectionDefinition) -> None:
    lines = voted_so_far(_events(), definition, REGISTER.get, as_of=at(12, "23:59"))
    assert [line.code for line in lines] == [C[1]]


def test_lookup_raising_keyerror_is_treated_as_unknown(definition: ElectionDefinition) -> None:
    lines = voted_so_far(_events(), definition, REGISTER.__getitem__, as_of=at(13, "12:00"))
    assert lines[-1].code == C[5] and lines[-1].voter is None


def test_pdf_lists_names_in_order(
    definition: ElectionDefinition, pdf_text: Callable[..., str], render_pages: Callable[[bytes], int]
) -> None:
    pdf = voted_list_pdf(_events(), definition, REGISTER.get, station_id="D01", as_of=at(13, "12:00"))
    assert render_pages(pdf) == 1
    text = pdf_text(pdf, layout=True)
    flat = "".join(text.split())
    assert "投票済者一覧（第1投票所）" in flat and "令和8年12月13日12:00現在" in flat
    assert flat.index("阿部花子") < flat.index("後藤一郎")
    assert "阿部花子＊" in flat  # the offline duplicate is flagged
    assert "小選挙区・比例代表" in flat and "別区" not in flat and "取消" not in flat


def test_long_list_paginates(definition: ElectionDefinition, render_pages: Callable[[bytes], int]) -> None:
    register = {v.code: v for v in (make_voter(n) for n in range(1, 101))}
    events = [check_in(at(5, "10:00"), code, "shu-sho") for code in register]
    pdf = voted_list_pdf(events, definition, register.get, as_of=at(6, "10:00"))
    assert render_pages(pdf) == 4  # 32 lines a page


def test_paper_backup_pdf_takes_the_register_object(
    definition: ElectionDefinition, pdf_text: Callable[..., str]
) -> None:
    class Register:
        def by_code(self, code: str) -> Voter | None:
            return REGISTER.get(code)

    pdf = paper_backup_pdf(definition, Register(), _events(), station_id="D01", as_of=at(13, "12:00"))
    flat = "".join(pdf_text(pdf).split())
    assert "阿部花子" in flat and "後藤一郎" in flat and "別区" not in flat
