"""The queue engine: a pure state machine, `handle(command, now) -> Decision`, clock injected."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from controller.domain import (
    appointments,
    keypad_presses,
    rating_defaults,
    roster,
    values,
    window_commands,
)
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.calendar import HallCalendar
from controller.domain.calling import ahead_for
from controller.domain.errors import CommandRejected, InvalidRequest, NotFound
from controller.domain.hall_rules import HallRules, ServiceConfig
from controller.domain.reducer import apply
from controller.domain.state import (
    UNPRINTED,
    HallState,
    Lane,
    TicketStatus,
    WindowState,
    ticket_result,
)


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
        self._pending: list[ev.Event] = []

    def handle(self, command: cmd.Command, now: dt.datetime) -> Decision:
        """Apply a command at `now` (timezone-aware); never raises CommandRejected."""
        if now.tzinfo is None:
            raise ValueError("the engine needs a timezone-aware time")
        now = now.astimezone(self.config.zone)
        self._pending = []
        self._roll_over(now)
        rejection: CommandRejected | None = None
        result: dict[str, Any] = {}
        try:
            result = self._dispatch(command, now)
        except CommandRejected as err:
            rejection = err
        events, self._pending = self._pending, []
        return Decision(events, result, rejection)

    def replay(self, events: Iterable[ev.Event]) -> int:
        """Apply journaled events to the state (restart); returns how many."""
        count = 0
        for event in events:
            apply(self.state, event)
            count += 1
        return count

    def emit(self, event: ev.Event) -> None:
        """Apply an event now and queue it for the journal (handlers only)."""
        apply(self.state, event)
        self._pending.append(event)

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
        samples = list(self.state.service_seconds.get(service.code, ()))
        samples = samples[-self.config.queue.estimate_sample_size :]
        minutes = sum(samples) / len(samples) / 60 if samples else service.average_service_minutes
        serving = [w for w in self.state.windows.values() if w.open and service.code in w.services]
        active = [w for w in serving if w.staff_id is not None and not w.paused]
        return math.ceil(ahead * minutes / max(1, len(active) or len(serving)))

    def _dispatch(self, command: cmd.Command, now: dt.datetime) -> dict[str, Any]:
        match command:
            case cmd.Tick():
                return {}
            case cmd.IssueTicket():
                return self._issue(command, now)
            case cmd.BookAppointment():
                return appointments.book(self, command, now)
            case cmd.CheckInAppointment():
                return appointments.check_in(self, command, now)
            case cmd.ConfirmPrinted() | cmd.RecordPrintFailure() | cmd.VoidTicket():
                return self._paper(command, now)
            case cmd.PostNotice():
                return self._post_notice(command, now)
            case cmd.ClearNotice():
                if command.notice_id not in self.state.notices:
                    raise NotFound("unknown_notice", f"没有编号为 {command.notice_id} 的公告")
                self.emit(ev.NoticeCleared(at=now, notice_id=command.notice_id))
                return {"notice_id": command.notice_id}
            case cmd.SetDutyLeader():
                name = values.require(
                    values.leader_name, command.name, code="bad_duty_leader", label="值班领导姓名"
                )
                title = values.require(
                    values.leader_title, command.title, code="bad_duty_leader", label="值班领导职务"
                )
                self.emit(ev.DutyLeaderSet(at=now, name=name, title=title))
                return {"name": name, "title": title}
            case cmd.AddTemporaryStaff():
                return roster.add_temporary(self, command, now)
            case cmd.WindowCommand():
                return window_commands.handle(self, command, now)
            case cmd.PressKey():
                return keypad_presses.handle(self, command, now)
            case cmd.ApplyRatingDefaults():
                return rating_defaults.apply_defaults(self, command, now)
        raise InvalidRequest("unknown_command", f"无法处理的指令 {type(command).__name__}")

    def _roll_over(self, now: dt.datetime) -> None:
        today = now.date()
        if self.state.day is None:
            self.emit(ev.DayOpened(at=now, day=today))
            return
        if today <= self.state.day:
            return
        # The old day closes at its own midnight, even after a weekend without commands.
        closing = dt.datetime.combine(
            self.state.day + dt.timedelta(days=1), dt.time(0), tzinfo=self.config.zone
        )
        midnight = dt.datetime.combine(today, dt.time(0), tzinfo=self.config.zone)
        open_tickets = tuple(
            t.id
            for t in self.state.tickets.values()
            if t.status in (TicketStatus.WAITING, TicketStatus.CALLED) or t.status in UNPRINTED
        )
        staffed = tuple(n for n, w in self.state.windows.items() if w.staff_id is not None)
        self.emit(
            ev.DayClosed(at=closing, day=self.state.day, expired=open_tickets, signed_out=staffed)
        )
        self.emit(ev.DayOpened(at=midnight, day=today))

    def _issue(self, command: cmd.IssueTicket, now: dt.datetime) -> dict[str, Any]:
        service = self.service_config(command.service)
        if command.lane not in (Lane.NORMAL, Lane.PRIORITY):
            raise InvalidRequest(
                "bad_lane", f"取号通道应为 normal 或 priority，收到 {command.lane!r}"
            )
        lane = Lane(command.lane)
        reason = command.priority_reason
        if lane is Lane.PRIORITY:
            if not self.config.priority_lane.enabled:
                raise CommandRejected("priority_disabled", "本大厅未开设绿色通道")
            if reason is not None and reason not in self.config.priority_lane.categories:
                allowed = "、".join(self.config.priority_lane.categories)
                raise InvalidRequest("bad_priority_reason", f"绿色通道对象应为：{allowed}")
        elif reason is not None:
            raise InvalidRequest("bad_priority_reason", "只有绿色通道取号需要填写对象类别")
        refusal = self.calendar.ticketing_refusal(service, now)
        if refusal is not None:
            raise CommandRejected(*refusal)
        self.require_open_window(service)
        if self.state.sequences[service.code] >= service.daily_quota:
            raise CommandRejected(
                "quota_reached", f"{service.name}今日号源已取完（共 {service.daily_quota} 个）"
            )
        for slot in service.slot_quotas:
            if not slot.contains(now.time()):
                continue
            start = dt.datetime.combine(now.date(), slot.start, tzinfo=now.tzinfo)
            end = dt.datetime.combine(now.date(), slot.end, tzinfo=now.tzinfo)
            if self.state.issued_between(service.code, start, end) >= slot.quota:
                raise CommandRejected(
                    "slot_quota_reached",
                    f"{service.name} {slot.start:%H:%M}-{slot.end:%H:%M} 时段号源已取完",
                )
        return self.enqueue(
            service,
            lane,
            now,
            queue_at=now,
            priority_reason=reason,
            needs_print=command.needs_print,
        )

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

    def _paper(
        self,
        command: cmd.ConfirmPrinted | cmd.RecordPrintFailure | cmd.VoidTicket,
        now: dt.datetime,
    ) -> dict[str, Any]:
        ticket = self.state.tickets.get(command.ticket_id)
        if ticket is None:
            raise NotFound("unknown_ticket", f"没有找到票号 {command.ticket_id}（仅限当天）")
        if ticket.status not in UNPRINTED:
            raise CommandRejected(
                "not_awaiting_print",
                f"{ticket.number} 不在待打印状态（当前：{ticket.status.value}）",
            )
        match command:
            case cmd.ConfirmPrinted():
                self.emit(
                    ev.TicketPrinted(
                        at=now, ticket_id=ticket.id, number=ticket.number, printer=command.printer
                    )
                )
            case cmd.RecordPrintFailure():
                self.emit(
                    ev.TicketPrintFailed(
                        at=now,
                        ticket_id=ticket.id,
                        number=ticket.number,
                        printer=command.printer,
                        reason=command.reason[:200],
                    )
                )
            case cmd.VoidTicket():
                reason = values.require(
                    values.reason, command.reason, code="reason_required", label="作废原因"
                )
                self.emit(
                    ev.TicketVoided(
                        at=now, ticket_id=ticket.id, number=ticket.number, reason=reason
                    )
                )
        return ticket_result(ticket, ahead=None, minutes=None)

    def _post_notice(self, command: cmd.PostNotice, now: dt.datetime) -> dict[str, Any]:
        text = values.require(values.notice_text, command.text, code="bad_notice", label="公告内容")
        if command.level not in ("normal", "emergency"):
            raise InvalidRequest("bad_level", "公告级别应为 normal 或 emergency")
        notice_id = self.state.next_notice_id
        self.emit(ev.NoticePosted(at=now, notice_id=notice_id, text=text, level=command.level))
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
