"""Online backup and checked restore of the hall journal (定期备份, 防止信息丢失)."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from controller.errors import BackupError, HallError, StoreError
from controller.event_codec import event_from_json
from controller.journal import SCHEMA_VERSION

DB_NAME = "hall.db"
LOCK_NAME = "hall.lock"


@dataclass(frozen=True)
class JournalCheck:
    """What a check of a journal file found."""

    path: str
    events: int
    days: int
    first_day: str | None
    last_day: str | None


def backup(data_dir: Path, dest: Path) -> JournalCheck:
    """Copy the live journal to `dest` consistently (SQLite online backup), then check the copy."""
    source = data_dir / DB_NAME
    if not source.exists():
        raise BackupError(str(source), "no hall journal here (wrong --data directory?)")
    if dest.exists():
        raise BackupError(str(dest), "already exists; choose a new file name")
    dest.parent.mkdir(parents=True, exist_ok=True)
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
    return check_journal(dest)


def check_journal(path: Path) -> JournalCheck:
    """Verify a journal file: SQLite integrity, schema version, every event readable."""
    if not path.is_file():
        raise BackupError(str(path), "file not found")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            status = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if status != "ok":
                raise BackupError(str(path), f"SQLite integrity check failed: {status}")
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
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


def restore(source: Path, data_dir: Path) -> tuple[JournalCheck, Path | None]:
    """Check `source`, then make it the hall's journal; the old one is kept aside. Hall must be stopped."""
    checked = check_journal(source)
    data_dir.mkdir(parents=True, exist_ok=True)
    with hall_lock(data_dir):
        target = data_dir / DB_NAME
        kept: Path | None = None
        if target.exists():
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            kept = data_dir / f"{DB_NAME}.before-restore-{stamp}"
            with (
                contextlib.closing(sqlite3.connect(target)) as live,
                contextlib.closing(sqlite3.connect(kept)) as aside,
            ):
                live.backup(aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        tmp = data_dir / f"{DB_NAME}.restoring"
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    return checked, kept


@contextlib.contextmanager
def hall_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's lock; HallError if a running hall holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise HallError(f"a hall is running on {data_dir}; stop it first") from err
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
