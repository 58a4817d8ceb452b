"""`hallctl satisfaction-partitions` (make monthly partitions ahead) and `satisfaction-archive`."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from controller.satisfaction.settings import SatisfactionSettings, load_central_config

DEFAULT_SATISFACTION_CONFIG = Path("config/satisfaction.example.toml")


def add_archive_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `hallctl satisfaction-partitions` and `hallctl satisfaction-archive`."""
    parts = sub.add_parser(
        "satisfaction-partitions",
        help="make the satisfaction database's monthly partitions ahead (PostgreSQL), list them",
        description="Make this month's partitions of ratings and finished tickets and the next "
        "months' (partition_months_ahead, or --ahead), moving any rows the default partition "
        "holds for them; then list the partitions. Every API process does the same at start; "
        "run this monthly from cron so a month never starts without its partition.",
    )
    _source(parts)
    parts.add_argument("--ahead", type=int, help="months ahead (default: the config's)")
    parts.set_defaults(run=run_partitions)
    archive = sub.add_parser(
        "satisfaction-archive",
        help="archive months past retention to CSV gzip, verify, then drop their partitions",
        description="For each month past retention_months (or the one --month names): write "
        "each partitioned table's rows of the month to <archive_dir>/<table>-<YYYY-MM>.csv.gz "
        "with a .sha256 file, read the file back (checksum, row count), then detach and drop "
        "the month's partitions. Rollups stay: reports over archived months still work.",
    )
    _source(archive)
    which = archive.add_mutually_exclusive_group(required=True)
    which.add_argument("--month", type=_month, help="one month, YYYY-MM")
    which.add_argument("--due", action="store_true", help="every month past retention")
    archive.add_argument("--dir", type=Path, help="archive directory (default: archive_dir)")
    archive.add_argument(
        "--retention-months", type=int, help="override retention_months of the config"
    )
    archive.set_defaults(run=run_archive)


def _source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_SATISFACTION_CONFIG,
        help=f"satisfaction API config (default {DEFAULT_SATISFACTION_CONFIG})",
    )
    source.add_argument("--database", help="a database URL instead of the config's")


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"月份应为 YYYY-MM / a month is YYYY-MM: {text!r}"
        ) from err


def _settings(args: argparse.Namespace) -> SatisfactionSettings:
    if args.database:
        return SatisfactionSettings(database_url=args.database)
    return load_central_config(args.config).settings


def run_partitions(args: argparse.Namespace) -> int:
    """Make the partitions ahead, then print every table's months and default-partition rows."""
    from controller.satisfaction import partitions, store

    settings = _settings(args)
    engine = store.make_engine(settings.database_url)
    try:
        today = dt.datetime.now(settings.zone).date()
        ahead = args.ahead if args.ahead is not None else settings.partition_months_ahead
        made = partitions.maintain(engine, today=today, ahead=ahead)
        if engine.dialect.name != "postgresql":
            print("SQLite 评价库不分区 / a SQLite satisfaction database has no partitions")
            return 0
        for name in made:
            print(f"已建分区 / made {name}")
        with engine.connect() as conn:
            for table in partitions.TABLES:
                months = sorted(partitions.monthly_partitions(conn, table))
                spans = f"{months[0]:%Y-%m} … {months[-1]:%Y-%m}" if months else "无 / none"
                default = partitions.default_rows(conn, table)
                print(
                    f"{table.name}: {len(months)} 个月分区 / monthly partitions {spans}; "
                    f"默认分区 / default partition {default} 行 / rows"
                )
    finally:
        engine.dispose()
    return 0


def run_archive(args: argparse.Namespace) -> int:
    """Archive the month named, or every month due; print each file, its rows and SHA-256."""
    from controller.satisfaction import archive, store

    settings = _settings(args)
    retention = args.retention_months or settings.retention_months
    directory: Path = args.dir or settings.archive_dir
    engine = store.make_engine(settings.database_url)
    try:
        now = dt.datetime.now(settings.zone)
        months = [args.month]
        if args.due:
            kept = archive.require_retention(retention)
            months = archive.due_months(engine, today=now.date(), retention_months=kept)
            if not months:
                print("没有超过保留期的月份 / no month is past retention")
        for month in months:
            files = archive.archive_month(
                engine,
                month=month,
                today=now.date(),
                retention_months=retention,
                directory=directory,
                now=now,
            )
            for done in files:
                print(
                    f"{month:%Y-%m} {done.table}: {done.rows} 行 / rows → {done.path} "
                    f"sha256 {done.sha256}"
                )
            if not files:
                print(f"{month:%Y-%m}: 无数据 / nothing to archive")
    finally:
        engine.dispose()
    return 0
