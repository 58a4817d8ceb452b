"""Ticket machine rules: numbering, ahead/estimate, refusals, quotas, priority lane."""

from __future__ import annotations

import datetime as dt

import pytest

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Engine
from controller.domain.errors import InvalidRequest, NotFound
from controller.domain.hall_rules import SlotQuota
from controller.domain.state import TicketStatus
from controller.settings.hall_config import HallConfig
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
    assert type(decision.rejection) is NotFound


@pytest.mark.parametrize("lane", ["appointment", "vip", ""])
def test_only_normal_and_priority_lanes_can_be_issued(engine: Engine, at: At, lane: str) -> None:
    decision = refused(engine.handle(cmd.IssueTicket("SB", lane), at("09:00")), "bad_lane")
    assert type(decision.rejection) is InvalidRequest
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
