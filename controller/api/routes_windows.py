"""Window routes (窗口): staff actions, and the floor manager's open/close/services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Body, Path
from fastapi.responses import Response

from controller.api.auth import Role, require
from controller.api.deps import CommandContext, CommandDep, answered, command_headers, render_http
from controller.api.schemas import (
    FinishRequest,
    PauseRequest,
    SignInRequest,
    TransferRequest,
    WindowServicesRequest,
)
from controller.domain import commands as cmd

router = APIRouter(prefix="/api/windows", tags=["windows"])
WindowNumber = Annotated[int, Path(ge=1, le=999, description="window number")]
_STAFF = (Role.WINDOW_STAFF, Role.FLOOR_MANAGER)
_FLOOR = (Role.FLOOR_MANAGER,)

# Actions without a body: path, command, who may do it, what it does (the OpenAPI summary).
_PLAIN_ACTIONS: list[tuple[str, Callable[[int], cmd.WindowCommand], tuple[Role, ...], str]] = [
    ("sign-out", cmd.SignOut, _STAFF, "Staff signs out (refused while serving a ticket)."),
    (
        "call-next",
        cmd.CallNext,
        _STAFF,
        "Call the next ticket: 200 with its `number`, or 409 when nothing can be called.",
    ),
    (
        "recall",
        cmd.Recall,
        _STAFF,
        "Call the current ticket again; past the limit it is a no-show.",
    ),
    ("no-show", cmd.NoShow, _STAFF, "Mark the current ticket a no-show (过号)."),
    ("resume", cmd.Resume, _STAFF, "Resume a paused window."),
    ("invite-rating", cmd.InviteRating, _STAFF, "Invite the citizen to rate on the window keypad."),
    ("open", cmd.OpenWindow, _FLOOR, "Floor manager opens a window."),
    ("close", cmd.CloseWindow, _FLOOR, "Floor manager closes a window (its staff is signed out)."),
]


async def _run(
    context: CommandContext, command: cmd.WindowCommand, roles: tuple[Role, ...]
) -> Response:
    # On the event loop: the engine decides in microseconds and the journal's writer thread
    # does the fsync (shared with the commands around it); no worker thread per request.
    require(context.caller, *roles, window=command.window)
    outcome = await context.runtime.execute_async(
        command, idempotency=context.idempotency, render=render_http
    )
    return answered(outcome)


def _plain_route(
    make: Callable[[int], cmd.WindowCommand], roles: tuple[Role, ...]
) -> Callable[..., Awaitable[Response]]:
    async def route(number: WindowNumber, context: CommandDep) -> Response:
        return await _run(context, make(number), roles)

    return route


for _action, _make, _roles, _summary in _PLAIN_ACTIONS:
    router.add_api_route(
        f"/{{number}}/{_action}",
        _plain_route(_make, _roles),
        methods=["POST"],
        summary=_summary,
        name=_action.replace("-", "_"),
        openapi_extra=command_headers(),
    )


@router.post("/{number}/sign-in", openapi_extra=command_headers())
async def sign_in(
    number: WindowNumber,
    body: SignInRequest,
    context: CommandDep,
) -> Response:
    """Staff on the roster signs in in role A or B (the attendance record).

    A window token signs in only the staff rostered for its window (AB角, temporaries added
    for it); a floor manager anyone on the roster. 404 not_on_roster, 403 not_rostered_here.
    """
    own_only = context.caller.role is Role.WINDOW_STAFF
    command = cmd.SignIn(number, body.staff, body.role, own_roster_only=own_only)
    return await _run(context, command, _STAFF)


@router.post("/{number}/pause", openapi_extra=command_headers())
async def pause(
    number: WindowNumber,
    body: PauseRequest,
    context: CommandDep,
) -> Response:
    """Pause the window (暂停服务) with a reason."""
    return await _run(context, cmd.Pause(number, body.reason), _STAFF)


@router.post("/{number}/transfer", openapi_extra=command_headers())
async def transfer(
    number: WindowNumber,
    body: TransferRequest,
    context: CommandDep,
) -> Response:
    """Transfer the current ticket (转办), keeping the citizen's place."""
    command = cmd.Transfer(number, body.to_service, body.to_window)
    return await _run(context, command, _STAFF)


@router.post("/{number}/finish", openapi_extra=command_headers())
async def finish(
    number: WindowNumber,
    context: CommandDep,
    body: Annotated[FinishRequest | None, Body()] = None,
) -> Response:
    """Finish the current ticket with its case outcome (办件类型) where required."""
    command = cmd.Finish(number, body.outcome if body else None, body.case_number if body else None)
    return await _run(context, command, _STAFF)


@router.put("/{number}/services", openapi_extra=command_headers())
async def set_services(
    number: WindowNumber,
    body: WindowServicesRequest,
    context: CommandDep,
) -> Response:
    """Floor manager changes a window's services, policy and weights live."""
    command = cmd.SetWindowServices(
        number, tuple(body.services), body.policy, tuple(body.weights.items())
    )
    return await _run(context, command, _FLOOR)
