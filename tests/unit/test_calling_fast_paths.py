"""The fast answers of the calling order agree with the order itself, on generated hall states.

`pick_next` (a window's next call) and `position_of` / `ahead_for` (the "N ahead" a citizen is
shown) are computed in one pass without ranking the whole queue; `call_order` and `call_key`
are the definition. Any state, window, policy and moment: the same answer.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.domain.calling import ahead_for, call_key, call_order, pick_next, position_of
from controller.domain.state import CallingPolicy, HallState, Lane, Ticket, WindowState

ZONE = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZONE)
ESCALATION = dt.timedelta(minutes=30)
SERVICES = ("A", "B", "C")
WINDOWS = (1, 2, 3)
# Minutes before NOW: -30 sits exactly on the escalation time, negative ones are future slots.
OFFSETS = st.sampled_from([-10, -1, 0, 0, 1, 5, 29, 30, 31, 45, 90])


@st.composite
def tickets(draw: st.DrawFn, index: int) -> Ticket:
    queue_at = NOW - dt.timedelta(minutes=draw(OFFSETS))
    return Ticket(
        id=f"T{index:03d}",
        number=f"X{index:03d}",
        service=draw(st.sampled_from(SERVICES)),
        lane=draw(st.sampled_from([Lane.NORMAL, Lane.NORMAL, Lane.PRIORITY, Lane.APPOINTMENT])),
        issued_at=queue_at,
        queue_at=queue_at,
        order=draw(st.integers(1, 12)),  # repeats: a transfer keeps its order
        rank=draw(st.integers(0, 2)),
        no_show_count=draw(st.sampled_from([0, 0, 0, 1])),
        target_window=draw(st.sampled_from([None, None, None, *WINDOWS])),
    )


@st.composite
def halls(draw: st.DrawFn) -> HallState:
    state = HallState()
    for index in range(draw(st.integers(0, 40))):
        ticket = draw(tickets(index))
        state.tickets[ticket.id] = ticket
        state.waiting_in(ticket.service)[ticket.id] = ticket
    for number in WINDOWS:
        services = draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3, unique=True))
        state.windows[number] = WindowState(
            number=number,
            name=f"{number}号窗口",
            services=tuple(services),
            policy=draw(st.sampled_from(list(CallingPolicy))),
            weights={s: draw(st.integers(0, 3)) for s in services if draw(st.booleans())},
            open=draw(st.booleans()) or number == 1,
            calls_by_service=Counter({s: draw(st.integers(0, 6)) for s in services}),
        )
    state.issue_order = 12
    return state


@settings(max_examples=400, deadline=None)
@given(state=halls(), moment=st.sampled_from([0, 1, 30, 61]))
def test_pick_next_is_the_head_of_the_call_order(state: HallState, moment: int) -> None:
    now = NOW + dt.timedelta(minutes=moment)
    for window in state.windows.values():
        order = call_order(state, window, now, ESCALATION)
        assert pick_next(state, window, now, ESCALATION) == (order[0] if order else None)


@settings(max_examples=400, deadline=None)
@given(state=halls(), moment=st.sampled_from([0, 1, 30, 61]))
def test_position_of_counts_who_ranks_before(state: HallState, moment: int) -> None:
    now = NOW + dt.timedelta(minutes=moment)
    for ticket in state.tickets.values():
        assert position_of(state, ticket, now, ESCALATION) == _position(state, ticket, now)
        for window in state.windows.values():
            assert position_of(state, ticket, now, ESCALATION, window=window) == _position(
                state, ticket, now, window
            )


@settings(max_examples=300, deadline=None)
@given(
    state=halls(),
    service=st.sampled_from(SERVICES),
    lane=st.sampled_from(list(Lane)),
    offset=OFFSETS,
)
def test_ahead_for_a_newcomer_counts_who_ranks_before(
    state: HallState, service: str, lane: Lane, offset: int
) -> None:
    queue_at = NOW - dt.timedelta(minutes=offset)
    newcomer = Ticket("", "", service, lane, NOW, queue_at, state.issue_order + 1)
    assert ahead_for(state, service, lane, queue_at, NOW, escalation=ESCALATION) == _position(
        state, newcomer, NOW
    )


def _position(
    state: HallState, ticket: Ticket, now: dt.datetime, window: WindowState | None = None
) -> int:
    """The definition: tickets of its service a window may call that rank before it (call_key)."""
    mine = call_key(ticket, now, ESCALATION)
    before = [
        other
        for other in state.waiting.get(ticket.service, {}).values()
        if other.id != ticket.id and call_key(other, now, ESCALATION) < mine
    ]

    def seen_by(w: WindowState) -> int:
        return sum(1 for other in before if other.target_window in (None, w.number))

    if window is not None:
        return seen_by(window) if ticket.service in window.services else 0
    callers = [
        w
        for w in state.windows.values()
        if w.open and ticket.service in w.services and ticket.target_window in (None, w.number)
    ]
    return min((seen_by(w) for w in callers), default=len(before))
