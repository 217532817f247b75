"""The whole reception flow by keyboard, for every branch, against the real core (register, ledger, reception
service, rules) with the software card in-process. Only keys are pressed: no clicks."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ballots.events import EventType
from ballots.model import OfflinePolicy
from kiosk import workflow as wf
from kiosk.app import SyncSnapshot

JST = timezone(timedelta(hours=9))
EARLY_DAY = datetime(2026, 12, 7, 10, 0, tzinfo=JST)  # every election's early voting has started
ELECTION_DAY = datetime(2026, 12, 13, 9, 0, tzinfo=JST)


def _events(k: Any, type_: EventType | None = None) -> list[Any]:
    events = k.runtime._need().ledger.events()
    return [e for e in events if type_ is None or e.type is type_]


def _voter(k: Any, persona: dict[str, Any]) -> Any:
    return k.runtime._need().package.register.by_code(persona["register_code"])


def _scan(k: Any, code: str) -> None:
    """A USB scanner: the 入場券's digits (識別コード + extract number) then Enter, into whatever has the focus."""
    k.type(code + "0007")
    k.enter()


def _read_by_card(k: Any, sample: Any, era_input: Any, scenario: str) -> None:
    p = sample.persona(scenario)
    era, yymmdd = era_input(p["birth_date"])
    k.collation(era, yymmdd, p["security_code"])


def _finish_early(k: Any) -> None:
    """Confirm identity, pick 事由 1, hand over the ballots, next voter."""
    k.enter()
    assert k.state.screen is wf.Screen.CHOOSE_REASON
    k.key(Qt.Key.Key_1)
    assert k.state.screen is wf.Screen.ISSUE
    k.enter()
    assert k.state.screen is wf.Screen.READY


def test_early_voter_by_card_collation_b(kiosk: Any, sample: Any, era_input: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona="plain")
    k.start_day(sample.passphrase)
    assert k.page is k.window.reception
    status = k.window.status.fields
    assert status["staff"].text() == "係員：m01（投票管理者）"
    assert status["package"].text().startswith("データ：") and len(status["package"].text()) > 10
    _read_by_card(k, sample, era_input, "plain")
    assert k.state.screen is wf.Screen.CONFIRM_IDENTITY, k.state
    assert k.page is k.window.voter
    pixmap = k.window.voter.photo.pixmap()
    assert pixmap is not None and not pixmap.isNull()  # the face photo, from memory
    voter = k.state.voter
    assert k.window.voter.name.text() == voter.name
    assert k.window.voter.kana.text() == voter.kana
    assert k.window.voter.fields["birth"].text().startswith(("大正", "昭和", "平成"))
    assert k.window.voter.fields["source"].text() == "マイナンバーカード（顔写真で確認）"
    assert len(k.window.voter.election_labels) == 4  # the status for every election of the day
    k.enter()
    assert k.state.screen is wf.Screen.CHOOSE_REASON
    k.key(Qt.Key.Key_1)
    assert k.state.screen is wf.Screen.ISSUE, k.state
    give = [k.window.ballots.give.item(i).text() for i in range(k.window.ballots.give.count())]
    assert give == [f"{i}．{e.name}" for i, e in enumerate(k.state.to_issue, 1)]
    assert [e.order for e in k.state.to_issue] == sorted(e.order for e in k.state.to_issue)
    k.enter()
    assert k.state.screen is wf.Screen.READY
    checkins = _events(k, EventType.CHECK_IN)
    assert {e.election for e in checkins} == {e.id for e in k.runtime.definition.elections}
    assert all(e.voter == voter.code and e.data["kind"] == "early" for e in checkins)
    declarations = _events(k, EventType.DECLARATION)
    assert [d.data["reason"] for d in declarations] == [1]
    assert len(k.runtime.printer.jobs) == 1  # the 宣誓書
    assert k.controller.photo is None  # the photo is gone with the voter
    assert k.window.voter.photo.pixmap().isNull() and k.window.voter.name.text() == ""


