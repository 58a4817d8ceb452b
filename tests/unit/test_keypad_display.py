"""What a window keypad shows, from the snapshot and the latest event (pure)."""

from __future__ import annotations

from controller.app.snapshot import build_snapshot
from controller.domain import commands as cmd
from controller.domain.engine import Engine
from display.keypad_text import keypad_display, windows_touched
from tests.engine_helpers import At, issue, ok, sign_in


def view(engine: Engine, at: At, number: int, hhmm: str) -> dict[str, object]:
    """Window `number`'s view in a fresh snapshot."""
    return next(w for w in build_snapshot(engine, at(hhmm))["windows"] if w["number"] == number)


def test_the_keypad_follows_the_window_through_a_service_and_a_rating(
    engine: Engine, at: At
) -> None:
    assert keypad_display(view(engine, at, 1, "08:00")).message == "暂无工作人员"
    sign_in(engine, 1, "S0101", at("09:00"))
    idle = keypad_display(view(engine, at, 1, "09:00"))
    assert (idle.state, idle.staff_name, idle.staff_photo_id) == ("idle", "周文", "S0101")
    issue(engine, "SB", at("09:01"))
    called = ok(engine.handle(cmd.CallNext(1), at("09:02")))
    serving = keypad_display(view(engine, at, 1, "09:02"), called.events[-1])
    assert (serving.state, serving.ticket, serving.message) == ("serving", "A001", "正在办理 A001")
    ok(engine.handle(cmd.Finish(1, "即办件"), at("09:05")))
    invited = ok(engine.handle(cmd.InviteRating(1), at("09:05")))
    shown = keypad_display(view(engine, at, 1, "09:05"), invited.events[-1])
    assert (shown.state, shown.ticket, shown.rating_seconds) == ("rating_invited", "A001", 120)
    rated = ok(
        engine.handle(cmd.PressKey("kp-1", "b", 1, 1, "rate", "very_satisfied"), at("09:05:30"))
    )
    touched = windows_touched(rated.events)
    thanks = keypad_display(view(engine, at, 1, "09:05"), touched[1])
    assert (thanks.state, thanks.message) == ("thanks", "感谢您的评价（非常满意）")
    ok(engine.handle(cmd.Pause(1, "取资料"), at("09:06")))
    assert keypad_display(view(engine, at, 1, "09:06")).message == "暂停服务（取资料）"


def test_the_keypad_keeps_the_rating_keys_for_an_invitation_the_next_call_left_open(
    engine: Engine, at: At
) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    issue(engine, "SB", at("09:01"))
    issue(engine, "SB", at("09:01"))
    ok(engine.handle(cmd.CallNext(1), at("09:02")))
    ok(engine.handle(cmd.Finish(1, "即办件"), at("09:05")))
    ok(engine.handle(cmd.InviteRating(1), at("09:05")))
    called = ok(engine.handle(cmd.CallNext(1), at("09:05:10")))
    shown = keypad_display(view(engine, at, 1, "09:05:10"), called.events[-1])
    assert (shown.state, shown.ticket, shown.rating_seconds) == ("rating_invited", "A001", 110)
    assert shown.message == "请 A001 号对本次服务进行评价（正在办理 A002）"
    after = keypad_display(view(engine, at, 1, "09:07:01"))  # the invitation has expired
    assert (after.state, after.message) == ("serving", "正在办理 A002")
