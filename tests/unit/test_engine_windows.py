"""Window desk rules: sign-in/out (AB角), open/close, services, pause, finish, rating."""

from __future__ import annotations

import datetime as dt

import pytest

from controller.app import event_codec
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Engine
from controller.domain.errors import CommandRejected, Forbidden, InvalidRequest, NotFound
from controller.domain.state import TicketStatus
from tests.engine_helpers import At, call, finish, issue, kinds, ok, refused, sign_in

# --- sign-in / sign-out (AB角, 考勤) ---------------------------------------------------------


def test_sign_in_shows_the_rostered_staff_and_opens_an_attendance_record(
    engine: Engine, at: At
) -> None:
    decision = ok(engine.handle(cmd.SignIn(1, "S0101", "A"), at("08:25")))
    assert kinds(decision) == ["DayOpened", "StaffSignedIn"]
    signed = decision.events[-1]
    assert isinstance(signed, ev.StaffSignedIn)
    assert (signed.staff_name, signed.role, signed.post) == ("周文", "A", "社保经办")
    assert decision.result == {"window": 1, "state": "idle", "staff": "周文"}
    [record] = engine.state.attendance
    assert (record.window, record.staff_id, record.role) == (1, "S0101", "A")
    assert (record.signed_in_at, record.signed_out_at) == (at("08:25"), None)


