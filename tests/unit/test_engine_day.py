"""Hall-wide rules: notices, duty leader, day rollover, and replay of the journal."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from controller.app import event_codec
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Decision, Engine
from controller.domain.errors import NotFound
from controller.domain.reducer import apply
from controller.domain.state import HallState, TicketStatus
from controller.settings.hall_config import HallConfig
from tests.engine_helpers import At, call, finish, issue, kinds, ok, refused, sign_in

TUESDAY = dt.date(2026, 11, 24)

# --- notices and the duty leader -------------------------------------------------------------


def test_notices_are_posted_numbered_and_cleared(engine: Engine, at: At) -> None:
    first = ok(engine.handle(cmd.PostNotice(" 今日下午系统升级 "), at("08:00")))
    assert kinds(first) == ["DayOpened", "NoticePosted"]
    assert first.result == {"notice_id": 1}
    emergency = ok(engine.handle(cmd.PostNotice("火警演练，请有序撤离", "emergency"), at("08:01")))
    event = emergency.events[0]
    assert isinstance(event, ev.NoticePosted)
    assert (event.notice_id, event.level) == (2, "emergency")
    assert engine.state.notices[1].text == "今日下午系统升级"
    assert [n.level for n in engine.state.notices.values()] == ["normal", "emergency"]
    assert kinds(ok(engine.handle(cmd.ClearNotice(1), at("08:02")))) == ["NoticeCleared"]
    assert set(engine.state.notices) == {2}
    gone = refused(engine.handle(cmd.ClearNotice(1), at("08:03")), "unknown_notice")
    assert type(gone.rejection) is NotFound
    assert ok(engine.handle(cmd.PostNotice("下一条"), at("08:04"))).result == {"notice_id": 3}


@pytest.mark.parametrize(
    ("text", "level", "reason"),
    [
        ("", "normal", "bad_notice"),
        ("   ", "normal", "bad_notice"),
        ("长" * 201, "normal", "bad_notice"),
        ("停电", "urgent", "bad_level"),
    ],
)
def test_notice_refusals(engine: Engine, at: At, text: str, level: str, reason: str) -> None:
    refused(engine.handle(cmd.PostNotice(text, level), at("08:00")), reason)
    assert not engine.state.notices


def test_duty_leader_is_set_and_cleared(engine: Engine, at: At) -> None:
    decision = ok(engine.handle(cmd.SetDutyLeader(" 李明 ", "副主任"), at("08:00")))
    assert kinds(decision) == ["DayOpened", "DutyLeaderSet"]
    assert engine.state.duty_leader == ("李明", "副主任")
    refused(engine.handle(cmd.SetDutyLeader("李" * 21), at("08:01")), "bad_duty_leader")
    refused(engine.handle(cmd.SetDutyLeader("李明", "职" * 31), at("08:01")), "bad_duty_leader")
    refused(engine.handle(cmd.SetDutyLeader("李\x1b明"), at("08:01")), "bad_duty_leader")
    assert engine.state.duty_leader == ("李明", "副主任")
    ok(engine.handle(cmd.SetDutyLeader(""), at("08:02")))
    assert engine.state.duty_leader is None


# --- day rollover ----------------------------------------------------------------------------


def busy_monday(engine: Engine, at: At) -> None:
    """A001 finished, A002 called at window 1, A003 and B001 waiting, window 3 paused."""
    sign_in(engine, 1, "S0101", at("08:30"))
    sign_in(engine, 3, "S0301", at("08:30"))
    issue(engine, "SB", at("16:00"))  # A001 -> finished
    issue(engine, "SB", at("16:01"))  # A002 -> called
    issue(engine, "SB", at("16:02"))  # A003 -> waiting
    issue(engine, "YB", at("16:03"))  # B001 -> waiting
    call(engine, 1, at("16:10"))
    finish(engine, 1, at("16:20"))
    call(engine, 1, at("16:21"))
    ok(engine.handle(cmd.Pause(3, "临时离岗"), at("16:30")))
    ok(engine.handle(cmd.PostNotice("明日正常办公"), at("16:40")))
    ok(engine.handle(cmd.SetDutyLeader("李明", "副主任"), at("16:41")))


def test_next_day_closes_the_old_day_first(engine: Engine, at: At) -> None:
    busy_monday(engine, at)
    decision = ok(engine.handle(cmd.Tick(), at("07:00", day=TUESDAY)))
    assert kinds(decision) == ["DayClosed", "DayOpened"]
    closed, opened = decision.events
    assert isinstance(closed, ev.DayClosed) and isinstance(opened, ev.DayOpened)
    assert closed.day == dt.date(2026, 11, 23) and opened.day == TUESDAY
    assert set(closed.expired) == {"20261123-A002", "20261123-A003", "20261123-B001"}
    assert set(closed.signed_out) == {1, 3}
    assert closed.at == opened.at == at("00:00", day=TUESDAY)


def test_new_day_starts_clean(engine: Engine, at: At) -> None:
    busy_monday(engine, at)
    ok(engine.handle(cmd.Tick(), at("07:00", day=TUESDAY)))
    state = engine.state
    assert state.day == TUESDAY
    assert not state.tickets and not any(state.waiting.values())
    assert not state.sequences and not state.recent_calls and not state.attendance
    for window in state.windows.values():
        assert (window.staff_id, window.current, window.paused) == (None, None, False)
        assert not window.calls_by_service
    assert set(state.notices) == {1}  # notices and the duty leader stay up
    assert state.duty_leader == ("李明", "副主任")
    first = issue(engine, "SB", at("08:30", day=TUESDAY))
    assert (first["id"], first["number"], first["ahead"]) == ("20261124-A001", "A001", 0)


def test_rollover_happens_even_when_the_command_is_refused(engine: Engine, at: At) -> None:
    busy_monday(engine, at)
    decision = refused(
        engine.handle(cmd.IssueTicket("SB"), at("08:00", day=TUESDAY)), "before_opening"
    )
    assert kinds(decision) == ["DayClosed", "DayOpened"]
    assert engine.state.day == TUESDAY


def test_appointment_booked_for_tomorrow_survives_the_rollover(engine: Engine, at: At) -> None:
    booking = cmd.BookAppointment("YY-0050", "YB", at("10:00", day=TUESDAY), "王五")
    ok(engine.handle(booking, at("15:00")))
    refused(engine.handle(cmd.CheckInAppointment("YY-0050"), at("15:01")), "wrong_day")
    decision = ok(engine.handle(cmd.CheckInAppointment("YY-0050"), at("09:45", day=TUESDAY)))
    assert kinds(decision) == ["DayClosed", "DayOpened", "TicketIssued"]
    assert (decision.result["id"], decision.result["lane"]) == ("20261124-B001", "appointment")


def test_expired_tickets_are_marked_before_they_leave_state(engine: Engine, at: At) -> None:
    busy_monday(engine, at)
    monday = copy.deepcopy(engine.state)
    closed = engine.handle(cmd.Tick(), at("07:00", day=TUESDAY)).events[0]
    assert isinstance(closed, ev.DayClosed)
    apply(monday, closed)  # DayClosed alone: how the old day ended, before DayOpened clears it
    statuses = {t.number: t.status for t in monday.tickets.values()}
    assert statuses == {
        "A001": TicketStatus.FINISHED,
        "A002": TicketStatus.EXPIRED,
        "A003": TicketStatus.EXPIRED,
        "B001": TicketStatus.EXPIRED,
    }
    assert not any(monday.waiting.values())
    assert [(a.staff_id, a.automatic_out) for a in monday.attendance] == [
        ("S0101", True),
        ("S0301", True),
    ]
    assert all(a.signed_out_at == at("00:00", day=TUESDAY) for a in monday.attendance)


def test_day_closed_after_a_weekend_is_stamped_at_the_end_of_friday(engine: Engine, at: At) -> None:
    friday = dt.date(2026, 11, 27)
    sign_in(engine, 1, "S0101", at("08:30", day=friday))
    decision = ok(engine.handle(cmd.Tick(), at("08:00", day=dt.date(2026, 11, 30))))
    closed = decision.events[0]
    assert isinstance(closed, ev.DayClosed) and closed.day == friday
    assert closed.at == at("00:00", day=dt.date(2026, 11, 28))


# --- replay ----------------------------------------------------------------------------------


def run(
    engine: Engine, journal: list[ev.Event], command: cmd.Command, now: dt.datetime
) -> Decision:
    decision = engine.handle(command, now)
    journal.extend(decision.events)
    return decision


def assert_same_state(a: HallState, b: HallState) -> None:
    assert a.day == b.day
    assert a.tickets == b.tickets
    assert {s: set(w) for s, w in a.waiting.items() if w} == {
        s: set(w) for s, w in b.waiting.items() if w
    }
    assert a.windows == b.windows
    assert a.sequences == b.sequences
    assert a.appointments == b.appointments
    assert a.attendance == b.attendance
    assert list(a.recent_calls) == list(b.recent_calls)
    assert a.notices == b.notices and a.duty_leader == b.duty_leader


def test_replaying_the_journal_rebuilds_the_same_state(hall_config: HallConfig, at: At) -> None:
    engine = Engine(hall_config)
    journal: list[ev.Event] = []
    script: list[tuple[cmd.Command, str, dt.date | None]] = [
        (cmd.SignIn(1, "S0101", "A"), "08:30", None),
        (cmd.SignIn(2, "S0201", "A"), "08:30", None),
        (cmd.SignIn(4, "S0401", "A"), "08:31", None),
        (cmd.BookAppointment("YY-0060", "SB", at("10:00"), "赵六", "13700001234"), "08:32", None),
        (cmd.IssueTicket("SB"), "09:00", None),
        (cmd.IssueTicket("YB"), "09:01", None),
        (cmd.IssueTicket("SB", "priority", "孕妇"), "09:02", None),
        (cmd.IssueTicket("BDC"), "09:03", None),
        (cmd.IssueTicket("SB"), "09:04", None),
        (cmd.CheckInAppointment("YY-0060"), "09:40", None),
        (cmd.CallNext(1), "09:41", None),
        (cmd.Recall(1), "09:42", None),
        (cmd.NoShow(1), "09:43", None),
        (cmd.CallNext(2), "09:44", None),
        (cmd.Transfer(2, to_service="YB"), "09:45", None),
        (cmd.CallNext(4), "09:46", None),
        (cmd.Finish(4, "承诺件"), "10:06", None),
        (cmd.InviteRating(4), "10:06", None),
        (cmd.CallNext(1), "10:07", None),
        (cmd.CallNext(1), "10:20", None),
        (cmd.SetWindowServices(3, ("YB", "SB"), "order"), "10:21", None),
        (cmd.Pause(4, "系统维护"), "10:22", None),
        (cmd.CloseWindow(6), "10:23", None),
        (cmd.PostNotice("系统维护", "emergency"), "10:24", None),
        (cmd.SetDutyLeader("李明", "副主任"), "10:25", None),
        (cmd.IssueTicket("SB"), "09:00", TUESDAY),
        (cmd.SignIn(1, "S0102", "B"), "09:01", TUESDAY),
        (cmd.CallNext(1), "09:02", TUESDAY),
    ]
    for command, hhmm, day in script:
        run(engine, journal, command, at(hhmm) if day is None else at(hhmm, day=day))
    assert {"DayClosed", "TicketNoShow", "TicketTransferred", "TicketFinished"} <= {
        e.kind for e in journal
    }
    fresh = Engine(hall_config)
    assert fresh.replay(journal) == len(journal)
    assert_same_state(engine.state, fresh.state)
    assert fresh.state.windows[1].current == "20261124-A001"


def test_replay_through_json_matches_too(hall_config: HallConfig, at: At) -> None:
    engine = Engine(hall_config)
    journal: list[ev.Event] = []
    run(engine, journal, cmd.SignIn(2, "S0201", "A"), at("08:30"))
    run(
        engine,
        journal,
        cmd.SetWindowServices(2, ("YB", "SB"), "weighted", (("YB", 3),)),
        at("08:31"),
    )
    for code in ("SB", "YB", "SB"):
        run(engine, journal, cmd.IssueTicket(code), at("09:00"))
    run(engine, journal, cmd.CallNext(2), at("09:05"))
    run(engine, journal, cmd.IssueTicket("SB"), at("09:00", day=TUESDAY))
    lines = [event_codec.event_to_json(event) for event in journal]
    fresh = Engine(hall_config)
    fresh.replay(event_codec.event_from_json(line) for line in lines)
    assert_same_state(engine.state, fresh.state)
