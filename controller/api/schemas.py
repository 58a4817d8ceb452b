"""Request bodies of the hall API (the public contract kiosks and consoles code against)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from controller.domain.state import CallingPolicy
from controller.domain.strict import StrictModel
from controller.domain.values import (
    CitizenText,
    LeaderName,
    LeaderTitle,
    NoticeText,
    Reason,
    ServiceCode,
    StaffId,
    StaffName,
    StaffPost,
)


class ErrorBody(BaseModel):
    """Every refusal: a stable English `error` code and a Chinese `message` for the person."""

    error: str = Field(description="machine-readable reason, e.g. queue_empty, forbidden")
    message: str = Field(description="Simplified Chinese text to show the caller")
    problems: list[str] | None = Field(
        default=None, description="422 only: one line per invalid field, naming it"
    )


class TicketRequest(StrictModel):
    """Take a ticket (取号)."""

    service: ServiceCode
    lane: Literal["normal", "priority"] = "normal"
    priority_reason: str | None = Field(
        default=None, max_length=32, description="绿色通道 category"
    )
    machine: str | None = Field(
        default=None,
        max_length=64,
        description="ticket machine whose printer prints it; 201 only once the paper is out",
    )
    staff_confirmation: str | None = Field(
        default=None,
        max_length=200,
        description="a kiosk's 绿色通道 ticket: the hall's staff PIN or a floor manager's token",
    )


class CheckInRequest(StrictModel):
    """Check an appointment in (预约签到) at a ticket machine."""

    machine: str | None = Field(
        default=None,
        max_length=64,
        description="ticket machine whose printer prints the ticket; none: no paper",
    )


class ReprintRequest(StrictModel):
    """Reprint a ticket whose paper failed."""

    machine: str | None = Field(
        default=None, max_length=64, description="default: the first ticket machine"
    )


class VoidRequest(StrictModel):
    """Void a ticket whose paper never reached the citizen (作废)."""

    reason: Reason


class AppointmentRequest(StrictModel):
    """Book an appointment (from the online booking system)."""

    code: str = Field(max_length=64, description="预约码: 4-32 letters, digits or -")
    service: ServiceCode
    slot_start: dt.datetime
    name: CitizenText = Field(default="", description="stored masked only")
    phone: CitizenText = Field(default="", description="stored masked only")


class SignInRequest(StrictModel):
    """Staff sign-in at a window."""

    staff: StaffId = Field(description="staff id (工号) on the hall's roster")
    role: Literal["A", "B"]


class TemporaryStaffRequest(StrictModel):
    """Add a temporary staff member (临时人员) to today's roster, for one window."""

    id: StaffId = Field(description="工号, not yet on the roster")
    name: StaffName
    post: StaffPost = ""
    window: int = Field(ge=1, le=999, description="the window whose staff token may sign them in")


class PauseRequest(StrictModel):
    """Pause a window (暂停服务)."""

    reason: Reason


class TransferRequest(StrictModel):
    """Transfer the current ticket (转办)."""

    to_service: ServiceCode | None = None
    to_window: int | None = None


class FinishRequest(StrictModel):
    """Finish the current ticket; outcome in Chinese (即办件…) or English (immediate…)."""

    outcome: str | None = Field(default=None, max_length=16)
    case_number: str | None = Field(
        default=None,
        max_length=64,
        description="办件编号 from the business system, carried to ratings (exchange projectNo)",
    )


class WindowServicesRequest(StrictModel):
    """Change the services a window serves."""

    services: list[ServiceCode] = Field(max_length=64)
    policy: CallingPolicy = CallingPolicy.FIFO
    weights: dict[ServiceCode, int] = Field(default={}, max_length=64)


class NoticeRequest(StrictModel):
    """Post a notice on every screen."""

    text: NoticeText
    level: Literal["normal", "emergency"] = "normal"


class DutyLeaderRequest(StrictModel):
    """Set the duty leader shown on screens."""

    name: LeaderName
    title: LeaderTitle = ""