def test_a_hands_over_to_b_and_attendance_keeps_both(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:25"))
    out = ok(engine.handle(cmd.SignOut(1), at("12:00")))
    assert kinds(out) == ["StaffSignedOut"]
    assert engine.state.windows[1].status == "signed_out"
    sign_in(engine, 1, "S0102", at("12:01"), role="B")
    assert engine.state.windows[1].staff_role == "B"
    first, second = engine.state.attendance
    assert (first.staff_id, first.signed_out_at, first.automatic_out) == (
        "S0101",
        at("12:00"),
        False,
    )
    assert (second.staff_id, second.role, second.signed_out_at) == ("S0102", "B", None)


def test_sign_in_refusals(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:25"))
    now = at("08:26")
    refused(engine.handle(cmd.SignIn(1, "S0102", "B"), now), "window_occupied")
    refused(engine.handle(cmd.SignIn(2, "S0101", "A"), now), "staff_elsewhere")
    refused(engine.handle(cmd.SignIn(3, "T9999", "A"), now), "not_on_roster", kind=NotFound)
    refused(engine.handle(cmd.SignIn(3, "S0101 ", "A"), now), "bad_staff_id", kind=InvalidRequest)
    refused(
        engine.handle(cmd.SignIn(3, "S0401", "A", own_roster_only=True), now),
        "not_rostered_here",
        kind=Forbidden,
    )
    refused(engine.handle(cmd.SignIn(3, "S0301", "C"), now), "bad_role")
    unknown = refused(engine.handle(cmd.SignIn(99, "S0301", "A"), now), "unknown_window")
    assert isinstance(unknown.rejection, NotFound)
    ok(engine.handle(cmd.CloseWindow(4), now))
    refused(engine.handle(cmd.SignIn(4, "S0401", "A"), now), "window_closed")
    assert [w for w, s in engine.state.windows.items() if s.staff_id] == [1]
    assert len(engine.state.attendance) == 1


def test_signing_in_again_at_the_same_window_changes_nothing(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:25"))
    again = ok(engine.handle(cmd.SignIn(1, "S0101", "A"), at("08:40")))
    assert again.events == []
    assert engine.state.windows[1].signed_in_at == at("08:25")


def test_a_temporary_staff_member_signs_in_at_their_window_for_the_day(
    engine: Engine, at: At
) -> None:
    refused(engine.handle(cmd.SignIn(3, "T9999", "B"), at("08:29")), "not_on_roster")
    added = ok(engine.handle(cmd.AddTemporaryStaff("T9999", " 临时工 ", "", 3), at("08:29")))
    assert kinds(added) == ["TemporaryStaffAdded"]
    refused(
        engine.handle(cmd.AddTemporaryStaff("T9999", "另一人", "", 2), at("08:29")),
        "already_on_roster",
    )
    refused(
        engine.handle(cmd.AddTemporaryStaff("T9998", "临时\t工", "", 2), at("08:29")),
        "bad_staff_name",
        kind=InvalidRequest,
    )
    refused(
        engine.handle(cmd.SignIn(2, "T9999", "B", own_roster_only=True), at("08:30")),
        "not_rostered_here",
    )
    decision = ok(engine.handle(cmd.SignIn(3, "T9999", "B", own_roster_only=True), at("08:30")))
    signed = decision.events[-1]
    assert isinstance(signed, ev.StaffSignedIn)
    assert (signed.staff_name, signed.role, signed.post) == ("临时工", "B", "")
    assert engine.state.windows[3].staff_name == "临时工"
    tuesday = dt.date(2026, 11, 24)
    ok(engine.handle(cmd.Tick(), at("09:00", day=tuesday)))  # the next day: off the roster again
    refused(engine.handle(cmd.SignIn(3, "T9999", "B"), at("09:01", day=tuesday)), "not_on_roster")


def test_sign_out_refused_while_serving(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "SB", at("08:31"))
    call(engine, 1, at("08:32"))
    refused(engine.handle(cmd.SignOut(1), at("08:33")), "window_busy")
    finish(engine, 1, at("08:40"))
    assert kinds(ok(engine.handle(cmd.SignOut(1), at("08:41")))) == ["StaffSignedOut"]


def test_window_commands_need_a_signed_in_staff(engine: Engine, at: At) -> None:
    issue(engine, "SB", at("09:00"))
    for command in (cmd.CallNext(1), cmd.Finish(1), cmd.Pause(1, "开会"), cmd.SignOut(1)):
        refused(engine.handle(command, at("09:01")), "not_signed_in")
    assert engine.state.tickets["20261123-A001"].status is TicketStatus.WAITING


# --- open / close windows, services live -----------------------------------------------------


def test_closing_a_staffed_window_signs_its_staff_out(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    closed = ok(engine.handle(cmd.CloseWindow(1), at("10:00")))
    assert kinds(closed) == ["StaffSignedOut", "WindowClosed"]
    out = closed.events[0]
    assert isinstance(out, ev.StaffSignedOut) and out.automatic
    assert engine.state.windows[1].status == "closed"
    assert engine.state.attendance[0].automatic_out
    assert engine.state.attendance[0].signed_out_at == at("10:00")
    refused(engine.handle(cmd.CallNext(1), at("10:01")), "window_closed")
    assert ok(engine.handle(cmd.CloseWindow(1), at("10:02"))).events == []
    assert kinds(ok(engine.handle(cmd.OpenWindow(1), at("10:03")))) == ["WindowOpened"]
    assert ok(engine.handle(cmd.OpenWindow(1), at("10:04"))).events == []
    assert engine.state.windows[1].status == "signed_out"


def test_closing_a_window_refused_while_serving(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "SB", at("08:31"))
    call(engine, 1, at("08:32"))
    refused(engine.handle(cmd.CloseWindow(1), at("08:33")), "window_busy")
    assert engine.state.windows[1].open


def test_window_services_change_live(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "GJJ", at("08:31"))
    refused(engine.handle(cmd.CallNext(1), at("08:32")), "queue_empty")
    changed = ok(
        engine.handle(
            cmd.SetWindowServices(1, ("SB", "GJJ"), "weighted", (("GJJ", 3),)), at("08:33")
        )
    )
    event = changed.events[0]
    assert isinstance(event, ev.WindowServicesChanged)
    assert (event.services, event.policy, event.weights) == (("SB", "GJJ"), "weighted", {"GJJ": 3})
    assert engine.state.windows[1].services == ("SB", "GJJ")
    assert call(engine, 1, at("08:34")) == "D001"


@pytest.mark.parametrize(
    ("services", "policy", "weights", "reason"),
    [
        ((), "fifo", (), "bad_services"),
        (("SB", "SB"), "fifo", (), "bad_services"),
        (("SB", "XX"), "fifo", (), "unknown_service"),
        (("SB",), "random", (), "bad_policy"),
        (("SB",), "weighted", (("YB", 2),), "bad_weights"),
        (("SB", "YB"), "weighted", (("YB", 0),), "bad_weights"),
    ],
)
def test_window_services_refusals(
    engine: Engine,
    at: At,
    *,
    services: tuple[str, ...],
    policy: str,
    weights: tuple[tuple[str, int], ...],
    reason: str,
) -> None:
    decision = engine.handle(cmd.SetWindowServices(1, services, policy, weights), at("08:30"))
    refused(decision, reason)
    assert engine.state.windows[1].services == ("SB",)


def test_removing_the_last_window_of_a_service_stops_its_ticketing(engine: Engine, at: At) -> None:
    # QYKB is served by windows 9 and 11.
    ok(engine.handle(cmd.SetWindowServices(11, ("SW",)), at("08:30")))
    ok(engine.handle(cmd.CloseWindow(9), at("08:31")))
    refused(engine.handle(cmd.IssueTicket("QYKB"), at("09:00")), "service_closed")


# --- pause / resume (暂停服务) ---------------------------------------------------------------


def test_pause_counts_the_people_waiting_and_blocks_calls(engine: Engine, at: At) -> None:
    sign_in(engine, 2, "S0201", at("08:30"))  # window 2 serves SB and YB
    for code in ("SB", "SB", "YB", "GJJ"):
        issue(engine, code, at("08:40"))
    paused = ok(engine.handle(cmd.Pause(2, " 系统故障 "), at("09:00")))
    assert kinds(paused) == ["WindowPaused"]
    event = paused.events[0]
    assert isinstance(event, ev.WindowPaused)
    assert (event.reason, event.waiting) == ("系统故障", 3)
    assert paused.result["waiting"] == 3
    assert engine.state.windows[2].status == "paused"
    refused(engine.handle(cmd.CallNext(2), at("09:01")), "window_paused")
    refused(engine.handle(cmd.Pause(2, "再次暂停"), at("09:02")), "already_paused")
    assert kinds(ok(engine.handle(cmd.Resume(2), at("09:10")))) == ["WindowResumed"]
    refused(engine.handle(cmd.Resume(2), at("09:11")), "not_paused")
    assert call(engine, 2, at("09:12")) == "A001"


@pytest.mark.parametrize("reason", ["", "   ", "x" * 51])
def test_pause_requires_a_reason(engine: Engine, at: At, reason: str) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    decision = refused(engine.handle(cmd.Pause(1, reason), at("09:00")), "reason_required")
    assert isinstance(decision.rejection, InvalidRequest)
    assert not engine.state.windows[1].paused


def test_pause_refused_with_a_current_ticket(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "SB", at("08:31"))
    call(engine, 1, at("08:32"))
    refused(engine.handle(cmd.Pause(1, "喝水"), at("08:33")), "window_busy")
    assert not engine.state.windows[1].paused


# --- finish and case outcome (六件分类) ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("承诺件", "承诺件"),
        ("promised", "承诺件"),
        ("IMMEDIATE", "即办件"),
        ("escalated", "上报件"),
    ],
)
def test_finish_records_the_outcome_by_chinese_or_english_name(
    engine: Engine, at: At, text: str, stored: str
) -> None:
    sign_in(engine, 4, "S0401", at("08:30"))
    ticket = issue(engine, "BDC", at("08:31"))
    call(engine, 4, at("08:32"))
    finished = ok(engine.handle(cmd.Finish(4, text), at("08:52")))
    event = finished.events[0]
    assert isinstance(event, ev.TicketFinished)
    assert (event.outcome, event.service_seconds, event.staff_id) == (stored, 1200, "S0401")
    done = engine.state.tickets[ticket["id"]]
    assert (done.status, done.outcome, done.ended_at) == (
        TicketStatus.FINISHED,
        stored,
        at("08:52"),
    )
    assert engine.state.windows[4].status == "idle"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("330100-2026-000123", "330100-2026-000123"),
        ("  BDC/2026.77_a ", "BDC/2026.77_a"),
        ("  ", None),
    ],
)
def test_finish_keeps_the_case_number_for_the_rating_record(
    engine: Engine, at: At, given: str, kept: str | None
) -> None:
    sign_in(engine, 4, "S0401", at("08:30"))
    issue(engine, "BDC", at("08:31"))
    call(engine, 4, at("08:32"))
    finished = ok(engine.handle(cmd.Finish(4, "承诺件", given), at("08:52")))
    event = finished.events[0]
    assert isinstance(event, ev.TicketFinished) and event.case_number == kept
    assert finished.result["case_number"] == kept


