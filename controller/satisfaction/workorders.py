"""差评 work orders: states, the steps allowed from each and by whom, deadlines, overdue listing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, insert, select, update
from sqlalchemy.engine import RowMapping

from controller.domain.errors import NotFound
from controller.domain.ratings import RatingLevel
from controller.satisfaction import rollups, store
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole, require_role
from controller.satisfaction.errors import BadTransition
from controller.satisfaction.models import WorkOrderPublic, WorkOrderStep

OPEN, VERIFIED, RECTIFIED, REPORTED, CLOSED = "open", "verified", "rectified", "reported", "closed"
APPEALED, UPHELD, OVERTURNED = "appealed", "upheld", "overturned"
# Not yet rectified: these run against the deadline (an appeal does not stop the clock).
PENDING = (OPEN, VERIFIED, APPEALED, UPHELD)
STATE_LABELS = {
    OPEN: "待核实",
    VERIFIED: "已回访核实",
    RECTIFIED: "已整改",
    REPORTED: "已反馈",
    CLOSED: "已办结",
    APPEALED: "申诉中",
    UPHELD: "申诉不成立（差评维持）",
    OVERTURNED: "申诉成立（差评撤销）",
}


class Action(StrEnum):
    """A step on a work order."""

    VERIFY = "verify"
    RECTIFY = "rectify"
    REPORT = "report"
    CLOSE = "close"
    APPEAL = "appeal"
    UPHOLD = "uphold"
    OVERTURN = "overturn"


ACTION_LABELS = {
    Action.VERIFY: "回访核实",
    Action.RECTIFY: "整改",
    Action.REPORT: "反馈",
    Action.CLOSE: "办结",
    Action.APPEAL: "申诉",
    Action.UPHOLD: "维持差评",
    Action.OVERTURN: "撤销差评",
}


@dataclass(frozen=True)
class Transition:
    """Where a step may start, where it leads, and who may take it."""

    sources: tuple[str, ...]
    target: str
    roles: tuple[SatisfactionRole, ...]


_FLOOR = (SatisfactionRole.FLOOR_MANAGER, SatisfactionRole.SUPERVISION)
_SUPERVISION = (SatisfactionRole.SUPERVISION,)
TRANSITIONS: dict[Action, Transition] = {
    Action.VERIFY: Transition((OPEN,), VERIFIED, _FLOOR),
    Action.RECTIFY: Transition((VERIFIED, UPHELD), RECTIFIED, _FLOOR),
    Action.REPORT: Transition((RECTIFIED,), REPORTED, _FLOOR),
    Action.CLOSE: Transition((REPORTED,), CLOSED, _SUPERVISION),
    Action.APPEAL: Transition((OPEN, VERIFIED), APPEALED, _FLOOR),
    Action.UPHOLD: Transition((APPEALED,), UPHELD, _SUPERVISION),
    Action.OVERTURN: Transition((APPEALED,), OVERTURNED, _SUPERVISION),
}


def act(
    engine: Engine,
    *,
    order_id: int,
    action: Action,
    caller: SatisfactionCaller,
    note: str,
    now: dt.datetime,
    zones: Mapping[str, ZoneInfo],
    default_zone: ZoneInfo,
) -> WorkOrderPublic:
    """Take one step on a work order; 403 for a wrong role, 404 for another hall's, 409 from a wrong state."""
    transition = TRANSITIONS[action]
    require_role(caller, *transition.roles)
    stamp = store.as_utc(now)
    with store.writing(engine) as conn:
        row = conn.execute(_one_order(order_id, caller)).mappings().first()
        if row is None:
            raise NotFound("no_such_work_order", f"工单 {order_id} 不存在")
        if row["state"] not in transition.sources:
            raise BadTransition(
                order_id,
                row["state"],
                action.value,
                f"工单 {order_id} 当前状态为「{STATE_LABELS[row['state']]}」，"
                f"不能{ACTION_LABELS[action]}",
            )
        zone = zones.get(row["hall_id"], default_zone)
        values: dict[str, object] = {"state": transition.target, "updated_at": stamp}
        if transition.target == RECTIFIED:
            values["rectified_on"] = now.astimezone(zone).date()
        changed = conn.execute(
            update(store.WORK_ORDERS)
            .where(store.WORK_ORDERS.c.id == order_id)
            .where(store.WORK_ORDERS.c.state == row["state"])
            .values(**values)
        )
        if changed.rowcount != 1:  # another step won the race; nothing written
            raise BadTransition(
                order_id, row["state"], action.value, f"工单 {order_id} 已被他人更新"
            )
        rectified = values.get("rectified_on", row["rectified_on"])
        rollups.order_moved(
            conn,
            dict(row),
            before=rollups.order_counts(
                row["state"] != OVERTURNED, row["rectified_on"], row["deadline"]
            ),
            after=rollups.order_counts(
                transition.target != OVERTURNED,
                rectified if isinstance(rectified, dt.date) else None,
                row["deadline"],
            ),
        )
        conn.execute(
            insert(store.ACTIONS).values(
                work_order_id=order_id,
                action=action.value,
                from_state=row["state"],
                to_state=transition.target,
                actor=caller.name,
                role=caller.role.value,
                note=note,
                at=stamp,
            )
        )
    found = get_work_order(
        engine, order_id=order_id, caller=caller, now=now, zones=zones, default_zone=default_zone
    )
    assert found is not None
    return found


