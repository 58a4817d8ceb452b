"""The floor dashboard's day figures folded from journaled events: waiting curve, waits, since."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from controller.domain import events as ev

# Wait-time histogram bins in minutes (lower bounds); the last bin is open-ended.
WAIT_BINS = (0, 5, 10, 15, 20, 30, 45, 60)
# Every kind `DayFigures.fold` reads; the tracker asks the journal for these only.
FOLDED_KINDS = tuple(
    cls.kind
    for cls in (
        ev.DayOpened,
        ev.DayClosed,
        ev.TicketIssued,
        ev.TicketPrinted,
        ev.TicketVoided,
        ev.TicketTransferred,
        # These change a window's state (closed, signed_out, paused, idle, serving).
        ev.StaffSignedIn,
        ev.StaffSignedOut,
        ev.TicketCalled,
        ev.TicketNoShow,
        ev.TicketFinished,
        ev.WindowPaused,
        ev.WindowResumed,
        ev.WindowOpened,
        ev.WindowClosed,
    )
)


@dataclass
class DayFigures:
    """One hall day: waiting-count change points, first-call waits, and when each window changed."""

    day: dt.date | None = None
    waiting_points: list[tuple[dt.datetime, int]] = field(default_factory=list)
    waits_minutes: list[float] = field(default_factory=list)
    window_since: dict[int, dt.datetime] = field(default_factory=dict)
    _waiting: set[str] = field(default_factory=set)
    _issued_at: dict[str, dt.datetime] = field(default_factory=dict)
    _called: set[str] = field(default_factory=set)

    def fold(self, event: ev.Event) -> None:
        """Take one event (in journal order) into the figures."""
        match event:
            case ev.DayOpened():
                self._reset(event.day)
            case ev.DayClosed():
                self._leave(event.expired, event.at)
                for number in event.signed_out:
                    self.window_since[number] = event.at
            case ev.TicketIssued():
                self._issued_at[event.ticket_id] = event.at
                if not event.needs_print:
                    self._enter(event.ticket_id, event.at)
            case ev.TicketPrinted():
                self._enter(event.ticket_id, event.at)
            case ev.TicketVoided():
                self._leave((event.ticket_id,), event.at)
            case ev.TicketTransferred():
                self._enter(event.ticket_id, event.at)
                self.window_since[event.from_window] = event.at
            case ev.TicketCalled():
                self._leave((event.ticket_id,), event.at)
                self._first_call(event.ticket_id, event.at)
                self.window_since[event.window] = event.at
            case ev.TicketNoShow():
                if event.requeue_at is not None:
                    self._enter(event.ticket_id, event.at)
                self.window_since[event.window] = event.at
            case (
                ev.StaffSignedIn()
                | ev.StaffSignedOut()
                | ev.TicketFinished()
                | ev.WindowPaused()
                | ev.WindowResumed()
                | ev.WindowOpened()
                | ev.WindowClosed()
            ):
                self.window_since[event.window] = event.at

    def _reset(self, day: dt.date) -> None:
        self.day = day
        self.waiting_points, self.waits_minutes, self.window_since = [], [], {}
        self._waiting, self._issued_at, self._called = set(), {}, set()

    def _enter(self, ticket_id: str, at: dt.datetime) -> None:
        if ticket_id not in self._waiting:
            self._waiting.add(ticket_id)
            self._point(at)

    def _leave(self, ticket_ids: tuple[str, ...], at: dt.datetime) -> None:
        before = len(self._waiting)
        self._waiting.difference_update(ticket_ids)
        if len(self._waiting) != before:
            self._point(at)

    def _point(self, at: dt.datetime) -> None:
        count = len(self._waiting)
        if self.waiting_points and self.waiting_points[-1][0] == at:
            self.waiting_points[-1] = (at, count)
        else:
            self.waiting_points.append((at, count))

    def _first_call(self, ticket_id: str, at: dt.datetime) -> None:
        issued = self._issued_at.get(ticket_id)
        if issued is not None and ticket_id not in self._called:
            self._called.add(ticket_id)
            self.waits_minutes.append(max(0.0, (at - issued).total_seconds() / 60))


def waiting_history(
    points: list[tuple[dt.datetime, int]], start: dt.datetime, end: dt.datetime, step_minutes: int
) -> list[dict[str, Any]]:
    """The peak waiting count in each `step_minutes` slot from `start` up to `end`."""
    step = dt.timedelta(minutes=step_minutes)
    slots: list[dict[str, Any]] = []
    index, current = 0, 0
    while index < len(points) and points[index][0] < start:
        current = points[index][1]
        index += 1
    slot_start = start
    while slot_start <= end:
        slot_end = slot_start + step
        peak = current
        while index < len(points) and points[index][0] < slot_end:
            current = points[index][1]
            peak = max(peak, current)
            index += 1
        slots.append({"at": slot_start.isoformat(), "waiting": peak})
        slot_start = slot_end
    return slots


def wait_histogram(waits_minutes: list[float], threshold_minutes: int) -> list[dict[str, Any]]:
    """Counts of first-call waits per bin of WAIT_BINS, each bin marked if past the threshold."""
    bins = []
    for low, high in zip(WAIT_BINS, (*WAIT_BINS[1:], None), strict=True):
        count = sum(1 for w in waits_minutes if w >= low and (high is None or w < high))
        label = f"{low}-{high}" if high is not None else f"≥{low}"
        bins.append(
            {
                "label": label,
                "from": low,
                "to": high,
                "count": count,
                "over": low >= threshold_minutes,
            }
        )
    return bins
