"""One calling order: the ticket a window calls is the one shown with nobody ahead, every time.

Generated mornings (priority lane, appointments, waits past the escalation time, transfers to a
service or a window, re-queued no-shows) on windows that run each policy; then every window
calls until its queue is empty and the calls must match what the ahead counts predicted.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.app.snapshot import ticket_view
from controller.domain import commands as cmd
from controller.domain.engine import Engine
from controller.domain.state import TicketStatus
from controller.settings.config_loader import load_config
from tests.conftest import hall_time
from tests.engine_helpers import ok

CONFIG = load_config(Path(__file__).resolve().parents[2] / "config" / "hall.example.toml")
# 1: SB; 2: SB+YB; 3: YB; 6: GJJ; 12: YB, GJJ, SB. 2 and 12 run the policy under test.
STAFF = {1: "S0101", 2: "S0201", 3: "S0301", 6: "S0601", 12: "S1201"}
SHARED = {2: ("SB", "YB"), 12: ("YB", "GJJ", "SB")}
WINDOWS = tuple(STAFF)
SERVICES = ("SB", "YB", "GJJ")
POLICIES = ("fifo", "order", "weighted")


@dataclass(frozen=True)
class Issue:
    service: str
    priority: bool


@dataclass(frozen=True)
class Appointment:
    service: str
    slot_in: int  # minutes from now; checked in at once (early check-in allows up to 30)


@dataclass(frozen=True)
class Serve:
    window: int
    then: str  # "finish", "no_show" or "transfer"
    to_service: str | None = None
    to_window: int | None = None


Step = Issue | Appointment | Serve
steps: st.SearchStrategy[Step] = st.one_of(
    st.builds(Issue, st.sampled_from(SERVICES), st.sampled_from([False, False, False, True])),
    st.builds(Appointment, st.sampled_from(SERVICES), st.integers(0, 30)),
    st.builds(Serve, st.sampled_from(WINDOWS), st.sampled_from(["finish", "no_show"])),
    st.builds(
        Serve,
        st.sampled_from(WINDOWS),
        st.just("transfer"),
        st.sampled_from([None, *SERVICES]),
        st.sampled_from([None, *WINDOWS]),
    ),
    st.builds(  # to a window: the case the order wrote twice got wrong
        Serve,
        st.sampled_from(WINDOWS),
        st.just("transfer"),
        st.sampled_from([None, *SERVICES]),
        st.sampled_from(WINDOWS),
    ),
)
# Minutes between steps: most short, some long enough to pass the 30-minute escalation.
mornings = st.lists(
    st.tuples(steps, st.sampled_from([0, 0, 1, 2, 3, 5, 8, 13])), min_size=8, max_size=40
)


def opened(policy: str) -> Engine:
    """The example hall with five windows staffed; the shared windows run `policy`."""
    engine = Engine(CONFIG)
    start = hall_time("08:30")
    for number, services in SHARED.items():
        weights = tuple((code, 1 + index) for index, code in enumerate(services))
        ok(engine.handle(cmd.SetWindowServices(number, services, policy, weights), start))
    for number, staff in STAFF.items():
        ok(engine.handle(cmd.SignIn(number, staff, "A"), start))
    return engine


def run_morning(engine: Engine, script: list[tuple[Step, int]]) -> dt.datetime:
    """Play the script from 08:40; check each call on the way; return the time it ends."""
    now = hall_time("08:40")
    for booked, (step, gap) in enumerate(script):
        now += dt.timedelta(minutes=gap)
        if isinstance(step, Issue):
            lane = "priority" if step.priority else "normal"
            reason = "老年人" if step.priority else None
            decision = engine.handle(cmd.IssueTicket(step.service, lane, reason), now)
            if decision.rejection is None:
                assert_shown_ahead_is_issued_ahead(engine, decision.result, now)
        elif isinstance(step, Appointment):
            code = f"APPT{booked:04d}"
            slot = now + dt.timedelta(minutes=step.slot_in)
            booking = engine.handle(cmd.BookAppointment(code, step.service, slot), now)
            if booking.rejection is None:
                decision = engine.handle(cmd.CheckInAppointment(code), now)
                if decision.rejection is None:
                    assert_shown_ahead_is_issued_ahead(engine, decision.result, now)
        else:
            serve(engine, step, now)
    return now


def serve(engine: Engine, step: Serve, now: dt.datetime) -> None:
    """Call at the step's window (checking who was shown first), then finish, no-show or transfer."""
    if call_checked(engine, step.window, now) is None:
        return
    if step.then == "no_show":
        ok(engine.handle(cmd.NoShow(step.window), now))
        return
    if step.then == "transfer":
        moved = engine.handle(cmd.Transfer(step.window, step.to_service, step.to_window), now)
        if moved.rejection is None:
            return
    ok(engine.handle(cmd.Finish(step.window), now))


