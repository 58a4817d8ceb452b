"""Retention and archive: a month past retention written to CSV gzip, verified, then its partitions dropped.

One transaction per month under the partition-maintenance lock: each partitioned table's rows
of the month (its month partition, plus any the default partition holds for the month) are
copied out with COPY to `<table>-<YYYY-MM>.csv.gz` beside a `.sha256` file; the file is read
back (checksum, gzip, CSV row count equal to the table's); only then is the partition detached
and dropped and the month recorded in `satisfaction_archive`. Any failure rolls everything
back and leaves no file. Rollups are not touched, so reports over archived months still work.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from controller.domain.errors import CommandRejected, StoreError
from controller.satisfaction import partitions
from controller.satisfaction.partitions import Partitioned, add_months, month_of

LEDGER = sa.Table(
    "satisfaction_archive",
    sa.MetaData(),
    sa.Column("month", sa.Date(), primary_key=True),
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("part", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("rows", sa.BigInteger(), nullable=False),
    sa.Column("file_name", sa.String(300), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
)
_CHUNK = 1 << 20
LOCK_WAIT_SECONDS = 10.0  # how long the archive waits for a lock before it gives up
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout ran out


class ArchiveRefused(CommandRejected):
    """A month may not be archived (within retention, no retention set, SQLite, file present)."""


@dataclass(frozen=True)
class ArchivedFile:
    """One table's rows of an archived month: the file, its row count and SHA-256."""

    table: str
    path: Path
    rows: int
    sha256: str


def archivable(month: dt.date, *, today: dt.date, retention_months: int) -> bool:
    """True once `month` ended `retention_months` whole months before today's month began."""
    return add_months(month_of(month), 1 + retention_months) <= month_of(today)


def due_months(engine: Engine, *, today: dt.date, retention_months: int) -> list[dt.date]:
    """Months that have a partition (of any table) and are past retention, oldest first."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        held = {m for t in partitions.TABLES for m in partitions.monthly_partitions(conn, t)}
    return sorted(m for m in held if archivable(m, today=today, retention_months=retention_months))


def archive_month(
    engine: Engine,
    *,
    month: dt.date,
    today: dt.date,
    retention_months: int | None,
    directory: Path,
    now: dt.datetime,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
) -> list[ArchivedFile]:
    """Write, verify and drop `month`'s rows of every partitioned table; the files written.

    ArchiveRefused `archive_busy` when a lock is not had within `lock_wait_seconds`.
    """
    month = month_of(month)
    _check_allowed(engine, month, today, retention_months)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    written: list[Path] = []
    try:
        with engine.execution_options(write=True).begin() as conn:
            # Detaching a partition locks the whole table: while it waits for a long report,
            # every upload would queue behind it. Give up instead; nothing is changed.
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{round(lock_wait_seconds * 1000)}ms'")
            partitions.lock_for_maintenance(conn)
            part = 1 + int(
                conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(LEDGER.c.part), 0)).where(
                        LEDGER.c.month == month
                    )
                ).scalar_one()
            )
            done = []
            for table in partitions.TABLES:
                archived = _archive_table(
                    conn, table, month=month, part=part, directory=directory, written=written
                )
                if archived is None:
                    continue
                done.append(archived)
                conn.execute(
                    sa.insert(LEDGER).values(
                        month=month,
                        table_name=table.name,
                        part=part,
                        rows=archived.rows,
                        file_name=archived.path.name,
                        sha256=archived.sha256,
                        archived_at=now.astimezone(dt.UTC),
                    )
                )
            return done
    except BaseException as err:
        for path in written:
            path.unlink(missing_ok=True)
        if (
            isinstance(err, OperationalError)
            and getattr(err.orig, "sqlstate", "") == LOCK_NOT_AVAILABLE
        ):
            raise ArchiveRefused(
                "archive_busy",
                f"{month:%Y-%m} 的数据正被其他查询占用超过 {lock_wait_seconds:g} 秒，未做任何改动，请稍后重试"
                f" / the tables stayed busy for {lock_wait_seconds:g} s: nothing was changed, try again",
            ) from err
        raise


def require_retention(retention_months: int | None) -> int:
    """The retention in months; ArchiveRefused when none is set (records are then kept for good)."""
    if retention_months is None:
        raise ArchiveRefused(
            "no_retention",
            "未设置保留期（retention_months），数据永久保留，不归档 / "
            "retention_months is not set: records are kept for good",
        )
    return retention_months


def _check_allowed(
    engine: Engine, month: dt.date, today: dt.date, retention_months: int | None
) -> None:
    if engine.dialect.name != "postgresql":
        raise ArchiveRefused(
            "archive_needs_postgresql",
            "只有 PostgreSQL 评价库按月分区并可归档；大厅内置的 SQLite 库不归档 / "
            "only a PostgreSQL satisfaction database is partitioned and archived",
        )
    retention_months = require_retention(retention_months)
    if not archivable(month, today=today, retention_months=retention_months):
        first = add_months(month_of(today), -1 - retention_months)
        raise ArchiveRefused(
            "within_retention",
            f"{month:%Y-%m} 仍在 {retention_months} 个月保留期内，最晚可归档 {first:%Y-%m} / "
            f"{month:%Y-%m} is within the {retention_months}-month retention; "
            f"months up to {first:%Y-%m} may be archived",
        )


def _archive_table(
    conn: Connection,
    table: Partitioned,
    *,
    month: dt.date,
    part: int,
    directory: Path,
    written: list[Path],
) -> ArchivedFile | None:
    """One table's month: write, verify, detach and drop; None when it holds no row of it."""
    if not partitions.is_partitioned(conn, table):
        raise ArchiveRefused(
            "not_partitioned",
            f"{table.name} 尚未分区，请先运行 hallctl satisfaction-migrate / "
            f"{table.name} is not partitioned: run hallctl satisfaction-migrate first",
        )
    partition = partitions.monthly_partitions(conn, table).get(month)
    start, end = month, add_months(month, 1)
    names = ", ".join(f'"{c}"' for c in partitions.columns(conn, table.name))
    sources = [
        f"SELECT {names} FROM {table.default} WHERE id_day >= '{start}' AND id_day < '{end}'"
    ]
    if partition is not None:
        conn.exec_driver_sql(f"LOCK TABLE {partition} IN SHARE MODE")
        sources.insert(0, f"SELECT {names} FROM {partition}")
    conn.exec_driver_sql(f"LOCK TABLE {table.default} IN SHARE MODE")
    query = " UNION ALL ".join(sources)
    expected = int(conn.exec_driver_sql(f"SELECT count(*) FROM ({query}) AS month").scalar_one())
    if expected == 0 and partition is None:
        return None
    suffix = "" if part == 1 else f"-part{part}"
    path = directory / f"{table.name}-{month:%Y-%m}{suffix}.csv.gz"
    if path.exists():
        raise ArchiveRefused(
            "archive_file_exists",
            f"归档文件 {path} 已存在，不覆盖 / {path} exists: an archive is never overwritten",
        )
    partial = path.with_name(path.name + ".partial")
    written.append(partial)
    digest = _copy_out(conn, query, partial)
    _verify(partial, digest, expected)
    os.replace(partial, path)
    written.append(path)
    checksum = path.with_name(path.name + ".sha256")
    checksum.write_text(f"{digest}  {path.name}\n", encoding="utf-8")
    written.append(checksum)
    if partition is not None:
        conn.exec_driver_sql(f"ALTER TABLE {table.name} DETACH PARTITION {partition}")
        conn.exec_driver_sql(f"DROP TABLE {partition}")
    conn.exec_driver_sql(
        f"DELETE FROM {table.default} WHERE id_day >= '{start}' AND id_day < '{end}'"
    )
    return ArchivedFile(table.name, path, expected, digest)


