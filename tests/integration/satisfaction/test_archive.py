"""Retention and archive on a real PostgreSQL: a month written, verified, dropped; rollups still report it."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest

from controller.satisfaction import archive, partitions, store
from controller.satisfaction.archive import ArchiveRefused
from tests.integration.satisfaction.conftest import HALL_A, HALL_B, NOW, Api, at, make_api, record
from tests.integration.satisfaction.partition_parts import months_of, pg_api, pg_url, rows_in
from tests.integration.satisfaction.test_hall_keys import hall_b
from tests.integration.satisfaction.test_served_tickets import ticket

__all__ = ["pg_api", "pg_url"]  # fixtures (partition_parts)
OCTOBER, NOVEMBER = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
RATINGS, TICKETS = partitions.RATINGS, partitions.SERVED_TICKETS


def october(rating_id: str, **changes: Any) -> dict[str, Any]:
    """Hall A's rating of a ticket taken on 2026-10-12."""
    times = {"rated_at": at("2026-10-12 10:01"), "finished_at": at("2026-10-12 10:00")}
    return record(rating_id, ticket_id=rating_id, **(times | changes))


def fill_october(api: Api) -> None:
    api.ingest(
        october("20261012-A001"),
        october("20261012-A002", level="dissatisfied", reasons=["R01"]),
        october(
            "20261012-A003-D",
            channel="7",
            system_default=True,
            device_id="system-default",
            level="basically_satisfied",
            rated_at=at("2026-10-19 18:00"),
        ),
    )
    times = {"rated_at": at("2026-10-12 11:01"), "finished_at": at("2026-10-12 11:00")}
    api.ingest(hall_b("20261012-A001", **times), role="hall_b")
    served = [ticket(f"20261012-A00{n}", finished_at=at("2026-10-12 10:00")) for n in (1, 2, 3)]
    assert api.post("/api/v1/served-tickets", "hall", {"tickets": served})[0] == 200
    api.ingest(record("20261123-A001"))  # November stays


