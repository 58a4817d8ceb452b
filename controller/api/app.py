"""The app factory: builds the hall API around a running hall; nothing happens at import."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from controller.api import (
    routes_dashboard,
    routes_devices,
    routes_floor,
    routes_live,
    routes_metrics,
    routes_pages,
    routes_screen,
    routes_tickets,
    routes_twin,
    routes_windows,
)
from controller.api.auth import TokenRegistry
from controller.api.docs_pages import self_hosted_docs
from controller.api.http_errors import http_status
from controller.api.kiosk_guard import KioskGuard
from controller.api.request_guard import RequestGuard, TokenCheck
from controller.api.routes_devices import DeviceStatus
from controller.api.routes_metrics import install_metrics
from controller.api.schemas import ErrorBody
from controller.api.security_headers import SecureFastAPI
from controller.api.shared_reads import SharedReads
from controller.api.stream_slots import StreamSlots
from controller.api.validation_errors import validation_error
from controller.app.runtime import HallRuntime
from controller.app.ticket_machine import TicketMachine
from controller.domain.errors import (
    AuthError,
    CommandRejected,
    HallError,
    NotPermitted,
    PrinterUnavailable,
    RateLimited,
    StoreError,
)

log = logging.getLogger(__name__)
# Every JSON route may refuse with these; all share one body (see `_hall_error`).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "the request breaks a hall rule"),
        (401, "no or an unknown bearer token"),
        (403, "the token's role may not do this"),
        (404, "no such ticket, window, notice or appointment"),
        (408, "the body did not arrive within [server] body_timeout_seconds"),
        (409, "refused in the hall's current state (e.g. queue_empty)"),
        (413, "the body is larger than [server] max_body_bytes"),
        (422, "invalid body or path value; `problems` names each field"),
        (
            429,
            "past a rate limit: a kiosk's issuing rate (see Retry-After), or [server] streams_per_token live streams",
        ),
        (503, "the journal could not be written; nothing happened"),
    )
}


def create_app(
    runtime: HallRuntime,
    tokens: TokenRegistry,
    machines: Sequence[TicketMachine] = (),
    *,
    devices: DeviceStatus | None = None,
) -> FastAPI:
    """A FastAPI app serving `runtime`, authenticating with `tokens`, printing on `machines`."""
    app = SecureFastAPI(
        title=f"{runtime.config.hall.name} 大厅接口",
        version="1",
        description="Hall controller API: tickets, windows, floor management, live state.",
        docs_url=None,
        redoc_url=None,
    )
    self_hosted_docs(app)
    app.state.runtime = runtime
    app.state.tokens = tokens
    app.state.machines = {machine.id: machine for machine in machines}
    app.state.devices = devices
    app.state.shared_reads = SharedReads(runtime)
    app.state.twin_answers = routes_twin.TwinAnswers()
    app.state.stream_slots = StreamSlots(runtime.config.server.streams_per_token)
    # Apps mounted under this one (the embedded satisfaction API) add their token checks here.
    app.state.token_checks = [_knows(tokens)]
    app.state.kiosk_guard = KioskGuard(runtime.config.kiosk, tokens)
    runtime.add_alert_source(app.state.kiosk_guard.alerts)
    for router in (
        routes_tickets.router,
        routes_windows.router,
        routes_floor.router,
        routes_live.router,
        routes_pages.router,
        routes_dashboard.router,
        routes_screen.router,
        routes_devices.router,
        routes_twin.router,
    ):
        app.include_router(router, responses=ERROR_RESPONSES)
    app.include_router(routes_metrics.router)
    install_metrics(app, runtime)
    app.add_exception_handler(HallError, _hall_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(
        RequestGuard, limits=runtime.config.server, token_checks=app.state.token_checks
    )
    return app


def _knows(tokens: TokenRegistry) -> TokenCheck:
    def check(authorization: str | None) -> bool:
        try:
            tokens.caller_for(authorization)
        except AuthError:
            return False
        return True

    return check


async def _hall_error(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, CommandRejected):
        headers = (
            {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
            if isinstance(exc, RateLimited)
            else None
        )
        return JSONResponse(
            {"error": exc.reason, "message": exc.message},
            status_code=http_status(exc),
            headers=headers,
        )
    if isinstance(exc, AuthError):
        denied = isinstance(exc, NotPermitted)
        return JSONResponse(
            {"error": "forbidden" if denied else "unauthorized", "message": exc.message},
            status_code=http_status(exc),
            headers=None if denied else {"WWW-Authenticate": "Bearer"},
        )
    if isinstance(exc, PrinterUnavailable):
        return JSONResponse(
            {
                "error": "printer_unavailable",
                "message": exc.message,
                "ticket": exc.ticket_id,
                "number": exc.number,
            },  # the printers' detail only where the caller is known to be the floor
            status_code=http_status(exc),
        )
    if isinstance(exc, StoreError):
        # The detail names the database file: it goes to the log, never to a client.
        log.error("answered 503: %s", exc)
        cause = "磁盘已满，" if exc.disk_full else ""
        return JSONResponse(
            {
                "error": "store_unavailable",
                "message": f"数据保存失败（{cause}已提示现场管理人员），请稍后重试",
            },
            status_code=503,
        )
    return JSONResponse({"error": "hall_error", "message": str(exc)}, status_code=400)
