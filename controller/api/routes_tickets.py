"""Ticket routes: issue (取号), status (the QR page's data), appointments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from controller.api.auth import Caller, Role, require
from controller.api.deps import (
    CallerDep,
    CommandDep,
    IdempotencyDep,
    KioskGuardDep,
    MachinesDep,
    RuntimeDep,
    answered,
    command_headers,
    created_render,
    render_http,
)
from controller.api.exposure import public_ticket
from controller.api.http_errors import http_status
from controller.api.schemas import (
    AppointmentRequest,
    CheckInRequest,
    ReprintRequest,
    TicketRequest,
    VoidRequest,
)
from controller.app.ticket_machine import TicketMachine
from controller.domain import commands as cmd
from controller.domain.errors import CommandRejected, NotFound, PrinterUnavailable

router = APIRouter(prefix="/api", tags=["tickets"])
UNKNOWN_TICKET_TOKEN = "没有找到该号票（仅可查询当天的号票），请扫描号票上的二维码查询"


@router.post("/tickets", status_code=201, openapi_extra=command_headers())
async def issue_ticket(body: TicketRequest, *, context: CommandDep) -> Response:
    """Issue a ticket; 201 with id, number, ahead, estimated_wait_minutes; retry-safe.

    A kiosk token is held to its issuing rate (429 past it), and takes a 绿色通道 ticket only
    with `staff_confirmation` (the hall's staff PIN or a floor manager's token).
    """
    runtime, caller, idempotency = context.runtime, context.caller, context.idempotency
    machines, guard = context.machines, context.kiosk_guard
    require(caller, Role.KIOSK, Role.FLOOR_MANAGER)

    def admit() -> None:  # not for a retry: it was counted the first time
        guard.admit_ticket(caller)
        if body.lane == "priority":
            guard.confirm_priority(caller, body.staff_confirmation)

    if body.machine is not None:  # printing waits on the printer: a worker thread's job
        if runtime.stored_reply(idempotency) is None:
            admit()
        machine = _machine(machines, body.machine)
        try:
            outcome = await run_in_threadpool(
                machine.issue,
                body.service,
                body.lane,
                body.priority_reason,
                idempotency,
                render=created_render,
            )
        except PrinterUnavailable as err:
            return _unprinted(err, caller)
        return answered(outcome)
    command = cmd.IssueTicket(body.service, body.lane, body.priority_reason)
    # The admission runs in the runtime's own key check: one Idempotency-Key lookup, not two.
    outcome = await runtime.execute_async(
        command, idempotency=idempotency, render=created_render, admit=admit
    )
    return answered(outcome)


@router.post("/tickets/{ticket_id}/reprint")
def reprint_ticket(
    ticket_id: str,
    caller: CallerDep,
    machines: MachinesDep,
    body: Annotated[ReprintRequest | None, Body()] = None,
) -> JSONResponse:
    """Print a ticket whose paper failed again (same number); 201 once printed."""
    require(caller, Role.FLOOR_MANAGER, Role.KIOSK)
    if body is not None and body.machine is not None:
        machine = _machine(machines, body.machine)
    elif machines:
        machine = next(iter(machines.values()))
    else:
        raise CommandRejected("no_ticket_machine", "本大厅没有配置取号机打印机")
    try:
        outcome = machine.reprint(ticket_id, render=created_render)
    except PrinterUnavailable as err:
        return _unprinted(err, caller)
    return answered(outcome)


@router.post("/tickets/{ticket_id}/void")
def void_ticket(
    ticket_id: str,
    body: VoidRequest,
    runtime: RuntimeDep,
    caller: CallerDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Void a ticket whose paper never reached the citizen (作废)."""
    require(caller, Role.FLOOR_MANAGER)
    outcome = runtime.execute(
        cmd.VoidTicket(ticket_id, body.reason), idempotency=idempotency, render=render_http
    )
    return answered(outcome)


