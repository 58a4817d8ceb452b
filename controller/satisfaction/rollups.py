"""Rollups kept current in the writing transaction: what each new rating, ticket, count or step adds.

Every change is a delta added with INSERT … ON CONFLICT DO UPDATE (x = x + delta), so batches
committing at once from several API processes each add their own share and none is lost;
keys are written in sorted order so two transactions never wait on each other in a cycle.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Executable, Table, case, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from controller.domain.ratings import RatingLevel
from controller.satisfaction.models import ServedCount
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
)

Key = tuple[Any, ...]
Deltas = dict[Key, dict[str, int]]
SERVED_COUNTS = "served_counts"
SATISFIED = frozenset(level.value for level in RatingLevel if level.is_satisfied)
STRICT = frozenset((RatingLevel.VERY_SATISFIED.value, RatingLevel.SATISFIED.value))
BAD = frozenset(level.value for level in RatingLevel if level.is_bad)
_SERVED = cast(Table, ServedCount.__table__)  # type: ignore[attr-defined]
_ORDER_DETAIL_KEY = (*DETAIL_KEY, "deadline")
_ORDER_HALL_KEY = (*HALL_KEY, "deadline")
_UPSERTS: dict[tuple[str, Table, tuple[str, ...], tuple[str, ...]], Executable] = {}


def rating_counts(row: Mapping[str, Any]) -> dict[str, int]:
    """What one stored rating adds to its rollup row."""
    if row["assess_number"] != 1:
        return {"follow_ups": 1}
    suffix = "_defaults" if row["system_default"] else ""
    counts = {"defaults" if suffix else "rated": 1}
    level = row["level"]
    for name, levels in (("satisfied", SATISFIED), ("strict", STRICT), ("bad", BAD)):
        if level in levels:
            counts[name + suffix] = 1
    return counts


def order_counts(counted: bool, rectified_on: dt.date | None, deadline: dt.date) -> dict[str, int]:
    """What one work order adds: nothing once overturned (`counted` False), else pending or rectified."""
    if not counted:
        return {}
    if rectified_on is None:
        return {"pending": 1}
    return {"rectified": 1, "on_time": int(rectified_on <= deadline)}


def add_ratings(
    conn: Connection, ratings: Sequence[Mapping[str, Any]], orders: Sequence[Mapping[str, Any]]
) -> None:
    """Add newly stored ratings and the work orders they opened to the rollups."""
    detail: Deltas = {}
    for row in ratings:
        _add(detail, _key(row, DETAIL_KEY), rating_counts(row))
    _bump_both(conn, detail)
    add_orders(conn, ((o, order_counts(True, o["rectified_on"], o["deadline"])) for o in orders))


def add_served_tickets(conn: Connection, tickets: Sequence[Mapping[str, Any]]) -> None:
    """Add newly stored finished tickets to the rollups."""
    detail: Deltas = {}
    for row in tickets:
        _add(detail, _key(row, DETAIL_KEY), {"served_tickets": 1})
    _bump_both(conn, detail)


def replace_served(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Before daily served counts replace stored ones: add the difference to the rollups."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # A count replaces the stored one, so its delta needs the old value: pushes for one
        # hall take turns (a transaction lock: nothing held past COMMIT, PgBouncer-safe).
        for hall in sorted({r["hall_id"] for r in rows}):
            conn.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(%(key)s)",
                {"key": zlib.crc32(f"satisfaction served {hall}".encode())},
            )
    keys = [_key(r, DETAIL_KEY) for r in rows]
    columns = [_SERVED.c[name] for name in DETAIL_KEY]
    query = select(*columns, _SERVED.c.served).where(tuple_(*columns).in_(keys))
    old = {tuple(found[:-1]): found[-1] for found in conn.execute(query)}
    detail: Deltas = {}
    for row, key in zip(rows, keys, strict=True):
        _add(detail, key, {SERVED_COUNTS: row["served"] - old.get(key, 0)})
    _bump_both(conn, detail)


def add_orders(
    conn: Connection, changes: Iterable[tuple[Mapping[str, Any], dict[str, int]]]
) -> None:
    """Add work-order count changes (an order's row and what it adds, negative to take away)."""
    detail: Deltas = {}
    for row, counts in changes:
        _add(detail, _key(row, _ORDER_DETAIL_KEY), counts)
    hall: Deltas = {}
    for key, counts in detail.items():
        _add(hall, (key[0], key[1], key[-1]), counts)
    _bump(conn, ORDER_DETAIL, _ORDER_DETAIL_KEY, ORDER_COUNTS, detail)
    _bump(conn, ORDER_HALL, _ORDER_HALL_KEY, ORDER_COUNTS, hall)


def order_moved(
    conn: Connection,
    row: Mapping[str, Any],
    before: dict[str, int],
    after: dict[str, int],
) -> None:
    """A work order changed state: take its old counts away and add its new ones."""
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in ORDER_COUNTS}
    if any(delta.values()):
        add_orders(conn, [(row, delta)])


