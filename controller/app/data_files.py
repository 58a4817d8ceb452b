"""The hall's data files are private: the data directory 0700, its databases 0600."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600

SATISFACTION_DB_NAME = "satisfaction.db"  # the embedded satisfaction API's database in the data dir


def secure_dir(path: Path) -> None:
    """Create `path` (and parents) if missing and make it readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)


def secure_file(path: Path) -> None:
    """Make a database file and its SQLite -wal/-shm companions readable by their owner only."""
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(each, FILE_MODE)
