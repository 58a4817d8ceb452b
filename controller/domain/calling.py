"""The calling order, written once: whom a window calls next, and who is ahead of whom.

`call_key` ranks a waiting ticket; a window calls the tickets it may call in that order, except
that among tickets left to its policy (`CallTier.POLICY`) of different services the window's
`CallingPolicy` chooses the service. `pick_next`, `call_order`, `position_of`, `ahead_for` and
`calling_order` all derive from `call_order`/`call_key`, so the "N ahead" a citizen is shown and
the ticket a window calls cannot disagree. `pick_next` and `position_of` run on every call and
issue, so they answer in one pass instead of ranking the queue; tests/unit/test_calling_fast_paths.py
holds them to `call_order` and `call_key` on generated states.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from collections.abc import Callable, Iterator
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


_NORMAL = Lane.NORMAL
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
    """The call this window makes now, or None when nobody waits for it (`call_order`'s head)."""
    # One pass, no ranking: the lowest (tier, place) outside POLICY, else the head of each
    # service's POLICY tickets for the policy to choose from; call-next runs this per press.
    cutoff = now - escalation  # `now - queue_at > escalation`, without a subtraction per ticket
    best: Ticket | None = None
    best_tier = CallTier.POLICY
    heads: dict[str, Ticket] = {}
    number = window.number
    for service in window.services:
        head: Ticket | None = None
        for ticket in state.waiting.get(service, {}).values():
            target = ticket.target_window
            queue_at = ticket.queue_at
            if (
                target is None
                and queue_at >= cutoff
                and (ticket.lane is _NORMAL or ticket.no_show_count)
            ):
                # The common case inline (POLICY by `_tier`'s rules): a hall has thousands.
                if head is None or (queue_at <= head.queue_at and _before(ticket, head)):
                    head = ticket
                continue
            if target is not None and target != number:
                continue  # can_call: reserved for another window
            tier = _tier_before(ticket, now, cutoff)
            if tier is CallTier.POLICY:
                if head is None or _before(ticket, head):
                    head = ticket
            elif best is None or tier < best_tier or (tier == best_tier and _before(ticket, best)):
                best, best_tier = ticket, tier
        if head is not None:
            heads[service] = head
    if best is not None:
        return Call(best, _RULES[best_tier])
    if not heads:
        return None
    if window.policy == CallingPolicy.FIFO:
        first = min(heads.values(), key=lambda t: t.sort_key)
    else:
        first = heads[min(heads, key=_policy_load(window, Counter(window.calls_by_service)))]
    return Call(first, window.policy.value)


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
    cutoff = now - escalation
    tier = _tier_before(ticket, now, cutoff)
    key = ticket.sort_key
    queue_at = ticket.queue_at
    # Of the tickets ranked before it, a window sees those for any window and those for itself.
    # call_key(other) < call_key(ticket), tier first, without building either key per ticket.
    for_any, for_one = 0, Counter[int]()
    policy = tier is CallTier.POLICY
    for other in state.waiting.get(ticket.service, {}).values():
        other_at = other.queue_at
        if (
            policy
            and other.target_window is None
            and other_at >= cutoff
            and (other.lane is _NORMAL or other.no_show_count)
        ):  # both POLICY (`_tier`'s rules inline, the common case): their places decide
            if other_at < queue_at or (
                other_at == queue_at and other.id != ticket.id and other.sort_key < key
            ):
                for_any += 1
            continue
        other_tier = _tier_before(other, now, cutoff)
        if other_tier > tier:
            continue
        if other_tier == tier and (
            other.queue_at > queue_at
            or (other.queue_at == queue_at and (other.id == ticket.id or other.sort_key >= key))
        ):
            continue
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
    return _tier_before(ticket, now, now - escalation)


def _tier_before(ticket: Ticket, now: dt.datetime, cutoff: dt.datetime) -> CallTier:
    """`_tier` with the escalation as a moment: escalated when queued before `cutoff`."""
    if not ticket.no_show_count:
        if ticket.lane is Lane.PRIORITY:
            return CallTier.PRIORITY
        if ticket.lane is Lane.APPOINTMENT and ticket.queue_at <= now:
            return CallTier.APPOINTMENT
    if ticket.queue_at < cutoff:
        return CallTier.ESCALATED
    if ticket.target_window is not None:
        return CallTier.TRANSFERRED
    return CallTier.POLICY


def _before(ticket: Ticket, other: Ticket) -> bool:
    """`ticket.sort_key < other.sort_key`, building the keys only on a tie of queue_at."""
    if ticket.queue_at != other.queue_at:
        return ticket.queue_at < other.queue_at
    return ticket.sort_key < other.sort_key


def _policy_load(window: WindowState, calls: Counter[str]) -> Callable[[str], tuple[float, int]]:
    """The key the window's policy picks a service by (lowest first) given its calls so far."""

    def load(service: str) -> tuple[float, int]:
        if window.policy == CallingPolicy.ORDER:
            return (0.0, window.services.index(service))
        weight = max(1, window.weights.get(service, 1))
        return (calls[service] / weight, window.services.index(service))

    return load


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

    load = _policy_load(window, calls)
    while queues:
        service = min(queues, key=load)
        yield heapq.heappop(queues[service])[1]
        calls[service] += 1
        if not queues[service]:
            del queues[service]
