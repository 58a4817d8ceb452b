"""A real hall served by uvicorn on a free port, and headless Chromium driven by Playwright."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright

from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.clock import ManualClock
from controller.config_loader import load_config
from controller.journal import Journal
from controller.runtime import HallRuntime
from controller.ticket_machine import TicketMachine
from tests.conftest import EXAMPLE_CONFIG, hall_time
from tests.parts import chromium_path

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve_hall(tmp_path: Path) -> Iterator[Callable[..., ServedHall]]:
    """Start a hall (optionally with ticket machines made from its runtime) on uvicorn."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(
        machines: Callable[[HallRuntime], Sequence[TicketMachine]] | None = None,
    ) -> ServedHall:
        config = load_config(EXAMPLE_CONFIG)
        runtime = HallRuntime(
            config, Journal.at_path(tmp_path / "hall.db"), ManualClock(hall_time("09:00"))
        )
        tokens = TokenRegistry([])
        tokens.add(KIOSK_TOKEN, Caller("kiosk", Role.KIOSK))
        app = create_app(runtime, tokens, machines(runtime) if machines else ())
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        servers.append((server, thread))
        return ServedHall(runtime, f"http://127.0.0.1:{port}")

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (never a downloaded browser)."""
    path = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()