def call_checked(engine: Engine, window: int, now: dt.datetime) -> str | None:
    """CallNext at `window`; the called ticket must have been shown with nobody ahead."""
    shown = {
        t.id: ticket_view(engine, t, now)["ahead"]
        for queue in engine.state.waiting.values()
        for t in queue.values()
    }
    decision = engine.handle(cmd.CallNext(window), now)
    if decision.rejection is not None:
        assert decision.rejection.reason == "queue_empty", str(decision.rejection)
        return None
    called = str(decision.result["id"])
    assert shown[called] == 0, (
        f"window {window} called {decision.result['number']} ({decision.result['rule']}) "
        f"shown with {shown[called]} ahead"
    )
    return called


def assert_shown_ahead_is_issued_ahead(
    engine: Engine, result: dict[str, object], now: dt.datetime
) -> None:
    """The ahead printed on a new ticket is the ahead its status page shows at that moment."""
    ticket = engine.state.tickets[str(result["id"])]
    assert ticket_view(engine, ticket, now)["ahead"] == result["ahead"], ticket.number


def fresh_copy(engine: Engine) -> Engine:
    """An engine on a deep copy of the state: a what-if that leaves the original alone."""
    return Engine(engine.config, copy.deepcopy(engine.state))


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=mornings)
def test_every_call_was_shown_with_nobody_ahead(
    policy: str, script: list[tuple[Step, int]]
) -> None:
    engine = opened(policy)
    now = run_morning(engine, script)
    for window in WINDOWS:
        emptying = fresh_copy(engine)
        while call_checked(emptying, window, now) is not None:
            pass


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=mornings)
def test_a_window_calls_in_the_order_its_positions_predict(
    policy: str, script: list[tuple[Step, int]]
) -> None:
    from controller.domain.calling import call_order, position_of

    engine = opened(policy)
    now = run_morning(engine, script)
    escalation = dt.timedelta(minutes=CONFIG.queue.escalation_minutes)
    for number in WINDOWS:
        window = engine.state.windows[number]
        predicted = call_order(engine.state, window, now, escalation)
        for service in window.services:
            of_service = [t for t, _ in predicted if t.service == service]
            assert [
                position_of(engine.state, t, now, escalation, window=window) for t in of_service
            ] == list(range(len(of_service)))
        emptying = fresh_copy(engine)
        called: list[tuple[str, str]] = []
        for _ in range(len(predicted) + 1):
            decision = emptying.handle(cmd.CallNext(number), now)
            if decision.rejection is not None:
                break
            called.append((str(decision.result["id"]), str(decision.result["rule"])))
        assert called == [(t.id, rule) for t, rule in predicted]
        assert all(
            t.status is TicketStatus.WAITING and t.target_window in (None, number)
            for t, _ in predicted
        )


# --- the examples behind the generated cases --------------------------------------------------


def test_a_ticket_transferred_to_a_window_is_shown_first_there() -> None:
    engine = opened("fifo")
    issue_at = hall_time("09:00")
    ok(engine.handle(cmd.IssueTicket("YB"), issue_at))  # B001 waits for window 3 or 2 or 12
    ok(engine.handle(cmd.IssueTicket("SB"), issue_at + dt.timedelta(minutes=1)))
    now = hall_time("09:05")
    ok(engine.handle(cmd.CallNext(1), now))  # A001 at window 1 (SB only) ...
    # ... belongs to 医保 at window 3: keeps its 09:01 place, behind B001 by time.
    ok(engine.handle(cmd.Transfer(1, "YB", 3), now))
    moved = engine.state.tickets["20261123-A001"]
    assert ticket_view(engine, moved, now)["ahead"] == 0
    assert call_checked(engine, 3, now) == moved.id


def test_an_escalated_ticket_comes_first_in_a_windows_order() -> None:
    from controller.domain.calling import call_order

    engine = opened("order")  # window 12 serves YB, GJJ, SB in that order
    ok(engine.handle(cmd.IssueTicket("SB"), hall_time("09:00")))
    ok(engine.handle(cmd.IssueTicket("YB"), hall_time("09:20")))
    now = hall_time("09:40")  # A001 has waited 40 minutes: past the 30-minute escalation
    window = engine.state.windows[12]
    escalation = dt.timedelta(minutes=CONFIG.queue.escalation_minutes)
    assert [(t.number, rule) for t, rule in call_order(engine.state, window, now, escalation)] == [
        ("A001", "escalated"),
        ("B001", "order"),
    ]
    assert engine.handle(cmd.CallNext(12), now).result["number"] == "A001"
