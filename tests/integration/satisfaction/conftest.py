"""Satisfaction API fixtures: the same tests on SQLite and on a real PostgreSQL the tests start."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from controller.app.clock import ManualClock
from controller.domain.calendar import HallCalendar
from controller.domain.hall_rules import CalendarConfig
from controller.satisfaction.app import create_satisfaction_app
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole, SatisfactionTokens
from controller.satisfaction.settings import (
    HallProfile,
    SatisfactionSettings,
    hall_id_of,
    profile_from_config,
)
from controller.settings.config_loader import load_config
from tests.integration.satisfaction.pg_server import INSTALL_HINT, PostgresServer, find_postgres_bin
from tests.required_parts import require_part

ROOT = Path(__file__).resolve().parents[3]
ZONE = ZoneInfo("Asia/Shanghai")
EXAMPLE = load_config(ROOT / "config" / "hall.example.toml")
HALL_A = hall_id_of(EXAMPLE.hall)  # 330199-QSXZWFWZX: the example hall, Mon-Sat, 15 days
HALL_B = "330102-XCQZWFW"  # Mon-Fri, 2026 National Day week, 调休 Sun 09-27 and Sat 10-10, 5 days
HALL_B_CALENDAR = CalendarConfig.model_validate(
    {
        "hours": {
            d: {"open": "09:00", "close": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")
        },
        "holidays": ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"],
        "extra_working_days": ["2026-09-27", "2026-10-10"],
    }
)
PROFILES = {
    HALL_A: profile_from_config(EXAMPLE),
    HALL_B: HallProfile(HALL_B, ZONE, HallCalendar(HALL_B_CALENDAR), rectify_working_days=5),
}
R = SatisfactionRole
TOKENS: dict[str, tuple[str, SatisfactionCaller]] = {
    "hall": ("hall-a-token-for-tests-0001", SatisfactionCaller("hall-a", R.HALL, HALL_A)),
    "hall_b": ("hall-b-token-for-tests-0001", SatisfactionCaller("hall-b", R.HALL, HALL_B)),
    "hall_x": ("hall-x-token-for-tests-0001", SatisfactionCaller("hall-x", R.HALL, "999999-X")),
    "floor": (
        "floor-a-token-for-tests-001",
        SatisfactionCaller("floor-a", R.FLOOR_MANAGER, HALL_A),
    ),
    "floor_b": (
        "floor-b-token-for-tests-001",
        SatisfactionCaller("floor-b", R.FLOOR_MANAGER, HALL_B),
    ),
    "supervision": ("supervision-token-for-tests", SatisfactionCaller("督查股", R.SUPERVISION)),
    "supervision_b": (
        "supervision-b-token-for-test",
        SatisfactionCaller("督查股-B", R.SUPERVISION, HALL_B),
    ),
    "reader": ("reader-token-for-tests-0001", SatisfactionCaller("province", R.READER)),
}
NOW = dt.datetime(2026, 11, 24, 18, 0, tzinfo=ZONE)


def auth(role: str) -> dict[str, str]:
    """Authorization header for a test role."""
    return {"Authorization": f"Bearer {TOKENS[role][0]}"}


def at(text: str) -> str:
    """'2026-11-23 09:30' as an ISO 8601 hall-local time with its +08:00 offset."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE).isoformat()


def record(rating_id: str = "20261123-A001", **changes: Any) -> dict[str, Any]:
    """A valid rating record of hall A (非常满意 at window 1), with `changes` applied."""
    base: dict[str, Any] = {
        "rating_id": rating_id,
        "hall_id": HALL_A,
        "ticket_id": rating_id,
        "number": "A001",
        "window": 1,
        "staff_id": "S0101",
        "service": "SB",
        "item_code": "330199-SB-0001",
        "case_number": None,
        "department_code": "QSXZWFWZX",
        "region_code": "330199",
        "level": "very_satisfied",
        "reasons": [],
        "reason_table": "2026.1",
        "channel": "5",
        "assess_number": 1,
        "device_id": "keypad-01",
        "rated_at": at("2026-11-23 09:31:05"),
        "finished_at": at("2026-11-23 09:30:40"),
        "system_default": False,
    }
    return base | changes


@dataclass
class Api:
    """A satisfaction app over a fresh database, with a hand-moved clock."""

    client: TestClient
    app: FastAPI
    clock: ManualClock
    backend: str

    def post(self, path: str, role: str | None, json: object = None) -> tuple[int, Any]:
        headers = auth(role) if role else {}
        response = self.client.post(path, json=json, headers=headers)
        return response.status_code, response.json()

    def get(self, path: str, role: str | None = "supervision", **params: Any) -> tuple[int, Any]:
        headers = auth(role) if role else {}
        response = self.client.get(path, params=params, headers=headers)
        return response.status_code, response.json()

    def ingest(self, *records: dict[str, Any], role: str = "hall") -> dict[str, Any]:
        status, body = self.post("/api/v1/evaluations", role, {"records": list(records)})
        assert status == 200, body
        result: dict[str, Any] = body
        return result


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (each test gets its own database on it)."""
    bin_dir = find_postgres_bin()
    require_part("PostgreSQL server", bin_dir is not None, INSTALL_HINT)
    assert bin_dir is not None
    server = PostgresServer(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database: a SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'satisfaction.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name, url = server.create_schema()  # a schema of its own: a fresh database, made in ~1 ms
    yield url
    server.drop_schema(name)


def make_api(database_url: str, **settings: Any) -> Api:
    """The app over `database_url` with the test halls and tokens, clock at NOW."""
    tokens = SatisfactionTokens()
    for token, caller in TOKENS.values():
        tokens.add(token, caller)
    clock = ManualClock(NOW)
    # Export job files of tests go to the temp dir, never into the work tree.
    settings.setdefault("export_dir", Path(tempfile.gettempdir()) / "hall-test-exports")
    app = create_satisfaction_app(
        database_url,
        tokens,
        PROFILES,
        settings=SatisfactionSettings(database_url=database_url, **settings),
        clock=clock.now,
    )
    backend = database_url.split(":", 1)[0]
    return Api(TestClient(app), app, clock, backend)


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    """The app over a fresh database of either kind."""
    made = make_api(database_url)
    yield made
    made.app.state.satisfaction.engine.dispose()