@pytest.mark.parametrize("given", ["含中文", "a b", "x" * 65, "a;b"])
def test_a_malformed_case_number_is_refused_and_the_ticket_stays_served(
    engine: Engine, at: At, given: str
) -> None:
    sign_in(engine, 4, "S0401", at("08:30"))
    ticket = issue(engine, "BDC", at("08:31"))
    call(engine, 4, at("08:32"))
    refused(engine.handle(cmd.Finish(4, "承诺件", given), at("08:52")), "bad_case_number")
    assert engine.state.tickets[ticket["id"]].status == TicketStatus.CALLED


def test_a_journaled_finish_without_a_case_number_still_reads() -> None:
    old = {
        "kind": "TicketFinished",
        "at": "2026-11-23T09:00:00+08:00",
        "ticket_id": "20261123-C001",
        "number": "C001",
        "window": 4,
        "staff_id": "S0401",
        "outcome": "承诺件",
        "service_seconds": 60,
    }
    event = event_codec.event_from_dict(old)
    assert isinstance(event, ev.TicketFinished) and event.case_number is None


@pytest.mark.parametrize(
    ("service", "window", "staff"), [("BDC", 4, "S0401"), ("HJ", 7, "S0701"), ("QYKB", 9, "S0901")]
)
def test_outcome_required_services(
    engine: Engine, at: At, service: str, window: int, staff: str
) -> None:
    sign_in(engine, window, staff, at("08:30"))
    issue(engine, service, at("08:31"))
    issue(engine, service, at("08:32"))
    call(engine, window, at("08:33"))
    missing = refused(engine.handle(cmd.Finish(window), at("08:40")), "outcome_required")
    assert isinstance(missing.rejection, InvalidRequest)
    refused(engine.handle(cmd.Finish(window, "done"), at("08:40")), "bad_outcome")
    busy = refused(
        engine.handle(cmd.CallNext(window), at("08:41")), "outcome_required", kind=CommandRejected
    )
    assert busy.events == []
    assert engine.state.windows[window].current is not None
    finish(engine, window, at("08:42"), "补办件")
    assert call(engine, window, at("08:43")).endswith("002")


