"""The queue engine: a pure state machine, `handle(command, now) -> Decision`, clock injected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from controller.domain import (
    appointments,
    keypad_presses,
    rating_defaults,
    roster,
    tickets,
    values,
    window_commands,
)
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.calendar import HallCalendar
from controller.domain.errors import CommandRejected, InvalidRequest, NotFound
from controller.domain.hall_rules import HallRules, ServiceConfig
from controller.domain.reducer import apply
from controller.domain.state import (
    UNPRINTED,
    HallState,
    TicketStatus,
    WindowState,
)
from controller.domain.step import Step, estimate_minutes


@dataclass
class Decision:
    """What a command did: events to journal (maybe some even when rejected) and a result."""

    events: list[ev.Event]
    result: dict[str, Any] = field(default_factory=dict)
    rejection: CommandRejected | None = None


class Engine:
    """Owns the hall state; every change goes through `handle` and comes out as events."""

    def __init__(self, config: HallRules, state: HallState | None = None) -> None:
        self.config = config
        self.calendar = HallCalendar(config.calendar)
        self.state = state if state is not None else initial_state(config)

    def handle(self, command: cmd.Command, now: dt.datetime) -> Decision:
        """Apply a command at `now` (timezone-aware); never raises CommandRejected."""
        if now.tzinfo is None:
            raise ValueError("the engine needs a timezone-aware time")
        now = now.astimezone(self.config.zone)
        step = Step(self.config, self.calendar, self.state)
        _roll_over(step, now)
        rejection: CommandRejected | None = None
        result: dict[str, Any] = {}
        try:
            result = _dispatch(step, command, now)
        except CommandRejected as err:
            rejection = err
        return Decision(step.events, result, rejection)

    def replay(self, events: Iterable[ev.Event]) -> int:
        """Apply journaled events to the state (restart); returns how many."""
        count = 0
        for event in events:
            apply(self.state, event)
            count += 1
        return count

    def estimate_minutes(self, service: ServiceConfig, ahead: int) -> int:
        """Estimated wait for someone with `ahead` people before them (for the snapshot)."""
        return estimate_minutes(self.config, self.state, service, ahead)


def _dispatch(step: Step, command: cmd.Command, now: dt.datetime) -> dict[str, Any]:
    match command:
        case cmd.Tick():
            return {}
        case cmd.IssueTicket():
            return tickets.issue(step, command, now)
        case cmd.BookAppointment():
            return appointments.book(step, command, now)
        case cmd.CheckInAppointment():
            return appointments.check_in(step, command, now)
        case cmd.ConfirmPrinted() | cmd.RecordPrintFailure() | cmd.VoidTicket():
            return tickets.paper(step, command, now)
        case cmd.PostNotice():
            return _post_notice(step, command, now)
        case cmd.ClearNotice():
            if command.notice_id not in step.state.notices:
                raise NotFound("unknown_notice", f"没有编号为 {command.notice_id} 的公告")
            step.emit(ev.NoticeCleared(at=now, notice_id=command.notice_id))
            return {"notice_id": command.notice_id}
        case cmd.SetDutyLeader():
            name = values.require(
                values.leader_name, command.name, code="bad_duty_leader", label="值班领导姓名"
            )
            title = values.require(
                values.leader_title, command.title, code="bad_duty_leader", label="值班领导职务"
            )
            step.emit(ev.DutyLeaderSet(at=now, name=name, title=title))
            return {"name": name, "title": title}
        case cmd.AddTemporaryStaff():
            return roster.add_temporary(step, command, now)
        case cmd.WindowCommand():
            return window_commands.handle(step, command, now)
        case cmd.PressKey():
            return keypad_presses.handle(step, command, now)
        case cmd.ApplyRatingDefaults():
            return rating_defaults.apply_defaults(step, command, now)
    raise InvalidRequest("unknown_command", f"无法处理的指令 {type(command).__name__}")


def _roll_over(step: Step, now: dt.datetime) -> None:
    """Open the first day, or close the old day at its own midnight and open today."""
    today = now.date()
    if step.state.day is None:
        step.emit(ev.DayOpened(at=now, day=today))
        return
    if today <= step.state.day:
        return
    # The old day closes at its own midnight, even after a weekend without commands.
    closing = dt.datetime.combine(
        step.state.day + dt.timedelta(days=1), dt.time(0), tzinfo=step.config.zone
    )
    midnight = dt.datetime.combine(today, dt.time(0), tzinfo=step.config.zone)
    open_tickets = tuple(
        t.id
        for t in step.state.tickets.values()
        if t.status in (TicketStatus.WAITING, TicketStatus.CALLED) or t.status in UNPRINTED
    )
    staffed = tuple(n for n, w in step.state.windows.items() if w.staff_id is not None)
    step.emit(
        ev.DayClosed(at=closing, day=step.state.day, expired=open_tickets, signed_out=staffed)
    )
    step.emit(ev.DayOpened(at=midnight, day=today))


def _post_notice(step: Step, command: cmd.PostNotice, now: dt.datetime) -> dict[str, Any]:
    text = values.require(values.notice_text, command.text, code="bad_notice", label="公告内容")
    if command.level not in ("normal", "emergency"):
        raise InvalidRequest("bad_level", "公告级别应为 normal 或 emergency")
    notice_id = step.state.next_notice_id
    step.emit(ev.NoticePosted(at=now, notice_id=notice_id, text=text, level=command.level))
    return {"notice_id": notice_id}


def initial_state(config: HallRules) -> HallState:
    """A fresh state with the configured windows and nothing issued."""
    state = HallState()
    for window in config.windows:
        state.windows[window.number] = WindowState(
            window.number,
            window.name,
            tuple(window.services),
            window.policy,
            dict(window.weights),
            open=window.open,
        )
    return state
