"""Shared fixtures: the example hall config, a fresh engine, and hall-local times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from controller.domain.engine import Engine
from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config" / "hall.example.toml"
HALL_ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = dt.date(2026, 11, 23)  # hours 08:30-17:30, lunch 12:00-13:00, cut-off 17:00


def hall_time(hhmm: str, day: dt.date = MONDAY) -> dt.datetime:
    """The aware hall-local moment `hhmm` ("09:30" or "09:30:15") on `day` (Monday by default)."""
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=HALL_ZONE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the `slow` tests first, the rest in collection order, `wall_clock` ones last."""

    # With pytest-xdist (scripts/test.sh) the longest files then start at once, not alone at the
    # end; a test that holds a promise in seconds waits until the crash tests are done.
    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("wall_clock") is not None:
            return 2
        return 0 if item.get_closest_marker("slow") is not None else 1

    items.sort(key=rank)


@pytest.fixture(scope="session")
def hall_config() -> HallConfig:
    """The example county hall (config/hall.example.toml); frozen, so shared."""
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture
def engine(hall_config: HallConfig) -> Engine:
    """A fresh engine on the example hall, nothing issued yet."""
    return Engine(hall_config)


@pytest.fixture(scope="session")
def at() -> Callable[..., dt.datetime]:
    """Build hall-local times: at("09:30") is Monday 2026-11-23 09:30 Asia/Shanghai."""
    return hall_time
