"""Monthly partitions of the big tables (PostgreSQL): the id's day as key, made ahead, never a lost row.

Ratings and finished tickets are range-partitioned by `id_day`, the hall day their id begins
with (20261207-A001-R1 -> 2026-12-07): PostgreSQL wants the partition key in every unique key,
and because `id_day` is a function of the id (a CHECK holds it to satisfaction_id_day(id)),
the key (hall_id, id, id_day) keeps (hall_id, id) unique across partitions. The record's own
`day` (rating time, finish time) cannot serve: a follow-up or a system default rating is rated
days after the ticket's day. An id without a date prefix (not one the hall controller makes)
gets UNDATED. A row whose month has no partition lands in the default partition; making that
month's partition later moves its rows there. SQLite tables carry `id_day` too, unpartitioned.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from controller.domain.errors import StoreError

UNDATED = dt.date(2000, 1, 1)
DEFAULT_MONTHS_AHEAD = 3
_DATED = re.compile(r"(20\d{2})(\d{2})(\d{2})")
# pg_advisory_xact_lock key of partition maintenance: a transaction lock, so that it is safe
# behind PgBouncer in transaction mode (released at commit on whichever server connection).
_LOCK_KEY = zlib.crc32(b"hall-controller satisfaction partitions")
# The same rule as id_day() below, in SQL that cannot raise (a CHECK on every insert).
ID_DAY_FUNCTION = r"""
CREATE OR REPLACE FUNCTION satisfaction_id_day(id text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
  WHEN id ~ '^20[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])'
   AND extract(month FROM make_date(substr(id, 1, 4)::int, substr(id, 5, 2)::int, 1)
                         + (substr(id, 7, 2)::int - 1)) = substr(id, 5, 2)::int
  THEN make_date(substr(id, 1, 4)::int, substr(id, 5, 2)::int, 1) + (substr(id, 7, 2)::int - 1)
  ELSE DATE '2000-01-01'
END
$$
"""


@dataclass(frozen=True)
class Partitioned:
    """A table partitioned by month of `id_day`, which its `id_column` determines."""

    name: str
    id_column: str
    sequence: str | None = None  # a sequence owned by one of its columns (table, column)
    sequence_column: str | None = None

    @property
    def default(self) -> str:
        """The default partition's name: rows of months without a partition of their own."""
        return f"{self.name}_default"

    def partition(self, month: dt.date) -> str:
        """The name of the partition holding `month`."""
        return f"{self.name}_{month:%Y_%m}"


RATINGS = Partitioned(
    "satisfaction_rating", "rating_id", "satisfaction_rating_feed_seq", "feed_seq"
)
SERVED_TICKETS = Partitioned("satisfaction_served_ticket", "ticket_id")
TABLES = (RATINGS, SERVED_TICKETS)


def id_day(record_id: str) -> dt.date:
    """The hall day a rating or ticket id begins with (YYYYMMDD, 2000-2099); UNDATED if none."""
    found = _DATED.match(record_id)
    if found is None:
        return UNDATED
    try:
        return dt.date(*(int(part) for part in found.groups()))
    except ValueError:
        return UNDATED


def month_of(day: dt.date) -> dt.date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    """The first day of the month `count` months after `month`'s (before, if negative)."""
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def months_ahead(today: dt.date, ahead: int) -> list[dt.date]:
    """This month and the `ahead` months after it."""
    return [add_months(month_of(today), n) for n in range(ahead + 1)]


def is_partitioned(conn: Connection, table: Partitioned) -> bool:
    """True if `table` is a partitioned table (PostgreSQL after revision 0005)."""
    if conn.dialect.name != "postgresql":
        return False
    query = "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))"
    return bool(conn.exec_driver_sql(query, (table.name,)).scalar())


def monthly_partitions(conn: Connection, table: Partitioned) -> dict[dt.date, str]:
    """The month partitions `table` has, by their first day (the default partition aside)."""
    rows = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s)",
        (table.name,),
    )
    found: dict[dt.date, str] = {}
    pattern = re.compile(rf"{re.escape(table.name)}_(\d{{4}})_(\d{{2}})")
    for (name,) in rows:
        if match := pattern.fullmatch(name):
            found[dt.date(int(match[1]), int(match[2]), 1)] = name
    return found


