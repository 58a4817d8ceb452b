"""PostgreSQL ingest of a rating batch in one statement: the new ratings, their work orders, their rollups.

The batch travels as one JSON parameter (json_to_recordset: orjson and PostgreSQL parse it in C). INSERT … ON CONFLICT DO NOTHING keeps the
stored copy of every (hall, rating id) already there; only the rows it inserted (RETURNING)
open work orders and are added to the rollups, summed per rollup key inside the same
statement. Reading first and then writing each table took 8 statements a batch, and
SQLAlchemy compiled every multi-row VALUES anew: ~13 of the batch's 18 ms of API CPU.
Records not inserted are then compared with the stored ones by content hash: a resend is a
duplicate, other content raises RatingConflict and the caller's transaction rolls it all back.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import psycopg
from sqlalchemy import Column, Connection, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError, OperationalError

from controller.domain.errors import StoreError
from controller.satisfaction import rollups
from controller.satisfaction.errors import RatingConflict
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

Key = tuple[str, str]
_NOT_STORED = ("bare_hash",)  # compared with a stored record, never stored itself
_ORDER_DETAIL_KEY = (*DETAIL_KEY, "deadline")
_ORDER_HALL_KEY = (*HALL_KEY, "deadline")


def insert_ratings(
    conn: Connection,
    ratings: Table,
    work_orders: Table,
    rows: Sequence[dict[str, Any]],
    orders: Mapping[Key, dict[str, Any]],
) -> tuple[int, int, int]:
    """Store the batch's new ratings, work orders and rollup counts: (accepted, duplicates, orders)."""
    firsts, duplicates = first_copies(rows)
    firsts.sort(key=_key)
    rating_columns = tuple(name for name in firsts[0] if name not in _NOT_STORED)
    order_columns = tuple(next(iter(orders.values()))) if orders else ()
    statement = _statement(ratings, work_orders, rating_columns, order_columns)
    given = [_given(row, rating_columns, orders.get(_key(row))) for row in firsts]
    inserted: set[Key] = set(_run(conn, statement, [orjson.dumps(given).decode()]))
    left = [row for row in firsts if _key(row) not in inserted]
    if left:
        duplicates += _resent(conn, ratings, left)
    opened = sum(1 for key in inserted if key in orders)
    return len(inserted), duplicates, opened


def _given(
    row: Mapping[str, Any], columns: Sequence[str], order: Mapping[str, Any] | None
) -> dict[str, Any]:
    """One element of the batch's JSON: the rating, its work order, what each adds to the rollups."""
    given = {f"r_{name}": row[name] for name in columns}
    given.update((f"c_{name}", n) for name, n in rollups.rating_counts(row).items())
    if order is not None:
        given.update((f"o_{name}", value) for name, value in order.items())
        counts = rollups.order_counts(True, order["rectified_on"], order["deadline"])
        given.update((f"p_{name}", n) for name, n in counts.items())
    return given


