"""The satisfaction store: engine for SQLite (embedded) or PostgreSQL (central), rating repository."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    func,
    insert,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import create_engine

from controller.domain.errors import StoreError
from controller.satisfaction import ingest_pg, rollups
from controller.satisfaction.errors import RatingConflict, ServedConflict
from controller.satisfaction.models import (
    Rating,
    ServedCount,
    WorkOrder,
    WorkOrderAction,
)
from controller.satisfaction.models_served import ServedTicket

log = logging.getLogger(__name__)
RATINGS = cast(Table, Rating.__table__)  # type: ignore[attr-defined]
SERVED = cast(Table, ServedCount.__table__)  # type: ignore[attr-defined]
WORK_ORDERS = cast(Table, WorkOrder.__table__)  # type: ignore[attr-defined]
ACTIONS = cast(Table, WorkOrderAction.__table__)  # type: ignore[attr-defined]
SERVED_TICKETS = cast(Table, ServedTicket.__table__)  # type: ignore[attr-defined]
TABLES = (RATINGS, SERVED, WORK_ORDERS, ACTIONS, SERVED_TICKETS)
_INSERT_TRIES = 3


@dataclass(frozen=True)
class Scope:
    """Which records a query covers: halls the caller may see, dates and optional dimensions."""

    halls: tuple[str, ...] | None = None  # None: every hall
    day_from: dt.date | None = None
    day_to: dt.date | None = None
    window: int | None = None
    staff_id: str | None = None
    service: str | None = None

    def clause(self, table: Table) -> ColumnElement[bool]:
        """The WHERE clause of this scope on a table with hall_id/day/window/staff_id/service."""
        parts: list[ColumnElement[bool]] = [true()]
        if self.halls is not None:
            parts.append(table.c.hall_id.in_(self.halls))
        if self.day_from is not None:
            parts.append(table.c.day >= self.day_from)
        if self.day_to is not None:
            parts.append(table.c.day <= self.day_to)
        if self.window is not None:
            parts.append(table.c.window == self.window)
        if self.staff_id is not None:
            parts.append(table.c.staff_id == self.staff_id)
        if self.service is not None:
            parts.append(table.c.service == self.service)
        return and_(*parts)


@dataclass(frozen=True)
class InsertOutcome:
    """What an idempotent insert did."""

    accepted: int
    duplicates: int
    work_orders_opened: int


def make_engine(
    database_url: str, *, pool_size: int = 5, max_overflow: int = 5, pool_timeout: float = 30
) -> Engine:
    """An engine for `sqlite:///FILE`, `sqlite://` (memory) or `postgresql://…` (psycopg 3)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
        # No per-session state, so PgBouncer in transaction mode may hand each transaction
        # another server connection: no prepared statements (psycopg prepares a statement
        # seen 5 times; a generic plan made while the table was small also stayed a sequential
        # scan as it grew, 10 ms a batch at 5,000 rows), no session SET.
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            connect_args={"prepare_threshold": None},
        )
    if url.get_backend_name() != "sqlite":
        raise StoreError(f"unsupported database {url.get_backend_name()!r}", str(url))
    connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": 10}
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args=connect_args)
    else:
        engine = create_engine(url, connect_args=connect_args, poolclass=StaticPool)

    @sa_event.listens_for(engine, "connect")
    def _connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a confirmed rating survives a power cut
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the lock up front: a deferred reader turning writer can deadlock.
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction; database failures become StoreError (503)."""
    try:
        with engine.execution_options(write=True).begin() as conn:
            yield conn
    except SQLAlchemyError as err:
        raise StoreError(f"write failed: {type(err).__name__}: {err}") from err


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read transaction; database failures become StoreError (503)."""
    try:
        with engine.connect() as conn:
            yield conn
    except SQLAlchemyError as err:
        raise StoreError(f"read failed: {type(err).__name__}: {err}") from err


