"""Window routes (窗口): staff actions, and the floor manager's open/close/services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse

from controller import commands as cmd
from controller.api.auth import Caller, Role, require
from controller.api.deps import CallerDep, IdempotencyDep, RuntimeDep
from controller.api.schemas import (
    FinishRequest,
    PauseRequest,
    SignInRequest,
    TransferRequest,
    WindowServicesRequest,
)
from controller.runtime import HallRuntime, IdempotencyKey

router = APIRouter(prefix="/api/windows", tags=["windows"])
WindowNumber = Annotated[int, Path(ge=1, le=999, description="window number")]


def _run(
    runtime: HallRuntime,
    caller: Caller,
    idempotency: IdempotencyKey | None,
    command: cmd.WindowCommand,
    *roles: Role,
) -> JSONResponse:
    require(caller, *roles, window=command.window)
    reply = runtime.execute(command, idempotency=idempotency)
    return JSONResponse(reply.body, status_code=reply.status)


_STAFF = (Role.WINDOW_STAFF, Role.FLOOR_MANAGER)


@router.post("/{number}/sign-in")
def sign_in(
    number: WindowNumber,
    body: SignInRequest,
    runtime: RuntimeDep,
    caller: CallerDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Staff signs in in role A or B (the attendance record)."""
    return _run(
        runtime, caller, idempotency, cmd.SignIn(number, body.staff, body.role, body.name), *_STAFF
    )


@router.post("/{number}/sign-out")
def sign_out(
    number: WindowNumber, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Staff signs out."""
    return _run(runtime, caller, idempotency, cmd.SignOut(number), *_STAFF)


@router.post("/{number}/call-next")
def call_next(
    number: WindowNumber, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Call the next ticket: 200 with its number, or 409 when nothing can be called."""
    return _run(runtime, caller, idempotency, cmd.CallNext(number), *_STAFF)


@router.post("/{number}/recall")
def recall(
    number: WindowNumber, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Call the current ticket again; past the recall limit it becomes a no-show."""
    return _run(runtime, caller, idempotency, cmd.Recall(number), *_STAFF)


@router.post("/{number}/no-show")
def no_show(
    number: WindowNumber, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Mark the current ticket a no-show (过号)."""
    return _run(runtime, caller, idempotency, cmd.NoShow(number), *_STAFF)


@router.post("/{number}/pause")
def pause(
    number: WindowNumber,
    body: PauseRequest,
    runtime: RuntimeDep,
    caller: CallerDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Pause the window (暂停服务) with a reason."""
    return _run(runtime, caller, idempotency, cmd.Pause(number, body.reason), *_STAFF)


@router.post("/{number}/resume")
def resume(
    number: WindowNumber, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Resume a paused window."""
    return _run(runtime, caller, idempotency, cmd.Resume(number), *_STAFF)


@router.post("/{number}/transfer")
def transfer(
    number: WindowNumber,
    body: TransferRequest,
    runtime: RuntimeDep,
    caller: CallerDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Transfer the current ticket (转办), keeping the citizen's place."""
    command = cmd.Transfer(number, body.to_service, body.to_window)
    return _run(runtime, caller, idempotency, command, *_STAFF)


@router.post("/{number}/finish")
def finish(
    number: WindowNumber,
    runtime: RuntimeDep,
    caller: CallerDep,
    idempotency: IdempotencyDep,
    body: Annotated[FinishRequest | None, Body()] = None,
) -> JSONResponse:
    """Finish the current ticket with its case outcome (办件类型) where required."""
    outcome = body.outcome if body else None
    return _run(runtime, caller, idempotency, cmd.Finish(number, outcome), *_STAFF)


@router.post("/{number}/invite-rating")
def invite_rating(
    number: WindowNumber, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Invite the citizen to rate on the window keypad."""
    return _run(runtime, caller, idempotency, cmd.InviteRating(number), *_STAFF)


@router.post("/{number}/open")
def open_window(
    number: WindowNumber, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Floor manager opens a window."""
    return _run(runtime, caller, idempotency, cmd.OpenWindow(number), Role.FLOOR_MANAGER)


@router.post("/{number}/close")
def close_window(
    number: WindowNumber, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Floor manager closes a window (its staff is signed out)."""
    return _run(runtime, caller, idempotency, cmd.CloseWindow(number), Role.FLOOR_MANAGER)


@router.put("/{number}/services")
def set_services(
    number: WindowNumber,
    body: WindowServicesRequest,
    runtime: RuntimeDep,
    caller: CallerDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Floor manager changes a window's services, policy and weights live."""
    command = cmd.SetWindowServices(
        number, tuple(body.services), body.policy, tuple(body.weights.items())
    )
    return _run(runtime, caller, idempotency, command, Role.FLOOR_MANAGER)
