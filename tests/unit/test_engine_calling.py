"""Calling rules: window policies, SLA escalation, transfer (首问负责), recall and no-show."""

from __future__ import annotations

import pytest

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Engine
from controller.domain.state import Lane, TicketStatus
from controller.settings.hall_config import HallConfig
from tests.engine_helpers import (
    At,
    call,
    issue,
    kinds,
    ok,
    refused,
    serve_all,
    sign_in,
    tuned,
    waiting_numbers,
)

# --- window policies -------------------------------------------------------------------------


def test_fifo_window_calls_the_earliest_ticket_across_its_services(engine: Engine, at: At) -> None:
    ok(engine.handle(cmd.SetWindowServices(1, ("SB", "YB"), "fifo"), at("08:30")))
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "YB", at("09:00"))
    issue(engine, "SB", at("09:01"))
    issue(engine, "YB", at("09:02"))
    decision = ok(engine.handle(cmd.CallNext(1), at("09:05")))
    assert decision.result["rule"] == "fifo"
    assert [decision.result["number"], *serve_all(engine, 1, at("09:06"))] == [
        "B001",
        "A001",
        "B002",
    ]


@pytest.mark.parametrize(("window", "staff", "first"), [(7, "S0701", "E001"), (8, "S0801", "H001")])
def test_order_window_serves_its_first_service_first(
    engine: Engine, at: At, window: int, staff: str, first: str
) -> None:
    # Window 7 lists HJ (E) before CRJ (H); window 8 lists CRJ before HJ.
    sign_in(engine, window, staff, at("08:30"))
    issue(engine, "CRJ", at("09:00"))
    issue(engine, "HJ", at("09:05"))
    decision = ok(engine.handle(cmd.CallNext(window), at("09:10")))
    assert (decision.result["number"], decision.result["rule"]) == (first, "order")


def test_weighted_window_calls_two_sb_per_yb(engine: Engine, at: At) -> None:
    sign_in(engine, 2, "S0201", at("08:30"))  # window 2: weighted, SB:2, YB:1
    for minute in range(6):
        issue(engine, "YB", at(f"09:0{minute}"))  # YB arrived first: weights still apply
        issue(engine, "SB", at(f"09:1{minute}"))
    called = serve_all(engine, 2, at("09:20"), limit=6)
    assert [number[0] for number in called] == ["A", "B", "A", "A", "B", "A"]
    assert engine.state.windows[2].calls_by_service == {"SB": 4, "YB": 2}


def test_weighted_window_falls_back_to_the_service_that_has_tickets(engine: Engine, at: At) -> None:
    sign_in(engine, 2, "S0201", at("08:30"))
    for minute in range(3):
        issue(engine, "YB", at(f"09:0{minute}"))
    assert serve_all(engine, 2, at("09:10")) == ["B001", "B002", "B003"]


# --- SLA escalation --------------------------------------------------------------------------


def test_a_ticket_waiting_past_the_sla_jumps_the_window_order(engine: Engine, at: At) -> None:
    sign_in(engine, 7, "S0701", at("08:30"))  # order: HJ before CRJ
    issue(engine, "CRJ", at("09:00"))
    issue(engine, "HJ", at("09:20"))
    decision = ok(engine.handle(cmd.CallNext(7), at("09:30:01")))
    assert (decision.result["number"], decision.result["rule"]) == ("H001", "escalated")


def test_no_escalation_before_the_sla(engine: Engine, at: At) -> None:
    sign_in(engine, 7, "S0701", at("08:30"))
    issue(engine, "CRJ", at("09:00"))
    issue(engine, "HJ", at("09:20"))
    decision = ok(engine.handle(cmd.CallNext(7), at("09:29:59")))
    assert (decision.result["number"], decision.result["rule"]) == ("E001", "order")


