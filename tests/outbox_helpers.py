"""Helpers for outbox tests: the embedded satisfaction API on uvicorn, a hall serving citizens."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from controller.app.clock import ManualClock
from controller.app.device_wiring import HallDevices
from controller.app.outbox import RatingOutbox, http_sender
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.satisfaction.embedded import embedded_satisfaction_app
from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig
from tests.conftest import EXAMPLE_CONFIG
from tests.servers import free_port, serving

OUTBOX_TOKEN = "outbox-token-for-the-tests-01"
READER_TOKEN = "supervision-token-for-tests-01"
READER = {"Authorization": f"Bearer {READER_TOKEN}"}
_seq = itertools.count(1)


def roomy_config(**ratings: object) -> HallConfig:
    """The example hall with room for a thousand tickets a day (and `ratings` rules changed)."""
    base = load_config(EXAMPLE_CONFIG)
    services = [s.model_copy(update={"daily_quota": 999, "slot_quotas": []}) for s in base.services]
    rules = base.ratings.model_copy(update=ratings)
    return base.model_copy(update={"services": services, "ratings": rules})


def press(runtime: HallRuntime, window: int, key: str, **extra: Any) -> dict[str, Any]:
    """Press a key on the window's keypad; the reply body (asserting it was accepted)."""
    reply = runtime.execute(cmd.PressKey(f"kp-{window}", "b1", next(_seq), window, key, **extra))
    assert reply.accepted, (key, reply.result)
    return reply.result


def sign_in_everyone(runtime: HallRuntime) -> None:
    """Sign the A staff in at every window that has nobody."""
    for window in runtime.config.windows:
        if runtime.engine.state.windows[window.number].staff_id is None:
            runtime.execute(cmd.SignIn(window.number, window.staff[0].id, "A"))


def serve(
    runtime: HallRuntime,
    clock: ManualClock,
    window: int,
    *,
    rating: str | None,
    recalls: int = 0,
    outcome: str = "即办件",
) -> str:
    """A citizen takes a ticket, is called (and re-called), served and maybe rates; the ticket id."""
    service = runtime.config.window(window).services[0]  # type: ignore[union-attr]
    runtime.execute(cmd.IssueTicket(service))
    clock.advance(1)
    ticket_id = str(press(runtime, window, "next")["id"])
    for _ in range(recalls):
        clock.advance(1)
        press(runtime, window, "recall")
    clock.advance(1)
    press(runtime, window, "finish", argument=outcome)
    if rating is not None:
        clock.advance(1)
        press(runtime, window, "invite_rating")
        clock.advance(3)
        press(runtime, window, "rate", rating=rating)
    return ticket_id


def make_ratings(runtime: HallRuntime, clock: ManualClock, count: int) -> list[str]:
    """`count` citizens served, invited and rating on their window's keypad; their rating ids."""
    windows = runtime.config.windows
    sign_in_everyone(runtime)
    before = len(recorded(runtime))
    for i in range(count):
        serve(runtime, clock, windows[i % len(windows)].number, rating="satisfied")
    ids = [r.rating_id for r in recorded(runtime)]
    assert len(ids) == before + count
    return ids[before:]


def recorded(runtime: HallRuntime) -> list[ev.RatingRecorded]:
    """Every rating journaled since the day opened."""
    return [e for e in runtime.journal.restart_events() if isinstance(e, ev.RatingRecorded)]


@contextmanager
def satisfaction_api(
    config: HallConfig, data: Path, port: int, clock: ManualClock
) -> Iterator[str]:
    """The embedded satisfaction API on uvicorn at `port`; yields its evaluations URL."""
    app = embedded_satisfaction_app(
        config, data, outbox_token=OUTBOX_TOKEN, admin_token=READER_TOKEN, clock=clock.now
    )
    with serving(app, port) as base:
        yield f"{base}/api/v1/evaluations"


@dataclass
class ParkingApi:
    """The real satisfaction API with its clock a day behind the hall's, and the hall's outbox."""

    url: str
    clock: ManualClock  # the API's: set it to the hall's time to fix the cause
    outbox: RatingOutbox
    devices: HallDevices


@contextmanager
def parking_api(runtime: HallRuntime, data: Path) -> Iterator[ParkingApi]:
    """Every record the hall pushes is "in the future" to this API: refused for good, parked."""
    api_clock = ManualClock(runtime.clock.now() - dt.timedelta(days=1))
    with satisfaction_api(runtime.config, data, free_port(), api_clock) as url:
        outbox = RatingOutbox(runtime.journal, runtime.config, http_sender(url, OUTBOX_TOKEN))
        devices = HallDevices(runtime)
        devices.attach_outbox(outbox)
        yield ParkingApi(url, api_clock, outbox, devices)


def stored(url: str) -> list[dict[str, Any]]:
    """Every rating the API holds."""
    items: list[dict[str, Any]] = []
    while True:
        page = httpx.get(url, params={"limit": 1000, "offset": len(items)}, headers=READER)
        assert page.status_code == 200, page.text
        batch = page.json()["items"]
        items += batch
        if len(batch) < 1000:
            return items


def wait_for(check: Any, timeout: float = 30.0) -> None:
    """Poll `check` until true, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"still not true: {check}"
        time.sleep(0.05)
