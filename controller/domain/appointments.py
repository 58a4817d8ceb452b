"""Appointments (预约): booking from the online system and check-in at the hall."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain import values
from controller.domain.errors import CommandRejected, InvalidRequest, NotFound
from controller.domain.privacy import mask_name, mask_phone
from controller.domain.state import Lane, ticket_result

if TYPE_CHECKING:
    from controller.domain.step import Step

_CODE = re.compile(r"^[A-Za-z0-9-]{4,32}$")


def book(step: Step, command: cmd.BookAppointment, now: dt.datetime) -> dict[str, Any]:
    """Book an appointment slot; name and phone are masked before they become an event."""
    if not isinstance(command.code, str) or not _CODE.fullmatch(command.code):
        raise InvalidRequest("bad_code", "预约码应为 4-32 位字母、数字或连字符")
    values.require(values.citizen_text, command.name, code="bad_name", label="预约人姓名")
    values.require(values.citizen_text, command.phone, code="bad_phone", label="预约人电话")
    if command.code in step.state.appointments:
        raise CommandRejected("appointment_exists", f"预约码 {command.code} 已存在")
    service = step.service_config(command.service)
    if command.slot_start.tzinfo is None:
        raise InvalidRequest("naive_time", "预约时间必须带时区")
    slot = command.slot_start.astimezone(step.config.zone)
    if slot < now:
        raise InvalidRequest("slot_in_past", "预约时段已过")
    if not step.config.appointments.enabled:
        raise CommandRejected("appointments_disabled", "本大厅未开通预约办理")
    hours = step.calendar.hours_on(slot.date())
    if hours is None or not hours.open <= slot.time() < hours.close:
        raise CommandRejected("slot_closed", f"{slot:%Y-%m-%d %H:%M} 不在大厅办公时间内")
    phone = (
        mask_phone(command.phone) if step.config.privacy.store_appointment_phone == "masked" else ""
    )
    step.emit(
        ev.AppointmentBooked(
            at=now,
            code=command.code,
            service=service.code,
            slot_start=slot,
            name_masked=mask_name(command.name),
            phone_masked=phone,
        )
    )
    return {"code": command.code, "service": service.code, "slot_start": slot.isoformat()}


def check_in(step: Step, command: cmd.CheckInAppointment, now: dt.datetime) -> dict[str, Any]:
    """Check an appointment in: it joins the queue at its slot (or as a walk-in when late)."""
    rules = step.config.appointments
    if not rules.enabled:
        raise CommandRejected("appointments_disabled", "本大厅未开通预约办理")
    appointment = step.state.appointments.get(command.code)
    if appointment is None:
        raise NotFound("unknown_appointment", "没有找到该预约码，请核对后重试")
    if appointment.ticket_id is not None and appointment.ticket_id in step.state.tickets:
        ticket = step.state.tickets[appointment.ticket_id]
        return ticket_result(ticket, ahead=None, minutes=None) | {"already_checked_in": True}
    slot = appointment.slot_start
    if slot.date() != now.date():
        raise CommandRejected("wrong_day", f"您预约的是 {slot:%Y-%m-%d %H:%M}，请当天前来签到")
    if not step.calendar.is_open_at(now):
        raise CommandRejected("hall_closed", "当前不在办公时间，无法签到")
    service = step.service_config(appointment.service)
    step.require_open_window(service)
    if now < slot - dt.timedelta(minutes=rules.early_checkin_minutes):
        raise CommandRejected(
            "too_early",
            f"请于 {slot - dt.timedelta(minutes=rules.early_checkin_minutes):%H:%M} 后签到",
        )
    if now > slot + dt.timedelta(minutes=rules.late_grace_minutes):
        if rules.late_policy == "refuse":
            raise CommandRejected("too_late", "已超过预约签到时间，请重新预约或现场取号")
        return step.enqueue(
            service,
            Lane.NORMAL,
            now,
            queue_at=now,
            appointment_code=command.code,
            slot_start=slot,
            needs_print=command.needs_print,
        )
    return step.enqueue(
        service,
        Lane.APPOINTMENT,
        now,
        queue_at=slot,
        appointment_code=command.code,
        slot_start=slot,
        needs_print=command.needs_print,
    )
