"""The hall registry through the API: a province admin adds, suspends, resumes halls, rotates tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from controller.domain.hall_rules import CalendarConfig
from controller.satisfaction import registry_admin
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole, require_role
from controller.satisfaction.deps import CallerDep, ContextDep, SatisfactionContext
from controller.satisfaction.models import ERROR_RESPONSES, HALL_ID
from controller.satisfaction.registry import ACTIVE, SUSPENDED, HallRegistry
from controller.satisfaction.settings import known_zone

router = APIRouter(prefix="/api/v1/halls", tags=["halls"], responses=ERROR_RESPONSES)
HallId = Annotated[str, Path(pattern=HALL_ID)]


class HallCreate(BaseModel):
    """A hall to register: id (region-department), name, zone, calendar for 差评 deadlines."""

    model_config = ConfigDict(extra="forbid")

    hall_id: str = Field(pattern=HALL_ID)
    name: str = Field(default="", max_length=100)
    timezone: str = "Asia/Shanghai"
    calendar: CalendarConfig | None = Field(
        default=None, description="as a hall config's [calendar]; default Mon-Fri 09:00-17:00"
    )
    rectify_working_days: int | None = Field(default=None, ge=1, le=60)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)


class HallPublic(BaseModel):
    """A registered hall as the registry holds it."""

    hall_id: str
    name: str
    timezone: str
    status: str
    status_label: str
    source: str
    rectify_working_days: int | None
    tokens: int | None = None  # live hall tokens (in the list only)
    updated_at: dt.datetime


class TokenIssued(BaseModel):
    """A new hall token: shown this once (only its SHA-256 is kept); put it in the hall's config."""

    hall: HallPublic | None = None
    token: str
    token_name: str
    retired_tokens: int = 0


class RotateRequest(BaseModel):
    """How long the hall's older tokens keep working, so it can switch without losing a push."""

    model_config = ConfigDict(extra="forbid")

    grace_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)


class HallList(BaseModel):
    """Every registered hall."""

    count: int
    items: list[HallPublic]


STATUS_LABELS = {ACTIVE: "接收中", SUSPENDED: "已暂停"}


@router.get("", response_model=HallList)
def get_halls(caller: CallerDep, context: ContextDep) -> HallList:
    """Every registered hall (province admin, 督查股 or reader of every hall)."""
    _may_read(caller)
    items = [_public(row) for row in registry_admin.list_halls(context.engine)]
    return HallList(count=len(items), items=items)


@router.post("", response_model=TokenIssued, status_code=201)
def post_hall(
    hall: HallCreate, caller: CallerDep, context: ContextDep, request: Request
) -> TokenIssued:
    """Register a hall and issue its first token; every API process accepts it within seconds."""
    require_role(caller, SatisfactionRole.PROVINCE_ADMIN)
    issued = registry_admin.add_hall(
        context.engine,
        hall_id=hall.hall_id,
        name=hall.name,
        timezone=hall.timezone,
        calendar=hall.calendar,
        rectify_working_days=hall.rectify_working_days,
        now=context.now(),
    )
    _registry(request).changed()
    row = next(r for r in registry_admin.list_halls(context.engine) if r["hall_id"] == hall.hall_id)
    return TokenIssued(hall=_public(row), token=issued.token, token_name=issued.name)


@router.post("/{hall_id}/suspend", response_model=HallPublic)
def suspend_hall(
    hall_id: HallId, caller: CallerDep, context: ContextDep, request: Request
) -> HallPublic:
    """Stop accepting the hall's records (answered 403 hall_suspended: the hall keeps them)."""
    return _set_status(hall_id, SUSPENDED, caller, context, request)


@router.post("/{hall_id}/resume", response_model=HallPublic)
def resume_hall(
    hall_id: HallId, caller: CallerDep, context: ContextDep, request: Request
) -> HallPublic:
    """Accept the hall's records again (its outbox delivers what it kept at its next try)."""
    return _set_status(hall_id, ACTIVE, caller, context, request)


@router.post("/{hall_id}/rotate-token", response_model=TokenIssued)
def rotate_token(
    hall_id: HallId,
    caller: CallerDep,
    context: ContextDep,
    request: Request,
    body: RotateRequest | None = None,
) -> TokenIssued:
    """Issue a new hall token; the older ones stop after `grace_minutes` (at once by default)."""
    require_role(caller, SatisfactionRole.PROVINCE_ADMIN)
    grace = dt.timedelta(minutes=body.grace_minutes if body else 0)
    issued, retired = registry_admin.rotate_token(
        context.engine, hall_id=hall_id, grace=grace, now=context.now()
    )
    _registry(request).changed()
    return TokenIssued(token=issued.token, token_name=issued.name, retired_tokens=retired)


def _set_status(
    hall_id: str,
    status: str,
    caller: SatisfactionCaller,
    context: SatisfactionContext,
    request: Request,
) -> HallPublic:
    require_role(caller, SatisfactionRole.PROVINCE_ADMIN)
    row = registry_admin.set_status(
        context.engine, hall_id=hall_id, status=status, now=context.now()
    )
    _registry(request).changed()
    return _public(row)


def _may_read(caller: SatisfactionCaller) -> None:
    require_role(
        caller,
        SatisfactionRole.PROVINCE_ADMIN,
        SatisfactionRole.SUPERVISION,
        SatisfactionRole.READER,
    )
    if caller.hall_id is not None:  # a county's 督查股 sees its own hall's data, not the registry
        require_role(caller, SatisfactionRole.PROVINCE_ADMIN)


def _registry(request: Request) -> HallRegistry:
    registry: HallRegistry = request.app.state.registry
    return registry


def _public(row: dict[str, Any]) -> HallPublic:
    return HallPublic(
        hall_id=row["hall_id"],
        name=row["name"],
        timezone=row["timezone"],
        status=row["status"],
        status_label=STATUS_LABELS.get(row["status"], row["status"]),
        source=row["source"],
        rectify_working_days=row["rectify_working_days"],
        tokens=row.get("tokens"),
        updated_at=row["updated_at"],
    )
