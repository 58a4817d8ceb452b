"""A served hall with the dashboard router and a token per role, for the dashboard/console tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from playwright.sync_api import Page

from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.settings.config_loader import load_config
from tests.conftest import EXAMPLE_CONFIG, hall_time
from tests.servers import serving

FLOOR_TOKEN = "floor-manager-token-000001"
KIOSK_TOKEN = "kiosk-dashboard-token-0001"
DISPLAY_TOKEN = "display-dashboard-token-01"


def staff_token(window: int) -> str:
    """The window_staff token bound to `window`."""
    return f"window-staff-token-{window:03d}-0001"


@dataclass
class DashboardHall:
    """A running hall with the dashboard pages, its clock and base URL."""

    runtime: HallRuntime
    clock: ManualClock
    base: str
    app: FastAPI

    def run(self, command: cmd.Command) -> dict[str, object]:
        """Execute a command as the hardware or another client would; fails if refused."""
        reply = self.runtime.execute(command)
        assert reply.accepted, reply.result
        return reply.result

    def dashboard(self, page: Page, token: str = FLOOR_TOKEN) -> None:
        """Open the dashboard with `token` and wait until the first state is drawn."""
        page.goto(f"{self.base}/dashboard#token={token}")

    def console(self, page: Page, window: int, token: str | None = None) -> None:
        """Open the console of `window` (default: its own staff token)."""
        page.goto(f"{self.base}/console?window={window}#token={token or staff_token(window)}")


@contextmanager
def serve_dashboard_hall(tmp_path: Path, start: str = "09:00") -> Iterator[DashboardHall]:
    """The example hall on uvicorn (dashboard and console pages included), at Monday `start`."""
    config = load_config(EXAMPLE_CONFIG)
    clock = ManualClock(hall_time(start))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db"), clock)
    tokens = TokenRegistry([])
    tokens.add(FLOOR_TOKEN, Caller("floor", Role.FLOOR_MANAGER))
    tokens.add(KIOSK_TOKEN, Caller("kiosk", Role.KIOSK))
    tokens.add(DISPLAY_TOKEN, Caller("display", Role.DISPLAY))
    for window in config.windows:
        tokens.add(
            staff_token(window.number),
            Caller(f"staff-{window.number}", Role.WINDOW_STAFF, window.number),
        )
    app = create_app(runtime, tokens)
    with serving(app, before_stop=runtime.hub.stop) as base:
        yield DashboardHall(runtime, clock, base, app)
