"""Online backup and checked restore of every durable store of the hall (定期备份, 防止信息丢失).

A backup is a directory: the journal (hall.db), the embedded satisfaction database
(satisfaction.db: ratings, 差评 work orders, appeals) when the hall has one, and manifest.json
with each file's SHA-256. Everything else in the data directory is remade at start-up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from controller.app.data_files import SATISFACTION_DB_NAME, secure_dir, secure_file
from controller.app.event_codec import event_from_json
from controller.app.journal import SCHEMA_VERSION
from controller.domain.errors import BackupError, HallError, StoreError

DB_NAME = "hall.db"
LOCK_NAME = "hall.lock"
MANIFEST = "manifest.json"
# The satisfaction tables a sound satisfaction.db holds (controller/satisfaction/models*.py).
SATISFACTION_TABLES = frozenset(
    {
        "satisfaction_rating",
        "satisfaction_served",
        "satisfaction_work_order",
        "satisfaction_work_order_action",
        "satisfaction_served_ticket",
    }
)


@dataclass(frozen=True)
class JournalCheck:
    """What a check of a journal file found."""

    path: str
    events: int
    days: int
    first_day: str | None
    last_day: str | None


@contextlib.contextmanager
def _checked_sqlite(path: Path) -> Iterator[tuple[sqlite3.Connection, set[str]]]:
    """A read-only connection to a SQLite file that passes its integrity check, and its tables."""
    if not path.is_file():
        raise BackupError(str(path), "file not found")
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        status = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if status != "ok":
            raise BackupError(str(path), f"SQLite integrity check failed: {status}")
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        yield conn, {r[0] for r in rows}


def check_journal(path: Path) -> JournalCheck:
    """Verify a journal file: SQLite integrity, schema version, every event readable."""
    try:
        with _checked_sqlite(path) as (conn, tables):
            if not {"journal_event", "journal_meta"} <= tables:
                raise BackupError(str(path), "not a hall journal (tables missing)")
            version = conn.execute(
                "SELECT value FROM journal_meta WHERE key='schema_version'"
            ).fetchone()
            if version is None or version[0] != SCHEMA_VERSION:
                raise BackupError(str(path), f"journal schema {version}, expected {SCHEMA_VERSION}")
            count = 0
            for (payload,) in conn.execute("SELECT payload FROM journal_event ORDER BY seq"):
                event_from_json(payload)
                count += 1
            days = [
                r[0] for r in conn.execute("SELECT DISTINCT day FROM journal_event ORDER BY day")
            ]
    except sqlite3.DatabaseError as err:
        raise BackupError(str(path), f"not a readable SQLite file: {err}") from err
    except StoreError as err:
        raise BackupError(str(path), f"unreadable event: {err}") from err
    return JournalCheck(
        str(path), count, len(days), days[0] if days else None, days[-1] if days else None
    )


@dataclass(frozen=True)
class SatisfactionCheck:
    """What a check of a satisfaction database found."""

    path: str
    ratings: int
    work_orders: int


@dataclass(frozen=True)
class BackupCheck:
    """A checked backup: its journal, and its satisfaction database when it holds one."""

    path: str
    journal: JournalCheck
    satisfaction: SatisfactionCheck | None


def backup(data_dir: Path, dest: Path) -> BackupCheck:
    """Copy every durable store into the new directory `dest` consistently, then check the copy.

    SQLite's online backup gives a consistent copy of each database while the hall writes.
    """
    journal = data_dir / DB_NAME
    if not journal.exists():
        raise BackupError(str(journal), "no hall journal here (wrong --data directory?)")
    if dest.exists():
        raise BackupError(str(dest), "already exists; choose a new directory name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.mkdir(mode=0o700)
    names = [DB_NAME] + (
        [SATISFACTION_DB_NAME] if (data_dir / SATISFACTION_DB_NAME).exists() else []
    )
    try:
        for name in names:
            _copy_database(data_dir / name, dest / name)
        manifest = {
            "made_at": dt.datetime.now(dt.UTC).isoformat(),
            "files": {name: _sha256(dest / name) for name in names},
        }
        (dest / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        secure_file(dest / MANIFEST)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return check_backup(dest)


def check_backup(path: Path) -> BackupCheck:
    """Verify a backup directory (manifest digests, journal, satisfaction database).

    A single journal file (a backup made before satisfaction.db was covered) checks as a
    journal alone.
    """
    if path.is_file():
        return BackupCheck(str(path), check_journal(path), None)
    if not path.is_dir():
        raise BackupError(str(path), "no backup here (file or directory not found)")
    try:
        listed = json.loads((path / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BackupError(str(path / MANIFEST), f"missing or unreadable manifest: {err}") from err
    if not isinstance(listed, dict) or DB_NAME not in listed:
        raise BackupError(str(path / MANIFEST), f"the manifest lists no {DB_NAME}")
    for name, digest in listed.items():
        if name not in (DB_NAME, SATISFACTION_DB_NAME):
            raise BackupError(str(path / MANIFEST), f"unknown file {name!r} in the manifest")
        if not (path / name).is_file():
            raise BackupError(str(path / name), "listed in the manifest but missing")
        if _sha256(path / name) != digest:
            raise BackupError(str(path / name), "changed since the backup (SHA-256 differs)")
    journal = check_journal(path / DB_NAME)
    satisfaction = (
        check_satisfaction(path / SATISFACTION_DB_NAME) if SATISFACTION_DB_NAME in listed else None
    )
    return BackupCheck(str(path), journal, satisfaction)


def check_satisfaction(path: Path) -> SatisfactionCheck:
    """Verify a satisfaction database: SQLite integrity, its tables, rows countable."""
    try:
        with _checked_sqlite(path) as (conn, tables):
            missing = sorted(SATISFACTION_TABLES - tables)
            if missing:
                raise BackupError(str(path), f"not a satisfaction database (no {missing[0]})")
            ratings = conn.execute("SELECT count(*) FROM satisfaction_rating").fetchone()[0]
            orders = conn.execute("SELECT count(*) FROM satisfaction_work_order").fetchone()[0]
    except sqlite3.DatabaseError as err:
        raise BackupError(str(path), f"not a readable SQLite file: {err}") from err
    return SatisfactionCheck(str(path), int(ratings), int(orders))


def restore(source: Path, data_dir: Path) -> tuple[BackupCheck, list[Path]]:
    """Check `source`, then make its stores the hall's; the old ones are kept aside. Hall stopped.

    A journal-only backup (a single file) leaves satisfaction.db as it is.
    """
    checked = check_backup(source)
    files = {DB_NAME: Path(checked.journal.path)}
    if checked.satisfaction is not None:
        files[SATISFACTION_DB_NAME] = Path(checked.satisfaction.path)
    secure_dir(data_dir)
    kept: list[Path] = []
    with hall_lock(data_dir):
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        for name, copy in files.items():
            target = data_dir / name
            if target.exists():
                aside = data_dir / f"{name}.before-restore-{stamp}"
                _copy_database(target, aside)
                kept.append(aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            tmp = data_dir / f"{name}.restoring"
            shutil.copyfile(copy, tmp)
            secure_file(tmp)
            os.replace(tmp, target)
    return checked, kept


def _copy_database(source: Path, dest: Path) -> None:
    try:
        with (
            contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
            contextlib.closing(sqlite3.connect(dest)) as dst,
        ):
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as err:
        dest.unlink(missing_ok=True)
        raise BackupError(str(source), f"backup failed: {err}") from err
    secure_file(dest)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def hall_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's lock (the directory made private); HallError if a hall holds it."""
    secure_dir(data_dir)
    with open(data_dir / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise HallError(f"a hall is running on {data_dir}; stop it first") from err
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
