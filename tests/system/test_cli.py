"""The `hallctl` command line: check-config, simulate-day, backup/restore, replay."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from controller.app.backup import check_journal, hall_lock
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain.errors import BackupError
from controller.settings.config_loader import load_config
from tests.conftest import EXAMPLE_CONFIG, hall_time

ROOT = EXAMPLE_CONFIG.parent.parent


def hallctl(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller.cli.main", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_speaks_plainly() -> None:
    result = hallctl("--help")
    assert result.returncode == 0
    for word in ("up", "check-config", "simulate-day", "backup", "restore", "replay"):
        assert word in result.stdout
    up = hallctl("up", "--help")
    assert "--simulate" in up.stdout and "--clock" in up.stdout and "--speed" in up.stdout


def test_check_config_ok_and_broken(tmp_path: Path) -> None:
    ok = hallctl("check-config", str(EXAMPLE_CONFIG), "--simulate")  # no broker password here
    assert ok.returncode == 0 and "12 windows" in ok.stdout
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    text = text.replace('services = ["HJ", "CRJ"]', 'services = ["HJ", "PASSPORT"]')
    text = text.replace('prefix = "B"', 'prefix = "A"')
    broken = tmp_path / "broken.toml"
    broken.write_text(text, encoding="utf-8")
    result = hallctl("check-config", str(broken))
    assert result.returncode == 2
    lines = text.split("\n")
    service_line = next(i for i, line in enumerate(lines, 1) if '"PASSPORT"' in line)
    assert f"{broken}:{service_line} [windows[6].services[1]]" in result.stderr
    assert "prefix 'A' is already used" in result.stderr
    missing = hallctl("check-config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "file not found" in missing.stderr


def test_simulate_day_prints_plausible_kpis() -> None:
    result = hallctl("simulate-day", "--seed", "3", "--date", "2026-11-23", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    kpis = report["kpis"]
    assert 200 <= kpis["issued"] <= 900
    assert kpis["served"] >= 0.9 * kpis["issued"]
    assert 0 < kpis["average_wait_minutes"] < 45
    assert 0 < kpis["average_service_minutes"] < 30
    assert kpis["no_show_rate"] < 0.1
    assert set(kpis["by_service"]) == {"SB", "YB", "BDC", "GJJ", "HJ", "QYKB", "SW", "CRJ", "ZH"}
    assert report["seconds"] < 60
    same = hallctl("simulate-day", "--seed", "3", "--date", "2026-11-23", "--json")
    assert json.loads(same.stdout)["kpis"] == kpis  # seeded: the same day twice


def test_extra_windows_shorten_the_wait() -> None:
    base = json.loads(
        hallctl(
            "simulate-day",
            "--seed",
            "5",
            "--date",
            "2026-11-23",
            "--json",
            "--arrival-scale",
            "1.3",
        ).stdout
    )
    more = json.loads(
        hallctl(
            "simulate-day",
            "--seed",
            "5",
            "--date",
            "2026-11-23",
            "--json",
            "--arrival-scale",
            "1.3",
            "--extra-windows",
            "3",
        ).stdout
    )
    assert more["kpis"]["average_wait_minutes"] < base["kpis"]["average_wait_minutes"]


def _journal_with_a_morning(data: Path) -> int:
    config = load_config(EXAMPLE_CONFIG)
    runtime = HallRuntime(
        config, Journal.at_path(data / "hall.db"), ManualClock(hall_time("09:00"))
    )
    runtime.execute(cmd.SignIn(1, "S0101", "A"))
    for _ in range(5):
        runtime.execute(cmd.IssueTicket("SB"))
    runtime.execute(cmd.CallNext(1))
    count = runtime.journal.count()
    runtime.journal.close()
    return count


def test_backup_then_restore_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "var"
    events = _journal_with_a_morning(data)
    backup_file = tmp_path / "backups" / "hall-20261123"
    result = hallctl("backup", str(backup_file), "--data", str(data))
    assert result.returncode == 0, result.stderr
    assert f"{events} events" in result.stdout
    again = hallctl("backup", str(backup_file), "--data", str(data))
    assert again.returncode == 1 and "already exists" in again.stderr
    (data / "hall.db").unlink()
    restored = hallctl("restore", str(backup_file), "--data", str(data))
    assert restored.returncode == 0, restored.stderr
    assert check_journal(data / "hall.db").events == events


def test_restore_refuses_bad_files_and_a_running_hall(tmp_path: Path) -> None:
    data = tmp_path / "var"
    _journal_with_a_morning(data)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    result = hallctl("restore", str(garbage), "--data", str(data))
    assert result.returncode == 1 and "not a readable SQLite file" in result.stderr
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE something (x)")
    result = hallctl("restore", str(other), "--data", str(data))
    assert result.returncode == 1 and "not a hall journal" in result.stderr
    good = tmp_path / "good"
    assert hallctl("backup", str(good), "--data", str(data)).returncode == 0
    with hall_lock(data):  # as `hallctl up` holds it
        result = hallctl("restore", str(good), "--data", str(data))
    assert result.returncode == 1 and "a hall is running" in result.stderr
    with pytest.raises(BackupError):
        check_journal(tmp_path / "absent.db")


def test_replay_compares_a_recorded_day(tmp_path: Path) -> None:
    from controller.sim.simulate_day import simulate_day

    data = tmp_path / "var"
    data.mkdir()
    config = load_config(EXAMPLE_CONFIG)
    recorded = simulate_day(
        config, hall_time("09:00").date(), seed=2, journal_path=data / "hall.db"
    )
    result = hallctl("replay", "--data", str(data), "--date", "2026-11-23", "--json")
    assert result.returncode == 0, result.stderr
    compared = json.loads(result.stdout)
    assert compared["recorded"]["issued"] == recorded.kpis["issued"]
    assert compared["replayed"]["issued"] == recorded.kpis["issued"]
    nothing = hallctl("replay", "--data", str(data), "--date", "2026-11-30")
    assert nothing.returncode == 1 and "no tickets recorded" in nothing.stderr


def test_backup_while_the_hall_is_writing_is_consistent(tmp_path: Path) -> None:
    import threading

    from controller.app.backup import backup

    data = tmp_path / "var"
    config = load_config(EXAMPLE_CONFIG)
    runtime = HallRuntime(
        config, Journal.at_path(data / "hall.db"), ManualClock(hall_time("09:00"))
    )
    stop = threading.Event()

    def issue_forever() -> None:
        services = ["SB", "YB", "GJJ", "SW", "ZH"]
        index = 0
        while not stop.is_set():
            runtime.execute(cmd.IssueTicket(services[index % len(services)]))
            index += 1

    writer = threading.Thread(target=issue_forever)
    writer.start()
    try:
        while runtime.journal.count() < 5:
            stop.wait(0.01)
        copies = []
        for index in range(3):
            copies.append(backup(data, tmp_path / f"copy-{index}").journal)
            stop.wait(0.05)
    finally:
        stop.set()
        writer.join()
    final = runtime.journal.count()
    counts = [copy.events for copy in copies]
    assert counts == sorted(counts) and counts[0] > 0 and counts[-1] <= final
    for copy in copies:  # each copy replays into a hall with gap-free numbers per service
        replayed = HallRuntime(config, Journal.at_path(copy.path), ManualClock(hall_time("09:00")))
        for code, last in replayed.engine.state.sequences.items():
            numbers = sorted(
                t.number for t in replayed.engine.state.tickets.values() if t.service == code
            )
            assert numbers == [f"{numbers[0][0]}{n:03d}" for n in range(1, last + 1)]
        replayed.journal.close()
