"""Report reads on a pool of their own, each statement under a time limit; errors with names (503).

Ingest and reports share no connections: reports waiting for (or holding) every report
connection never hold a connection ingest needs. The limit is `SET LOCAL statement_timeout`
inside each report transaction, gone at its end, so PgBouncer in transaction mode may give
the next transaction any server connection.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from controller.domain.errors import StoreError, Unavailable
from controller.satisfaction import store
from controller.satisfaction.settings import SatisfactionSettings

log = logging.getLogger(__name__)
_QUERY_CANCELED = "57014"  # PostgreSQL SQLSTATE query_canceled (statement_timeout)


class ReportTimeout(Unavailable):
    """A report ran past the statement timeout (503 report_timeout)."""

    def __init__(self, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        super().__init__(
            "report_timeout",
            f"报表查询超过 {timeout_ms / 1000:g} 秒被取消，请缩小日期或大厅范围，或改用导出任务",
        )


class ReportsBusy(Unavailable):
    """Every report connection stayed busy for the pool timeout (503 reports_busy)."""

    def __init__(self, waited_s: float) -> None:
        self.waited_s = waited_s
        super().__init__(
            "reports_busy",
            f"报表查询繁忙，等待 {waited_s:g} 秒仍无空闲连接，请稍后重试（评价上报不受影响）",
        )


@dataclass(frozen=True)
class ReportDatabase:
    """The engine reports read through and the time limit of each of their statements."""

    engine: Engine
    statement_timeout_ms: int

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read transaction under the statement timeout; named 503 errors for time and pool."""
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(
                        f"SET LOCAL statement_timeout = {int(self.statement_timeout_ms)}"
                    )
                yield conn
        except PoolTimeout as err:
            raise ReportsBusy(float(self.engine.pool.timeout())) from err  # type: ignore[attr-defined]
        except DBAPIError as err:
            if getattr(err.orig, "sqlstate", None) == _QUERY_CANCELED:
                log.warning("report cancelled after %d ms: %s", self.statement_timeout_ms, err)
                raise ReportTimeout(self.statement_timeout_ms) from err
            raise StoreError(f"report read failed: {type(err).__name__}: {err}") from err
        except SQLAlchemyError as err:
            raise StoreError(f"report read failed: {type(err).__name__}: {err}") from err


def make_engines(
    database_url: str, settings: SatisfactionSettings
) -> tuple[Engine, ReportDatabase]:
    """The ingest engine and the report database, each on its pool sized by `settings`.

    Reports read `settings.report_database_url` (a read replica) when set, else the same
    database. SQLite (one hall, embedded) keeps one engine: its writers take turns anyway.
    """
    engine = store.make_engine(
        database_url,
        pool_size=settings.ingest_pool_size,
        max_overflow=settings.ingest_pool_overflow,
    )
    if engine.dialect.name != "postgresql":
        return engine, ReportDatabase(engine, settings.report_statement_timeout_ms)
    reports = store.make_engine(
        settings.report_database_url or database_url,
        pool_size=settings.report_pool_size,
        max_overflow=settings.report_pool_overflow,
        pool_timeout=settings.report_pool_timeout_s,
    )
    return engine, ReportDatabase(reports, settings.report_statement_timeout_ms)


def dispose(engine: Engine, reports: ReportDatabase) -> None:
    """Close both pools."""
    engine.dispose()
    if reports.engine is not engine:
        reports.engine.dispose()
