"""Shared FastAPI dependencies: the runtime, the caller, the Idempotency-Key, rendering."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import State

from controller.api.auth import Caller, TokenRegistry
from controller.api.http_errors import http_status
from controller.api.kiosk_guard import KioskGuard
from controller.app.runtime import HallRuntime, IdempotencyKey, Outcome
from controller.app.ticket_machine import TicketMachine
from controller.domain.engine import Decision
from controller.domain.errors import InvalidRequest


# The cheap dependencies are async: a sync one costs every request a thread-pool round trip.
async def get_runtime(request: Request) -> HallRuntime:
    """The hall runtime the app was built with."""
    runtime: HallRuntime = request.app.state.runtime
    return runtime


async def get_caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    """The authenticated caller (401 without a valid bearer token)."""
    tokens: TokenRegistry = request.app.state.tokens
    return tokens.caller_for(authorization)


async def get_idempotency(
    request: Request,
    caller: Annotated[Caller, Depends(get_caller)],
    idempotency_key: Annotated[str | None, Header()] = None,
) -> IdempotencyKey | None:
    """The request's Idempotency-Key scoped to caller and path, with a body fingerprint."""
    return await _idempotency(request, caller, idempotency_key)


@dataclass(frozen=True)
class CommandContext:
    """What a command route needs: the runtime, the authenticated caller, its Idempotency-Key."""

    runtime: HallRuntime
    caller: Caller
    idempotency: IdempotencyKey | None
    app_state: State

    @property
    def machines(self) -> dict[str, TicketMachine]:
        """The hall's ticket machines by id (none when no printer is configured)."""
        machines: dict[str, TicketMachine] = self.app_state.machines
        return machines

    @property
    def kiosk_guard(self) -> KioskGuard:
        """The kiosk tokens' issuing rate and 绿色通道 confirmation."""
        guard: KioskGuard = self.app_state.kiosk_guard
        return guard


async def get_command_context(request: Request) -> CommandContext:
    """Runtime, caller (401 without a valid token) and Idempotency-Key, as the three above do.

    The two headers are read here, not declared as `Header` parameters: FastAPI inspects each
    declared parameter's annotation again on every request, a third of a command's CPU (issue
    15). `COMMAND_HEADERS` documents them for the routes that take this.
    """
    headers = request.headers
    state = request.app.state
    tokens: TokenRegistry = state.tokens
    caller = tokens.caller_for(headers.get("authorization"))
    idempotency = await _idempotency(request, caller, headers.get("idempotency-key"))
    return CommandContext(state.runtime, caller, idempotency, state)


def command_headers() -> dict[str, Any]:
    """`openapi_extra` of a route taking `CommandDep`: its two headers, as `Header` shows them."""
    return {
        "parameters": [
            {
                "in": "header",
                "name": name,
                "required": False,
                "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": title},
            }
            for name, title in (
                ("authorization", "Authorization"),
                ("idempotency-key", "Idempotency-Key"),
            )
        ]
    }


async def _idempotency(
    request: Request, caller: Caller, idempotency_key: str | None
) -> IdempotencyKey | None:
    if idempotency_key is None:
        return None
    key = idempotency_key.strip()
    if not 1 <= len(key) <= 200:
        raise InvalidRequest("bad_idempotency_key", "Idempotency-Key 应为 1-200 个字符")
    body = await request.body()
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
    ).hexdigest()
    return IdempotencyKey(f"{caller.name}|{request.method}|{request.url.path}|{key}", fingerprint)


async def get_machines(request: Request) -> dict[str, TicketMachine]:
    """The hall's ticket machines by id (none when no printer is configured)."""
    machines: dict[str, TicketMachine] = request.app.state.machines
    return machines


async def get_kiosk_guard(request: Request) -> KioskGuard:
    """The kiosk tokens' issuing rate and 绿色通道 confirmation."""
    guard: KioskGuard = request.app.state.kiosk_guard
    return guard


RuntimeDep = Annotated[HallRuntime, Depends(get_runtime)]
KioskGuardDep = Annotated[KioskGuard, Depends(get_kiosk_guard)]
MachinesDep = Annotated[dict[str, TicketMachine], Depends(get_machines)]
CallerDep = Annotated[Caller, Depends(get_caller)]
IdempotencyDep = Annotated[IdempotencyKey | None, Depends(get_idempotency)]
CommandDep = Annotated[CommandContext, Depends(get_command_context)]


def render_http(decision: Decision) -> tuple[int, dict[str, Any]]:
    """200 with the result, or the refusal's HTTP status with its reason and Chinese message."""
    if decision.rejection is not None:
        rejection = decision.rejection
        return http_status(rejection), {"error": rejection.reason, "message": rejection.message}
    return 200, decision.result


def created_render(decision: Decision) -> tuple[int, dict[str, Any]]:
    """201 for a successful creation, otherwise as `render_http`."""
    status, body = render_http(decision)
    return (201 if status == 200 else status), body


def answered(outcome: Outcome) -> JSONResponse:
    """The HTTP response for a command run with one of the renders above (or replayed)."""
    assert outcome.words is not None, "API commands always run with an HTTP render"
    status, body = outcome.words
    return JSONResponse(body, status_code=status)
