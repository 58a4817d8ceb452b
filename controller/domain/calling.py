"""The calling order, written once: whom a window calls next, and who is ahead of whom.

`call_key` ranks a waiting ticket; a window calls the tickets it may call in that order, except
that among tickets left to its policy (`CallTier.POLICY`) of different services the window's
`CallingPolicy` chooses the service. `pick_next`, `call_order`, `position_of`, `ahead_for` and
`calling_order` all derive from `call_order`/`call_key`, so the "N ahead" a citizen is shown and
the ticket a window calls cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from collections.abc import Iterator
from enum import IntEnum
from typing import NamedTuple

from controller.domain.state import CallingPolicy, HallState, Lane, Ticket, WindowState


class CallTier(IntEnum):
    """Tiers of the calling order, called lowest first; the window's policy only orders POLICY."""

    PRIORITY = 0  # 绿色通道 (a re-queued no-show has lost its lane)
    APPOINTMENT = 1  # an appointment whose slot has come
    ESCALATED = 2  # waited longer than the escalation time (SLA)
    TRANSFERRED = 3  # transferred (转办) to one window: only that window calls it
    POLICY = 4  # everyone else: the window's policy (fifo, order or weighted)


CallKey = tuple[CallTier, tuple[dt.datetime, int, int, str]]
_RULES = {
    CallTier.PRIORITY: "priority",
    CallTier.APPOINTMENT: "appointment",
    CallTier.ESCALATED: "escalated",
    CallTier.TRANSFERRED: "transferred",
}


class Call(NamedTuple):
    """One call a window would make: the ticket and the rule that chose it."""

    ticket: Ticket
    rule: str


def call_key(ticket: Ticket, now: dt.datetime, escalation: dt.timedelta) -> CallKey:
    """Rank of a waiting ticket at `now`: its tier, then its place (`Ticket.sort_key`)."""
    return (_tier(ticket, now, escalation), ticket.sort_key)


def can_call(window: WindowState, ticket: Ticket) -> bool:
    """Whether this window may call the ticket (its service; not reserved for another window)."""
    return ticket.service in window.services and ticket.target_window in (None, window.number)


def pick_next(
    state: HallState, window: WindowState, now: dt.datetime, escalation: dt.timedelta
) -> Call | None:
    """The call this window makes now, or None when nobody waits for it."""
    return next(_calls(state, window, now, escalation), None)


def call_order(
    state: HallState, window: WindowState, now: dt.datetime, escalation: dt.timedelta
) -> list[Call]:
    """Every call this window would make, in order, if it called again and again at `now`."""
    return list(_calls(state, window, now, escalation))


def position_of(
    state: HallState,
    ticket: Ticket,
    now: dt.datetime,
    escalation: dt.timedelta,
    *,
    window: WindowState | None = None,
) -> int:
    """How many of its service's waiting tickets `window` would call before this ticket.

    Without a window: the fewest over the open windows that may call it (the window that
    would call it soonest), or over the whole service queue when no open window may.
    Tickets of other services at a shared window are not counted: a citizen queues for a service.
    """
    mine = call_key(ticket, now, escalation)
    # Of the tickets ranked before it, a window sees those for any window and those for itself.
    for_any, for_one = 0, Counter[int]()
    for other in state.waiting.get(ticket.service, {}).values():
        if other.id != ticket.id and call_key(other, now, escalation) < mine:
            if other.target_window is None:
                for_any += 1
            else:
                for_one[other.target_window] += 1
    if window is not None:
        return for_any + for_one[window.number] if ticket.service in window.services else 0
    if not for_one:
        return for_any  # nobody reserved for one window: every window sees the same queue
    windows = [w for w in state.windows.values() if w.open and can_call(w, ticket)]
    return min((for_any + for_one[w.number] for w in windows), default=for_any + for_one.total())


def ahead_for(
    state: HallState,
    service: str,
    lane: Lane,
    queue_at: dt.datetime,
    now: dt.datetime,
    *,
    escalation: dt.timedelta,
) -> int:
    """How many waiting tickets would be called before a new ticket in this lane and place."""
    newcomer = Ticket(
        id="",
        number="",
        service=service,
        lane=lane,
        issued_at=now,
        queue_at=queue_at,
        order=state.issue_order + 1,
    )
    return position_of(state, newcomer, now, escalation)


def calling_order(
    state: HallState, service: str, now: dt.datetime, escalation: dt.timedelta
) -> list[Ticket]:
    """A service's waiting tickets in calling order (`call_key`), whichever window calls them."""
    return sorted(
        state.waiting.get(service, {}).values(), key=lambda t: call_key(t, now, escalation)
    )


def _tier(ticket: Ticket, now: dt.datetime, escalation: dt.timedelta) -> CallTier:
    if not ticket.no_show_count:
        if ticket.lane is Lane.PRIORITY:
            return CallTier.PRIORITY
        if ticket.lane is Lane.APPOINTMENT and ticket.queue_at <= now:
            return CallTier.APPOINTMENT
    if now - ticket.queue_at > escalation:
        return CallTier.ESCALATED
    if ticket.target_window is not None:
        return CallTier.TRANSFERRED
    return CallTier.POLICY


def _calls(
    state: HallState, window: WindowState, now: dt.datetime, escalation: dt.timedelta
) -> Iterator[Call]:
    # A heap, popped lazily: the next call costs O(n), the whole order O(n log n).
    ranked = [
        (call_key(ticket, now, escalation), ticket)
        for service in window.services
        for ticket in state.waiting.get(service, {}).values()
        if ticket.target_window is None or ticket.target_window == window.number  # can_call
    ]
    heapq.heapify(ranked)
    calls = Counter(window.calls_by_service)
    while ranked and ranked[0][0][0] is not CallTier.POLICY:
        (tier, _), ticket = heapq.heappop(ranked)
        calls[ticket.service] += 1  # the window's call count grows with every call
        yield Call(ticket, _RULES[tier])
    rule = window.policy.value
    yield from (Call(ticket, rule) for ticket in _by_policy(window, ranked, calls))


def _by_policy(
    window: WindowState, left: list[tuple[CallKey, Ticket]], calls: Counter[str]
) -> Iterator[Ticket]:
    """The POLICY tier (a heap by `call_key`) in the order the window's policy calls it."""
    if window.policy == CallingPolicy.FIFO:
        while left:
            yield heapq.heappop(left)[1]
        return
    queues: dict[str, list[tuple[CallKey, Ticket]]] = {}
    for entry in left:
        queues.setdefault(entry[1].service, []).append(entry)
    for queue in queues.values():
        heapq.heapify(queue)

    def load(service: str) -> tuple[float, int]:
        if window.policy == CallingPolicy.ORDER:
            return (0.0, window.services.index(service))
        weight = max(1, window.weights.get(service, 1))
        return (calls[service] / weight, window.services.index(service))

    while queues:
        service = min(queues, key=load)
        yield heapq.heappop(queues[service])[1]
        calls[service] += 1
        if not queues[service]:
            del queues[service]