def insert_ratings(
    engine: Engine,
    *,
    rows: Sequence[dict[str, Any]],
    work_orders: dict[tuple[str, str], dict[str, Any]],
) -> InsertOutcome:
    """Insert new ratings and their work orders (keyed by hall and rating id); resent ones count as duplicates.

    A (hall, rating id) already stored (or earlier in the batch) with another content hash
    raises RatingConflict and nothing of the batch is written. Rating ids are hall-local:
    another hall's rating under the same id is another rating.
    """
    for attempt in range(_INSERT_TRIES):
        try:
            with engine.execution_options(write=True).begin() as conn:
                if conn.dialect.name == "postgresql":
                    counted = ingest_pg.insert_ratings(
                        conn, RATINGS, WORK_ORDERS, rows, work_orders
                    )
                    return InsertOutcome(*counted)
                return _insert_once(conn, rows, work_orders)
        except IntegrityError as err:  # a concurrent batch stored the same id first: look again
            log.info("rating batch met a concurrent insert (try %d): %s", attempt + 1, err.orig)
            if attempt == _INSERT_TRIES - 1:
                raise StoreError(f"insert kept colliding: {err}") from err
        except SQLAlchemyError as err:
            raise StoreError(f"write failed: {type(err).__name__}: {err}") from err
    raise AssertionError("unreachable")


def rating_key(row: Mapping[str, Any]) -> tuple[str, str]:
    """A rating's key: (hall id, rating id)."""
    return row["hall_id"], row["rating_id"]


def _insert_once(
    conn: Connection,
    rows: Sequence[dict[str, Any]],
    work_orders: dict[tuple[str, str], dict[str, Any]],
) -> InsertOutcome:
    ids_by_hall: dict[str, set[str]] = {}
    for row in rows:
        ids_by_hall.setdefault(row["hall_id"], set()).add(row["rating_id"])
    table = RATINGS
    query = select(table.c.hall_id, table.c.rating_id, table.c.content_hash).where(
        or_(
            *(
                and_(table.c.hall_id == hall, table.c.rating_id.in_(sorted(ids)))
                for hall, ids in ids_by_hall.items()
            )
        )
    )
    known: dict[tuple[str, str], str] = {(h, r): digest for h, r, digest in conn.execute(query)}
    bare_hashes = {rating_key(row): row.get("bare_hash") for row in rows}
    fresh: list[dict[str, Any]] = []
    duplicates = 0
    for given in rows:
        row = {name: value for name, value in given.items() if name != "bare_hash"}
        key = rating_key(row)
        stored = known.get(key)
        if stored is None:
            known[key] = row["content_hash"]
            fresh.append(row)
        elif stored in (row["content_hash"], bare_hashes.get(key)):
            duplicates += 1  # resent as stored, or stored before a field it now carries
        else:
            raise RatingConflict(*key)
    orders = [work_orders[k] for r in fresh if (k := rating_key(r)) in work_orders]
    if fresh and conn.dialect.name != "postgresql":
        # SQLite writers take turns (BEGIN IMMEDIATE): the next numbers are free and commit
        # in order. PostgreSQL numbers rows by column defaults (feed.py).
        last = conn.execute(select(func.max(RATINGS.c.feed_seq))).scalar() or 0
        for number, row in enumerate(fresh, start=last + 1):
            row["feed_xid"], row["feed_seq"] = 0, number
    bulk_insert(conn, RATINGS, fresh)
    bulk_insert(conn, WORK_ORDERS, orders)
    rollups.add_ratings(conn, fresh, orders)
    return InsertOutcome(len(fresh), duplicates, len(orders))


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows in the connection's transaction: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    # COPY takes a batch of 100 ratings in ~2.6 ms where a pipelined executemany takes ~6-8 ms
    # (benchmarks/bench_satisfaction_ingest.py); values are already plain (aware UTC times).
    import psycopg

    columns = list(rows[0])
    names = ", ".join(f'"{name}"' for name in columns)
    statement = f"COPY {table.name} ({names}) FROM STDIN"
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
    except psycopg.errors.IntegrityError as err:
        raise IntegrityError(statement, None, err) from err
    except psycopg.Error as err:
        raise OperationalError(statement, None, err) from err