def test_call_next_finishes_a_ticket_without_required_outcome(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    first = issue(engine, "SB", at("08:31"))
    issue(engine, "SB", at("08:32"))
    call(engine, 1, at("08:33"))
    decision = ok(engine.handle(cmd.CallNext(1), at("08:40")))
    assert kinds(decision) == ["TicketFinished", "TicketCalled"]
    assert (decision.result["finished"], decision.result["number"]) == ("A001", "A002")
    done = engine.state.tickets[first["id"]]
    assert (done.status, done.outcome) == (TicketStatus.FINISHED, None)


def test_call_next_on_an_empty_queue_still_finishes_the_current_ticket(
    engine: Engine, at: At
) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    first = issue(engine, "SB", at("08:31"))
    call(engine, 1, at("08:32"))
    decision = refused(engine.handle(cmd.CallNext(1), at("08:40")), "queue_empty")
    assert kinds(decision) == ["TicketFinished"]  # journaled although the call was refused
    assert engine.state.tickets[first["id"]].status is TicketStatus.FINISHED
    assert engine.state.windows[1].status == "idle"


# --- rating invitation (评价器) --------------------------------------------------------------


def test_invite_rating_opens_the_keypad_for_120_seconds(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    refused(engine.handle(cmd.InviteRating(1), at("08:31")), "nothing_to_rate")
    ticket = issue(engine, "SB", at("08:31"))
    call(engine, 1, at("08:32"))
    finish(engine, 1, at("08:40"))
    invited = ok(engine.handle(cmd.InviteRating(1), at("08:40:30")))
    assert kinds(invited) == ["RatingInvited"]
    until = at("08:40:30") + dt.timedelta(seconds=120)
    assert engine.state.tickets[ticket["id"]].rating_invited_until == until
    assert invited.result["rating_until"] == until.isoformat()
    again = ok(engine.handle(cmd.InviteRating(1), at("08:41")))
    assert again.events == [] and again.result["rating_until"] == until.isoformat()
    later = ok(engine.handle(cmd.InviteRating(1), at("08:43")))
    assert kinds(later) == ["RatingInvited"]
    assert engine.state.tickets[ticket["id"]].rating_invited_until == at("08:45")


def test_invite_rating_targets_the_current_ticket_while_serving(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "SB", at("08:31"))
    second = issue(engine, "SB", at("08:31"))
    call(engine, 1, at("08:32"))
    finish(engine, 1, at("08:35"))
    call(engine, 1, at("08:36"))
    invited = ok(engine.handle(cmd.InviteRating(1), at("08:50")))
    event = invited.events[0]
    assert isinstance(event, ev.RatingInvited) and event.ticket_id == second["id"]


def test_invite_rating_does_not_reopen_an_earlier_citizens_ticket(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "SB", at("09:00"))
    issue(engine, "SB", at("09:01"))
    call(engine, 1, at("09:05"))
    finish(engine, 1, at("09:10"))  # A001 served and gone
    call(engine, 1, at("09:30"))
    ok(engine.handle(cmd.NoShow(1), at("09:32")))  # A002 did not come
    decision = engine.handle(cmd.InviteRating(1), at("09:33"))
    assert engine.state.tickets["20261123-A001"].rating_invited_until is None
    refused(decision, "nothing_to_rate")