def test_voter_pin_pad(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona="new_form_on_card")
    k.start_day(sample.passphrase)
    k.key(Qt.Key.Key_F3)
    assert k.page is k.window.pin_pad
    k.type(sample.persona("new_form_on_card")["pin"])
    assert k.window.pin_pad.dots.text() == "● ● ● ●"
    k.enter()
    assert k.state.screen is wf.Screen.CONFIRM_IDENTITY, (k.state, k.window.reception.error.text())
    assert k.state.voter.code == sample.persona("new_form_on_card")["register_code"]
    _finish_early(k)


def test_wrong_pin_shows_tries_then_blocked_stops(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona="plain")
    k.start_day(sample.passphrase)
    right = sample.persona("plain")["pin"]
    wrong = "0000" if right != "0000" else "1111"
    k.key(Qt.Key.Key_F3)
    k.type(wrong)
    k.enter()
    assert k.page is k.window.pin_pad
    assert "あと 2 回" in k.window.pin_pad.tries.text()
    assert k.window.pin_pad.error.text()
    k.type(wrong)
    k.enter()
    assert "あと 1 回" in k.window.pin_pad.tries.text()
    k.type(wrong)
    k.enter()
    # Blocked: a full stop with what to do; nothing was recorded for a voter.
    assert k.page is k.window.stop
    assert "ロック" in k.window.stop.title.text()
    assert not k.window.stop.override_box.isVisible()
    assert not _events(k, EventType.CHECK_IN)
    k.key(Qt.Key.Key_Escape)
    assert k.page is k.window.reception


