"""Habit defaults measured from the hall's own journal (issue 17): a journal written by simulated
days with known habits gives those habits back, within tolerance."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from controller.app.journal import Journal
from controller.settings.hall_config import HallConfig
from controller.sim.journal_habits import MeasuredHabits, habits_of_journal
from controller.sim.simulate_day import simulate_day
from tests.conftest import EXAMPLE_CONFIG, MONDAY
from tests.system.test_cli import hallctl

DAYS = [MONDAY + dt.timedelta(days=i) for i in range(3)]  # Monday to Wednesday
KNOWN = {
    "post_finish_pause_seconds": (10.0, 50.0),
    "no_show_rate": 0.08,
    "transfer_rate": 0.05,
    "priority_share": 0.10,
    "sign_in_spread_minutes": (-10.0, 5.0),
    "service_time_sigma": 0.3,
    "service_time_sigma_by_service": {"BDC": 0.6},
}
SERVICE_MINUTES = {"SB": 6.0, "BDC": 24.0}


def _known_hall(config: HallConfig, poll: float) -> HallConfig:
    habits = config.simulation.model_copy(update=KNOWN | {"idle_poll_seconds": poll})
    services = [
        s.model_copy(update={"average_service_minutes": SERVICE_MINUTES[s.code]})
        if s.code in SERVICE_MINUTES
        else s
        for s in config.services
    ]
    return config.model_copy(update={"simulation": habits, "services": services})


def _journal(tmp: Path, hall: HallConfig) -> Path:
    path = tmp / "hall.db"
    for seed, day in enumerate(DAYS, start=1):
        simulate_day(hall, day, seed=seed, journal_path=path)
    return path


def _measure(path: Path, config: HallConfig) -> MeasuredHabits:
    journal = Journal.at_path(path)
    try:
        return habits_of_journal(config, journal)
    finally:
        journal.close()


@pytest.fixture(scope="module")
def instant(tmp_path_factory: pytest.TempPathFactory) -> tuple[HallConfig, Path]:
    from controller.settings.config_loader import load_config

    hall = _known_hall(load_config(EXAMPLE_CONFIG), poll=0.0)
    return hall, _journal(tmp_path_factory.mktemp("instant"), hall)


def test_the_known_habits_come_back_from_the_journal(instant: tuple[HallConfig, Path]) -> None:
    hall, path = instant
    measured = _measure(path, hall)
    assert measured.days == tuple(DAYS) and measured.tickets > 1000
    low, high = measured.post_finish_pause_seconds or (None, None)
    assert low == pytest.approx(10, abs=2.5) and high == pytest.approx(50, abs=2.5)
    assert measured.pause_samples > 500
    assert measured.idle_poll_seconds == 0.0 and measured.reaction_samples >= 20
    assert measured.no_show_rate == pytest.approx(0.08, abs=0.02)
    assert measured.transfer_rate == pytest.approx(0.05, abs=0.015)
    assert measured.priority_share == pytest.approx(0.10, abs=0.025)
    early, late = measured.sign_in_spread_minutes or (None, None)
    assert early == pytest.approx(-10, abs=2.5) and late == pytest.approx(5, abs=2.5)
    for service in hall.services:
        law = measured.services[service.code]
        assert law.samples >= 40, service.code
        assert law.mean_minutes == pytest.approx(service.average_service_minutes, rel=0.15)
        sigma = hall.simulation.sigma_of(service.code)
        assert law.sigma == pytest.approx(sigma, abs=0.1), service.code


@pytest.mark.parametrize("poll", [20.0, 90.0])
def test_an_idle_window_that_looks_every_n_seconds_is_measured(
    hall_config: HallConfig, tmp_path: Path, poll: float
) -> None:
    hall = _known_hall(hall_config, poll=poll)
    measured = _measure(_journal(tmp_path, hall), hall)
    assert measured.reaction_samples >= 50
    assert measured.idle_poll_seconds == pytest.approx(poll, rel=0.2)


def test_the_measured_habits_replace_the_config_s(instant: tuple[HallConfig, Path]) -> None:
    hall, path = instant
    from controller.settings.config_loader import load_config

    plain = load_config(EXAMPLE_CONFIG)
    measured = _measure(path, hall)
    applied = measured.apply(plain)
    habits = applied.simulation
    assert habits.post_finish_pause_seconds == measured.post_finish_pause_seconds
    assert habits.no_show_rate == measured.no_show_rate != plain.simulation.no_show_rate
    assert habits.sigma_of("BDC") == measured.services["BDC"].sigma
    assert habits.minutes_of("BDC", 20.0) == measured.services["BDC"].mean_minutes
    assert habits.minutes_of("BDC", 20.0) == pytest.approx(24.0, rel=0.15)
    # what the hall plans with stays: generated demand, the ticket's wait estimate
    assert applied.services == plain.services
    assert applied.windows == plain.windows and applied.alerts == plain.alerts


def test_too_few_measurements_keep_the_config_s_values(hall_config: HallConfig) -> None:
    empty = MeasuredHabits((), 0, None, 0, None, 0, None, None, None, None, 0)
    assert empty.apply(hall_config) == hall_config


def test_hallctl_habits_prints_them_and_replay_uses_them(
    instant: tuple[HallConfig, Path], tmp_path: Path
) -> None:
    _, path = instant
    data = tmp_path / "var"
    data.mkdir()
    (data / "hall.db").write_bytes(path.read_bytes())
    shown = hallctl("habits", "--data", str(data), "--json")
    assert shown.returncode == 0, shown.stderr
    measured = json.loads(shown.stdout)
    assert measured["no_show_rate"] == pytest.approx(0.08, abs=0.02)
    assert measured["services"]["SB"]["mean_minutes"] == pytest.approx(6.0, rel=0.15)
    text = hallctl("habits", "--data", str(data), "--from", DAYS[1].isoformat())
    assert text.returncode == 0, text.stderr
    assert "2 days" in text.stdout and "post_finish_pause_seconds" in text.stdout
    replay = hallctl("replay", "--data", str(data), "--date", MONDAY.isoformat(), "--json")
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["measured_habits"]["no_show_rate"] == measured["no_show_rate"]
    plain = hallctl(
        "replay", "--data", str(data), "--date", MONDAY.isoformat(), "--json", "--config-habits"
    )
    assert json.loads(plain.stdout)["measured_habits"] is None
    nowhere = hallctl("habits", "--data", str(tmp_path / "nope"))
    assert nowhere.returncode == 1 and "no hall journal at" in nowhere.stderr


def test_simulate_day_takes_its_habits_from_a_journal(
    instant: tuple[HallConfig, Path], tmp_path: Path
) -> None:
    _, path = instant
    data = tmp_path / "var"
    data.mkdir()
    (data / "hall.db").write_bytes(path.read_bytes())
    args = ("simulate-day", "--date", MONDAY.isoformat(), "--seed", "5", "--json")
    usual = json.loads(hallctl(*args).stdout)
    measured = hallctl(*args, "--habits-from", str(data))
    assert measured.returncode == 0, measured.stderr
    kpis = json.loads(measured.stdout)["kpis"]
    # SB takes 6 minutes in the journal, 8 in the config
    assert (
        kpis["by_service"]["SB"]["average_service_minutes"]
        < usual["kpis"]["by_service"]["SB"]["average_service_minutes"]
    )


def test_staffing_takes_its_habits_from_a_journal(
    instant: tuple[HallConfig, Path], tmp_path: Path
) -> None:
    _, path = instant
    data = tmp_path / "var"
    data.mkdir()
    (data / "hall.db").write_bytes(path.read_bytes())
    args = ("staffing", "--date", MONDAY.isoformat(), "--seeds", "1", "--json")
    planned = hallctl(*args, "--habits-from", str(data))
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["hours"]
    missing = hallctl(*args, "--habits-from", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "no hall journal at" in missing.stderr
