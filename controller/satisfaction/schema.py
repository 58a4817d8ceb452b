"""Schema migrations of the satisfaction store (Alembic), applied by one process under a lock.

Every API process migrates at start; the lock (PostgreSQL: a session advisory lock; SQLite: an
exclusive lock on a file beside the database) makes the first one migrate and the others wait,
then find the schema current. A database made before migrations (create_all, no alembic_version
table) is recognised, brought to the baseline (missing tables, columns older releases lacked)
and stamped, then upgraded like any other.
"""

from __future__ import annotations

import fcntl
import logging
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from controller.domain.errors import StoreError
from controller.satisfaction.schema_baseline import BASELINE, TABLE_NAMES, bring_to_baseline

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_lock key: the same for every process migrating this database (any 64-bit number
# no other application on the database uses).
_LOCK_KEY = zlib.crc32(b"hall-controller satisfaction schema")


@dataclass(frozen=True)
class MigrationReport:
    """What `migrate` found and left: revisions before and after (None: no schema yet)."""

    before: str | None
    after: str
    adopted: bool  # a database made before migrations, stamped as the baseline

    @property
    def changed(self) -> bool:
        """True when this call changed the schema."""
        return self.adopted or self.before != self.after


def head() -> str:
    """The newest revision this release knows."""
    found = _scripts().get_current_head()
    assert found is not None
    return found


def current_revision(engine: Engine) -> str | None:
    """The database's revision; None when it has no alembic_version table."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read the schema revision: {err}") from err


def migrate(engine: Engine) -> MigrationReport:
    """Bring the database to the head revision under the migration lock; StoreError on failure.

    A database already at head is left alone without taking the lock: behind PgBouncer in
    transaction mode a session lock would stay on whichever server connection took it.
    """
    try:
        # A SQLite file is read under the lock too: while another process rebuilds a table
        # there, a reader can wait past the busy timeout ("database is locked").
        if not _is_sqlite_file(engine) and (current := current_revision(engine)) == head():
            return MigrationReport(current, current, adopted=False)
        with _locked(engine) as conn:
            return _migrate_locked(conn)
    except CommandError as err:
        raise StoreError(
            f"cannot migrate the satisfaction database: {err} (a database migrated by a newer "
            "release needs that release or newer)"
        ) from err
    except SQLAlchemyError as err:
        raise StoreError(f"cannot migrate the satisfaction database: {err}") from err


def _migrate_locked(conn: Connection) -> MigrationReport:
    before = MigrationContext.configure(conn).get_current_revision()
    conn.commit()
    adopted = False
    if before is None and set(TABLE_NAMES) & set(sa.inspect(conn).get_table_names()):
        log.info("satisfaction database made before migrations: stamping it %s", BASELINE)
        bring_to_baseline(conn)
        conn.commit()
        command.stamp(_config(conn), BASELINE)
        conn.commit()
        adopted = True
    target = head()
    current = MigrationContext.configure(conn).get_current_revision()
    conn.commit()
    if current != target:
        log.info("migrating the satisfaction database from %s to %s", current, target)
        command.upgrade(_config(conn), "head")
        conn.commit()
    after = MigrationContext.configure(conn).get_current_revision()
    conn.commit()
    if after != target:
        raise StoreError(f"satisfaction database at revision {after}, expected {target}")
    return MigrationReport(before, after, adopted)


def _is_sqlite_file(engine: Engine) -> bool:
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection held under the migration lock of the engine's database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({_LOCK_KEY})")
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_LOCK_KEY})")
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":  # one connection, one process: nobody to race
        with engine.connect() as conn:
            yield conn
        return
    lock_path = Path(f"{database}.migrate-lock")
    # Owner-only like the database beside it (docs/operations.md: data files 0600).
    descriptor = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file is closed
        with engine.execution_options(write=True).connect() as conn:
            yield conn


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def _config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config