def _copy_out(conn: Connection, query: str, path: Path) -> str:
    """COPY the query's rows as CSV with a header into a gzip file at `path`; its SHA-256."""
    import psycopg

    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    digest = hashlib.sha256()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as raw:
        hashing = _Hashing(raw, digest)
        statement = f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER)"
        with (
            gzip.GzipFile(fileobj=hashing, mode="wb", mtime=0) as packed,
            driver.cursor() as cursor,
            cursor.copy(statement) as copy,
        ):
            for chunk in copy:
                packed.write(chunk)
        raw.flush()
        os.fsync(raw.fileno())
    return digest.hexdigest()


def _verify(path: Path, digest: str, expected: int) -> None:
    """Read the file back: the same SHA-256, a whole gzip stream, `expected` CSV rows."""
    check = hashlib.sha256()
    with path.open("rb") as raw:
        while chunk := raw.read(_CHUNK):
            check.update(chunk)
    if check.hexdigest() != digest:
        raise StoreError(f"archive {path}: checksum differs on reading back")
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        rows = sum(1 for _ in csv.reader(text)) - 1  # less the header
    if rows != expected:
        raise StoreError(f"archive {path}: {rows} rows read back, {expected} in the table")


class _Hashing(io.RawIOBase):
    """A write-only stream that hashes what it passes on."""

    def __init__(self, target: io.BufferedWriter, digest: hashlib._Hash) -> None:
        self.target, self.digest = target, digest

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.digest.update(data)
        return self.target.write(data)


def ledger(engine: Engine) -> list[sa.RowMapping]:
    """Every month archived so far, oldest first."""
    try:
        with engine.connect() as conn:
            query = sa.select(LEDGER).order_by(LEDGER.c.month, LEDGER.c.table_name, LEDGER.c.part)
            return list(conn.execute(query).mappings())
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read the archive ledger: {err}") from err
