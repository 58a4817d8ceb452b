"""Fixtures for API tests: a real runtime on a fresh SQLite journal per test, tokens per role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.settings.config_loader import load_config

ROOT = Path(__file__).resolve().parents[3]
ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = dt.date(2026, 11, 23)
TOKENS = {
    "admin": ("admin-token-for-tests-0001", Caller("admin", Role.ADMIN)),
    "floor": ("floor-token-for-tests-0001", Caller("floor", Role.FLOOR_MANAGER)),
    "kiosk": ("kiosk-token-for-tests-0001", Caller("kiosk", Role.KIOSK)),
    "display": ("display-token-for-tests-01", Caller("display", Role.DISPLAY)),
    "staff1": ("staff1-token-for-tests-001", Caller("staff1", Role.WINDOW_STAFF, 1)),
    "staff4": ("staff4-token-for-tests-001", Caller("staff4", Role.WINDOW_STAFF, 4)),
}


def at(hhmm: str, day: dt.date = MONDAY) -> dt.datetime:
    """An aware hall-local time on `day`."""
    hours, minutes = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=ZONE)


def auth(role: str) -> dict[str, str]:
    """Authorization header for a test role."""
    return {"Authorization": f"Bearer {TOKENS[role][0]}"}


@dataclass
class Hall:
    """A running hall for one test."""

    client: TestClient
    runtime: HallRuntime
    clock: ManualClock
    db_path: Path

    def post(
        self, path: str, role: str = "admin", json: object | None = None, key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = auth(role) | ({"Idempotency-Key": key} if key else {})
        response = self.client.post(path, json=json, headers=headers)
        return response.status_code, response.json()


def make_hall(db_path: Path, clock: ManualClock, *, kiosk: dict[str, Any] | None = None) -> Hall:
    """A runtime + app over the journal at `db_path` (reopening it restarts the hall).

    `kiosk` replaces settings of the example hall's [kiosk] section.
    """
    config = load_config(ROOT / "config" / "hall.example.toml")
    if kiosk is not None:
        config = config.model_copy(update={"kiosk": config.kiosk.model_copy(update=kiosk)})
    runtime = HallRuntime(config, Journal.at_path(db_path), clock)
    registry = TokenRegistry([])
    for token, caller in TOKENS.values():
        registry.add(token, caller)
    return Hall(TestClient(create_app(runtime, registry)), runtime, clock, db_path)


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    """A fresh hall on Monday 2026-11-23 at 09:00."""
    made = make_hall(tmp_path / "hall.db", ManualClock(at("09:00")))
    yield made
    made.runtime.journal.close()