def test_escalation_minutes_is_a_setting(hall_config: HallConfig, at: At) -> None:
    engine = Engine(tuned(hall_config, queue={"escalation_minutes": 5}))
    sign_in(engine, 7, "S0701", at("08:30"))
    issue(engine, "CRJ", at("09:00"))
    issue(engine, "HJ", at("09:01"))
    decision = ok(engine.handle(cmd.CallNext(7), at("09:06")))
    assert (decision.result["number"], decision.result["rule"]) == ("H001", "escalated")


def test_priority_still_beats_escalation(engine: Engine, at: At) -> None:
    sign_in(engine, 7, "S0701", at("08:30"))
    issue(engine, "CRJ", at("09:00"))
    issue(engine, "HJ", at("09:50"), lane="priority", reason="残疾人")
    decision = ok(engine.handle(cmd.CallNext(7), at("09:51")))
    assert (decision.result["number"], decision.result["rule"]) == ("E001", "priority")


# --- transfer (转办, 首问负责制) -------------------------------------------------------------


def test_transfer_keeps_the_original_place_in_the_target_service(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))  # SB only
    sign_in(engine, 3, "S0301", at("08:30"))  # YB only
    issue(engine, "YB", at("09:00"))  # B001, earlier than the transferred ticket
    issue(engine, "SB", at("09:05"))  # A001
    issue(engine, "YB", at("09:10"))  # B002, later
    call(engine, 1, at("09:15"))
    moved = ok(engine.handle(cmd.Transfer(1, to_service="YB"), at("09:16")))
    assert kinds(moved) == ["TicketTransferred"]
    ticket = engine.state.tickets["20261123-A001"]
    assert (ticket.service, ticket.status, ticket.queue_at) == (
        "YB",
        TicketStatus.WAITING,
        at("09:05"),
    )
    assert ticket.transfer_count == 1
    assert engine.state.windows[1].current is None
    assert waiting_numbers(engine, "YB") == {"B001", "A001", "B002"}
    assert serve_all(engine, 3, at("09:20")) == ["B001", "A001", "B002"]


def test_transfer_to_a_window_only_that_window_may_call_it(engine: Engine, at: At) -> None:
    for window, staff in ((1, "S0101"), (2, "S0201"), (12, "S1201")):
        sign_in(engine, window, staff, at("08:30"))
    issue(engine, "SB", at("09:00"))
    call(engine, 1, at("09:01"))
    moved = ok(engine.handle(cmd.Transfer(1, to_window=12), at("09:02")))
    event = moved.events[0]
    assert isinstance(event, ev.TicketTransferred)
    assert (event.to_service, event.to_window, event.from_window) == ("SB", 12, 1)
    refused(engine.handle(cmd.CallNext(1), at("09:03")), "queue_empty")
    refused(engine.handle(cmd.CallNext(2), at("09:03")), "queue_empty")
    issue(engine, "SB", at("09:04"))  # A002: any SB window may take it
    assert call(engine, 2, at("09:05")) == "A002"
    decision = ok(engine.handle(cmd.CallNext(12), at("09:06")))
    assert (decision.result["number"], decision.result["rule"]) == ("A001", "transferred")


def test_transfer_to_a_window_picks_the_service_it_serves(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "SB", at("09:00"))
    call(engine, 1, at("09:01"))
    ok(engine.handle(cmd.Transfer(1, to_window=3), at("09:02")))  # window 3 serves YB only
    ticket = engine.state.tickets["20261123-A001"]
    assert (ticket.service, ticket.target_window) == ("YB", 3)
    sign_in(engine, 3, "S0301", at("09:03"))
    assert call(engine, 3, at("09:04")) == "A001"
    assert engine.state.tickets["20261123-A001"].target_window is None


