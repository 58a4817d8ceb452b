"""The calling rule: which waiting ticket a window calls next."""

from __future__ import annotations

import datetime as dt

from controller.state import HallState, Lane, Ticket, WindowState


def pick_next(
    state: HallState, window: WindowState, now: dt.datetime, escalation: dt.timedelta
) -> tuple[Ticket, str] | None:
    """The ticket this window should call and the rule that chose it, or None.

    Order: priority lane (绿色通道); appointments whose slot has come; any ticket waiting
    longer than `escalation` (SLA); then the window's policy (fifo, order or weighted).
    """
    candidates = [
        ticket
        for service in window.services
        for ticket in state.waiting.get(service, {}).values()
        if ticket.target_window is None or ticket.target_window == window.number
    ]
    if not candidates:
        return None
    priority = [t for t in candidates if t.lane is Lane.PRIORITY]
    if priority:
        return min(priority, key=_key), "priority"
    due = [t for t in candidates if t.lane is Lane.APPOINTMENT and t.queue_at <= now]
    if due:
        return min(due, key=_key), "appointment"
    overdue = [t for t in candidates if now - t.queue_at >= escalation]
    if overdue:
        return min(overdue, key=_key), "escalated"
    targeted = [t for t in candidates if t.target_window == window.number]
    if targeted:
        return min(targeted, key=_key), "transferred"
    return _by_policy(window, candidates), window.policy


def ahead_for(state: HallState, service: str, lane: Lane, queue_at: dt.datetime) -> int:
    """How many waiting tickets of a service would be called before a new one in this lane."""
    count = 0
    for other in state.waiting.get(service, {}).values():
        if other.lane is Lane.PRIORITY or (
            lane is not Lane.PRIORITY and other.queue_at <= queue_at
        ):
            count += 1
    return count


def position_of(state: HallState, ticket: Ticket) -> int:
    """How many waiting tickets of its service would be called before a waiting ticket."""
    mine = ticket.lane is Lane.PRIORITY
    return sum(
        1
        for other in state.waiting.get(ticket.service, {}).values()
        if other.id != ticket.id
        and (
            (other.lane is Lane.PRIORITY and not mine)
            or ((other.lane is Lane.PRIORITY) == mine and other.sort_key < ticket.sort_key)
        )
    )


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


def _key(ticket: Ticket) -> tuple[dt.datetime, int]:
    return ticket.sort_key
