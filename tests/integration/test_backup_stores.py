"""`hallctl backup` covers every durable store: the journal and the satisfaction database
(差评 work orders, appeals); `restore --check-only` checks them all; files stay private."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

from controller.app.backup import check_journal
from tests.integration.satisfaction.conftest import make_api, record
from tests.system.test_cli import _journal_with_a_morning, hallctl


def _satisfaction_with_a_bad_rating(data: Path) -> None:
    api = make_api(f"sqlite:///{data / 'satisfaction.db'}")
    api.ingest(
        record("20261123-A001"), record("20261123-A002", level="dissatisfied", reasons=["R05"])
    )
    api.app.state.satisfaction.engine.dispose()


def _counts(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        ratings = conn.execute("SELECT count(*) FROM satisfaction_rating").fetchone()[0]
        orders = conn.execute("SELECT count(*) FROM satisfaction_work_order").fetchone()[0]
    return ratings, orders


def test_backup_and_restore_cover_the_satisfaction_database(tmp_path: Path) -> None:
    data = tmp_path / "var"
    events = _journal_with_a_morning(data)
    _satisfaction_with_a_bad_rating(data)
    assert _counts(data / "satisfaction.db") == (2, 1)  # the 差评 opened a work order
    dest = tmp_path / "backups" / "hall-20261123"
    made = hallctl("backup", str(dest), "--data", str(data))
    assert made.returncode == 0, made.stderr
    assert f"{events} events" in made.stdout and "2 ratings, 1 work orders" in made.stdout
    assert _counts(dest / "satisfaction.db") == (2, 1)
    manifest = json.loads((dest / "manifest.json").read_text())
    assert set(manifest["files"]) == {"hall.db", "satisfaction.db"}

    checked = hallctl("restore", str(dest), "--data", str(data), "--check-only")
    assert checked.returncode == 0, checked.stderr
    assert "2 ratings, 1 work orders" in checked.stdout

    (data / "satisfaction.db").unlink()  # the disk lost the ratings and the work order
    (data / "hall.db").unlink()
    restored = hallctl("restore", str(dest), "--data", str(data))
    assert restored.returncode == 0, restored.stderr
    assert _counts(data / "satisfaction.db") == (2, 1)
    assert check_journal(data / "hall.db").events == events


def test_check_only_finds_a_damaged_satisfaction_copy(tmp_path: Path) -> None:
    data = tmp_path / "var"
    _journal_with_a_morning(data)
    _satisfaction_with_a_bad_rating(data)
    dest = tmp_path / "backup"
    assert hallctl("backup", str(dest), "--data", str(data)).returncode == 0
    with sqlite3.connect(dest / "satisfaction.db") as conn:  # a changed copy: digest differs
        conn.execute("DELETE FROM satisfaction_work_order")
    result = hallctl("restore", str(dest), "--data", str(data), "--check-only")
    assert result.returncode == 1 and "satisfaction.db" in result.stderr
    assert "SHA-256" in result.stderr
    (dest / "satisfaction.db").unlink()
    result = hallctl("restore", str(dest), "--data", str(data), "--check-only")
    assert result.returncode == 1 and "missing" in result.stderr


def test_a_journal_only_backup_file_still_restores_the_journal(tmp_path: Path) -> None:
    data = tmp_path / "var"
    events = _journal_with_a_morning(data)
    _satisfaction_with_a_bad_rating(data)
    dest = tmp_path / "backup"
    assert hallctl("backup", str(dest), "--data", str(data)).returncode == 0
    old_style = tmp_path / "hall-old.db"  # what `hallctl backup` wrote before: one file
    old_style.write_bytes((dest / "hall.db").read_bytes())
    restored = hallctl("restore", str(old_style), "--data", str(data))
    assert restored.returncode == 0, restored.stderr
    assert "no satisfaction.db in it" in restored.stdout
    assert check_journal(data / "hall.db").events == events
    assert _counts(data / "satisfaction.db") == (2, 1)  # left as it was


def test_backups_and_data_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "var"
    _journal_with_a_morning(data)
    _satisfaction_with_a_bad_rating(data)
    dest = tmp_path / "backup"
    assert hallctl("backup", str(dest), "--data", str(data)).returncode == 0
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700
    for name in ("hall.db", "satisfaction.db", "manifest.json"):
        assert stat.S_IMODE((dest / name).stat().st_mode) == 0o600, name
    restored = hallctl("restore", str(dest), "--data", str(data))
    assert restored.returncode == 0, restored.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.iterdir():
        if path.is_file() and ".db" in path.name:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
