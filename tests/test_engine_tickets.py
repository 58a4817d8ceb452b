"""Ticket machine rules: numbering, ahead/estimate, refusals, quotas, priority, appointments."""

from __future__ import annotations

import datetime as dt

import pytest

from controller import commands as cmd
from controller import events as ev
from controller.engine import Engine
from controller.errors import InvalidRequest, NotFound
from controller.hall_config import HallConfig, SlotQuota
from controller.state import Lane, TicketStatus
from tests.engine_helpers import (
    At,
    call,
    finish,
    issue,
    kinds,
    ok,
    refused,
    sign_in,
    tuned,
    with_service,
)

TUESDAY = dt.date(2026, 11, 24)
SUNDAY = dt.date(2026, 11, 22)
SATURDAY = dt.date(2026, 11, 28)  # 09:00-12:00, cut-off 11:30
NATIONAL_DAY = dt.date(2026, 10, 1)  # a Thursday on the holiday list
MAKEUP_SATURDAY = dt.date(2026, 10, 10)  # 调休: works with Monday hours


# --- numbering -------------------------------------------------------------------------------


def test_numbers_use_the_service_prefix_and_a_daily_sequence(engine: Engine, at: At) -> None:
    now = at("09:00")
    numbers = [issue(engine, code, now)["number"] for code in ("SB", "SB", "YB", "BDC", "SB", "ZH")]
    assert numbers == ["A001", "A002", "B001", "C001", "A003", "Z001"]
    assert engine.state.sequences["SB"] == 3
    assert "20261123-A003" in engine.state.tickets


def test_first_command_of_the_day_opens_it_then_issue_emits_one_event(
    engine: Engine, at: At
) -> None:
    first = ok(engine.handle(cmd.IssueTicket("SB"), at("09:00")))
    assert kinds(first) == ["DayOpened", "TicketIssued"]
    second = ok(engine.handle(cmd.IssueTicket("SB"), at("09:01")))
    assert kinds(second) == ["TicketIssued"]
    issued = second.events[0]
    assert isinstance(issued, ev.TicketIssued)
    assert (issued.ticket_id, issued.number, issued.sequence) == ("20261123-A002", "A002", 2)
    assert second.result["status"] == "waiting"
    assert second.result["lane"] == "normal"
    ticket = engine.state.tickets["20261123-A002"]
    assert ticket.status is TicketStatus.WAITING
    assert ticket.queue_at == at("09:01")
    assert set(engine.state.waiting["SB"]) == {"20261123-A001", "20261123-A002"}


# --- ahead and estimated wait ----------------------------------------------------------------


def test_ahead_and_estimate_divide_by_the_windows_serving(engine: Engine, at: At) -> None:
    # SB averages 8 min; windows 1, 2 and 12 serve SB; nobody is signed in yet -> 3 windows.
    results = [issue(engine, "SB", at(f"09:0{i}")) for i in range(3)]
    assert [(r["ahead"], r["estimated_wait_minutes"]) for r in results] == [(0, 0), (1, 3), (2, 6)]
    # Once one window is staffed, only the staffed window counts: 3 ahead x 8 min / 1.
    sign_in(engine, 1, "S0101", at("09:05"))
    fourth = ok(engine.handle(cmd.IssueTicket("SB"), at("09:06")))
    assert (fourth.result["ahead"], fourth.result["estimated_wait_minutes"]) == (3, 24)
    issued = fourth.events[0]
    assert isinstance(issued, ev.TicketIssued)
    assert (issued.ahead, issued.estimated_wait_minutes) == (3, 24)


