"""差评 work orders: list (overdue too), read with history, take a step."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlmodel import SQLModel

from controller.domain.errors import NotFound
from controller.satisfaction import workorders
from controller.satisfaction.deps import CallerDep, ContextDep, ScopeDep
from controller.satisfaction.models import (
    ERROR_RESPONSES,
    RATING_ID,
    ActionRequest,
    WorkOrderPublic,
)
from controller.satisfaction.workorders import STATE_LABELS, Action

router = APIRouter(prefix="/api/v1/work-orders", tags=["work orders"], responses=ERROR_RESPONSES)
OrderId = Annotated[int, Path(ge=1, le=2_147_483_647)]
StateName = Annotated[str | None, Query(pattern="^(" + "|".join(STATE_LABELS) + ")$")]


class WorkOrderPage(SQLModel):
    """A page of work orders, and the date overdue was judged on."""

    as_of: dt.date
    count: int
    items: list[WorkOrderPublic]


@router.get("", response_model=WorkOrderPage)
def list_orders(
    *,
    scope: ScopeDep,
    context: ContextDep,
    state: StateName = None,
    overdue: bool = False,
    as_of: Annotated[dt.date | None, Query(description="judge overdue on this day")] = None,
    rating_id: Annotated[
        str | None,
        Query(pattern=RATING_ID, description="the order of this (hall-local) rating id"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> WorkOrderPage:
    """Work orders in scope (by rating day), earliest deadline first; `overdue` keeps late ones.

    `rating_id` finds a rating's order: rating ids are hall-local, so a caller of no hall gets
    one per hall unless it names `hall_id` too.
    """
    single = scope.halls[0] if scope.halls and len(scope.halls) == 1 else None
    day = as_of or context.today(single)
    rows = workorders.list_work_orders(
        context.engine,
        scope=scope,
        state=state,
        overdue_on=day if overdue else None,
        limit=limit,
        offset=offset,
        rating_id=rating_id,
    )
    items = [workorders.public_order(r, context.zone_for(r["hall_id"]), day) for r in rows]
    return WorkOrderPage(as_of=day, count=len(items), items=items)


@router.get("/{order_id}", response_model=WorkOrderPublic)
def get_order(order_id: OrderId, caller: CallerDep, context: ContextDep) -> WorkOrderPublic:
    """One work order with its history; another hall's is 404 to a token bound to a hall."""
    found = workorders.get_work_order(
        context.engine,
        order_id=order_id,
        caller=caller,
        now=context.now(),
        zones=context.zones,
        default_zone=context.settings.zone,
    )
    if found is None:
        raise NotFound("no_such_work_order", f"工单 {order_id} 不存在")
    return found


@router.post("/{order_id}/{action}", response_model=WorkOrderPublic)
def post_action(
    *,
    order_id: OrderId,
    action: Action,
    request: ActionRequest,
    caller: CallerDep,
    context: ContextDep,
) -> WorkOrderPublic:
    """Take a step: verify, rectify, report, appeal (floor manager, 督查股); uphold, overturn, close (督查股)."""
    return workorders.act(
        context.engine,
        order_id=order_id,
        action=action,
        caller=caller,
        note=request.note,
        now=context.now(),
        zones=context.zones,
        default_zone=context.settings.zone,
    )
