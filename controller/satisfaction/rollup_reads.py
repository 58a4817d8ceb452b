"""Reading the rollups for a report: the grain that answers it, whole months from the month rollup.

A report by window, staff or service over a date range reads whole calendar months from the
month rollup and only the days before the first whole month and after the last one from the
day rollup; by hall and day it reads the per-hall day rollup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, case, func, literal, select, true

from controller.satisfaction import store
from controller.satisfaction.models_rollup import (
    ORDER_DETAIL,
    ORDER_HALL,
    RATING_COUNTS,
    ROLLUP_DETAIL,
    ROLLUP_HALL,
    ROLLUP_MONTH,
)

SERVED_COUNTS = "served_counts"
Key = tuple[Any, ...]


def rating_counts(
    conn: Connection, scope: store.Scope, columns: Sequence[str]
) -> dict[Key, dict[str, int | None]]:
    """Summed rollup counts per key of `columns` (served_counts None where none was pushed)."""
    found: dict[Key, dict[str, int | None]] = {}
    for query in _count_queries(scope, list(columns)):
        for row in conn.execute(query).mappings():
            key = tuple(row[c] for c in columns)
            into = found.setdefault(
                key, {name: 0 for name in RATING_COUNTS} | {SERVED_COUNTS: None}
            )
            for name in RATING_COUNTS:
                into[name] = int(into[name] or 0) + int(row[name] or 0)
            if row[SERVED_COUNTS] is not None:
                into[SERVED_COUNTS] = int(into[SERVED_COUNTS] or 0) + int(row[SERVED_COUNTS])
    return found


def order_counts(
    conn: Connection, scope: store.Scope, columns: Sequence[str], as_of: dt.date
) -> dict[Key, tuple[int, int]]:
    """(差评 due as of `as_of`, rectified on time) per key of `columns`."""
    table = ORDER_DETAIL if needs_detail(scope, columns) else ORDER_HALL
    keys = [table.c[c] for c in columns]
    # Due: rectified (whenever), or still pending with its deadline before the as-of day.
    before = table.c.deadline < literal(as_of, type_=table.c.deadline.type)
    late = case((before, table.c.pending), else_=0)
    query = (
        select(
            *keys,
            func.sum(table.c.rectified + late).label("due"),
            func.sum(table.c.on_time).label("on_time"),
        )
        .where(scope.clause(table))
        .group_by(*keys)
    )
    return {
        tuple(row[c] for c in columns): (int(row["due"] or 0), int(row["on_time"] or 0))
        for row in conn.execute(query).mappings()
    }


def needs_detail(scope: store.Scope, columns: Sequence[str]) -> bool:
    """True when the report groups or filters by window, staff or service."""
    return bool(set(columns) - {"hall_id", "day"}) or any(
        v is not None for v in (scope.window, scope.staff_id, scope.service)
    )


def whole_months(first: dt.date | None, last: dt.date | None) -> tuple[dt.date, dt.date] | None:
    """First days of the first and last calendar months wholly in [first, last] (open ends: min, max)."""
    start = dt.date.min
    if first is not None:
        start = first if first.day == 1 else _next_month(first)
    if last is None:
        end = dt.date.max
    elif _next_month(last) - dt.timedelta(days=1) == last:
        end = last.replace(day=1)
    else:
        end = (last.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return (start, end) if start <= end else None


def _count_queries(scope: store.Scope, columns: list[str]) -> Iterator[Any]:
    if not needs_detail(scope, columns):
        yield _sums(ROLLUP_HALL, scope.clause(ROLLUP_HALL), columns)
        return
    months = None if "day" in columns else whole_months(scope.day_from, scope.day_to)
    if months is None:
        yield _sums(ROLLUP_DETAIL, scope.clause(ROLLUP_DETAIL), columns)
        return
    first, last = months
    yield _sums(ROLLUP_MONTH, _month_clause(scope, first, last), columns)
    if first > dt.date.min and scope.day_from is not None and scope.day_from < first:
        head = replace(scope, day_to=first - dt.timedelta(days=1))
        yield _sums(ROLLUP_DETAIL, head.clause(ROLLUP_DETAIL), columns)
    if last < dt.date.max:
        tail_from = _next_month(last)
        if scope.day_to is not None and scope.day_to >= tail_from:
            tail = replace(scope, day_from=tail_from)
            yield _sums(ROLLUP_DETAIL, tail.clause(ROLLUP_DETAIL), columns)


def _month_clause(scope: store.Scope, first: dt.date, last: dt.date) -> ColumnElement[bool]:
    table = ROLLUP_MONTH
    parts: list[ColumnElement[bool]] = [true()]
    if scope.halls is not None:
        parts.append(table.c.hall_id.in_(scope.halls))
    if first > dt.date.min:
        parts.append(table.c.month >= first)
    if last < dt.date.max:
        parts.append(table.c.month <= last)
    for name in ("window", "staff_id", "service"):
        value = getattr(scope, name)
        if value is not None:
            parts.append(table.c[name] == value)
    return and_(*parts)


def _sums(table: Table, where: ColumnElement[bool], columns: list[str]) -> Any:
    keys = [table.c[c] for c in columns]
    sums = [func.sum(table.c[name]).label(name) for name in (*RATING_COUNTS, SERVED_COUNTS)]
    return select(*keys, *sums).where(where).group_by(*keys)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