def test_estimate_learns_from_measured_service_times(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    issue(engine, "SB", at("09:00"))
    call(engine, 1, at("09:00"))
    finish(engine, 1, at("09:04"))  # served in 4 minutes instead of the configured 8
    issue(engine, "SB", at("09:05"))
    third = issue(engine, "SB", at("09:06"))
    assert (third["ahead"], third["estimated_wait_minutes"]) == (1, 4)


def test_ahead_counts_only_the_same_service(engine: Engine, at: At) -> None:
    issue(engine, "SB", at("09:00"))
    issue(engine, "YB", at("09:01"))
    assert issue(engine, "YB", at("09:02"))["ahead"] == 1
    assert issue(engine, "GJJ", at("09:03"))["ahead"] == 0


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "hhmm", "day", "reason"),
    [
        ("SB", "08:29", None, "before_opening"),
        ("SB", "12:00", None, "lunch_break"),
        ("SB", "12:59", None, "lunch_break"),
        ("SB", "17:00", None, "after_cutoff"),
        ("SB", "17:45", None, "after_cutoff"),
        ("SB", "10:00", NATIONAL_DAY, "closed_today"),
        ("SB", "10:00", SUNDAY, "closed_today"),
        ("SB", "11:30", SATURDAY, "after_cutoff"),
        ("QYKB", "11:30", None, "outside_service_hours"),
        ("QYKB", "16:30", None, "outside_service_hours"),
    ],
)
def test_ticketing_refused_outside_hours(
    engine: Engine, at: At, *, service: str, hhmm: str, day: dt.date | None, reason: str
) -> None:
    now = at(hhmm) if day is None else at(hhmm, day=day)
    decision = refused(engine.handle(cmd.IssueTicket(service), now), reason)
    assert "TicketIssued" not in kinds(decision)
    assert engine.state.sequences[service] == 0
    assert not engine.state.tickets


@pytest.mark.parametrize(
    ("service", "hhmm", "day"),
    [
        ("SB", "08:30", None),
        ("SB", "11:59", None),
        ("SB", "13:00", None),
        ("SB", "16:59", None),
        ("SB", "11:29", SATURDAY),
        ("SB", "14:00", MAKEUP_SATURDAY),
        ("QYKB", "08:30", None),
        ("QYKB", "11:29", None),
        ("QYKB", "13:00", None),
        ("QYKB", "16:29", None),
    ],
)
def test_ticketing_accepted_inside_hours(
    engine: Engine, at: At, service: str, hhmm: str, day: dt.date | None
) -> None:
    now = at(hhmm) if day is None else at(hhmm, day=day)
    assert issue(engine, service, now)["number"].endswith("001")


def test_times_in_another_zone_are_read_as_hall_time(engine: Engine) -> None:
    utc = dt.UTC
    assert issue(engine, "SB", dt.datetime(2026, 11, 23, 1, 30, tzinfo=utc))["number"] == "A001"
    early = engine.handle(cmd.IssueTicket("SB"), dt.datetime(2026, 11, 23, 0, 0, tzinfo=utc))
    refused(early, "before_opening")