def select_ratings(
    engine: Engine,
    *,
    scope: Scope,
    level: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[RowMapping]:
    """Ratings in scope, oldest first (by rating time, then hall and id)."""
    with reading(engine) as conn:
        return ratings_on(conn, scope=scope, level=level, limit=limit, offset=offset)


def ratings_on(
    conn: Connection,
    *,
    scope: Scope,
    level: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[RowMapping]:
    """`select_ratings` on a connection the caller holds (a report connection)."""
    query = select(RATINGS).where(scope.clause(RATINGS))
    if level is not None:
        query = query.where(RATINGS.c.level == level)
    order = (RATINGS.c.rated_at, RATINGS.c.hall_id, RATINGS.c.rating_id)
    query = query.order_by(*order).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query).mappings())


def get_rating(engine: Engine, *, hall_id: str, rating_id: str) -> RowMapping | None:
    """One hall's rating by its (hall-local) id, or None."""
    query = select(RATINGS).where(RATINGS.c.hall_id == hall_id, RATINGS.c.rating_id == rating_id)
    with reading(engine) as conn:
        return conn.execute(query).mappings().first()


def upsert_served(engine: Engine, *, rows: Sequence[dict[str, Any]]) -> int:
    """Store served counts; a row for a key already stored replaces its count."""
    with writing(engine) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(SERVED)
        statement = statement.on_conflict_do_update(
            index_elements=["hall_id", "day", "window", "staff_id", "service"],
            set_={"served": statement.excluded.served, "updated_at": statement.excluded.updated_at},
        )
        rollups.replace_served(conn, rows)
        conn.execute(statement, list(rows))
    return len(rows)


def insert_served_tickets(engine: Engine, *, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Insert new finished tickets; (accepted, duplicates). Other content for a stored id: 409."""
    for attempt in range(_INSERT_TRIES):
        try:
            with engine.execution_options(write=True).begin() as conn:
                return _insert_served_once(conn, rows)
        except IntegrityError as err:  # a concurrent batch stored the same ticket first
            log.info("served batch met a concurrent insert (try %d): %s", attempt + 1, err.orig)
            if attempt == _INSERT_TRIES - 1:
                raise StoreError(f"insert kept colliding: {err}") from err
        except SQLAlchemyError as err:
            raise StoreError(f"write failed: {type(err).__name__}: {err}") from err
    raise AssertionError("unreachable")


def _insert_served_once(conn: Connection, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
    table = SERVED_TICKETS
    keys = list({(row["hall_id"], row["ticket_id"]) for row in rows})
    query = select(table.c.hall_id, table.c.ticket_id, table.c.content_hash).where(
        tuple_(table.c.hall_id, table.c.ticket_id).in_(keys)
    )
    known: dict[tuple[str, str], str] = {(h, t): digest for h, t, digest in conn.execute(query)}
    fresh: list[dict[str, Any]] = []
    for row in rows:
        key = (row["hall_id"], row["ticket_id"])
        stored = known.get(key)
        if stored is None:
            known[key] = row["content_hash"]
            fresh.append(row)
        elif stored != row["content_hash"]:
            raise ServedConflict(*key)
    bulk_insert(conn, table, fresh)
    rollups.add_served_tickets(conn, fresh)
    return len(fresh), len(rows) - len(fresh)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """An aware moment in UTC, as the tables store it (timestamptz; SQLite keeps UTC text)."""
    return moment.astimezone(dt.UTC)


def in_zone(stored: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """A stored moment (aware, or naive meaning UTC) as an aware moment in `zone`."""
    aware = stored if stored.tzinfo is not None else stored.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone)