def test_barcode_scan_without_clicking_a_field(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    code = sample.persona("plain")["register_code"]
    _scan(k, code)
    assert k.state.screen is wf.Screen.CONFIRM_IDENTITY
    assert k.state.voter.code == code
    assert k.window.voter.fields["source"].text() == "入場券"
    assert k.window.voter.photo.text().startswith("写真なし")
    _finish_early(k)


def test_barcode_scan_while_typing_a_search_leaves_the_field_clean(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    k.key(Qt.Key.Key_F4)
    assert k.page is k.window.search
    k.type("カネ")
    code = sample.persona("plain")["register_code"]
    _scan(k, code)
    assert k.window.search.query.text() == "カネ"  # the scanner's digits were taken back out
    assert k.state.screen is wf.Screen.CONFIRM_IDENTITY and k.state.voter.code == code


def test_manual_search_choose_among_candidates(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    plain = sample.persona("plain")
    family_kana = plain["kana"].split("\u3000")[0]
    k.key(Qt.Key.Key_F4)
    k.type(family_kana)
    k.enter()
    assert k.state.screen in (wf.Screen.CHOOSE_CANDIDATE, wf.Screen.CONFIRM_IDENTITY)
    if k.state.screen is wf.Screen.CHOOSE_CANDIDATE:
        assert k.page is k.window.search and k.window.search.results.rowCount() == len(k.state.candidates)
        # Arrow down to the persona, Enter.
        row = next(i for i, v in enumerate(k.state.candidates) if v.code == plain["register_code"])
        for _ in range(row):
            k.key(Qt.Key.Key_Down)
        k.enter()
    assert k.state.screen is wf.Screen.CONFIRM_IDENTITY and k.state.voter.code == plain["register_code"]
    assert _events(k, EventType.RECORD_VIEWED)  # every view of a record is logged


def test_search_with_no_result_says_so(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    k.key(Qt.Key.Key_F4)
    k.type("ヲヲヲヲ")
    k.enter()
    assert k.state.screen is wf.Screen.NOT_FOUND
    assert "該当者がいません" in k.window.search.error.text()
    k.key(Qt.Key.Key_Escape)
    assert k.state.screen is wf.Screen.READY


def test_already_voted_hard_stop_only_manager_continues(kiosk: Any, sample: Any, era_input: Any) -> None:
    """The classic incident: voter votes without the 入場券, comes back with it."""
    k = kiosk(station="E01", when=EARLY_DAY, persona="plain")
    k.start_day(sample.passphrase, staff="m01")
    _read_by_card(k, sample, era_input, "plain")
    _finish_early(k)
    first = len(_events(k, EventType.CHECK_IN))
    _scan(k, sample.persona("plain")["register_code"])
    k.enter()  # confirm identity: the history shows the earlier check-in
    assert k.state.screen is wf.Screen.STOP
    assert k.page is k.window.stop and k.window.stop.objectName() == "hardStop"
    text = k.window.stop.text.text()
    assert "投票済み" in text and "架空市役所本庁舎期日前投票所" in text and "時" in text  # where and when
    # A habitual Enter does not pass the stop.
    k.enter()
    assert k.state.screen is wf.Screen.STOP
    # A clerk's PIN is refused.
    stop = k.window.stop
    k.type("c01", stop.manager_id)
    k.type("7364", stop.manager_pin)
    k.type("本人の申し出", stop.reason)
    k.key(Qt.Key.Key_Return, stop.reason)
    assert k.state.screen is wf.Screen.STOP and "投票管理者ではありません" in stop.error.text()
    # The manager continues, with a reason: logged.
    k.type("m02", stop.manager_id)
    k.type("1033", stop.manager_pin)
    k.type("二重登録の疑い：確認済み", stop.reason)
    k.key(Qt.Key.Key_Return, stop.reason)
    assert k.state.screen in (wf.Screen.CHOOSE_REASON, wf.Screen.ISSUE), k.state
    overrides = _events(k, EventType.OVERRIDE)
    assert len(overrides) == 1 and overrides[0].staff_id == "m02"
    assert overrides[0].data["reason"] == "二重登録の疑い：確認済み"
    assert len(_events(k, EventType.CHECK_IN)) == first  # nothing issued yet


def test_already_voted_stop_sent_away(kiosk: Any, sample: Any, era_input: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona="plain")
    k.start_day(sample.passphrase)
    _read_by_card(k, sample, era_input, "plain")
    _finish_early(k)
    _scan(k, sample.persona("plain")["register_code"])
    k.enter()
    assert k.state.screen is wf.Screen.STOP
    checkins = len(_events(k, EventType.CHECK_IN))
    k.key(Qt.Key.Key_Escape)
    assert k.state.screen is wf.Screen.READY
    assert len(_events(k, EventType.CHECK_IN)) == checkins


def test_wrong_station_names_the_right_one(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="D001", when=ELECTION_DAY, persona=None)
    k.start_day(sample.passphrase)
    definition = k.runtime.definition
    # A voter of another 投票区 than this station's.
    voter = next(v for v in k.runtime._need().package.register if v.precinct not in definition.station("D001").precincts
                 and not v.moved and v.absentee is None and v.age_on(definition.election_day) >= 18)
    right = definition.day_station_for(voter.precinct)
    _scan(k, voter.code)
    k.enter()
    assert k.state.screen is wf.Screen.REFUSED
    assert k.page is k.window.stop
    assert right is not None and right.name in k.window.stop.text.text()
    assert not k.window.stop.override_box.isVisible()
    k.key(Qt.Key.Key_Escape)
    assert k.state.screen is wf.Screen.READY
    assert not _events(k, EventType.CHECK_IN)


def test_moved_voter_some_ballots_not_given(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    _scan(k, sample.persona("moved_within_prefecture")["register_code"])
    k.enter()
    if k.state.screen is wf.Screen.CHOOSE_REASON:
        k.key(Qt.Key.Key_2)
    assert k.state.screen is wf.Screen.ISSUE, k.state
    withheld = k.window.ballots.withhold.text()
    assert withheld.startswith("渡さない：") and "市長選挙" in withheld
    given = [e.id for e in k.state.to_issue]
    assert "shicho" not in given and given
    k.enter()
    assert {e.election for e in _events(k, EventType.CHECK_IN)} == set(given)


def test_not_this_person_provisional_vote(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    _scan(k, sample.persona("plain")["register_code"])
    k.key(Qt.Key.Key_F8)
    assert k.state.screen is wf.Screen.IDENTITY_DOUBT and k.page is k.window.stop
    k.key(Qt.Key.Key_F10)
    assert k.page is k.window.manager
    keys = [k.window.manager.functions.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(k.window.manager.functions.count())]
    assert keys == ["provisional", "refuse"]
    m = k.window.manager
    k.type("本人確認書類と相違、本人は異議", m.reason)
    k.type("m01", m.manager_id)
    k.type("2201", m.pin)
    k.key(Qt.Key.Key_Return, m.pin)
    assert k.state.screen in (wf.Screen.CHOOSE_REASON, wf.Screen.ISSUE), (k.state, m.error.text())
    if k.state.screen is wf.Screen.CHOOSE_REASON:
        k.key(Qt.Key.Key_1)
    assert k.state.screen is wf.Screen.ISSUE
    assert _events(k, EventType.PROVISIONAL)[0].staff_id == "m01"


def test_not_this_person_refusal(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    _scan(k, sample.persona("plain")["register_code"])
    k.key(Qt.Key.Key_F8)
    k.key(Qt.Key.Key_F10)
    m = k.window.manager
    k.key(Qt.Key.Key_Down, m.functions)
    assert m.current_key() == "refuse" and m.article.isVisible()
    k.type("本人でないことが明らか", m.reason)
    k.type("m01", m.manager_id)
    k.type("2201", m.pin)
    k.key(Qt.Key.Key_F12)
    assert k.state.screen is wf.Screen.READY
    refusal = _events(k, EventType.REFUSAL)
    assert refusal and refusal[0].data["article"] == "法50条"


def test_offline_banner_and_manager_policy(kiosk: Any, sample: Any, package_opener: Any) -> None:
    """No server answers: the banner says since when and what is pending; with the package's policy "manager" each
    offline issuance needs the manager's confirmation."""

    def open_with_manager_policy(path: Any, pubkey: Any, passphrase: str) -> Any:
        pkg = package_opener(path, pubkey, passphrase)
        definition = dataclasses.replace(pkg.definition, offline_policy=OfflinePolicy.MANAGER)
        if dataclasses.is_dataclass(pkg) and not isinstance(pkg, type):
            return dataclasses.replace(pkg, definition=definition)
        pkg.definition = definition
        return pkg

    k = kiosk(station="E01", when=EARLY_DAY, persona=None, open_package=open_with_manager_policy)
    k.start_day(sample.passphrase)
    since = datetime(2026, 12, 7, 9, 30, tzinfo=JST)
    k.controller.bridge.on_sync(SyncSnapshot(online=False, since=since, pending=3))
    k.qtbot.waitUntil(lambda: k.window.offline_banner.isVisible())
    banner = k.window.offline_banner.text()
    assert "09:30" in banner and "未送信 3件" in banner and "投票管理者の確認" in banner
    assert "オフライン" in k.window.status.fields["server"].text()
    _scan(k, sample.persona("plain")["register_code"])
    k.enter()
    k.key(Qt.Key.Key_1)
    assert k.state.screen is wf.Screen.OFFLINE_CONFIRM, k.state
    stop = k.window.stop
    k.type("m01", stop.manager_id)
    k.type("2201", stop.manager_pin)
    k.type("サーバー障害：端末記録で確認", stop.reason)
    k.key(Qt.Key.Key_Return, stop.reason)
    assert k.state.screen is wf.Screen.ISSUE
    checkins = _events(k, EventType.CHECK_IN)
    assert checkins and all(e.data["offline"] for e in checkins)
    k.controller.bridge.on_sync(SyncSnapshot(online=True, pending=0))
    k.qtbot.waitUntil(lambda: not k.window.offline_banner.isVisible())


def test_manager_functions_at_the_ballots(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)  # the manager opens the station, then hands the desk to a clerk
    k.key(Qt.Key.Key_Q, modifier=Qt.KeyboardModifier.ControlModifier)
    assert k.page is k.window.sign_in
    k.sign_in("c01")
    assert k.window.status.fields["staff"].text() == "係員：c01（係員）"
    _scan(k, sample.persona("plain")["register_code"])
    k.enter()
    k.key(Qt.Key.Key_3)
    assert k.state.screen is wf.Screen.ISSUE
    m = k.window.manager

    def run(key: str, **fields: str) -> None:
        k.key(Qt.Key.Key_F10)
        assert k.page is m
        m.select(key)
        for name, value in fields.items():
            k.type(value, getattr(m, name))
        k.type("m01", m.manager_id)
        k.type("2201", m.pin)
        k.key(Qt.Key.Key_Return, m.pin)
        assert k.page is not m, m.error.text()

    run("proxy", helper1="c01", helper2="c02")
    run("braille")
    run("reissue", reason="書き損じ")
    run("reprint")
    assert k.state.screen is wf.Screen.ISSUE
    assert _events(k, EventType.PROXY_VOTE)[0].data["helpers"] == ["c01", "c02"]
    assert _events(k, EventType.BRAILLE)
    assert _events(k, EventType.BALLOT_REISSUED)[0].data["reason"] == "書き損じ"
    reprints = [e for e in _events(k, EventType.DECLARATION) if e.data.get("reprint")]
    assert len(reprints) == 1 and reprints[0].staff_id == "m01"
    assert len(k.runtime.printer.jobs) == 2  # the 宣誓書 and its reprint
    notes = k.window.ballots.notes.text()
    assert "代理投票" in notes and "点字" in notes and "再交付" in notes


def test_void_a_check_in_from_the_ready_screen(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    _scan(k, sample.persona("plain")["register_code"])
    _finish_early(k)
    k.key(Qt.Key.Key_F10)
    m = k.window.manager
    assert m.current_key() == "void" and m.target.count() == len(_events(k, EventType.CHECK_IN))
    target = m.target.currentData()
    k.type("誤って登録", m.reason)
    k.type("m01", m.manager_id)
    k.type("2201", m.pin)
    k.key(Qt.Key.Key_Return, m.pin)
    assert k.state.screen is wf.Screen.READY
    voids = _events(k, EventType.VOID)
    assert voids and voids[0].data["target"] == target


def test_test_mode_then_reset(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.unlock(sample.passphrase)
    k.sign_in("m01")
    k.open_station(test_mode=True)
    assert k.window.test_banner.isVisible() and "試験モード" in k.window.windowTitle()
    assert k.page is k.window.sign_in  # the test desk starts with its own sign-in
    k.sign_in("m01")
    _scan(k, sample.persona("plain")["register_code"])
    _finish_early(k)
    assert k.runtime.test_mode and _events(k, EventType.CHECK_IN)
    assert k.runtime.has_test_records()
    k.key(Qt.Key.Key_T, modifier=Qt.KeyboardModifier.ControlModifier)
    k.settle()
    assert not k.window.test_banner.isVisible()
    assert not k.runtime.has_test_records()
    assert not _events(k, EventType.CHECK_IN)  # the real ledger never saw the test
    assert k.page is k.window.sign_in


def test_opening_check_flags_a_ledger_with_check_ins_today(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None, ledger_name="shared.db")
    k.start_day(sample.passphrase)
    _scan(k, sample.persona("plain")["register_code"])
    _finish_early(k)
    k.close()
    again = kiosk(station="E01", when=EARLY_DAY, persona=None, ledger_name="shared.db")
    again.unlock(sample.passphrase)
    again.sign_in("m01")
    again.settle()
    table = again.window.opening.table
    rows = {
        table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text()) for r in range(table.rowCount())
    }
    assert rows["本日の受付記録"][0] == "NG" and "4件" in rows["本日の受付記録"][1]
    assert rows["選挙データ"][0] == "OK"
    assert {"カード読取機", "プリンター", "サーバー", "他の投票所の記録", "時計"} <= set(rows)
    again.open_station()
    assert again.page is again.window.opening and "NG" in again.window.opening.error.text()


def test_clerk_cannot_open_the_station(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.unlock(sample.passphrase)
    k.sign_in("c01")
    k.open_station()
    assert k.page is k.window.opening
    assert "投票管理者" in k.window.opening.error.text()


def test_wrong_passphrase_and_wrong_pin_change_nothing(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.unlock("not-the-passphrase")
    assert k.page is k.window.unlock and k.window.unlock.error.text()
    assert k.window.error_banner.isVisible()
    k.unlock(sample.passphrase)
    assert k.page is k.window.sign_in
    k.type("m01")
    k.enter()
    k.type("9999")
    k.enter()
    assert k.state.screen is wf.Screen.SIGNED_OUT and "PIN" in k.window.sign_in.error.text()
    assert not _events(k, EventType.STAFF_SIGN_IN)


@pytest.mark.parametrize("shortcut", [Qt.Key.Key_R, Qt.Key.Key_H, Qt.Key.Key_B])
def test_reports_and_paper_backup_from_the_menu(kiosk: Any, sample: Any, shortcut: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    _scan(k, sample.persona("plain")["register_code"])
    _finish_early(k)
    before = len(k.runtime.printer.jobs)
    k.key(shortcut, modifier=Qt.KeyboardModifier.ControlModifier)
    k.settle()
    assert len(k.runtime.printer.jobs) == before + 1, k.window.error_banner.text()
    assert k.runtime.printer.jobs[-1].pdf.startswith(b"%PDF")
    assert "印刷しました" in k.window.notice_banner.text() and not k.window.error_banner.isVisible()


def test_kiosk_command_says_what_is_wrong(uketsuke_cmd: list[str], sample: Any, tmp_path: Any) -> None:
    import subprocess

    base = [*uketsuke_cmd, "kiosk", "--package", str(sample.package), "--pubkey", str(sample.pubkey),
            "--ledger", str(tmp_path / "desk.db")]
    missing = subprocess.run([*base, "--station", "E01", "--printer", "cups"], capture_output=True, text=True)
    assert missing.returncode == 2 and "printer_queue: required" in missing.stderr
    no_station = subprocess.run(base, capture_output=True, text=True)
    assert no_station.returncode == 2 and "station: required" in no_station.stderr
    assert not (tmp_path / "desk.db").exists()  # nothing was opened or created


def test_online_with_the_embedded_server(kiosk: Any, sample: Any, package_opener: Any, tmp_path: Any) -> None:
    """Against the real tally server on loopback: the opening check reaches it, the status bar says online,
    claims are accepted by the server and the outbox drains."""
    from kiosk.app import sync_factory_for
    from kiosk.config import KioskConfig
    from sync.server.runner import start_embedded

    served = package_opener(sample.package, sample.pubkey, sample.passphrase)
    server = start_embedded(served, f"sqlite:///{tmp_path / 'server.db'}", host="127.0.0.1", port=0)
    try:
        config = KioskConfig(package=sample.package, pubkey=sample.pubkey, station="E01", ledger=tmp_path / "desk.db",
                             server=server.url)
        k = kiosk(station="E01", when=EARLY_DAY, persona=None, server=server.url,
                  sync_factory=sync_factory_for(config))
        k.unlock(sample.passphrase)
        k.sign_in("m01")
        k.settle()
        table = k.window.opening.table
        rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
        assert rows["サーバー"] == "OK"
        k.open_station()
        k.qtbot.waitUntil(lambda: k.window.status.fields["server"].text().startswith("サーバー：オンライン"),
                          timeout=10_000)
        _scan(k, sample.persona("plain")["register_code"])
        _finish_early(k)
        checkins = _events(k, EventType.CHECK_IN)
        assert checkins and all(e.data["claim"] == "accepted" and not e.data["offline"] for e in checkins)
        k.qtbot.waitUntil(lambda: k.runtime._need().ledger.pending_count == 0, timeout=15_000)
        k.close()
    finally:
        server.stop()


def test_card_taken_away_during_the_read(kiosk: Any, sample: Any, era_input: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona="plain")
    k.start_day(sample.passphrase)
    k.runtime.soft_card.remove_after = 4  # the voter picks the card up in the middle of the read
    _read_by_card(k, sample, era_input, "plain")
    assert k.page is k.window.reception and k.state.screen is wf.Screen.READY
    assert "カード" in k.window.reception.error.text()
    assert not _events(k, EventType.RECORD_VIEWED)


def test_uketsuke_kiosk_starts_from_the_command_line(uketsuke_cmd: list[str], sample: Any, tmp_path: Any) -> None:
    """The real entry point: configuration → composition root (software card, file printer) → Qt window; the
    passphrase file unlocks the package, so the ledger appears; then the process is ended by its PID."""
    import os
    import subprocess
    import time

    ledger = tmp_path / "desk.db"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [*uketsuke_cmd, "kiosk", "--package", str(sample.package), "--pubkey", str(sample.pubkey),
         "--station", "E01", "--ledger", str(ledger), "--soft-card", str(sample.personas["plain"]),
         "--printer", "file", "--printer-dir", str(tmp_path / "prints"),
         "--passphrase-file", str(sample.dir / "passphrase.txt")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ledger.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert ledger.exists() and (tmp_path / "desk.db.key").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