def test_naive_time_is_a_programming_error(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone"):
        engine.handle(cmd.IssueTicket("SB"), dt.datetime(2026, 11, 23, 9, 0))


def test_unknown_service_is_not_found(engine: Engine, at: At) -> None:
    decision = refused(engine.handle(cmd.IssueTicket("XX"), at("09:00")), "unknown_service")
    assert isinstance(decision.rejection, NotFound)
    assert decision.rejection.status == 404


@pytest.mark.parametrize("lane", ["appointment", "vip", ""])
def test_only_normal_and_priority_lanes_can_be_issued(engine: Engine, at: At, lane: str) -> None:
    decision = refused(engine.handle(cmd.IssueTicket("SB", lane), at("09:00")), "bad_lane")
    assert isinstance(decision.rejection, InvalidRequest)
    assert decision.rejection.status == 422
    assert not engine.state.tickets


def test_service_without_an_open_window_stops_ticketing(engine: Engine, at: At) -> None:
    # GJJ is served by windows 6 and 12 only.
    ok(engine.handle(cmd.CloseWindow(6), at("09:00")))
    issue(engine, "GJJ", at("09:01"))  # window 12 still open
    ok(engine.handle(cmd.CloseWindow(12), at("09:02")))
    refused(engine.handle(cmd.IssueTicket("GJJ"), at("09:03")), "service_closed")
    ok(engine.handle(cmd.OpenWindow(6), at("09:04")))
    assert issue(engine, "GJJ", at("09:05"))["number"] == "D002"


def test_daily_quota(hall_config: HallConfig, at: At) -> None:
    engine = Engine(with_service(hall_config, "SB", daily_quota=2))
    issue(engine, "SB", at("09:00"))
    issue(engine, "SB", at("09:01"))
    decision = refused(engine.handle(cmd.IssueTicket("SB"), at("09:02")), "quota_reached")
    assert decision.rejection is not None and "2" in decision.rejection.message
    assert engine.state.sequences["SB"] == 2
    assert issue(engine, "YB", at("09:03"))["number"] == "B001"


def test_bdc_slot_quota_from_the_example_config(engine: Engine, at: At) -> None:
    # BDC: at most 90 tickets 08:30-12:00 and 60 tickets 13:00-17:00.
    for minute in range(90):
        issue(engine, "BDC", at("08:30") + dt.timedelta(minutes=minute))
    refused(engine.handle(cmd.IssueTicket("BDC"), at("11:50")), "slot_quota_reached")
    assert issue(engine, "BDC", at("13:00"))["number"] == "C091"


def test_slot_quota_counts_each_slot_separately(hall_config: HallConfig, at: At) -> None:
    slots = [
        SlotQuota.model_validate({"start": "08:30", "end": "12:00", "quota": 1}),
        SlotQuota.model_validate({"start": "13:00", "end": "17:00", "quota": 1}),
    ]
    engine = Engine(with_service(hall_config, "BDC", slot_quotas=slots))
    issue(engine, "BDC", at("09:00"))
    refused(engine.handle(cmd.IssueTicket("BDC"), at("11:00")), "slot_quota_reached")
    assert issue(engine, "BDC", at("13:30"))["number"] == "C002"
    refused(engine.handle(cmd.IssueTicket("BDC"), at("16:00")), "slot_quota_reached")


# --- priority lane (绿色通道) ----------------------------------------------------------------


def test_priority_ticket_has_nobody_ahead_and_is_called_first(engine: Engine, at: At) -> None:
    issue(engine, "SB", at("09:00"))
    issue(engine, "SB", at("09:01"))
    green = issue(engine, "SB", at("09:02"), lane="priority", reason="老年人")
    assert (green["number"], green["lane"], green["ahead"]) == ("A003", "priority", 0)
    assert engine.state.tickets[green["id"]].priority_reason == "老年人"
    assert issue(engine, "SB", at("09:03"))["ahead"] == 3
    sign_in(engine, 1, "S0101", at("09:05"))
    first = ok(engine.handle(cmd.CallNext(1), at("09:06")))
    assert (first.result["number"], first.result["rule"]) == ("A003", "priority")
    assert call(engine, 1, at("09:10")) == "A001"


def test_priority_lane_rules(hall_config: HallConfig, engine: Engine, at: At) -> None:
    now = at("09:00")
    refused(engine.handle(cmd.IssueTicket("SB", "priority", "VIP"), now), "bad_priority_reason")
    refused(engine.handle(cmd.IssueTicket("SB", "normal", "老年人"), now), "bad_priority_reason")
    assert issue(engine, "SB", now, lane="priority")["lane"] == "priority"  # reason optional
    closed = Engine(tuned(hall_config, priority_lane={"enabled": False}))
    refused(closed.handle(cmd.IssueTicket("SB", "priority", "孕妇"), now), "priority_disabled")
    assert issue(closed, "SB", now)["lane"] == "normal"


# --- appointments: booking -------------------------------------------------------------------


def book(
    engine: Engine, code: str, slot: dt.datetime, now: dt.datetime, service: str = "SB"
) -> None:
    ok(engine.handle(cmd.BookAppointment(code, service, slot, "张小三", "13812341234"), now))


def test_booking_stores_only_masked_personal_data(engine: Engine, at: At) -> None:
    decision = ok(
        engine.handle(
            cmd.BookAppointment("YY-0001", "SB", at("10:00"), "张小三", "138-1234-1234"),
            at("08:00"),
        )
    )
    assert kinds(decision) == ["DayOpened", "AppointmentBooked"]
    booked = decision.events[-1]
    assert isinstance(booked, ev.AppointmentBooked)
    assert (booked.name_masked, booked.phone_masked) == ("张*三", "138****1234")
    stored = engine.state.appointments["YY-0001"]
    assert (stored.name_masked, stored.phone_masked, stored.slot_start) == (
        "张*三",
        "138****1234",
        at("10:00"),
    )
    everything = repr(decision.events) + repr(engine.state)
    for clear in ("张小三", "13812341234", "138-1234-1234"):
        assert clear not in everything


def test_booking_without_phone_storage(hall_config: HallConfig, at: At) -> None:
    engine = Engine(tuned(hall_config, privacy={"store_appointment_phone": "none"}))
    ok(
        engine.handle(
            cmd.BookAppointment("YY-0002", "SB", at("10:00"), "李四", "13900001111"), at("08:00")
        )
    )
    stored = engine.state.appointments["YY-0002"]
    assert (stored.name_masked, stored.phone_masked) == ("李*", "")
    assert "13900001111" not in repr(engine.state)


@pytest.mark.parametrize(
    ("code", "service", "slot", "reason"),
    [
        ("ab", "SB", "10:00", "bad_code"),
        ("bad code!", "SB", "10:00", "bad_code"),
        ("YY-0003", "XX", "10:00", "unknown_service"),
        ("YY-0003", "SB", "08:59", "slot_in_past"),
    ],
)
def test_booking_refusals(
    engine: Engine, at: At, *, code: str, service: str, slot: str, reason: str
) -> None:
    refused(engine.handle(cmd.BookAppointment(code, service, at(slot)), at("09:00")), reason)
    assert not engine.state.appointments


def test_booking_refuses_duplicates_and_naive_slots(engine: Engine, at: At) -> None:
    book(engine, "YY-0004", at("10:00"), at("09:00"))
    refused(
        engine.handle(cmd.BookAppointment("YY-0004", "YB", at("11:00")), at("09:01")),
        "appointment_exists",
    )
    naive = dt.datetime(2026, 11, 23, 11, 0)
    refused(engine.handle(cmd.BookAppointment("YY-0005", "SB", naive), at("09:02")), "naive_time")
    assert set(engine.state.appointments) == {"YY-0004"}
    assert engine.state.appointments["YY-0004"].service == "SB"


# --- appointments: check-in ------------------------------------------------------------------


def test_check_in_window_around_the_slot(engine: Engine, at: At) -> None:
    book(engine, "YY-0010", at("10:00"), at("08:40"))
    refused(engine.handle(cmd.CheckInAppointment("YY-0010"), at("09:29")), "too_early")
    decision = ok(engine.handle(cmd.CheckInAppointment("YY-0010"), at("09:30")))
    assert kinds(decision) == ["TicketIssued"]
    assert (decision.result["number"], decision.result["lane"]) == ("A001", "appointment")
    ticket = engine.state.tickets[decision.result["id"]]
    assert ticket.queue_at == at("10:00")  # ordered at its slot, not at arrival
    assert ticket.appointment_code == "YY-0010"
    assert engine.state.appointments["YY-0010"].ticket_id == ticket.id


def test_second_check_in_returns_the_same_ticket_without_events(engine: Engine, at: At) -> None:
    book(engine, "YY-0011", at("10:00"), at("08:40"))
    first = ok(engine.handle(cmd.CheckInAppointment("YY-0011"), at("09:50")))
    again = ok(engine.handle(cmd.CheckInAppointment("YY-0011"), at("09:55")))
    assert again.events == []
    assert again.result["id"] == first.result["id"]
    assert again.result["already_checked_in"] is True
    assert engine.state.sequences["SB"] == 1


@pytest.mark.parametrize(("hhmm", "lane"), [("10:15", Lane.APPOINTMENT), ("10:16", Lane.NORMAL)])
def test_late_check_in_becomes_a_normal_ticket(
    engine: Engine, at: At, hhmm: str, lane: Lane
) -> None:
    book(engine, "YY-0012", at("10:00"), at("08:40"))
    result = ok(engine.handle(cmd.CheckInAppointment("YY-0012"), at(hhmm))).result
    ticket = engine.state.tickets[result["id"]]
    assert ticket.lane is lane
    assert ticket.queue_at == (at("10:00") if lane is Lane.APPOINTMENT else at(hhmm))


def test_late_check_in_refused_by_policy(hall_config: HallConfig, at: At) -> None:
    engine = Engine(tuned(hall_config, appointments={"late_policy": "refuse"}))
    book(engine, "YY-0013", at("10:00"), at("08:40"))
    ok(engine.handle(cmd.CheckInAppointment("YY-0013"), at("10:15")))
    book(engine, "YY-0014", at("10:00"), at("08:41"))
    refused(engine.handle(cmd.CheckInAppointment("YY-0014"), at("10:16")), "too_late")
    assert engine.state.appointments["YY-0014"].ticket_id is None


def test_check_in_refusals(hall_config: HallConfig, engine: Engine, at: At) -> None:
    book(engine, "YY-0015", at("10:00", day=TUESDAY), at("09:00"))
    refused(engine.handle(cmd.CheckInAppointment("YY-0015"), at("10:00")), "wrong_day")
    unknown = refused(
        engine.handle(cmd.CheckInAppointment("NOPE-1"), at("10:00")), "unknown_appointment"
    )
    assert unknown.rejection is not None and unknown.rejection.status == 404
    book(engine, "YY-0016", at("08:40"), at("08:00"))
    refused(engine.handle(cmd.CheckInAppointment("YY-0016"), at("08:20")), "hall_closed")
    disabled = Engine(tuned(hall_config, appointments={"enabled": False}))
    book(disabled, "YY-0017", at("10:00"), at("09:00"))
    refused(
        disabled.handle(cmd.CheckInAppointment("YY-0017"), at("10:00")), "appointments_disabled"
    )
    assert not engine.state.tickets and not disabled.state.tickets


def test_due_appointment_is_called_before_earlier_normal_tickets(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    book(engine, "YY-0020", at("10:00"), at("09:00"))
    issue(engine, "SB", at("09:40"))  # A001
    ok(engine.handle(cmd.CheckInAppointment("YY-0020"), at("09:45")))  # A002, slot 10:00
    issue(engine, "SB", at("09:50"))  # A003
    called = ok(engine.handle(cmd.CallNext(1), at("10:00")))
    assert (called.result["number"], called.result["rule"]) == ("A002", "appointment")
    assert [call(engine, 1, at("10:05")), call(engine, 1, at("10:10"))] == ["A001", "A003"]


def test_appointment_before_its_slot_waits_behind_earlier_tickets(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    book(engine, "YY-0021", at("10:00"), at("09:00"))
    issue(engine, "SB", at("09:40"))  # A001
    ok(engine.handle(cmd.CheckInAppointment("YY-0021"), at("09:45")))  # A002
    assert call(engine, 1, at("09:50")) == "A001"


def test_appointments_are_ordered_by_slot_not_check_in(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    book(engine, "YY-0030", at("10:30"), at("09:00"))
    book(engine, "YY-0031", at("10:00"), at("09:00"))
    ok(engine.handle(cmd.CheckInAppointment("YY-0030"), at("10:05")))  # A001, slot 10:30
    ok(engine.handle(cmd.CheckInAppointment("YY-0031"), at("10:06")))  # A002, slot 10:00
    assert call(engine, 1, at("10:40")) == "A002"
    assert call(engine, 1, at("10:41")) == "A001"
