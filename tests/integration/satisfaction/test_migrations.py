"""Schema migrations: a database of the previous release upgraded with every row, keys by hall."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from controller.domain.errors import StoreError
from controller.satisfaction import archive, live, partitions, schema, store
from controller.satisfaction.models_rollup import NEW_TABLES
from controller.satisfaction.schema_baseline import BASELINE, TABLE_NAMES, bring_to_baseline
from tests.integration.satisfaction import legacy_fixture
from tests.integration.satisfaction.conftest import HALL_A, HALL_B, make_api, record
from tests.integration.satisfaction.pg_server import PostgresServer
from tests.integration.satisfaction.test_hall_keys import hall_b

# The primary key of each table, to read rows in a stable order.
ORDER = {
    "satisfaction_rating": ("hall_id", "rating_id"),
    "satisfaction_work_order": ("id",),
    "satisfaction_work_order_action": ("id",),
    "satisfaction_served_ticket": ("hall_id", "ticket_id"),
    "satisfaction_served": ("hall_id", "day", "window", "staff_id", "service"),
}


@pytest.fixture
def second_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Another empty database of the same kind as `database_url`."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name, url = server.create_schema()
    yield url
    server.drop_schema(name)


def rows_of(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the five tables, in key order, as plain values (times as UTC instants)."""
    engine = store.make_engine(url)
    meta = sa.MetaData()
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        with engine.connect() as conn:
            for name, keys in ORDER.items():
                table = sa.Table(name, meta, autoload_with=conn)
                query = sa.select(table).order_by(*(table.c[k] for k in keys))
                found[name] = [
                    {k: store.in_zone(v, dt.UTC) if _is_moment(v) else v for k, v in r.items()}
                    for r in conn.execute(query).mappings()
                ]
    finally:
        engine.dispose()
    return found


