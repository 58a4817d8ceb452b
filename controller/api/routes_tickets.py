"""Ticket routes: issue (取号), status (the QR page's data), appointments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from controller import commands as cmd
from controller.api.auth import Role, require
from controller.api.deps import CallerDep, IdempotencyDep, RuntimeDep, created_render
from controller.api.schemas import AppointmentRequest, TicketRequest
from controller.errors import NotFound

router = APIRouter(prefix="/api", tags=["tickets"])


@router.post("/tickets", status_code=201)
def issue_ticket(
    body: TicketRequest, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Issue a ticket; 201 with id, number, ahead, estimated_wait_minutes; retry-safe."""
    require(caller, Role.KIOSK, Role.FLOOR_MANAGER)
    command = cmd.IssueTicket(body.service, body.lane, body.priority_reason)
    reply = runtime.execute(command, idempotency=idempotency, render=created_render)
    return JSONResponse(reply.body, status_code=reply.status)


@router.get("/tickets/{ticket_id}")
def ticket_status(ticket_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    """A ticket's state for its status page; public, no personal data."""
    view = runtime.ticket(ticket_id)
    if view is None:
        raise NotFound("unknown_ticket", f"没有找到票号 {ticket_id}（仅可查询当天的票号）")
    return view


@router.post("/appointments", status_code=201)
def book_appointment(
    body: AppointmentRequest, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Book an appointment slot; name and phone are stored masked."""
    require(caller, Role.FLOOR_MANAGER)
    command = cmd.BookAppointment(body.code, body.service, body.slot_start, body.name, body.phone)
    reply = runtime.execute(command, idempotency=idempotency, render=created_render)
    return JSONResponse(reply.body, status_code=reply.status)


@router.post("/appointments/{code}/check-in", status_code=201)
def check_in(
    code: str, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Check an appointment in; it joins the queue at its slot."""
    require(caller, Role.KIOSK, Role.FLOOR_MANAGER)
    reply = runtime.execute(
        cmd.CheckInAppointment(code), idempotency=idempotency, render=created_render
    )
    return JSONResponse(reply.body, status_code=reply.status)
