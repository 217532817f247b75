"""Keyboard flows for the gaps closed after the first release (issues 2 and 6), against the real core with the
software card in-process: the face photo after a PIN read, staff sign-in lockout, the manager's reprint from a list.
Only keys are pressed: no clicks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from PySide6.QtCore import Qt

from ballots.events import EventType
from kiosk import workflow as wf

JST = timezone(timedelta(hours=9))
EARLY_DAY = datetime(2026, 12, 7, 10, 0, tzinfo=JST)
PERSONA = "new_form_on_card"


def _events(k: Any, type_: EventType) -> list[Any]:
    return [e for e in k.runtime._need().ledger.events() if e.type is type_]


def _pin_read(k: Any, sample: Any) -> None:
    """F3, the voter types the card PIN on the pad, Enter: basic 4 info only (no photo)."""
    k.key(Qt.Key.Key_F3)
    k.type(sample.persona(PERSONA)["pin"])
    k.enter()
    k.settle()


def _finish_early(k: Any) -> None:
    k.enter()
    assert k.state.screen is wf.Screen.CHOOSE_REASON, k.state
    k.key(Qt.Key.Key_1)
    assert k.state.screen is wf.Screen.ISSUE
    k.enter()
    assert k.state.screen is wf.Screen.READY


def test_pin_read_then_photo_by_security_code(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=PERSONA)
    k.start_day(sample.passphrase)
    _pin_read(k, sample)
    v = k.window.voter
    assert k.state.screen is wf.Screen.CONFIRM_IDENTITY and k.page is v
    assert k.state.identity == wf.IDENTITY_CARD_PIN_NO_PHOTO
    # The screen says plainly that the photo was not checked, and offers the security code.
    assert v.note.isVisible() and "顔写真は未確認" in v.note.text()
    assert "未確認" in v.photo.text() and v.photo.pixmap().isNull()
    assert v.photo_row.isVisible()
    k.key(Qt.Key.Key_F4)  # to the security code field
    assert v.code.hasFocus()
    k.type(sample.persona(PERSONA)["security_code"], v.code)
    k.key(Qt.Key.Key_Return, v.code)  # Enter in the field reads the photo; it does not confirm the voter
    k.qtbot.waitUntil(lambda: k.state.identity == wf.IDENTITY_CARD_PHOTO, timeout=10_000)
    k.settle()
    assert k.state.screen is wf.Screen.CONFIRM_IDENTITY
    assert not v.photo.pixmap().isNull()  # the face photo, from memory
    assert not v.note.isVisible() and not v.photo_row.isVisible()
    assert "顔写真で確認" in v.fields["source"].text()
    _finish_early(k)
    checkins = _events(k, EventType.CHECK_IN)
    assert checkins and {c.data["identity"] for c in checkins} == {"card_photo"}
    assert k.controller.photo is None and k.controller.card_birth is None


def test_pin_read_photo_unreadable_confirm_without_it(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=PERSONA)
    k.start_day(sample.passphrase)
    _pin_read(k, sample)
    v = k.window.voter
    right = sample.persona(PERSONA)["security_code"]
    wrong = "0000" if right != "0000" else "1111"
    k.key(Qt.Key.Key_F4)
    k.type(wrong, v.code)
    k.key(Qt.Key.Key_F4)  # F4 with a code typed reads at once
    k.qtbot.waitUntil(lambda: bool(v.error.text()), timeout=10_000)
    k.settle()
    assert "顔写真未確認として記録" in v.error.text()
    assert k.state.identity == wf.IDENTITY_CARD_PIN_NO_PHOTO and v.note.isVisible()
    assert v.photo.pixmap().isNull()
    v.setFocus()
    _finish_early(k)  # the clerk may still confirm (identity checked otherwise)
    checkins = _events(k, EventType.CHECK_IN)
    assert checkins and {c.data["identity"] for c in checkins} == {"card_pin_no_photo"}
    (viewed,) = [e for e in _events(k, EventType.RECORD_VIEWED) if e.data["purpose"] == "本人確認"]
    assert viewed.data["identity"] == "card_pin_no_photo"


def _sign_in(k: Any, staff: str, pin: str) -> None:
    page = k.window.sign_in
    page.staff_id.clear()
    k.type(staff, page.staff_id)
    k.key(Qt.Key.Key_Return, page.staff_id)
    k.type(pin, page.pin)
    k.key(Qt.Key.Key_Return, page.pin)


def test_sign_in_lockout_then_manager_unlocks(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None, ledger_name="lock.db")
    k.unlock(sample.passphrase)
    for attempt in range(1, 6):
        _sign_in(k, "c01", "0000")
        assert k.state.screen is wf.Screen.SIGNED_OUT
        text = k.window.sign_in.error.text()
        assert ("ロックされています" in text) if attempt == 5 else (f"あと{5 - attempt}回" in text), text
    _sign_in(k, "c01", "7364")  # the right PIN: still locked
    assert k.state.screen is wf.Screen.SIGNED_OUT and "ロックされています" in k.window.sign_in.error.text()
    failed = _events(k, EventType.STAFF_SIGN_IN_FAILED)
    assert [e.data["attempt"] for e in failed] == [1, 2, 3, 4, 5, 6]
    assert {e.staff_id for e in failed} == {"c01"}
    # The staff id, the attempt number and whether it locked: never the PIN that was typed.
    assert [e.data for e in failed] == [{"attempt": n, "locked": n >= 5} for n in range(1, 7)]
    k.close()
    # A restart does not lift the lock: it is derived from the desk's ledger.
    k = kiosk(station="E01", when=EARLY_DAY, persona=None, ledger_name="lock.db")
    k.unlock(sample.passphrase)
    _sign_in(k, "c01", "7364")
    assert "ロックされています" in k.window.sign_in.error.text()
    # The manager signs in, opens the desk and unlocks c01 from the manager menu (F10).
    _sign_in(k, "m01", "2201")
    k.open_station()
    assert k.state.screen is wf.Screen.READY
    k.key(Qt.Key.Key_F10)
    m = k.window.manager
    assert k.page is m
    m.select("unlock")
    k.type("c01", m.staff)
    k.type("m01", m.manager_id)
    k.type("2201", m.pin)
    k.key(Qt.Key.Key_Return, m.pin)
    assert k.state.screen is wf.Screen.READY and "ロックを解除しました" in k.state.notice
    (unlocked,) = _events(k, EventType.STAFF_UNLOCKED)
    assert unlocked.staff_id == "m01" and unlocked.data["target"] == "c01"
    k.key(Qt.Key.Key_Q, modifier=Qt.KeyboardModifier.ControlModifier)  # sign out
    assert k.page is k.window.sign_in
    _sign_in(k, "c01", "7364")
    assert k.state.screen is wf.Screen.READY and k.state.staff.id == "c01"


def test_manager_reprints_an_earlier_declaration_from_the_list(kiosk: Any, sample: Any) -> None:
    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    plain = sample.persona("plain")
    k.type(plain["register_code"] + "0007")
    k.enter()
    _finish_early(k)
    (first,) = _events(k, EventType.DECLARATION)
    # Later, between voters: F10, 宣誓書の再印刷, choose from today's list, manager id + PIN, Enter.
    k.key(Qt.Key.Key_F10)
    m = k.window.manager
    m.select("reprint")
    assert m.declaration.isVisible() and m.declaration.count() == 1
    entry = m.declaration.itemText(0)
    assert plain["register_code"] in entry and "宣誓書" in entry
    assert plain["name"] not in entry  # register key, time and title only
    k.type("m01", m.manager_id)
    k.type("2201", m.pin)
    k.key(Qt.Key.Key_Return, m.pin)
    assert k.state.screen is wf.Screen.READY and k.state.error is None, k.state.error
    reprints = [e for e in _events(k, EventType.DECLARATION) if e.data.get("reprint")]
    assert len(reprints) == 1
    assert reprints[0].data == {"reason": first.data["reason"], "reprint": True, "original": first.event_id}
    assert reprints[0].staff_id == "m01" and reprints[0].voter == plain["register_code"]
    jobs = k.runtime.printer.jobs
    assert len(jobs) == 2 and "再印刷" in jobs[-1].title
    # The list says it was reprinted; a wrong manager PIN reprints nothing and says so.
    k.key(Qt.Key.Key_F10)
    m.select("reprint")
    assert "再印刷済" in m.declaration.itemText(0)
    k.type("m01", m.manager_id)
    k.type("0000", m.pin)
    k.key(Qt.Key.Key_Return, m.pin)
    assert "PIN" in k.window.current_page().error.text()
    assert len([e for e in _events(k, EventType.DECLARATION) if e.data.get("reprint")]) == 1


def test_decision_holder_from_the_not_found_screen(kiosk: Any, sample: Any) -> None:
    """法42条ただし書: not in the register; the manager records the decision's reference (never a name)."""
    from ballots.model import decision_holder_key

    k = kiosk(station="E01", when=EARLY_DAY, persona=None)
    k.start_day(sample.passphrase)
    k.key(Qt.Key.Key_F4)
    k.type("ヲヲヲヲ")
    k.enter()
    assert k.state.screen is wf.Screen.NOT_FOUND
    k.key(Qt.Key.Key_F10)
    m = k.window.manager
    assert k.page is m and m.current_key() == "decision"  # the only manager function here
    reference = "令和8年選管決定第12号"
    k.type(reference, m.reference)
    k.type("m01", m.manager_id)
    k.type("2201", m.pin)
    k.key(Qt.Key.Key_Return, m.pin)
    # The sex the decision states is required (the 投票録 counts by sex); nothing is recorded without it.
    assert k.page is m and "性別" in m.error.text() and m.sex.hasFocus()
    assert k.state.screen is wf.Screen.NOT_FOUND
    k.key(Qt.Key.Key_Down, m.sex)
    k.key(Qt.Key.Key_Down, m.sex)
    assert m.sex.currentText() == "女"
    k.key(Qt.Key.Key_Return, m.pin)  # the PIN typed before is still there
    assert k.state.screen is wf.Screen.CHOOSE_REASON, (k.state.error, k.state.notice)
    k.key(Qt.Key.Key_1)
    assert k.state.screen is wf.Screen.ISSUE and k.page is k.window.ballots
    key = decision_holder_key(reference)
    checkins = _events(k, EventType.CHECK_IN)
    assert checkins and {c.voter for c in checkins} == {key}
    assert all(
        c.data["decision_ref"] == reference and c.data["decision_by"] == "m01" and c.data["decision_sex"] == "F"
        for c in checkins
    )
    (declaration,) = _events(k, EventType.DECLARATION)
    assert declaration.voter == key
    assert len(k.runtime.printer.jobs) == 1  # a blank 宣誓書, filled in by hand
    k.enter()
    assert k.state.screen is wf.Screen.READY
    # The same decision again is already voted: a hard stop.
    k.key(Qt.Key.Key_F10)
    m.select("decision")
    assert m.sex.currentData() is None  # the previous decision holder's sex is not carried over
    k.type(reference, m.reference)
    m.sex.setCurrentIndex(1)
    k.type("m01", m.manager_id)
    k.type("2201", m.pin)
    k.key(Qt.Key.Key_Return, m.pin)
    assert k.state.screen is wf.Screen.STOP and k.page is k.window.stop
