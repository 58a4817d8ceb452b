"""The calling rule: which waiting ticket a window calls next, and who is ahead of whom."""

from __future__ import annotations

import datetime as dt

from controller.domain.state import HallState, Lane, Ticket, WindowState

# Tiers of a service's queue, called in this order before the window's own policy.
_PRIORITY, _DUE_APPOINTMENT, _OTHERS = 0, 1, 2
QueueRank = tuple[int, tuple[dt.datetime, int, int, str]]


def pick_next(
    state: HallState, window: WindowState, now: dt.datetime, escalation: dt.timedelta
) -> tuple[Ticket, str] | None:
    """The ticket this window should call and the rule that chose it, or None.

    Order: priority lane (绿色通道); appointments whose slot has come; any ticket waiting
    longer than `escalation` (SLA); tickets transferred to this window; then the window's
    policy (fifo, order or weighted). A re-queued no-show has lost its lane precedence.
    """
    candidates = [
        ticket
        for service in window.services
        for ticket in state.waiting.get(service, {}).values()
        if ticket.target_window is None or ticket.target_window == window.number
    ]
    if not candidates:
        return None
    priority = [t for t in candidates if _tier(t, now) == _PRIORITY]
    if priority:
        return min(priority, key=_key), "priority"
    due = [t for t in candidates if _tier(t, now) == _DUE_APPOINTMENT]
    if due:
        return min(due, key=_key), "appointment"
    overdue = [t for t in candidates if now - t.queue_at > escalation]
    if overdue:
        return min(overdue, key=_key), "escalated"
    targeted = [t for t in candidates if t.target_window == window.number]
    if targeted:
        return min(targeted, key=_key), "transferred"
    return _by_policy(window, candidates), window.policy


def calling_order(state: HallState, service: str, now: dt.datetime) -> list[Ticket]:
    """A service's waiting tickets in the order its windows would call them (lanes, then time)."""
    return sorted(state.waiting.get(service, {}).values(), key=lambda t: queue_rank(t, now))


def queue_rank(ticket: Ticket, now: dt.datetime) -> QueueRank:
    """Sort key of a ticket within its service's queue at `now`."""
    return (_tier(ticket, now), ticket.sort_key)


def ahead_for(
    state: HallState, service: str, lane: Lane, queue_at: dt.datetime, now: dt.datetime
) -> int:
    """How many waiting tickets would be called before a new ticket in this lane and place."""
    tier = (
        _PRIORITY
        if lane is Lane.PRIORITY
        else (_DUE_APPOINTMENT if lane is Lane.APPOINTMENT and queue_at <= now else _OTHERS)
    )
    mine = (tier, (queue_at, state.issue_order + 1, 0, ""))
    return sum(1 for t in state.waiting.get(service, {}).values() if queue_rank(t, now) < mine)


def position_of(state: HallState, ticket: Ticket, now: dt.datetime) -> int:
    """How many waiting tickets of its service would be called before a waiting ticket."""
    mine = queue_rank(ticket, now)
    return sum(
        1
        for other in state.waiting.get(ticket.service, {}).values()
        if other.id != ticket.id and queue_rank(other, now) < mine
    )


def _tier(ticket: Ticket, now: dt.datetime) -> int:
    if ticket.no_show_count:
        return _OTHERS
    if ticket.lane is Lane.PRIORITY:
        return _PRIORITY
    if ticket.lane is Lane.APPOINTMENT and ticket.queue_at <= now:
        return _DUE_APPOINTMENT
    return _OTHERS


def _by_policy(window: WindowState, candidates: list[Ticket]) -> Ticket:
    if window.policy == "order":
        for service in window.services:
            in_service = [t for t in candidates if t.service == service]
            if in_service:
                return min(in_service, key=_key)
    if window.policy == "weighted":
        present = {t.service for t in candidates}

        def load(service: str) -> tuple[float, int]:
            weight = max(1, window.weights.get(service, 1))
            return (window.calls_by_service[service] / weight, window.services.index(service))

        chosen = min(present, key=load)
        return min((t for t in candidates if t.service == chosen), key=_key)
    return min(candidates, key=_key)


def _key(ticket: Ticket) -> tuple[dt.datetime, int, int, str]:
    return ticket.sort_key
