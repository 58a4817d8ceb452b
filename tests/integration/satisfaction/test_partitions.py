"""Monthly partitions on a real PostgreSQL: keyed by the id's day, made ahead, no record ever lost."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from controller.satisfaction import ingest, partitions, schema, store
from controller.satisfaction.models import RatingCreate
from tests.integration.satisfaction import legacy_fixture
from tests.integration.satisfaction.conftest import (
    HALL_A,
    HALL_B,
    NOW,
    PROFILES,
    Api,
    at,
    make_api,
    record,
)
from tests.integration.satisfaction.partition_parts import months_of, pg_api, pg_url, rows_in
from tests.integration.satisfaction.test_hall_keys import hall_b
from tests.integration.satisfaction.test_served_tickets import ticket

RATINGS, TICKETS = partitions.RATINGS, partitions.SERVED_TICKETS
__all__ = ["pg_api", "pg_url"]  # fixtures (partition_parts)


def test_id_day_is_the_date_the_id_begins_with_and_sql_agrees() -> None:
    cases = {
        "20261207-A001-R1": dt.date(2026, 12, 7),
        "20240229-A001": dt.date(2024, 2, 29),
        "20250229-A001": partitions.UNDATED,  # no 29 February in 2025
        "20261301-A001": partitions.UNDATED,
        "20261100-A001": partitions.UNDATED,
        "19991231-A001": partitions.UNDATED,
        "slow": partitions.UNDATED,
        "2026": partitions.UNDATED,
    }
    assert {i: partitions.id_day(i) for i in cases} == cases
    assert partitions.add_months(dt.date(2026, 11, 1), 3) == dt.date(2027, 2, 1)
    assert partitions.add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)


def test_sql_id_day_agrees_with_python(pg_api: Api) -> None:
    ids = ["20261207-A001-R1", "20240229-X", "20250229-X", "20261301", "20261131-A", "r0", "2026"]
    engine = pg_api.app.state.satisfaction.engine
    with engine.connect() as conn:
        found = {
            i: conn.exec_driver_sql("SELECT satisfaction_id_day(%s)", (i,)).scalar() for i in ids
        }
    assert found == {i: partitions.id_day(i) for i in ids}


def test_a_fresh_database_has_monthly_partitions_from_this_month_on(
    pg_api: Api, pg_url: str
) -> None:
    ahead = partitions.months_ahead(NOW.date(), 3)  # made at start for the app's clock
    for table in partitions.TABLES:
        assert set(ahead) <= months_of(pg_url, table)


def test_two_halls_same_ids_land_in_the_month_and_a_resend_is_a_duplicate(
    pg_api: Api, pg_url: str
) -> None:
    assert pg_api.ingest(record("20261123-A001"))["accepted"] == 1
    assert pg_api.ingest(hall_b("20261123-A001"), role="hall_b")["accepted"] == 1
    assert pg_api.ingest(record("20261123-A001"))["duplicates"] == 1
    november = RATINGS.partition(dt.date(2026, 11, 1))
    day = dt.date(2026, 11, 23)
    assert rows_in(pg_url, november) == [
        (HALL_B, "20261123-A001", day),
        (HALL_A, "20261123-A001", day),
    ]
    assert rows_in(pg_url, RATINGS.default) == []


def test_a_record_of_a_month_without_partition_is_kept_and_moves_when_the_month_is_made(
    pg_api: Api, pg_url: str
) -> None:
    old = record(
        "20200105-A001", rated_at=at("2020-01-05 10:00"), finished_at=at("2020-01-05 09:58")
    )
    assert pg_api.ingest(old)["accepted"] == 1
    undated = record("r-without-date")
    assert pg_api.ingest(undated)["accepted"] == 1
    done = pg_api.post(
        "/api/v1/served-tickets",
        "hall",
        {"tickets": [ticket("20200105-A001", finished_at=at("2020-01-05 09:58"))]},
    )
    assert done == (200, {"accepted": 1, "duplicates": 0})
    assert rows_in(pg_url, RATINGS.default) == [
        (HALL_A, "20200105-A001", dt.date(2020, 1, 5)),
        (HALL_A, "r-without-date", partitions.UNDATED),
    ]
    assert pg_api.get("/api/v1/evaluations/20200105-A001", "floor")[0] == 200
    engine = store.make_engine(pg_url)
    try:
        made = partitions.maintain(engine, today=dt.date(2020, 1, 20), ahead=0)
    finally:
        engine.dispose()
    assert made == [RATINGS.partition(dt.date(2020, 1, 1)), TICKETS.partition(dt.date(2020, 1, 1))]
    assert rows_in(pg_url, RATINGS.partition(dt.date(2020, 1, 1))) == [
        (HALL_A, "20200105-A001", dt.date(2020, 1, 5))
    ]
    assert rows_in(pg_url, TICKETS.partition(dt.date(2020, 1, 1))) == [
        (HALL_A, "20200105-A001", dt.date(2020, 1, 5))
    ]
    assert rows_in(pg_url, RATINGS.default) == [(HALL_A, "r-without-date", partitions.UNDATED)]
    assert rows_in(pg_url, TICKETS.default) == []
    # Still one record, still a duplicate when resent, from its new partition.
    assert pg_api.ingest(old)["duplicates"] == 1
    assert pg_api.get("/api/v1/evaluations/20200105-A001", "floor")[0] == 200
    engine = store.make_engine(pg_url)
    try:  # made already: a second run makes nothing
        assert partitions.maintain(engine, today=dt.date(2020, 1, 20), ahead=0) == []
    finally:
        engine.dispose()


def test_an_id_day_that_is_not_the_ids_day_is_refused_by_the_database(
    pg_api: Api, pg_url: str
) -> None:
    row = ingest.rating_row(
        RatingCreate.model_validate(record("20261123-A009")), PROFILES[HALL_A], NOW
    )
    row.pop("bare_hash")
    row["id_day"] = dt.date(2026, 12, 1)  # another month: the same id could be stored twice
    engine = store.make_engine(pg_url)
    try:
        with (
            pytest.raises(IntegrityError, match="ck_satisfaction_rating_id_day"),
            engine.begin() as conn,
        ):
            store.bulk_insert(conn, store.RATINGS, [row])
    finally:
        engine.dispose()


def test_revision_0005_partitions_a_database_with_data_in_it(pg_url: str) -> None:
    legacy_fixture.load(pg_url)
    engine = store.make_engine(pg_url)
    try:
        schema.migrate(engine)
        with engine.connect() as conn:
            assert all(partitions.is_partitioned(conn, t) for t in partitions.TABLES)
            key = sa.inspect(conn).get_pk_constraint(TICKETS.name)["constrained_columns"]
            owner = conn.exec_driver_sql(
                "SELECT pg_get_serial_sequence('satisfaction_rating', 'feed_seq')"
            ).scalar()
    finally:
        engine.dispose()
    assert key == ["hall_id", "ticket_id", "id_day"]
    assert owner is not None and owner.endswith("satisfaction_rating_feed_seq")
    november = dt.date(2026, 11, 1)
    stored = legacy_fixture.ROWS
    assert len(rows_in(pg_url, RATINGS.partition(november))) == stored["satisfaction_rating"]
    assert len(rows_in(pg_url, TICKETS.partition(november))) == stored["satisfaction_served_ticket"]
    assert rows_in(pg_url, RATINGS.default) == rows_in(pg_url, TICKETS.default) == []
    api = make_api(pg_url)
    try:  # new ratings are numbered after the stored ones, in the same sequence
        assert api.ingest(record("20261124-A001", rated_at=at("2026-11-24 09:00")))["accepted"] == 1
        engine = api.app.state.satisfaction.engine
        with engine.connect() as conn:
            seq = conn.exec_driver_sql(
                "SELECT feed_seq FROM satisfaction_rating WHERE rating_id = '20261124-A001'"
            ).scalar()
        assert seq == stored["satisfaction_rating"] + 1
    finally:
        api.app.state.satisfaction.engine.dispose()