def test_transfer_refusals(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    refused(engine.handle(cmd.Transfer(1, to_service="YB"), at("09:00")), "no_current_ticket")
    issue(engine, "SB", at("09:00"))
    call(engine, 1, at("09:01"))
    ok(engine.handle(cmd.CloseWindow(3), at("09:02")))
    now = at("09:03")
    refused(engine.handle(cmd.Transfer(1), now), "transfer_target")
    refused(engine.handle(cmd.Transfer(1, to_service="SB"), now), "same_place")
    refused(engine.handle(cmd.Transfer(1, to_service="SB", to_window=1), now), "same_place")
    refused(engine.handle(cmd.Transfer(1, to_service="YB", to_window=6), now), "window_not_serving")
    refused(engine.handle(cmd.Transfer(1, to_window=3), now), "window_closed")
    refused(engine.handle(cmd.Transfer(1, to_service="XX"), now), "unknown_service")
    refused(engine.handle(cmd.Transfer(1, to_window=42), now), "unknown_window")
    assert engine.state.windows[1].current == "20261123-A001"
    assert engine.state.tickets["20261123-A001"].status is TicketStatus.CALLED


def test_transfer_to_a_service_without_an_open_window_is_refused(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "SB", at("09:00"))
    call(engine, 1, at("09:01"))
    for number in (6, 12):  # the only GJJ windows
        ok(engine.handle(cmd.CloseWindow(number), at("09:02")))
    refused(engine.handle(cmd.IssueTicket("GJJ"), at("09:03")), "service_closed")
    decision = engine.handle(cmd.Transfer(1, to_service="GJJ"), at("09:04"))
    refused(decision, "service_closed")
    assert engine.state.windows[1].current == "20261123-A001"


# --- recall and no-show (过号) ---------------------------------------------------------------


def test_recall_up_to_the_limit_then_automatic_no_show(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "SB", at("09:00"))
    call(engine, 1, at("09:01"))
    for count in (1, 2):
        decision = ok(engine.handle(cmd.Recall(1), at(f"09:0{count + 1}")))
        assert kinds(decision) == ["TicketRecalled"]
        assert decision.result["recall_count"] == count
    assert engine.state.recent_calls[0].recall
    third = ok(engine.handle(cmd.Recall(1), at("09:04")))
    assert kinds(third) == ["TicketNoShow"]
    event = third.events[0]
    assert isinstance(event, ev.TicketNoShow) and event.automatic
    assert third.result["no_show"] is True
    assert engine.state.windows[1].current is None
    refused(engine.handle(cmd.Recall(1), at("09:05")), "no_current_ticket")


def test_no_show_requeues_behind_k_tickets_once_then_drops(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    for minute in range(6):
        issue(engine, "SB", at(f"09:0{minute}"))
    assert call(engine, 1, at("09:10")) == "A001"
    missed = ok(engine.handle(cmd.NoShow(1), at("09:11")))
    event = missed.events[0]
    assert isinstance(event, ev.TicketNoShow) and not event.automatic
    assert missed.result["requeued"] is True
    ticket = engine.state.tickets["20261123-A001"]
    assert (ticket.status, ticket.no_show_count) == (TicketStatus.WAITING, 1)
    # requeue_after = 3: A002, A003 and A004 go first, then A001 again, before A005.
    assert [call(engine, 1, at("09:12")) for _ in range(4)] == ["A002", "A003", "A004", "A001"]
    dropped = ok(engine.handle(cmd.NoShow(1), at("09:13")))
    assert dropped.result["requeued"] is False  # max_requeues = 1
    assert engine.state.tickets["20261123-A001"].status is TicketStatus.NO_SHOW
    assert "A001" not in waiting_numbers(engine, "SB")
    assert serve_all(engine, 1, at("09:14")) == ["A005", "A006"]


def test_no_show_with_few_waiting_goes_to_the_back(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    for minute in range(3):
        issue(engine, "SB", at(f"09:0{minute}"))
    call(engine, 1, at("09:05"))
    ok(engine.handle(cmd.NoShow(1), at("09:06")))
    assert engine.state.tickets["20261123-A001"].queue_at == at("09:06")
    assert [call(engine, 1, at("09:07")) for _ in range(3)] == ["A002", "A003", "A001"]


def test_max_requeues_is_a_setting(hall_config: HallConfig, at: At) -> None:
    engine = Engine(tuned(hall_config, queue={"max_requeues": 2, "requeue_after": 0}))
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "SB", at("09:00"))
    issue(engine, "SB", at("09:01"))
    requeued = []
    for minute in range(3):
        assert call(engine, 1, at(f"09:1{minute}")) == "A001"  # requeue_after 0: same place
        requeued.append(ok(engine.handle(cmd.NoShow(1), at(f"09:1{minute}"))).result["requeued"])
    assert requeued == [True, True, False]
    assert engine.state.tickets["20261123-A001"].no_show_count == 3
    assert serve_all(engine, 1, at("09:20")) == ["A002"]


def test_drop_policy_ends_the_ticket_at_the_first_no_show(hall_config: HallConfig, at: At) -> None:
    engine = Engine(tuned(hall_config, queue={"no_show_policy": "drop"}))
    sign_in(engine, 1, "S0101", at("08:30"))
    issue(engine, "SB", at("09:00"))
    issue(engine, "SB", at("09:01"))
    call(engine, 1, at("09:02"))
    decision = ok(engine.handle(cmd.NoShow(1), at("09:03")))
    event = decision.events[0]
    assert isinstance(event, ev.TicketNoShow) and event.requeue_at is None
    ticket = engine.state.tickets["20261123-A001"]
    assert (ticket.status, ticket.ended_at) == (TicketStatus.NO_SHOW, at("09:03"))
    assert serve_all(engine, 1, at("09:04")) == ["A002"]


# --- no-show re-queue: places that do not hold (see report) ----------------------------------


def test_no_show_requeue_behind_k_when_tickets_share_a_queue_time(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    for _ in range(6):
        issue(engine, "SB", at("09:00"))  # one clock tick: several kiosks, or a coarse clock
    call(engine, 1, at("09:01"))
    ok(engine.handle(cmd.NoShow(1), at("09:02")))
    assert serve_all(engine, 1, at("09:03")) == ["A002", "A003", "A004", "A001", "A005", "A006"]


@pytest.mark.parametrize("lane", [Lane.PRIORITY, Lane.APPOINTMENT])
def test_no_show_requeue_behind_k_for_priority_and_appointment_lanes(
    engine: Engine, at: At, lane: Lane
) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    for minute in range(4):
        issue(engine, "SB", at(f"09:0{minute}"))  # A001-A004
    if lane is Lane.PRIORITY:
        issue(engine, "SB", at("09:05"), lane="priority", reason="老年人")  # A005
    else:
        ok(engine.handle(cmd.BookAppointment("YY-0040", "SB", at("09:10")), at("08:30")))
        ok(engine.handle(cmd.CheckInAppointment("YY-0040"), at("09:05")))  # A005
    assert call(engine, 1, at("09:10")) == "A005"
    ok(engine.handle(cmd.NoShow(1), at("09:11")))
    assert engine.state.tickets["20261123-A005"].status is TicketStatus.WAITING
    assert [call(engine, 1, at("09:12")) for _ in range(4)] == ["A001", "A002", "A003", "A005"]


def test_a_ticket_reserved_for_a_window_that_closes_goes_back_to_any_window(
    engine: Engine, at: At
) -> None:
    sign_in(engine, 1, "S0101", at("08:40"))
    sign_in(engine, 2, "S0201", at("08:40"))
    issue(engine, "SB", at("09:00"))
    call(engine, 1, at("09:01"))
    ok(engine.handle(cmd.Transfer(1, to_window=12), at("09:02")))
    assert engine.state.tickets["20261123-A001"].target_window == 12
    ok(engine.handle(cmd.CloseWindow(12), at("09:03")))
    assert engine.state.tickets["20261123-A001"].target_window is None
    assert call(engine, 2, at("09:04")) == "A001"
