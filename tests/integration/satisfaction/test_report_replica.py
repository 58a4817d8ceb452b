"""Reports on a real streaming replica: they read `report_database_url`, ingest writes the primary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from controller.satisfaction.settings import SatisfactionSettings
from tests.integration.satisfaction.conftest import Api, make_api, record
from tests.integration.satisfaction.pg_replica import ReplicaServer
from tests.integration.satisfaction.pg_server import PostgresServer


@pytest.fixture(scope="module")
def replica(postgres: PostgresServer) -> Iterator[ReplicaServer]:
    """A hot standby of the session's PostgreSQL, streaming from it."""
    server = ReplicaServer(postgres).start()
    yield server
    server.stop()


def rated(api: Api) -> int:
    status, body = api.get("/api/v1/kpis")
    assert status == 200, body
    return int(body["total"]["rated"])


def feed_ids(api: Api) -> list[str]:
    status, body = api.get("/api/v1/exchange/feed", "reader", limit=100)
    assert status == 200, body
    return [item["rating_id"] for item in body["items"]]


def test_reports_read_the_replica_while_ingest_and_work_orders_use_the_primary(
    postgres: PostgresServer, replica: ReplicaServer
) -> None:
    name, url = postgres.create_schema()  # replicated to the standby like any change
    api = make_api(url, report_database_url=replica.url("postgres", name))
    try:
        bad = record("20261123-A002", level="dissatisfied", reasons=["R01"])
        api.ingest(record("20261123-A001"), bad)
        replica.caught_up()
        assert rated(api) == 2
        assert feed_ids(api) == ["20261123-A001", "20261123-A002"]
        replica.replay(paused=True)
        try:
            assert api.ingest(record("20261123-A003"))["accepted"] == 1  # written to the primary
            assert api.ingest(record("20261123-A003"))["duplicates"] == 1  # and read back there
            orders = api.get("/api/v1/work-orders", "supervision")[1]
            assert [o["rating_id"] for o in orders["items"]] == ["20261123-A002"]
            # The standby has not applied the third rating: reports and the feed read it.
            assert rated(api) == 2
            assert feed_ids(api) == ["20261123-A001", "20261123-A002"]
        finally:
            replica.replay(paused=False)
        replica.caught_up()
        assert rated(api) == 3
        assert feed_ids(api) == ["20261123-A001", "20261123-A002", "20261123-A003"]
    finally:
        context = api.app.state.satisfaction
        context.engine.dispose()
        context.reports.engine.dispose()
        postgres.drop_schema(name)


def test_a_report_database_needs_postgresql_on_both_sides() -> None:
    replica = "postgresql://reports@10.0.1.21/satisfaction"
    central = SatisfactionSettings(
        database_url="postgresql://hcp@10.0.1.20/satisfaction", report_database_url=replica
    )
    assert central.report_database_url == replica
    with pytest.raises(ValidationError, match="no replica"):
        SatisfactionSettings(
            database_url="sqlite:///var/satisfaction.db", report_database_url=replica
        )
