"""Fixtures and readers of the partition and archive tests: a fresh PostgreSQL schema, rows per partition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from controller.satisfaction import partitions, store
from tests.integration.satisfaction.conftest import Api, make_api
from tests.integration.satisfaction.pg_server import PostgresServer

RATINGS = partitions.RATINGS


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh empty schema on the session's PostgreSQL."""
    name, url = postgres.create_schema()
    yield url
    postgres.drop_schema(name)


@pytest.fixture
def pg_api(pg_url: str) -> Iterator[Api]:
    """The app over a fresh PostgreSQL schema (migrated and maintained at start)."""
    made = make_api(pg_url)
    yield made
    made.app.state.satisfaction.engine.dispose()


def rows_in(url: str, relation: str) -> list[tuple[Any, ...]]:
    """(hall_id, id, id_day) of every row of a table or one partition of it."""
    engine = store.make_engine(url)
    try:
        with engine.connect() as conn:
            column = "rating_id" if relation.startswith(RATINGS.name) else "ticket_id"
            query = f"SELECT hall_id, {column}, id_day FROM {relation} ORDER BY 1, 2"
            return [tuple(r) for r in conn.exec_driver_sql(query)]
    finally:
        engine.dispose()


def months_of(url: str, table: partitions.Partitioned) -> set[dt.date]:
    engine = store.make_engine(url)
    try:
        with engine.connect() as conn:
            assert partitions.is_partitioned(conn, table)
            return set(partitions.monthly_partitions(conn, table))
    finally:
        engine.dispose()
