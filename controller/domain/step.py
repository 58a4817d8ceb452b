"""One command's unit of work: the rules, the state it changes and the events it emitted so far.

The engine makes a `Step` for every command and hands it to the rule modules (window commands,
keypad presses, appointments, roster, tickets, rating defaults). They change the hall only
through `Step.emit`, which applies an event and queues it for the journal; they never see the
engine, so rules and engine depend one way only.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from controller.domain import events as ev
from controller.domain.calendar import HallCalendar
from controller.domain.calling import ahead_for
from controller.domain.errors import CommandRejected, NotFound
from controller.domain.hall_rules import HallRules, ServiceConfig
from controller.domain.reducer import apply
from controller.domain.state import HallState, Lane, WindowState, ticket_result


def estimate_minutes(
    config: HallRules, state: HallState, service: ServiceConfig, ahead: int
) -> int:
    """Estimated wait for someone with `ahead` people before them."""
    samples = list(state.service_seconds.get(service.code, ()))
    samples = samples[-config.queue.estimate_sample_size :]
    minutes = sum(samples) / len(samples) / 60 if samples else service.average_service_minutes
    serving = [w for w in state.windows.values() if w.open and service.code in w.services]
    active = [w for w in serving if w.staff_id is not None and not w.paused]
    return math.ceil(ahead * minutes / max(1, len(active) or len(serving)))


@dataclass
class Step:
    """The hall's rules and state while one command runs, and the events it has emitted."""

    config: HallRules
    calendar: HallCalendar
    state: HallState
    events: list[ev.Event] = field(default_factory=list)

    def emit(self, event: ev.Event) -> None:
        """Apply an event to the state now and queue it for the journal."""
        apply(self.state, event)
        self.events.append(event)

    def service_config(self, code: str) -> ServiceConfig:
        """The configured service, or NotFound naming the code."""
        service = self.config.service(code)
        if service is None:
            raise NotFound("unknown_service", f"没有业务代码为 {code!r} 的业务")
        return service

    def window_state(self, number: int) -> WindowState:
        """The window's live state, or NotFound naming the number."""
        window = self.state.windows.get(number)
        if window is None or self.config.window(number) is None:
            raise NotFound("unknown_window", f"没有 {number} 号窗口")
        return window

    def estimate_minutes(self, service: ServiceConfig, ahead: int) -> int:
        """Estimated wait for someone with `ahead` people before them."""
        return estimate_minutes(self.config, self.state, service, ahead)

    def enqueue(
        self,
        service: ServiceConfig,
        lane: Lane,
        now: dt.datetime,
        *,
        queue_at: dt.datetime,
        priority_reason: str | None = None,
        appointment_code: str | None = None,
        slot_start: dt.datetime | None = None,
        needs_print: bool = False,
    ) -> dict[str, Any]:
        """Give the next number of `service` to a citizen in `lane`, queued from `queue_at`."""
        sequence = self.state.sequences[service.code] + 1
        if sequence > 999:
            raise CommandRejected("sequence_exhausted", f"{service.name}今日票号已用完")
        assert self.state.day is not None
        number = f"{service.prefix}{sequence:03d}"
        ticket_id = f"{self.state.day:%Y%m%d}-{number}"
        escalation = self.config.queue.escalation
        ahead = ahead_for(self.state, service.code, lane, queue_at, now, escalation=escalation)
        minutes = self.estimate_minutes(service, ahead)
        self.emit(
            ev.TicketIssued(
                at=now,
                ticket_id=ticket_id,
                number=number,
                service=service.code,
                lane=lane.value,
                sequence=sequence,
                queue_at=queue_at,
                ahead=ahead,
                estimated_wait_minutes=minutes,
                priority_reason=priority_reason,
                appointment_code=appointment_code,
                slot_start=slot_start,
                needs_print=needs_print,
            )
        )
        return ticket_result(self.state.tickets[ticket_id], ahead=ahead, minutes=minutes)

    def require_open_window(self, service: ServiceConfig) -> None:
        """CommandRejected unless some open window serves the service."""
        if not any(w.open and service.code in w.services for w in self.state.windows.values()):
            raise CommandRejected("service_closed", f"{service.name}暂无开放窗口，暂停取号")
