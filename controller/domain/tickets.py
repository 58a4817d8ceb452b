"""Tickets on paper (取号): issuing within hours, quotas and the priority lane; printing and voiding."""

from __future__ import annotations

import datetime as dt
from typing import Any

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain import values
from controller.domain.calling import position_of
from controller.domain.errors import CommandRejected, InvalidRequest, NotFound
from controller.domain.state import UNPRINTED, Lane, TicketStatus, ticket_result
from controller.domain.step import Step


def issue(step: Step, command: cmd.IssueTicket, now: dt.datetime) -> dict[str, Any]:
    """A ticket from the kiosk or the API, within hours, quotas and the priority lane rules."""
    service = step.service_config(command.service)
    if command.lane not in (Lane.NORMAL, Lane.PRIORITY):
        raise InvalidRequest("bad_lane", f"取号通道应为 normal 或 priority，收到 {command.lane!r}")
    lane = Lane(command.lane)
    reason = command.priority_reason
    if lane is Lane.PRIORITY:
        if not step.config.priority_lane.enabled:
            raise CommandRejected("priority_disabled", "本大厅未开设绿色通道")
        if reason is not None and reason not in step.config.priority_lane.categories:
            allowed = "、".join(step.config.priority_lane.categories)
            raise InvalidRequest("bad_priority_reason", f"绿色通道对象应为：{allowed}")
    elif reason is not None:
        raise InvalidRequest("bad_priority_reason", "只有绿色通道取号需要填写对象类别")
    refusal = step.calendar.ticketing_refusal(service, now)
    if refusal is not None:
        raise CommandRejected(*refusal)
    step.require_open_window(service)
    if step.state.sequences[service.code] >= service.daily_quota:
        raise CommandRejected(
            "quota_reached", f"{service.name}今日号源已取完（共 {service.daily_quota} 个）"
        )
    for slot in service.slot_quotas:
        if not slot.contains(now.time()):
            continue
        start = dt.datetime.combine(now.date(), slot.start, tzinfo=now.tzinfo)
        end = dt.datetime.combine(now.date(), slot.end, tzinfo=now.tzinfo)
        if step.state.issued_between(service.code, start, end) >= slot.quota:
            raise CommandRejected(
                "slot_quota_reached",
                f"{service.name} {slot.start:%H:%M}-{slot.end:%H:%M} 时段号源已取完",
            )
    return step.enqueue(
        service,
        lane,
        now,
        queue_at=now,
        priority_reason=reason,
        needs_print=command.needs_print,
    )


def paper(
    step: Step,
    command: cmd.ConfirmPrinted | cmd.RecordPrintFailure | cmd.VoidTicket,
    now: dt.datetime,
) -> dict[str, Any]:
    """Paper of a ticket: printed (it joins the queue), failed (flagged) or voided."""
    ticket = step.state.tickets.get(command.ticket_id)
    if ticket is None:
        raise NotFound("unknown_ticket", f"没有找到票号 {command.ticket_id}（仅限当天）")
    if ticket.status not in UNPRINTED:
        raise CommandRejected(
            "not_awaiting_print",
            f"{ticket.number} 不在待打印状态（当前：{ticket.status.value}）",
        )
    match command:
        case cmd.ConfirmPrinted():
            step.emit(
                ev.TicketPrinted(
                    at=now, ticket_id=ticket.id, number=ticket.number, printer=command.printer
                )
            )
            return printed_result(step, ticket.id, now)
        case cmd.RecordPrintFailure():
            if ticket.status is TicketStatus.PRINT_FAILED and ticket.printer == command.printer:
                return ticket_result(ticket, ahead=None, minutes=None)  # known already
            step.emit(
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
            step.emit(
                ev.TicketVoided(at=now, ticket_id=ticket.id, number=ticket.number, reason=reason)
            )
    return ticket_result(ticket, ahead=None, minutes=None)


def printed_result(step: Step, ticket_id: str, now: dt.datetime) -> dict[str, Any]:
    """A ticket on paper, as the kiosk shows it: its place in the queue and the printer."""
    ticket = step.state.tickets[ticket_id]
    service = step.config.service(ticket.service)
    ahead = position_of(step.state, ticket, now, step.config.queue.escalation)
    minutes = step.estimate_minutes(service, ahead) if service is not None else None
    return {
        **ticket_result(ticket, ahead=ahead, minutes=minutes),
        "printer": ticket.printer,
        "print_failure": None,
    }