def first_copies(rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Each (hall, rating id) of a batch once, and how many later copies were the same record."""
    firsts: dict[Key, dict[str, Any]] = {}
    duplicates = 0
    for row in rows:
        first = firsts.setdefault(_key(row), row)
        if first is row:
            continue
        if first["content_hash"] not in (row["content_hash"], row.get("bare_hash")):
            raise RatingConflict(*_key(row))
        duplicates += 1
    return list(firsts.values()), duplicates


def _resent(conn: Connection, ratings: Table, rows: Sequence[dict[str, Any]]) -> int:
    """How many of `rows` (already stored) are the stored record; RatingConflict at the first that is not."""
    query = (
        f"SELECT hall_id, rating_id, content_hash FROM {ratings.name} "
        "WHERE (hall_id, rating_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
    )
    params = [[row["hall_id"] for row in rows], [row["rating_id"] for row in rows]]
    stored = {(hall, rating): digest for hall, rating, digest in _run(conn, query, params)}
    for row in rows:
        digest = stored.get(_key(row))
        if digest is None:  # kept out by another unique key than (hall, rating id)
            raise StoreError(f"rating {_key(row)} was neither inserted nor found stored")
        if digest not in (row["content_hash"], row.get("bare_hash")):
            raise RatingConflict(*_key(row))
    return len(rows)


def _run(conn: Connection, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one statement on the connection's transaction; driver errors as SQLAlchemy's."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()
    except psycopg.errors.IntegrityError as err:
        raise IntegrityError(statement, None, err) from err
    except psycopg.Error as err:
        raise OperationalError(statement, None, err) from err


def _key(row: Mapping[str, Any]) -> Key:
    return row["hall_id"], row["rating_id"]


@functools.cache
def _statement(
    ratings: Table,
    work_orders: Table,
    rating_columns: tuple[str, ...],
    order_columns: tuple[str, ...],
) -> str:
    """The batch statement for these columns (one text, built once per process)."""
    given = [f"r_{n} {_sql_type(ratings.c[n])}" for n in rating_columns]
    given += [f"o_{n} {_sql_type(work_orders.c[n])}" for n in order_columns]
    given += [f"c_{n} int" for n in RATING_COUNTS] + [f"p_{n} int" for n in ORDER_COUNTS]
    record = ", ".join(given)
    parts = [
        f"given AS (SELECT * FROM json_to_recordset(%s::json) AS g({record}))",
        f"stored AS (INSERT INTO {ratings.name} ({_quoted(rating_columns)}) "
        f"SELECT {', '.join(f'r_{n}' for n in rating_columns)} FROM given "
        "ORDER BY r_hall_id, r_rating_id ON CONFLICT DO NOTHING RETURNING hall_id, rating_id)",
        "fresh AS (SELECT given.* FROM given JOIN stored "
        "ON stored.hall_id = r_hall_id AND stored.rating_id = r_rating_id)",
    ]
    if order_columns:
        parts.append(
            f"orders AS (INSERT INTO {work_orders.name} ({_quoted(order_columns)}) "
            f"SELECT {', '.join(f'o_{n}' for n in order_columns)} FROM fresh "
            "WHERE o_hall_id IS NOT NULL ORDER BY o_hall_id, o_rating_id)"
        )
    rated = (
        {name: f"r_{name}" for name in DETAIL_KEY}
        | {n: f"c_{n}" for n in RATING_COUNTS}
        | {"month": "date_trunc('month', r_day)::date"}
    )
    for n, (table, key) in enumerate(
        ((ROLLUP_DETAIL, DETAIL_KEY), (ROLLUP_HALL, HALL_KEY), (ROLLUP_MONTH, MONTH_KEY))
    ):
        parts.append(f"rollup{n} AS ({_upsert(table, key, rated, counts=RATING_COUNTS, where='')})")
    if order_columns:
        owned = {name: f"o_{name}" for name in _ORDER_DETAIL_KEY}
        owned |= {name: f"p_{name}" for name in ORDER_COUNTS}
        for n, (table, key) in enumerate(
            ((ORDER_DETAIL, _ORDER_DETAIL_KEY), (ORDER_HALL, _ORDER_HALL_KEY))
        ):
            where = "WHERE o_hall_id IS NOT NULL"
            parts.append(
                f"orders{n} AS ({_upsert(table, key, owned, counts=ORDER_COUNTS, where=where)})"
            )
    return f"WITH {', '.join(parts)} SELECT hall_id, rating_id FROM stored"


def _upsert(
    table: Table,
    key: Sequence[str],
    source: Mapping[str, str],
    *,
    counts: Sequence[str],
    where: str,
) -> str:
    """Add the fresh rows' counts, summed per key, to `table` (rows made when missing), keys sorted."""
    positions = ", ".join(str(n) for n in range(1, len(key) + 1))
    sums = ", ".join(f"coalesce(sum({source[name]}), 0)" for name in counts)
    added = ", ".join(f'"{name}" = {table.name}."{name}" + excluded."{name}"' for name in counts)
    return (
        f"INSERT INTO {table.name} ({_quoted((*key, *counts))}) "
        f"SELECT {', '.join(source[name] for name in key)}, {sums} FROM fresh {where} "
        f"GROUP BY {positions} ORDER BY {positions} "
        f"ON CONFLICT ({_quoted(key)}) DO UPDATE SET {added}"
    )


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _sql_type(column: Column[Any]) -> str:
    """The PostgreSQL type of a column's values (text for any string: no silent cut)."""
    compiled: str = column.type.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    return "text" if compiled.startswith("VARCHAR") else compiled
