"""Rollups: what ingest, corrections and work-order steps keep equals a recompute from raw rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from controller.satisfaction import rollup_rebuild, schema, store
from controller.satisfaction.models_rollup import ROLLUP_TABLES
from controller.satisfaction.rollup_reads import whole_months
from controller.satisfaction.schema_baseline import BASELINE, bring_to_baseline
from tests.integration.satisfaction import legacy_fixture
from tests.integration.satisfaction.conftest import HALL_A, HALL_B, Api, at, make_api, record
from tests.integration.satisfaction.test_hall_keys import hall_b


def rollup_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row, in key order."""
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]
            for table in ROLLUP_TABLES
        }


def recomputed(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The rollups as a rebuild from the raw rows makes them (rolled back afterwards)."""
    with engine.connect() as conn:
        transaction = conn.begin()
        rollup_rebuild.rebuild(conn)
        found = {
            table.name: [
                tuple(row)
                for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]
            for table in ROLLUP_TABLES
        }
        transaction.rollback()
    return found


def _served(day: str, window: int, served: int, hall: str = HALL_A) -> dict[str, Any]:
    return {
        "hall_id": hall,
        "day": day,
        "window": window,
        "staff_id": f"S0{window}01",
        "service": "SB",
        "served": served,
    }


def _ticket(ticket_id: str, finished: str, window: int = 1) -> dict[str, Any]:
    return {
        "hall_id": HALL_A,
        "ticket_id": ticket_id,
        "number": "A001",
        "window": window,
        "staff_id": "S0101",
        "service": "SB",
        "finished_at": at(finished),
    }


def _act(api: Api, order: int, action: str, role: str = "supervision") -> None:
    status, body = api.post(f"/api/v1/work-orders/{order}/{action}", role, {"note": action})
    assert status == 200, body


def test_rollups_kept_at_ingest_equal_a_recompute_after_late_uploads_and_corrections(
    api: Api,
) -> None:
    engine = api.app.state.satisfaction.engine
    api.ingest(
        record("a1"),
        record("a2", level="satisfied", window=2, staff_id="S0201"),
        record("a3", level="dissatisfied", reasons=["R01"]),
        record("a4", level="basically_satisfied", channel="7", system_default=True),
        record("a5", level="very_dissatisfied", reasons=["R02"], assess_number=2),
    )
    api.ingest(hall_b("a1", level="very_dissatisfied", reasons=["R02"]), role="hall_b")
    assert api.post("/api/v1/served", "hall", {"counts": [_served("2026-11-23", 1, 8)]})[0] == 200
    tickets = [_ticket("t1", "2026-11-23 10:00"), _ticket("t2", "2026-11-23 11:00", window=2)]
    assert api.post("/api/v1/served-tickets", "hall", {"tickets": tickets})[0] == 200
    assert rollup_rows(engine) == recomputed(engine)
    # A late upload: a rating of a day already reported, a week later.
    api.ingest(
        record("late-1", rated_at=at("2026-11-16 15:00"), finished_at=at("2026-11-16 14:59"))
    )
    # Corrections: a served count pushed again replaces the first; resends change nothing.
    counts = [_served("2026-11-23", 1, 5), _served("2026-11-23", 2, 0)]
    assert api.post("/api/v1/served", "hall", {"counts": counts})[0] == 200
    assert api.ingest(record("a1"))["duplicates"] == 1
    # Work-order steps: rectified (on time), appealed and overturned.
    orders = {o["rating_id"]: o["id"] for o in api.get("/api/v1/work-orders")[1]["items"]}
    for action in ("verify", "rectify"):
        _act(api, orders["a3"], action)
    for action in ("appeal", "overturn"):
        _act(api, orders["a5"], action)
    assert rollup_rows(engine) == recomputed(engine)
    kpis = api.get("/api/v1/kpis", "floor", group_by="window")[1]
    rows = {r["window"]: r for r in kpis["rows"]}
    assert (rows[1]["served"], rows[1]["rated"], rows[1]["defaults"]) == (5 + 1 + 0, 3, 1)
    assert rows[1]["bad"] == 1 and rows[1]["follow_ups"] == 1
    assert (rows[2]["served"], rows[2]["rated"]) == (0 + 1, 1)
    assert (rows[1]["bad_due"], rows[1]["bad_rectified_on_time"]) == (1, 1)


def test_migration_r0003_fills_rollups_from_a_database_at_r0002(database_url: str) -> None:
    legacy_fixture.load(database_url)
    engine = store.make_engine(database_url)
    try:
        with engine.connect() as conn:
            bring_to_baseline(conn)
            conn.commit()
            config = schema._config(conn)
            command.stamp(config, BASELINE)
            conn.commit()
            command.upgrade(config, "0002_hall_keys")
            conn.commit()
        assert schema.current_revision(engine) == "0002_hall_keys"
        report = schema.migrate(engine)
        assert (report.before, report.after) == ("0002_hall_keys", schema.head())
        filled = rollup_rows(engine)
        assert filled == recomputed(engine)
        with engine.connect() as conn:
            ratings = conn.execute(sa.text("SELECT count(*) FROM satisfaction_rating")).scalar()
            in_rollups = conn.execute(
                sa.text("SELECT sum(rated + defaults + follow_ups) FROM satisfaction_rollup_hall")
            ).scalar()
        assert ratings == in_rollups == legacy_fixture.ROWS["satisfaction_rating"]
    finally:
        engine.dispose()
    api = make_api(database_url)
    try:
        # The migrated figures serve reports; new ratings add to them.
        before = api.get("/api/v1/kpis", "supervision")[1]["total"]["rated"]
        api.ingest(hall_b("20261123-A009"), role="hall_b")
        after = api.get("/api/v1/kpis", "supervision")[1]["total"]["rated"]
        assert after == before + 1
        assert rollup_rows(api.app.state.satisfaction.engine) == recomputed(
            api.app.state.satisfaction.engine
        )
    finally:
        api.app.state.satisfaction.engine.dispose()


def test_the_province_ranking_orders_halls_by_satisfaction(api: Api) -> None:
    api.ingest(record("a1"), record("a2", level="dissatisfied", reasons=["R01"]))
    api.ingest(hall_b("b1"), hall_b("b2"), role="hall_b")
    status, body = api.get("/api/v1/rankings/halls", "supervision", **{"from": "2026-11-01"})
    assert status == 200, body
    assert [(h["rank"], h["kpis"]["hall_id"]) for h in body["halls"]] == [(1, HALL_B), (2, HALL_A)]
    assert [h["kpis"]["satisfaction_rate"] for h in body["halls"]] == [1.0, 0.5]
    fewest_bad = api.get("/api/v1/rankings/halls", "supervision", by="bad_rate")[1]
    assert [h["kpis"]["hall_id"] for h in fewest_bad["halls"]] == [HALL_B, HALL_A]


def test_whole_months_are_the_calendar_months_inside_the_range() -> None:
    d = dt.date
    assert whole_months(d(2026, 9, 25), d(2026, 11, 20)) == (d(2026, 10, 1), d(2026, 10, 1))
    assert whole_months(d(2026, 10, 1), d(2026, 11, 30)) == (d(2026, 10, 1), d(2026, 11, 1))
    assert whole_months(d(2026, 10, 2), d(2026, 10, 30)) is None
    assert whole_months(d(2026, 2, 1), d(2026, 2, 28)) == (d(2026, 2, 1), d(2026, 2, 1))
    assert whole_months(None, d(2026, 10, 30)) == (dt.date.min, d(2026, 9, 1))
    assert whole_months(d(2026, 10, 30), None) == (d(2026, 11, 1), dt.date.max)


def test_a_report_by_staff_reads_whole_months_and_the_partial_days_alike(api: Api) -> None:
    days = [dt.date(2026, 9, 20) + dt.timedelta(days=n) for n in range(0, 62, 3)]
    records = [
        record(
            f"m{n}",
            window=1 + n % 3,
            staff_id=f"S0{1 + n % 3}01",
            level="dissatisfied" if n % 4 == 0 else "satisfied",
            reasons=["R01"] if n % 4 == 0 else [],
            rated_at=at(f"{day} 10:00"),
            finished_at=at(f"{day} 09:59"),
        )
        for n, day in enumerate(days)
    ]
    api.ingest(*records)
    span = {"from": "2026-09-25", "to": "2026-11-20", "group_by": "staff"}
    by_staff = api.get("/api/v1/kpis", "floor", **span)[1]["rows"]
    by_day = api.get("/api/v1/kpis", "floor", **span | {"group_by": ["staff", "day"]})[1]["rows"]
    summed: dict[str, dict[str, int]] = {}
    for row in by_day:
        into = summed.setdefault(row["staff_id"], {"rated": 0, "satisfied": 0, "bad": 0})
        for name in into:
            into[name] += row[name]
    assert {
        r["staff_id"]: {n: r[n] for n in ("rated", "satisfied", "bad")} for r in by_staff
    } == summed
    inside = [d for d in days if dt.date(2026, 9, 25) <= d <= dt.date(2026, 11, 20)]
    assert sum(r["rated"] for r in by_staff) == len(inside)