def _without_feed(found: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The rows less the columns later revisions added (arrival order r0003, id_day r0005)."""
    feed = ("feed_xid", "feed_seq", "id_day")
    return {
        name: [{k: v for k, v in row.items() if k not in feed} for row in rows]
        for name, rows in found.items()
    }


def _is_moment(value: object) -> bool:
    return isinstance(value, dt.datetime)


def keys_of(url: str) -> dict[str, Any]:
    """The ratings' primary key, the work orders' unique keys, and the tables' index names."""
    engine = store.make_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            return {
                "rating_pk": inspector.get_pk_constraint("satisfaction_rating")[
                    "constrained_columns"
                ],
                "order_unique": sorted(
                    tuple(u["column_names"])
                    for u in inspector.get_unique_constraints("satisfaction_work_order")
                ),
                "indexes": sorted(
                    i["name"] for t in TABLE_NAMES for i in inspector.get_indexes(t) if i["name"]
                ),
            }
    finally:
        engine.dispose()


def test_a_database_of_the_previous_release_is_upgraded_with_every_row(database_url: str) -> None:
    legacy_fixture.load(database_url)
    before = rows_of(database_url)
    assert {name: len(rows) for name, rows in before.items()} == legacy_fixture.ROWS
    assert keys_of(database_url)["rating_pk"] == ["rating_id"]
    api = make_api(database_url)  # migrates at start
    try:
        after = rows_of(database_url)
        # Every row, every value, work-order ids too; ratings numbered by arrival (r0003).
        assert _without_feed(after) == before
        numbers = sorted(r["feed_seq"] for r in after["satisfaction_rating"])
        assert numbers == list(range(1, len(numbers) + 1))
        # Each row's partition key is the day its id begins with (r0005).
        for table, column in (
            ("satisfaction_rating", "rating_id"),
            ("satisfaction_served_ticket", "ticket_id"),
        ):
            assert {r["id_day"] for r in after[table]} == {dt.date(2026, 11, 23)}
            assert all(r["id_day"] == partitions.id_day(r[column]) for r in after[table])
        keys = keys_of(database_url)
        # PostgreSQL's partitioned table holds the partition key in its primary key (r0005).
        partitioned = ["id_day"] if database_url.startswith("postgresql") else []
        assert keys["rating_pk"] == ["hall_id", "rating_id", *partitioned]
        assert keys["order_unique"] == [("hall_id", "rating_id")]
        assert "ix_satisfaction_rating_hall_id" not in keys["indexes"]
        assert "ix_satisfaction_rating_day" in keys["indexes"]
        # Resent by the hall that sent it: the stored content hash still matches.
        assert api.ingest(record())["duplicates"] == 1
        # Hall B gives ratings under ids hall A's stored ones hold, a 差评 among them.
        bad = hall_b("20261123-A002", level="very_dissatisfied", reasons=["R02"])
        assert api.ingest(hall_b("20261123-A001"), bad, role="hall_b")["work_orders_opened"] == 1
        orders = api.get("/api/v1/work-orders", "supervision", rating_id="20261123-A002")[1]
        by_hall = {o["hall_id"]: o for o in orders["items"]}
        assert set(by_hall) == {HALL_A, HALL_B}
        assert by_hall[HALL_B]["id"] == legacy_fixture.ROWS["satisfaction_work_order"] + 1
        old = api.get(f"/api/v1/work-orders/{by_hall[HALL_A]['id']}", "floor")[1]
        assert [h["action"] for h in old["history"]] == ["verify", "appeal", "uphold"]
        assert old["state"] == "upheld"
        one = api.get("/api/v1/evaluations/20261123-A003", "floor")[1]
        assert (one["outcome"], one["case_number"]) == ("promised", "QS0017")
    finally:
        api.app.state.satisfaction.engine.dispose()
    assert _revision(database_url) == schema.head()


def test_migrated_and_fresh_databases_have_the_models_schema(
    database_url: str, second_url: str
) -> None:
    legacy_fixture.load(database_url)
    for url in (database_url, second_url):  # upgraded from b58f477; made from nothing
        engine = store.make_engine(url)
        try:
            schema.migrate(engine)
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                wanted = sa.MetaData()
                for table in (
                    *store.TABLES,
                    *NEW_TABLES,
                    *live.LIVE.metadata.tables.values(),
                    archive.LEDGER,
                ):
                    table.to_metadata(wanted)
                diffs = compare_metadata(context, wanted)
        finally:
            engine.dispose()
        assert [d for d in diffs if not _is_foreign(d)] == [], url
    assert keys_of(database_url) == keys_of(second_url)


def _is_foreign(diff: Any) -> bool:
    """A difference about a table that is not ours (alembic_version, a month's partition)."""
    table = diff[1] if isinstance(diff, tuple) else None
    if isinstance(table, sa.Index):
        table = table.table
    ours = {*TABLE_NAMES, *(t.name for t in NEW_TABLES), archive.LEDGER.name}
    return isinstance(table, sa.Table) and table.name not in ours


def test_the_baseline_revision_is_the_schema_the_previous_release_made(
    database_url: str, second_url: str
) -> None:
    legacy_fixture.load(database_url)
    engine = store.make_engine(second_url)
    with engine.begin() as conn:
        bring_to_baseline(conn)
    engine.dispose()
    described = [_described(url) for url in (database_url, second_url)]
    assert described[0] == described[1]


def _described(url: str) -> dict[str, Any]:
    engine = store.make_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            return {
                table: (
                    [
                        (c["name"], str(c["type"]), c["nullable"])
                        for c in inspector.get_columns(table)
                    ],
                    inspector.get_pk_constraint(table)["constrained_columns"],
                    sorted(
                        tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
                    ),
                    sorted(
                        (i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)
                    ),
                )
                for table in TABLE_NAMES
            }
    finally:
        engine.dispose()


def test_a_database_migrated_by_a_newer_release_is_refused_by_name(database_url: str) -> None:
    engine = store.make_engine(database_url)
    schema.migrate(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    with pytest.raises(StoreError, match="0099_from_the_future"):
        schema.migrate(engine)
    engine.dispose()


def test_hallctl_satisfaction_migrate_stamps_and_upgrades_a_database_of_the_previous_release(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from controller.cli.satisfaction import add_satisfaction_commands

    legacy_fixture.load(database_url)
    parser = argparse.ArgumentParser()
    add_satisfaction_commands(parser.add_subparsers())
    status = parser.parse_args(["satisfaction-migrate", "--database", database_url, "--status"])
    assert status.run(status) == 0
    assert "none (made before migrations)" in capsys.readouterr().out
    assert _revision(database_url) is None
    args = parser.parse_args(["satisfaction-migrate", "--database", database_url])
    assert args.run(args) == 0
    assert f"create_all（迁移之前） → {schema.head()}" in capsys.readouterr().out
    assert args.run(args) == 0
    assert "already current" in capsys.readouterr().out
    assert _revision(database_url) == schema.head() != BASELINE


def _revision(url: str) -> str | None:
    engine = store.make_engine(url)
    try:
        return schema.current_revision(engine)
    finally:
        engine.dispose()


def test_every_table_the_models_define_is_in_the_baseline() -> None:
    ours = {t.name for t in store.TABLES}
    assert ours == set(TABLE_NAMES) and ours <= set(SQLModel.metadata.tables)
