"""API processes starting at once on one database: one migrates, the others wait, all start."""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from multiprocessing.synchronize import Barrier
from typing import Any

import sqlalchemy as sa

from controller.satisfaction import schema, store
from controller.satisfaction.app import create_satisfaction_app
from controller.satisfaction.auth import SatisfactionTokens
from tests.integration.satisfaction import legacy_fixture

STARTERS = 6


def start_api(url: str, barrier: Any, results: Any) -> None:
    """One API process: wait for the others, build the app (it migrates), report ok or the error."""
    try:
        barrier.wait(timeout=60)
        app = create_satisfaction_app(url, SatisfactionTokens(), {})
        engine = app.state.satisfaction.engine
        with engine.connect() as conn:
            conn.execute(sa.select(store.RATINGS.c.rating_id).limit(1)).all()
        engine.dispose()
        results.put("ok")
    except BaseException:
        results.put(traceback.format_exc(limit=3))


def _check_one_schema(url: str) -> None:
    engine = store.make_engine(url)
    try:
        assert schema.current_revision(engine) == schema.head()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    finally:
        engine.dispose()


def test_processes_starting_at_once_on_an_empty_database_all_start(database_url: str) -> None:
    # fork: every starter is ready at once (spawn spends seconds importing under load).
    context = multiprocessing.get_context("fork")
    barrier: Barrier = context.Barrier(STARTERS)
    results = context.Queue()
    processes = [
        context.Process(target=start_api, args=(database_url, barrier, results))
        for _ in range(STARTERS)
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert answers == ["ok"] * STARTERS, "\n".join(a for a in answers if a != "ok")
    _check_one_schema(database_url)


def test_threads_with_their_own_engines_upgrading_an_old_database_at_once(
    database_url: str,
) -> None:
    legacy_fixture.load(database_url)
    barrier = threading.Barrier(STARTERS)
    reports: list[schema.MigrationReport | BaseException] = []

    def starter() -> None:
        engine = store.make_engine(database_url)
        try:
            barrier.wait(timeout=30)
            reports.append(schema.migrate(engine))
        except BaseException as err:  # reported by the assertion below
            reports.append(err)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=starter) for _ in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(r, schema.MigrationReport) for r in reports), reports
    done = [r for r in reports if isinstance(r, schema.MigrationReport)]
    assert len(done) == STARTERS
    assert sum(r.changed for r in done) == 1  # one stamped and upgraded; the rest found it done
    assert {r.after for r in done} == {schema.head()}
    _check_one_schema(database_url)
    assert len(legacy_fixture_rows(database_url)) == legacy_fixture.ROWS["satisfaction_rating"]


def legacy_fixture_rows(url: str) -> list[Any]:
    """The ratings stored."""
    engine = store.make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(store.RATINGS.c.rating_id)))
    finally:
        engine.dispose()
