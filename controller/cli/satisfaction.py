"""`hallctl satisfaction-api` (the satisfaction API alone, for a central deployment), `satisfaction-migrate`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from controller.cli.satisfaction_archive import add_archive_commands
from controller.domain.errors import HallError
from controller.satisfaction.auth import SatisfactionTokens
from controller.satisfaction.settings import SatisfactionSettings, load_central_config

DEFAULT_SATISFACTION_CONFIG = Path("config/satisfaction.example.toml")


CONFIG_ENV = "HALLCTL_SATISFACTION_CONFIG_FILE"


def add_satisfaction_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `hallctl satisfaction-api`."""
    api = sub.add_parser(
        "satisfaction-api",
        help="run the satisfaction API (好差评) alone, for many halls",
        description="Serve the satisfaction API from its own config file. The database URL "
        "comes from the file or from HALLCTL_SATISFACTION_DATABASE_URL (which wins).",
    )
    api.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_SATISFACTION_CONFIG,
        help=f"satisfaction API config (default {DEFAULT_SATISFACTION_CONFIG})",
    )
    api.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    api.add_argument("--port", type=int, default=8100, help="port to listen on (default 8100)")
    api.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (a central API on PostgreSQL: one per core)",
    )
    api.add_argument(
        "--check", action="store_true", help="check the config and the database, then exit"
    )
    api.set_defaults(run=run_satisfaction_api)
    migrate = sub.add_parser(
        "satisfaction-migrate",
        help="bring a satisfaction database to this release's schema (Alembic), then exit",
        description="Migrate the satisfaction database under the migration lock (what every "
        "API process also does at start): the central one named by --config (or "
        "HALLCTL_SATISFACTION_DATABASE_URL), or any by --database, e.g. a hall's "
        "sqlite:///var/lib/hall-controller/satisfaction.db. A database made before migrations "
        "is recognised and stamped first.",
    )
    source = migrate.add_mutually_exclusive_group()
    source.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_SATISFACTION_CONFIG,
        help=f"satisfaction API config (default {DEFAULT_SATISFACTION_CONFIG})",
    )
    source.add_argument("--database", help="a database URL instead of the config's")
    migrate.add_argument(
        "--status", action="store_true", help="print the database's revision and this release's"
    )
    migrate.set_defaults(run=run_satisfaction_migrate)
    add_archive_commands(sub)


def run_satisfaction_migrate(args: argparse.Namespace) -> int:
    """Migrate (or with --status only report) the satisfaction database."""
    from controller.satisfaction import schema, store

    url = args.database or load_central_config(args.config).settings.database_url
    engine = store.make_engine(url)
    try:
        where = _safe_url(url)
        if args.status:
            current = schema.current_revision(engine)
            print(f"评价数据库 / satisfaction database {where}")
            print(
                f"  当前版本 / revision: {current or '无（未迁移过）/ none (made before migrations)'}"
            )
            print(f"  本版本 / this release: {schema.head()}")
            return 0
        report = schema.migrate(engine)
    finally:
        engine.dispose()
    before = report.before or ("create_all（迁移之前）" if report.adopted else "空库 / empty")
    verb = "已迁移 / migrated" if report.changed else "已是最新 / already current"
    print(f"评价数据库 / satisfaction database {where}: {verb}: {before} → {report.after}")
    return 0


def run_satisfaction_api(args: argparse.Namespace) -> int:
    """Load the config, open the database (creating tables), then serve or just report."""
    import uvicorn

    from controller.satisfaction.app import create_satisfaction_app

    loaded = load_central_config(args.config)
    settings: SatisfactionSettings = loaded.settings
    app = create_satisfaction_app(
        settings.database_url,
        SatisfactionTokens(loaded.tokens),
        loaded.profiles,
        settings=settings,
        import_into_registry=True,
    )
    where = _safe_url(settings.database_url)
    print(f"评价数据接口 / satisfaction API: {len(loaded.profiles)} 个大厅, 数据库 {where}")
    if settings.report_database_url:
        print(f"  报表只读库 / reports read {_safe_url(settings.report_database_url)}")
    if args.check:
        print("配置与数据库正常 / config and database OK")
        return 0
    if not loaded.tokens and not os.environ.get("HALLCTL_SATISFACTION_ALLOW_NO_TOKENS"):
        raise HallError(f"{args.config}: no [[tokens]]: nobody could push or read ratings")
    print(f"  http://{args.host}:{args.port}/docs")
    if args.workers > 1:
        # Worker processes build their own app (tables exist by now) from the same file.
        os.environ[CONFIG_ENV] = str(args.config.resolve())
        uvicorn.run(
            "controller.cli.satisfaction:app_from_env",
            factory=True,
            workers=args.workers,
            **worker_patience(),
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,
        )
        return 0
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def worker_patience() -> dict[str, Any]:
    """uvicorn options giving a starting worker time to import, wait on the migration lock, migrate.

    uvicorn pings each worker every half second and kills one that has not answered within
    `timeout_worker_healthcheck` (5 s), even one still importing: on a loaded 2-core host the
    workers were killed and restarted for minutes and never served. Older uvicorn lacks it.
    """
    import inspect

    import uvicorn

    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters:
        return {"timeout_worker_healthcheck": 60}
    return {}


def app_from_env() -> FastAPI:
    """The app of one worker process, from the config file named by HALLCTL_SATISFACTION_CONFIG_FILE."""
    from controller.satisfaction.app import create_satisfaction_app

    loaded = load_central_config(Path(os.environ[CONFIG_ENV]))
    return create_satisfaction_app(
        loaded.settings.database_url,
        SatisfactionTokens(loaded.tokens),
        loaded.profiles,
        settings=loaded.settings,
        import_into_registry=True,
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