def get_work_order(
    engine: Engine,
    *,
    order_id: int,
    caller: SatisfactionCaller,
    now: dt.datetime,
    zones: Mapping[str, ZoneInfo],
    default_zone: ZoneInfo,
) -> WorkOrderPublic | None:
    """One work order with its history, or None (also when it is another hall's than the caller's)."""
    with store.reading(engine) as conn:
        row = conn.execute(_one_order(order_id, caller)).mappings().first()
        if row is None:
            return None
        zone = zones.get(row["hall_id"], default_zone)
        steps = conn.execute(
            select(store.ACTIONS)
            .where(store.ACTIONS.c.work_order_id == order_id)
            .order_by(store.ACTIONS.c.id)
        ).mappings()
        history = [
            WorkOrderStep(
                action=s["action"],
                action_label=ACTION_LABELS[Action(s["action"])],
                from_state=s["from_state"],
                to_state=s["to_state"],
                actor=s["actor"],
                role=s["role"],
                note=s["note"],
                at=store.in_zone(s["at"], zone),
            )
            for s in steps
        ]
    return public_order(row, zone, now.astimezone(zone).date(), history)


def list_work_orders(
    engine: Engine,
    *,
    scope: store.Scope,
    state: str | None,
    overdue_on: dt.date | None,
    limit: int,
    offset: int,
    rating_id: str | None = None,
) -> list[RowMapping]:
    """Work orders in scope (by rating day), oldest first; `overdue_on`: only those overdue then."""
    table = store.WORK_ORDERS
    query = select(table).where(scope.clause(table))
    if rating_id is not None:  # hall-local: one order per hall in scope
        query = query.where(table.c.rating_id == rating_id)
    if state is not None:
        query = query.where(table.c.state == state)
    if overdue_on is not None:
        query = query.where(table.c.state.in_(PENDING), table.c.deadline < overdue_on)
    query = query.order_by(table.c.deadline, table.c.id).limit(limit).offset(offset)
    with store.reading(engine) as conn:
        return list(conn.execute(query).mappings())


def _one_order(order_id: int, caller: SatisfactionCaller) -> Select[Any]:
    """The order by id, among the caller's hall's only when the caller is bound to a hall."""
    query = select(store.WORK_ORDERS).where(store.WORK_ORDERS.c.id == order_id)
    if caller.hall_id is not None:
        query = query.where(store.WORK_ORDERS.c.hall_id == caller.hall_id)
    return query


def public_order(
    row: RowMapping, zone: ZoneInfo, as_of: dt.date, history: list[WorkOrderStep] | None = None
) -> WorkOrderPublic:
    """A stored work order as read back; overdue when still pending after its deadline."""
    return WorkOrderPublic(
        id=row["id"],
        rating_id=row["rating_id"],
        hall_id=row["hall_id"],
        day=row["day"],
        window=row["window"],
        staff_id=row["staff_id"],
        service=row["service"],
        level=row["level"],
        level_label=RatingLevel(row["level"]).label,
        reasons=[r for r in row["reasons"].split(",") if r],
        state=row["state"],
        state_label=STATE_LABELS[row["state"]],
        deadline=row["deadline"],
        rectified_on=row["rectified_on"],
        overdue=row["state"] in PENDING and row["deadline"] < as_of,
        opened_at=store.in_zone(row["opened_at"], zone),
        updated_at=store.in_zone(row["updated_at"], zone),
        history=history or [],
    )
