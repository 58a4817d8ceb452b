"""/api/twin/hourly: the twin's per-hour figures for the dashboard, kept per question (issue 17)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.app.clock import ManualClock
from tests.conftest import MONDAY
from tests.integration.api.conftest import Hall, at, auth, make_hall


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    """A fresh hall at Monday 09:00."""
    made = make_hall(tmp_path / "hall.db", ManualClock(at("09:00")))
    yield made
    made.runtime.journal.close()


def _hourly(hall: Hall, query: str, role: str = "floor", status: int = 200) -> dict[str, Any]:
    response = hall.client.get(f"/api/twin/hourly?{query}", headers=auth(role))
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def test_waiting_and_waits_per_hour_before_and_with_extra_windows(hall: Hall) -> None:
    body = _hourly(hall, "extra_windows=2&seeds=2")
    assert body["day"] == MONDAY.isoformat()  # the hall clock's day, a working day
    assert body["seeds"] == [1, 2] and body["extra_windows"] == 2
    assert body["what_if"] == "+2 综合 windows"
    before, after = body["before"], body["after"]
    assert set(before["waiting_by_hour"]) >= {"09", "10", "15"}
    for side in (before, after):
        for figure in side["waiting_by_hour"].values():
            assert figure["seeds"] == 2 and figure["mean"] >= 0
    assert after["all"]["mean"]["mean"] < before["all"]["mean"]["mean"]
    assert body["change"]["all"]["mean"]["mean"] < 0
    peak = max(before["waiting_by_hour"], key=lambda h: before["waiting_by_hour"][h]["mean"])
    assert after["waiting_by_hour"][peak]["mean"] < before["waiting_by_hour"][peak]["mean"]


def test_the_same_question_is_answered_once(hall: Hall) -> None:
    answers = hall.client.app.state.twin_answers  # type: ignore[attr-defined]
    first = _hourly(hall, "extra_windows=1&seeds=1")
    again = _hourly(hall, "extra_windows=1&seeds=1")
    assert again == first and answers.builds == 1
    _hourly(hall, "extra_windows=0&seeds=1")  # no what-if: the hall as it is
    assert answers.builds == 2


def test_only_the_floor_manager_asks_and_bad_questions_are_named(hall: Hall) -> None:
    _hourly(hall, "extra_windows=1&seeds=1", role="display", status=403)
    _hourly(hall, "extra_windows=1&seeds=1", role="kiosk", status=403)
    too_many = _hourly(hall, "extra_windows=9", status=422)
    assert "extra_windows" in str(too_many)
    _hourly(hall, "seeds=6", status=422)
    sunday = _hourly(hall, "day=2026-11-29", status=422)
    assert "not a working day" in str(sunday)


def test_the_hall_s_own_habits_come_from_its_journal(hall: Hall, tmp_path: Path) -> None:
    from controller.settings.config_loader import load_config
    from controller.sim.simulate_day import simulate_day
    from tests.conftest import EXAMPLE_CONFIG

    plain = _hourly(hall, "extra_windows=1&seeds=1")
    assert plain["habits"] == "config"  # a fresh journal: nothing to measure
    # Last week every service took half as long as the config says.
    config = load_config(EXAMPLE_CONFIG)
    quick = config.model_copy(
        update={
            "services": [
                s.model_copy(update={"average_service_minutes": s.average_service_minutes / 2})
                for s in config.services
            ]
        }
    )
    path = tmp_path / "recorded" / "hall.db"
    path.parent.mkdir()
    for seed, day in enumerate(("2026-11-16", "2026-11-17", "2026-11-18"), start=1):
        simulate_day(quick, dt.date.fromisoformat(day), seed=seed, journal_path=path)
    recorded = make_hall(path, ManualClock(at("09:00")))
    try:
        measured = _hourly(recorded, "extra_windows=1&seeds=1")
    finally:
        recorded.runtime.journal.close()
    assert measured["habits"] == "measured from 3 journaled days"
    assert measured["before"]["all"]["mean"]["mean"] < plain["before"]["all"]["mean"]["mean"] / 2