@router.get("/printers")
def printers(caller: CallerDep, machines: MachinesDep) -> dict[str, Any]:
    """Every ticket machine's printers and their last known health (detail: the floor only)."""
    require(caller, Role.FLOOR_MANAGER, Role.KIOSK, Role.DISPLAY)
    floor = caller.role in (Role.ADMIN, Role.FLOOR_MANAGER)
    return {
        "machines": [
            {
                "id": m.id,
                "printers": [
                    {
                        "id": pid,
                        "ready": h.ready,
                        "paper_near_end": h.paper_near_end,
                        "detail": h.detail if floor else None,
                    }
                    for pid, h in m.health.items()
                ],
            }
            for m in machines.values()
        ]
    }


def _unprinted(error: PrinterUnavailable, caller: Caller) -> JSONResponse:
    """503 with the ticket kept; the printers' detail (paths, driver errors) only for the floor."""
    body: dict[str, Any] = {
        "error": "printer_unavailable",
        "message": error.message,
        "ticket": error.ticket_id,
        "number": error.number,
    }
    if caller.role in (Role.ADMIN, Role.FLOOR_MANAGER):
        body["detail"] = error.detail
    return JSONResponse(body, status_code=http_status(error))


def _machine(machines: dict[str, TicketMachine], machine_id: str) -> TicketMachine:
    machine = machines.get(machine_id)
    if machine is None:
        raise NotFound("unknown_machine", f"没有编号为 {machine_id!r} 的取号机")
    return machine


@router.get("/tickets/{ticket_id}")
def ticket_status(ticket_id: str, runtime: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    """A ticket's full state by id, for hall staff; `status_path` is its QR code's page."""
    require(caller, Role.FLOOR_MANAGER, Role.WINDOW_STAFF)
    view = runtime.ticket(ticket_id)
    if view is None:
        raise NotFound("unknown_ticket", f"没有找到票号 {ticket_id}（仅可查询当天的票号）")
    return {**view, "status_path": f"/t/{runtime.ticket_links.token(ticket_id)}"}


@router.get("/t/{token}")
def ticket_by_token(token: str, runtime: RuntimeDep) -> dict[str, Any]:
    """A ticket's progress for its status page, by the token in its QR code; public."""
    view = runtime.ticket_by_token(token)
    if view is None:
        raise NotFound("unknown_ticket", UNKNOWN_TICKET_TOKEN)
    return public_ticket(view)


@router.post("/appointments", status_code=201)
def book_appointment(
    body: AppointmentRequest, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Book an appointment slot; name and phone are stored masked."""
    require(caller, Role.FLOOR_MANAGER)
    command = cmd.BookAppointment(body.code, body.service, body.slot_start, body.name, body.phone)
    outcome = runtime.execute(command, idempotency=idempotency, render=created_render)
    return answered(outcome)


@router.post("/appointments/{code}/check-in", status_code=201)
def check_in(
    code: str,
    *,
    runtime: RuntimeDep,
    caller: CallerDep,
    idempotency: IdempotencyDep,
    machines: MachinesDep,
    guard: KioskGuardDep,
    body: Annotated[CheckInRequest | None, Body()] = None,
) -> JSONResponse:
    """Check an appointment in; it joins the queue at its slot (printed when a machine is named)."""
    require(caller, Role.KIOSK, Role.FLOOR_MANAGER)
    if runtime.stored_reply(idempotency) is None:
        guard.admit_ticket(caller)  # a ticket like any other: the kiosk's issuing rate
    if body is not None and body.machine is not None:
        try:
            outcome = _machine(machines, body.machine).check_in(
                code, idempotency, render=created_render
            )
        except PrinterUnavailable as err:
            return _unprinted(err, caller)
        return answered(outcome)
    outcome = runtime.execute(
        cmd.CheckInAppointment(code), idempotency=idempotency, render=created_render
    )
    return answered(outcome)
