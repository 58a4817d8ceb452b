"""Floor manager routes (大厅管理): notices, duty leader, KPIs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from controller.api.auth import Role, require
from controller.api.deps import (
    CallerDep,
    IdempotencyDep,
    RuntimeDep,
    answered,
    created_render,
    render_http,
)
from controller.api.schemas import DutyLeaderRequest, NoticeRequest, TemporaryStaffRequest
from controller.api.shared_reads import SharedReads
from controller.domain import commands as cmd
from controller.domain.errors import InvalidRequest

router = APIRouter(prefix="/api", tags=["floor"])


@router.post("/notices", status_code=201)
def post_notice(
    body: NoticeRequest, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Post a notice on every screen; an emergency notice takes the screens over."""
    require(caller, Role.FLOOR_MANAGER)
    outcome = runtime.execute(
        cmd.PostNotice(body.text, body.level), idempotency=idempotency, render=created_render
    )
    return answered(outcome)


@router.delete("/notices/{notice_id}")
def clear_notice(
    notice_id: Annotated[int, Path(ge=1)],
    runtime: RuntimeDep,
    caller: CallerDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Take a notice down."""
    require(caller, Role.FLOOR_MANAGER)
    outcome = runtime.execute(
        cmd.ClearNotice(notice_id), idempotency=idempotency, render=render_http
    )
    return answered(outcome)


@router.post("/roster/temporary", status_code=201)
def add_temporary_staff(
    body: TemporaryStaffRequest,
    runtime: RuntimeDep,
    caller: CallerDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Add a temporary staff member (临时人员) to today's roster for one window (floor manager).

    Journaled, shown on the dashboard and in /api/state; gone when the day closes.
    409 already_on_roster; 404 unknown_window.
    """
    require(caller, Role.FLOOR_MANAGER)
    command = cmd.AddTemporaryStaff(body.id, body.name, body.post, body.window)
    outcome = runtime.execute(command, idempotency=idempotency, render=created_render)
    return answered(outcome)


@router.put("/duty-leader")
def set_duty_leader(
    body: DutyLeaderRequest, runtime: RuntimeDep, caller: CallerDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Set the duty leader (值班领导) shown on the screens; an empty name clears it."""
    require(caller, Role.FLOOR_MANAGER)
    outcome = runtime.execute(
        cmd.SetDutyLeader(body.name, body.title), idempotency=idempotency, render=render_http
    )
    return answered(outcome)


@router.get("/kpis", response_model=dict[str, Any])
async def kpis(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    date: Annotated[str | None, Query(description="YYYY-MM-DD; default today")] = None,
) -> Response:
    """A day's KPIs per hall, service, window and staff member."""
    require(caller, Role.FLOOR_MANAGER)
    day: dt.date | None = None
    if date is not None:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError as err:
            raise InvalidRequest("bad_date", f"日期格式应为 YYYY-MM-DD，收到 {date!r}") from err
    reads: SharedReads = request.app.state.shared_reads
    return await reads.answer_async(f"kpis:{day or 'today'}", lambda: runtime.kpis(day))