def read_back(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        return list(csv.DictReader(text))


def ranking(api: Api) -> Any:
    status, body = api.get(
        "/api/v1/rankings/halls", "supervision", **{"from": "2026-10-01", "to": "2026-10-31"}
    )
    assert status == 200, body
    return body


def test_a_month_past_retention_is_written_verified_dropped_and_still_reported(
    pg_api: Api, pg_url: str, tmp_path: Path
) -> None:
    fill_october(pg_api)
    engine = pg_api.app.state.satisfaction.engine
    # October had no partition (made ahead from November): its rows wait in the default one.
    assert partitions.maintain(engine, today=OCTOBER, ahead=0) == [
        RATINGS.partition(OCTOBER),
        TICKETS.partition(OCTOBER),
    ]
    before = ranking(pg_api)
    assert {h["kpis"]["hall_id"] for h in before["halls"]} == {HALL_A, HALL_B}
    moment = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    files = archive.archive_month(
        engine,
        month=OCTOBER,
        today=moment.date(),
        retention_months=1,
        directory=tmp_path,
        now=moment,
    )
    assert [(f.table, f.rows) for f in files] == [(RATINGS.name, 4), (TICKETS.name, 3)]
    for done in files:
        assert done.path == tmp_path / f"{done.table}-2026-10.csv.gz"
        assert hashlib.sha256(done.path.read_bytes()).hexdigest() == done.sha256
        sums = done.path.with_name(done.path.name + ".sha256").read_text(encoding="utf-8")
        assert sums == f"{done.sha256}  {done.path.name}\n"
        assert done.path.stat().st_mode & 0o077 == 0
    ratings = read_back(files[0].path)
    assert sorted((r["hall_id"], r["rating_id"]) for r in ratings) == [
        (HALL_B, "20261012-A001"),
        (HALL_A, "20261012-A001"),
        (HALL_A, "20261012-A002"),
        (HALL_A, "20261012-A003-D"),
    ]
    assert {r["level"] for r in ratings if r["rating_id"] == "20261012-A002"} == {"dissatisfied"}
    # The partitions are gone, the rows with them; November is untouched.
    assert OCTOBER not in months_of(pg_url, RATINGS) and OCTOBER not in months_of(pg_url, TICKETS)
    assert [r[1] for r in rows_in(pg_url, RATINGS.name)] == ["20261123-A001"]
    assert rows_in(pg_url, TICKETS.name) == []
    assert pg_api.get("/api/v1/evaluations/20261012-A001", "floor")[0] == 404
    # Reports over the archived month read rollups: the same figures.
    assert ranking(pg_api) == before
    ledger = [(r["month"], r["table_name"], r["part"], r["rows"]) for r in archive.ledger(engine)]
    assert ledger == [(OCTOBER, RATINGS.name, 1, 4), (OCTOBER, TICKETS.name, 1, 3)]


def test_a_late_record_for_an_archived_month_is_kept_and_archived_as_a_second_part(
    pg_api: Api, pg_url: str, tmp_path: Path
) -> None:
    fill_october(pg_api)
    engine = pg_api.app.state.satisfaction.engine
    moment = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    kwargs: dict[str, Any] = {"today": moment.date(), "retention_months": 1, "now": moment}
    first = archive.archive_month(engine, month=OCTOBER, directory=tmp_path, **kwargs)
    assert [f.rows for f in first] == [4, 3]  # from the default partition (no October one)
    pg_api.ingest(october("20261012-A004"))  # uploaded late: stored in the default partition
    assert [r[1] for r in rows_in(pg_url, RATINGS.default)] == ["20261012-A004"]
    again = archive.archive_month(engine, month=OCTOBER, directory=tmp_path, **kwargs)
    assert [(f.path.name, f.rows) for f in again] == [(f"{RATINGS.name}-2026-10-part2.csv.gz", 1)]
    assert rows_in(pg_url, RATINGS.default) == []


def test_an_archive_that_cannot_lock_the_table_gives_up_in_seconds_and_changes_nothing(
    pg_api: Api, pg_url: str, tmp_path: Path
) -> None:
    fill_october(pg_api)
    engine = pg_api.app.state.satisfaction.engine
    partitions.maintain(engine, today=OCTOBER, ahead=0)
    moment = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    outcome: list[object] = []

    def run_archive() -> None:
        try:
            outcome.append(
                archive.archive_month(
                    engine,
                    month=OCTOBER,
                    today=moment.date(),
                    retention_months=1,
                    directory=tmp_path,
                    now=moment,
                    lock_wait_seconds=1.0,
                )
            )
        except Exception as err:  # the outcome is judged below
            outcome.append(err)

    report = store.make_engine(pg_url)
    try:
        with report.connect() as reader:  # a long report: its transaction holds the table
            reader.exec_driver_sql(f"SELECT count(*) FROM {RATINGS.name}").scalar_one()
            archiver = threading.Thread(target=run_archive)
            archiver.start()
            archiver.join(timeout=20)
            assert not archiver.is_alive(), "the archive waited for the report instead of giving up"
            # Meanwhile a hall's upload went through: nothing queued behind the archive.
            assert pg_api.ingest(record("20261123-A002"))["accepted"] == 1
            reader.rollback()
    finally:
        report.dispose()
    [refused] = outcome
    assert isinstance(refused, ArchiveRefused) and refused.reason == "archive_busy", refused
    assert "稍后重试" in str(refused)
    assert list(tmp_path.iterdir()) == []  # no file left behind
    assert OCTOBER in months_of(pg_url, RATINGS)  # nothing dropped
    files = archive.archive_month(  # once the report is done, the same run goes through
        engine,
        month=OCTOBER,
        today=moment.date(),
        retention_months=1,
        directory=tmp_path,
        now=moment,
        lock_wait_seconds=1.0,
    )
    assert [(f.table, f.rows) for f in files] == [(RATINGS.name, 4), (TICKETS.name, 3)]


@pytest.mark.parametrize(
    "case",
    [
        (NOVEMBER, 1, "within_retention"),
        (OCTOBER, 2, "within_retention"),
        (OCTOBER, None, "no_retention"),
    ],
)
def test_a_month_within_retention_or_without_retention_set_is_refused_and_kept(
    pg_api: Api, pg_url: str, tmp_path: Path, case: tuple[dt.date, int | None, str]
) -> None:
    month, retention, reason = case
    fill_october(pg_api)
    engine = pg_api.app.state.satisfaction.engine
    moment = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    with pytest.raises(ArchiveRefused) as refused:
        archive.archive_month(
            engine,
            month=month,
            today=moment.date(),
            retention_months=retention,
            directory=tmp_path,
            now=moment,
        )
    assert refused.value.reason == reason
    assert len(rows_in(pg_url, RATINGS.name)) == 5 and list(tmp_path.iterdir()) == []


def test_an_archive_file_already_there_is_never_overwritten(
    pg_api: Api, pg_url: str, tmp_path: Path
) -> None:
    fill_october(pg_api)
    there = tmp_path / f"{RATINGS.name}-2026-10.csv.gz"
    there.write_bytes(b"an earlier archive")
    engine = pg_api.app.state.satisfaction.engine
    moment = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    with pytest.raises(ArchiveRefused, match="never overwritten"):
        archive.archive_month(
            engine,
            month=OCTOBER,
            today=moment.date(),
            retention_months=1,
            directory=tmp_path,
            now=moment,
        )
    assert there.read_bytes() == b"an earlier archive"
    assert len(rows_in(pg_url, RATINGS.name)) == 5


def test_sqlite_is_not_archived(tmp_path: Path) -> None:
    api = make_api(f"sqlite:///{tmp_path / 'satisfaction.db'}")
    try:
        api.ingest(record())
        with pytest.raises(ArchiveRefused, match="PostgreSQL"):
            archive.archive_month(
                api.app.state.satisfaction.engine,
                month=OCTOBER,
                today=NOW.date(),
                retention_months=1,
                directory=tmp_path / "out",
                now=NOW,
            )
    finally:
        api.app.state.satisfaction.engine.dispose()


def test_hallctl_satisfaction_archive_due_archives_old_months(
    pg_api: Api, pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from controller.cli.satisfaction import add_satisfaction_commands

    today = dt.datetime.now(dt.UTC).date()
    old = partitions.add_months(today, -14)  # well past a 12-month retention, whatever today is
    rating_id = f"{old:%Y%m%d}-A001"
    times = {"rated_at": at(f"{old} 10:01"), "finished_at": at(f"{old} 10:00")}
    pg_api.ingest(record(rating_id, **times))
    parser = argparse.ArgumentParser()
    add_satisfaction_commands(parser.add_subparsers())
    base = ["--database", pg_url, "--dir", str(tmp_path)]
    parts = parser.parse_args(["satisfaction-partitions", "--database", pg_url, "--ahead", "1"])
    assert parts.run(parts) == 0
    assert f"{RATINGS.name}: " in capsys.readouterr().out
    engine = store.make_engine(pg_url)
    try:
        partitions.maintain(engine, today=old, ahead=0)
    finally:
        engine.dispose()
    args = parser.parse_args(["satisfaction-archive", "--due", "--retention-months", "12", *base])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert f"{old:%Y-%m} {RATINGS.name}: 1 行 / rows" in out
    assert [r["rating_id"] for r in read_back(tmp_path / f"{RATINGS.name}-{old:%Y-%m}.csv.gz")] == [
        rating_id
    ]
    assert old.replace(day=1) not in months_of(pg_url, RATINGS)
    no_retention = parser.parse_args(["satisfaction-archive", "--due", *base])
    with pytest.raises(ArchiveRefused, match="retention_months"):
        no_retention.run(no_retention)
