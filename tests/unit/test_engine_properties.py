"""Properties over random command sequences: one ticket, one window; replay rebuilds state."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Engine
from controller.domain.state import HallState, TicketStatus
from controller.settings.config_loader import load_config
from tests.engine_helpers import At

CONFIG = load_config(Path(__file__).resolve().parents[2] / "config" / "hall.example.toml")
WINDOWS = (1, 2, 3, 12)  # 1: SB; 2: SB+YB weighted; 3: YB; 12: ZH, SB, YB, GJJ in order
STAFF = {1: "S0101", 2: "S0201", 3: "S0301", 12: "S1201"}

window = st.sampled_from(WINDOWS)
issue = st.builds(
    cmd.IssueTicket,
    st.sampled_from(["SB", "YB", "GJJ"]),
    st.sampled_from(["normal", "normal", "normal", "priority"]),
)
transfer: st.SearchStrategy[cmd.Command] = st.builds(
    cmd.Transfer,
    window,
    st.sampled_from([None, "SB", "YB", "GJJ"]),
    st.sampled_from([None, *WINDOWS]),
)
by_kind: dict[str, st.SearchStrategy[cmd.Command]] = {
    "issue": issue,
    "call": st.builds(cmd.CallNext, window),
    "finish": st.builds(cmd.Finish, window),
    "recall": st.builds(cmd.Recall, window),
    "no_show": st.builds(cmd.NoShow, window),
    "transfer": transfer,
    "sign_in": st.builds(lambda w: cmd.SignIn(w, STAFF[w], "A"), window),
    "pause": st.builds(cmd.Pause, window, st.just("临时离岗")),
    "resume": st.builds(cmd.Resume, window),
    "sign_out": st.builds(cmd.SignOut, window),
    "close": st.builds(cmd.CloseWindow, window),
    "open": st.builds(cmd.OpenWindow, window),
}
# Weighted by repetition: mostly tickets and calls, sometimes staff and window changes.
mix = [*["issue"] * 6, *["call"] * 6, "finish", "finish", "recall", "no_show", "no_show"]
mix += ["transfer", "transfer", "sign_in", "sign_in", "open", "resume", *by_kind]
commands = st.sampled_from(mix).flatmap(lambda kind: by_kind[kind])
# A few minutes between commands; about one step in 60 jumps to the next day.
gaps = st.integers(0, 59).map(lambda n: 24 * 60 if n == 59 else n % 4)
scripts = st.lists(st.tuples(commands, gaps), min_size=20, max_size=80)


def waiting_snapshot(state: HallState) -> dict[str, tuple[str, int | None]]:
    """Every waiting ticket: id -> (service, target window)."""
    return {
        t.id: (t.service, t.target_window)
        for queue in state.waiting.values()
        for t in queue.values()
    }


def check_invariants(state: HallState) -> None:
    currents = [w.current for w in state.windows.values() if w.current is not None]
    assert len(currents) == len(set(currents)), f"a ticket is current at two windows: {currents}"
    for number, win in state.windows.items():
        if win.current is not None:
            ticket = state.tickets[win.current]
            assert (ticket.status, ticket.window) == (TicketStatus.CALLED, number)
            assert win.staff_id is not None and win.open and not win.paused
    queued = [t.id for queue in state.waiting.values() for t in queue.values()]
    assert len(queued) == len(set(queued)), "a ticket waits in two queues"
    for service, queue in state.waiting.items():
        for ticket in queue.values():
            assert (ticket.status, ticket.service) == (TicketStatus.WAITING, service)
    waiting = {t.id for t in state.tickets.values() if t.status is TicketStatus.WAITING}
    assert waiting == set(queued)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=scripts)
def test_no_ticket_is_ever_called_by_two_windows(
    at: At, script: list[tuple[cmd.Command, int]]
) -> None:
    engine = Engine(CONFIG)
    journal: list[ev.Event] = []
    now = at("09:00")
    for number in WINDOWS:  # staffed to start with; the script may sign out and close
        journal += engine.handle(cmd.SignIn(number, STAFF[number], "A"), now).events
    calls = 0
    for command, gap in script:
        now += dt.timedelta(minutes=gap)
        before = waiting_snapshot(engine.state)
        services = {n: w.services for n, w in engine.state.windows.items()}
        decision = engine.handle(command, now)
        journal.extend(decision.events)
        for event in decision.events:
            if isinstance(event, ev.TicketCalled):
                calls += 1
                assert event.ticket_id in before, f"{event.number} was not waiting"
                service, aimed_at = before[event.ticket_id]
                assert service in services[event.window]
                assert aimed_at in (None, event.window)
                assert engine.state.windows[event.window].current == event.ticket_id
        check_invariants(engine.state)
    target(float(calls), label="tickets called")
    fresh = Engine(CONFIG)
    fresh.replay(journal)
    assert fresh.state.tickets == engine.state.tickets
    assert fresh.state.windows == engine.state.windows
    assert fresh.state.attendance == engine.state.attendance
    assert waiting_snapshot(fresh.state) == waiting_snapshot(engine.state)
    assert calls == sum(isinstance(e, ev.TicketCalled) for e in journal)