def _bump_both(conn: Connection, detail: Deltas) -> None:
    hall: Deltas = {}
    month: Deltas = {}
    for key, counts in detail.items():
        _add(hall, key[:2], counts)
        _add(month, (key[0], key[1].replace(day=1), *key[2:]), counts)
    _bump(conn, ROLLUP_DETAIL, DETAIL_KEY, RATING_COUNTS, detail)
    _bump(conn, ROLLUP_HALL, HALL_KEY, RATING_COUNTS, hall)
    _bump(conn, ROLLUP_MONTH, MONTH_KEY, RATING_COUNTS, month)


def _bump(
    conn: Connection, table: Table, key: Sequence[str], counts: Sequence[str], deltas: Deltas
) -> None:
    """Add `deltas` to `table`'s rows (made at zero when missing), keys in sorted order."""
    if not deltas:
        return
    served = SERVED_COUNTS in table.c
    rows = []
    for found in sorted(deltas):
        delta = deltas[found]
        row: dict[str, Any] = dict(zip(key, found, strict=True))
        row.update({name: delta.get(name, 0) for name in counts})
        if served:
            row[SERVED_COUNTS] = delta.get(SERVED_COUNTS)
        rows.append(row)
    # One statement per table, run for every row (executemany, in the sorted order): a
    # multi-row VALUES would be a new statement for each row count, compiled afresh every
    # batch (most of a finished ticket's cost in the embedded store, issue 15).
    conn.execute(_upsert(conn.dialect.name, table, tuple(key), tuple(counts), served), rows)


def _upsert(
    dialect_name: str, table: Table, key: tuple[str, ...], counts: tuple[str, ...], served: bool
) -> Executable:
    """INSERT … ON CONFLICT (key) DO UPDATE adding the counts; built once per table and dialect."""
    found = _UPSERTS.get((dialect_name, table, key, counts))
    if found is not None:
        return found
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    given = statement.excluded
    updates: dict[str, Any] = {name: table.c[name] + given[name] for name in counts}
    if served:  # None: this change says nothing of served counts
        updates[SERVED_COUNTS] = case(
            (given[SERVED_COUNTS].is_(None), table.c[SERVED_COUNTS]),
            else_=func.coalesce(table.c[SERVED_COUNTS], 0) + given[SERVED_COUNTS],
        )
    upsert: Executable = statement.on_conflict_do_update(index_elements=list(key), set_=updates)
    _UPSERTS[(dialect_name, table, key, counts)] = upsert
    return upsert


def _key(row: Mapping[str, Any], names: Sequence[str]) -> Key:
    return tuple(row[name] for name in names)


def _add(deltas: Deltas, key: Key, counts: Mapping[str, int]) -> None:
    into = deltas.setdefault(key, {})
    for name, value in counts.items():
        into[name] = into.get(name, 0) + value
