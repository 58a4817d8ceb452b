"""A real hall served by uvicorn on a free port, and headless Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.app.ticket_machine import TicketMachine
from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig
from tests.conftest import EXAMPLE_CONFIG, hall_time
from tests.required_parts import chromium_path
from tests.servers import serving

KIOSK_TOKEN = "kiosk-browser-token-000001"
# Flags the machine needs: no sandbox as root, no background traffic on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class ServedHall:
    """A running hall and its base URL."""

    runtime: HallRuntime
    base: str


@pytest.fixture
def serve_hall(tmp_path: Path) -> Iterator[Callable[..., ServedHall]]:
    """Start a hall (optionally with ticket machines made from its runtime) on uvicorn."""
    servers = contextlib.ExitStack()

    def start(
        machines: Callable[[HallRuntime], Sequence[TicketMachine]] | None = None,
        config: HallConfig | None = None,
    ) -> ServedHall:
        config = config or load_config(EXAMPLE_CONFIG)
        runtime = HallRuntime(
            config, Journal.at_path(tmp_path / "hall.db"), ManualClock(hall_time("09:00"))
        )
        tokens = TokenRegistry([])
        tokens.add(KIOSK_TOKEN, Caller("kiosk", Role.KIOSK))
        app = create_app(runtime, tokens, machines(runtime) if machines else ())
        return ServedHall(runtime, servers.enter_context(serving(app)))

    with servers:
        yield start


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (never a downloaded browser), for the browser tests only.

    Playwright's sync API keeps an asyncio loop running on the main thread while it is open:
    session scope would leave it running under any test a pytest-xdist worker runs next.
    """
    path = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()