def create_month(conn: Connection, table: Partitioned, month: dt.date) -> str:
    """Make `month`'s partition, moving its rows out of the default partition; its name.

    The new table is filled and then attached (not created as a partition directly): the
    rows the default partition held for the month move within this transaction, and the
    attach checks that none is left there.
    """
    name, start, end = table.partition(month), month_of(month), add_months(month, 1)
    names = ", ".join(f'"{c}"' for c in columns(conn, table.name))
    conn.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE {table.name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    if _exists(conn, table.default):
        conn.exec_driver_sql(
            f"WITH moved AS (DELETE FROM {table.default} "
            f"WHERE id_day >= '{start}' AND id_day < '{end}' RETURNING {names}) "
            f"INSERT INTO {name} ({names}) SELECT {names} FROM moved"
        )
    conn.exec_driver_sql(
        f"ALTER TABLE {table.name} ATTACH PARTITION {name} FOR VALUES FROM ('{start}') TO ('{end}')"
    )
    return name


def ensure_months(conn: Connection, table: Partitioned, months: list[dt.date]) -> list[str]:
    """Make the partitions of `months` `table` lacks (under the caller's lock); their names."""
    have = monthly_partitions(conn, table)
    return [create_month(conn, table, m) for m in sorted(set(months)) if m not in have]


def maintain(engine: Engine, *, today: dt.date, ahead: int = DEFAULT_MONTHS_AHEAD) -> list[str]:
    """Make this month's partitions and `ahead` more where missing; the names made.

    One transaction under a transaction-scoped advisory lock, so processes starting together
    take turns and the later ones find nothing to do. SQLite (no partitions): nothing.
    """
    if engine.dialect.name != "postgresql":
        return []
    wanted = months_ahead(today, ahead)
    try:
        with engine.connect() as conn:
            missing = any(
                is_partitioned(conn, t) and set(wanted) - set(monthly_partitions(conn, t))
                for t in TABLES
            )
            conn.rollback()
        if not missing:
            return []
        with engine.execution_options(write=True).begin() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
            made: list[str] = []
            for table in TABLES:
                if is_partitioned(conn, table):
                    made += ensure_months(conn, table, wanted)
            return made
    except SQLAlchemyError as err:
        raise StoreError(f"cannot make the monthly partitions: {err}") from err


def lock_for_maintenance(conn: Connection) -> None:
    """Take the partition-maintenance lock for the rest of the connection's transaction."""
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")


def default_rows(conn: Connection, table: Partitioned) -> int:
    """How many rows sit in the default partition (months without a partition, undated ids)."""
    if not _exists(conn, table.default):
        return 0
    return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table.default}").scalar_one())


def convert(conn: Connection, table: Partitioned, *, today: dt.date, ahead: int) -> None:
    """Rebuild an unpartitioned `table` (rows in it) as partitioned by month; every row kept.

    Indexes and the primary key are made again under their names, the primary key with
    id_day added; partitions for every month the rows hold and `ahead` months from today.
    """
    inspector = sa.inspect(conn)
    indexes = inspector.get_indexes(table.name)
    key = inspector.get_pk_constraint(table.name)
    key_name = key["name"] or f"{table.name}_pkey"
    old = f"{table.name}_unpartitioned"
    if table.sequence:
        conn.exec_driver_sql(f"ALTER SEQUENCE {table.sequence} OWNED BY NONE")
    conn.exec_driver_sql(f"ALTER TABLE {table.name} RENAME TO {old}")
    for index in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{index["name"]}"')
    conn.exec_driver_sql(f'ALTER TABLE {old} DROP CONSTRAINT "{key_name}"')
    conn.exec_driver_sql(
        f"CREATE TABLE {table.name} (LIKE {old} INCLUDING DEFAULTS, id_day DATE NOT NULL, "
        f"CONSTRAINT ck_{table.name}_id_day CHECK (id_day = satisfaction_id_day({table.id_column}))"
        ") PARTITION BY RANGE (id_day)"
    )
    conn.exec_driver_sql(f"CREATE TABLE {table.default} PARTITION OF {table.name} DEFAULT")
    held = conn.exec_driver_sql(
        f"SELECT DISTINCT date_trunc('month', satisfaction_id_day({table.id_column}))::date "
        f"FROM {old}"
    ).scalars()
    months = {m for m in held if m != month_of(UNDATED)} | set(months_ahead(today, ahead))
    for month in sorted(months):
        start, end = month_of(month), add_months(month, 1)
        conn.exec_driver_sql(
            f"CREATE TABLE {table.partition(month)} PARTITION OF {table.name} "
            f"FOR VALUES FROM ('{start}') TO ('{end}')"
        )
    names = ", ".join(f'"{c}"' for c in columns(conn, old))
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}, id_day) "
        f"SELECT {names}, satisfaction_id_day({table.id_column}) FROM {old}"
    )
    keys = [c for c in key["constrained_columns"] if c] + ["id_day"]
    conn.exec_driver_sql(
        f'ALTER TABLE {table.name} ADD CONSTRAINT "{key_name}" PRIMARY KEY ({", ".join(keys)})'
    )
    for index in indexes:
        named = ", ".join(f'"{c}"' for c in index["column_names"] if c)
        if index["unique"]:  # a unique key holds the partition key too
            named += ", id_day"
        unique = "UNIQUE " if index["unique"] else ""
        conn.exec_driver_sql(f'CREATE {unique}INDEX "{index["name"]}" ON {table.name} ({named})')
    conn.exec_driver_sql(f"DROP TABLE {old}")
    if table.sequence:
        conn.exec_driver_sql(
            f"ALTER SEQUENCE {table.sequence} OWNED BY {table.name}.{table.sequence_column}"
        )


def columns(conn: Connection, name: str) -> list[str]:
    """The table's column names in their order."""
    return [c["name"] for c in sa.inspect(conn).get_columns(name)]


def _exists(conn: Connection, name: str) -> bool:
    return conn.exec_driver_sql("SELECT to_regclass(%s) IS NOT NULL", (name,)).scalar() is True
