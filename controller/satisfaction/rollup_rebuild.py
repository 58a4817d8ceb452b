"""Rollups recomputed from the raw rows: the migration's backfill and the check that ingest kept them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Integer,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
)

from controller.satisfaction.models import Rating, ServedCount, WorkOrder
from controller.satisfaction.models_rollup import (
    DETAIL_KEY,
    HALL_KEY,
    MONTH_KEY,
    ORDER_COUNTS,
    ORDER_DETAIL,
    ORDER_HALL,
    RATING_COUNTS,
    ROLLUP_DETAIL,
    ROLLUP_HALL,
    ROLLUP_MONTH,
    ROLLUP_TABLES,
)
from controller.satisfaction.models_served import ServedTicket
from controller.satisfaction.rollups import BAD, SATISFIED, SERVED_COUNTS, STRICT
from controller.satisfaction.workorders import OVERTURNED


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def rebuild(conn: Connection) -> None:
    """Empty the rollups and fill them again from ratings, tickets, counts and work orders."""
    for table in ROLLUP_TABLES:
        conn.execute(delete(table))
    _fill(conn, ROLLUP_DETAIL, DETAIL_KEY, (*RATING_COUNTS, SERVED_COUNTS), _detail_sources())
    _roll_up(conn, ROLLUP_DETAIL, ROLLUP_HALL, HALL_KEY, (*RATING_COUNTS, SERVED_COUNTS))
    _months(conn)
    orders = _table(WorkOrder)
    kept = orders.c.state != OVERTURNED
    fixed = orders.c.rectified_on.is_not(None)
    source = select(
        *(orders.c[name] for name in (*DETAIL_KEY, "deadline")),
        _count(and_(kept, ~fixed)).label("pending"),
        _count(and_(kept, fixed)).label("rectified"),
        _count(and_(kept, fixed, orders.c.rectified_on <= orders.c.deadline)).label("on_time"),
    ).group_by(*(orders.c[name] for name in (*DETAIL_KEY, "deadline")))
    columns = [*DETAIL_KEY, "deadline", *ORDER_COUNTS]
    conn.execute(insert(ORDER_DETAIL).from_select(columns, source))
    _roll_up(conn, ORDER_DETAIL, ORDER_HALL, (*HALL_KEY, "deadline"), ORDER_COUNTS)


def _detail_sources() -> list[Any]:
    ratings, tickets, counts = _table(Rating), _table(ServedTicket), _table(ServedCount)
    first = ratings.c.assess_number == 1
    citizen = and_(first, ratings.c.system_default.is_(False))
    default = and_(first, ratings.c.system_default.is_(True))
    level = ratings.c.level
    per_rating = {
        "rated": _count(citizen),
        "defaults": _count(default),
        "satisfied": _count(and_(citizen, level.in_(SATISFIED))),
        "satisfied_defaults": _count(and_(default, level.in_(SATISFIED))),
        "strict": _count(and_(citizen, level.in_(STRICT))),
        "strict_defaults": _count(and_(default, level.in_(STRICT))),
        "bad": _count(and_(citizen, level.in_(BAD))),
        "bad_defaults": _count(and_(default, level.in_(BAD))),
        "follow_ups": _count(ratings.c.assess_number == 2),
    }
    return [
        _source(ratings, per_rating),
        _source(tickets, {"served_tickets": func.count()}),
        _source(counts, {SERVED_COUNTS: func.sum(counts.c.served)}),
    ]


def _source(table: Table, sums: dict[str, Any]) -> Any:
    keys = [table.c[name] for name in DETAIL_KEY]
    values = []
    for name in (*RATING_COUNTS, SERVED_COUNTS):
        value = sums.get(name)
        if value is None:
            value = null() if name == SERVED_COUNTS else literal(0)
        values.append(cast(value, Integer).label(name))
    return select(*keys, *values).group_by(*keys)


def _fill(
    conn: Connection, target: Table, key: tuple[str, ...], counts: tuple[str, ...], parts: list[Any]
) -> None:
    both = union_all(*parts).subquery()
    source = select(
        *(both.c[name] for name in key),
        *(func.sum(both.c[name]).label(name) for name in counts),
    ).group_by(*(both.c[name] for name in key))
    conn.execute(insert(target).from_select([*key, *counts], source))


def _roll_up(
    conn: Connection, fine: Table, coarse: Table, key: tuple[str, ...], counts: tuple[str, ...]
) -> None:
    keys = [fine.c[name] for name in key]
    source = select(*keys, *(func.sum(fine.c[name]).label(name) for name in counts)).group_by(*keys)
    conn.execute(insert(coarse).from_select([*key, *counts], source))


def _months(conn: Connection) -> None:
    """The month rollup from the day rollup (each day's first of the month, per dialect)."""
    day = ROLLUP_DETAIL.c.day
    if conn.dialect.name == "postgresql":
        month: Any = cast(func.date_trunc("month", day), Date)
    else:
        month = func.date(day, "start of month")
    counts = (*RATING_COUNTS, SERVED_COUNTS)
    rest = [ROLLUP_DETAIL.c[name] for name in MONTH_KEY if name not in ("hall_id", "month")]
    keys = [ROLLUP_DETAIL.c.hall_id, month.label("month"), *rest]
    source = select(*keys, *(func.sum(ROLLUP_DETAIL.c[n]).label(n) for n in counts)).group_by(
        ROLLUP_DETAIL.c.hall_id, month, *rest
    )
    conn.execute(insert(ROLLUP_MONTH).from_select([*MONTH_KEY, *counts], source))


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))
