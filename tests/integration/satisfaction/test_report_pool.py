"""Reports on their own pool (PostgreSQL): they never block ingest, time out by name, and /health checks the database."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.integration.satisfaction.conftest import Api, make_api, record
from tests.integration.satisfaction.pg_server import PostgresServer

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def small_pools(database_url: str) -> Iterator[Api]:
    """One report connection, no overflow, a short wait for it; ingest as configured."""
    api = make_api(
        database_url,
        report_pool_size=1,
        report_pool_overflow=0,
        report_pool_timeout_s=0.5,
        ingest_pool_size=2,
        ingest_pool_overflow=0,
        report_statement_timeout_ms=300,
    )
    yield api
    api.app.state.satisfaction.engine.dispose()
    api.app.state.satisfaction.reports.engine.dispose()


def test_reports_holding_every_report_connection_do_not_block_ingest(small_pools: Api) -> None:
    api = small_pools
    reports = api.app.state.satisfaction.reports.engine
    held = reports.connect()  # every report connection taken, as by long province reports
    try:
        for n in range(5):
            assert api.ingest(record(f"r{n}"))["accepted"] == 1
        status, body = api.get("/api/v1/kpis", "floor")
        assert (status, body["error"]) == (503, "reports_busy"), body
        assert "评价上报不受影响" in body["message"]
        # A streamed export answers the same named error, not a cut-off file.
        status, body = api.get("/api/v1/exports/evaluations", "floor")
        assert (status, body["error"]) == (503, "reports_busy"), body
    finally:
        held.close()
    status, body = api.get("/api/v1/kpis", "floor")
    assert status == 200 and body["total"]["rated"] == 5


def test_a_report_past_the_statement_timeout_is_a_named_503(
    small_pools: Api, database_url: str
) -> None:
    api = small_pools
    api.ingest(record("r1"))
    # Another session holds the rollups locked (as a long maintenance job would): the report
    # waits on the lock until its statement timeout cancels it.
    with psycopg.connect(database_url, autocommit=False) as blocker:
        blocker.execute("LOCK TABLE satisfaction_rollup_hall IN ACCESS EXCLUSIVE MODE")
        status, body = api.get("/api/v1/kpis", "floor")
        blocker.rollback()
    assert (status, body["error"]) == (503, "report_timeout"), body
    assert "0.3 秒" in body["message"]
    assert api.get("/api/v1/kpis", "floor")[0] == 200  # the next report runs as usual


def test_connections_carry_no_session_state_for_pgbouncer(small_pools: Api) -> None:
    api = small_pools
    for engine in (api.app.state.satisfaction.engine, api.app.state.satisfaction.reports.engine):
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            assert driver.prepare_threshold is None  # no server-side prepared statements
            # Nothing SET for the session: the timeout is SET LOCAL in each report.
            timeout = conn.exec_driver_sql("SHOW statement_timeout").scalar()
            plan = conn.exec_driver_sql("SHOW plan_cache_mode").scalar()
            assert (timeout, plan) == ("0", "auto")


def test_health_answers_503_when_the_database_is_gone(
    database_url: str, postgres: PostgresServer
) -> None:
    name = postgres.create_database()
    api = make_api(postgres.url(name))
    try:
        status, body = api.get("/api/v1/health", None)
        assert (status, body) == (200, {"status": "ok", "database": "ok"})
        postgres.drop_database(name)
        status, body = api.get("/api/v1/health", None)
        assert status == 503 and body["status"] == "unavailable", body
        assert body["problems"] == ["ingest: 数据库不可达", "reports: 数据库不可达"]
    finally:
        api.app.state.satisfaction.engine.dispose()
        api.app.state.satisfaction.reports.engine.dispose()
