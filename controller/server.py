"""`hallctl up`: the running hall process (engine, journal, API, clock ticker, demo)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.backup import DB_NAME, hall_lock
from controller.calendar import HallCalendar
from controller.clock import Clock, ScaledClock, SystemClock, parse_clock_start
from controller.config_loader import load_config
from controller.demo import DemoDriver
from controller.hall_config import HallConfig
from controller.journal import Journal
from controller.runtime import HallRuntime
from controller.simulate_day import next_working_day

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0


@dataclass(frozen=True)
class UpOptions:
    """Options of `hallctl up`."""

    config: Path
    data: Path
    host: str = "127.0.0.1"
    port: int = 8000
    simulate: bool = False
    demo: bool = False
    clock: str | None = None
    speed: float | None = None


def run_hall(options: UpOptions) -> None:
    """Load and check the config, restore state from the journal, serve until stopped."""
    config = load_config(options.config)
    with hall_lock(options.data):
        journal = Journal.at_path(options.data / DB_NAME)
        clock = _make_clock(options, config)
        runtime = HallRuntime(config, journal, clock)
        tokens = TokenRegistry(config.auth.tokens, os.environ.get("HALLCTL_ADMIN_TOKEN"))
        admin_note = "令牌来自 HALLCTL_ADMIN_TOKEN / token from HALLCTL_ADMIN_TOKEN"
        if not os.environ.get("HALLCTL_ADMIN_TOKEN"):
            if not (options.simulate or options.demo):
                if not config.auth.tokens:
                    raise SystemExit(
                        "no API tokens: set HALLCTL_ADMIN_TOKEN or [auth] tokens in the config"
                    )
                admin_note = "令牌见配置文件 / tokens from the config"
            else:
                generated = secrets.token_urlsafe(24)
                tokens.add(generated, Caller("admin-generated", Role.ADMIN))
                admin_note = f"管理员令牌 / admin token: {generated}"
        stop = threading.Event()
        threads = [threading.Thread(target=_tick, args=(runtime, stop), name="ticker", daemon=True)]
        if options.demo:
            driver = DemoDriver(runtime)
            threads.append(
                threading.Thread(target=driver.run, args=(stop,), name="demo", daemon=True)
            )
        app = create_app(runtime, tokens)
        base = f"http://{options.host}:{options.port}"
        print(
            f"{config.hall.name} 已启动 / hall is up  (journal: {runtime.restored_events} events restored "
            f"in {runtime.restore_seconds * 1000:.0f} ms; hall time {clock.now():%Y-%m-%d %H:%M})"
        )
        print(f"  接口文档 / API docs:       {base}/docs")
        print(f"  实时状态 / live state:     {base}/api/state")
        print(f"  事件流 / event stream:     {base}/api/events")
        print(f"  今日统计 / today's KPIs:   {base}/api/kpis")
        print(f"  {admin_note}")
        sys.stdout.flush()
        for thread in threads:
            thread.start()
        server = uvicorn.Server(
            uvicorn.Config(
                app, host=options.host, port=options.port, log_level="warning", access_log=False
            )
        )
        try:
            server.run()
        finally:
            stop.set()
            runtime.hub.stop()
            journal.close()


def _make_clock(options: UpOptions, config: HallConfig) -> Clock:
    zone = config.zone
    speed = options.speed if options.speed is not None else (10.0 if options.demo else 1.0)
    if options.clock is not None:
        return ScaledClock(parse_clock_start(options.clock, zone), speed)
    if options.demo:
        # A demo shows a busy hall even at night or on a weekend: start just before opening.
        now = dt.datetime.now(zone)
        calendar = HallCalendar(config.calendar)
        hours = calendar.hours_on(now.date())
        if hours is not None and now.time() < hours.close:
            opening = dt.datetime.combine(now.date(), hours.open, tzinfo=zone)
            return ScaledClock(max(now, opening - dt.timedelta(minutes=10)), speed)
        day = next_working_day(config, now.date() + dt.timedelta(days=1))
        next_hours = calendar.hours_on(day)
        assert next_hours is not None
        opening = dt.datetime.combine(day, next_hours.open, tzinfo=zone)
        return ScaledClock(opening - dt.timedelta(minutes=10), speed)
    if speed != 1.0:
        return ScaledClock(dt.datetime.now(zone), speed)
    return SystemClock(zone)


def _tick(runtime: HallRuntime, stop: threading.Event) -> None:
    while not stop.wait(TICK_SECONDS):
        try:
            runtime.tick()
        except Exception:  # the ticker must survive a transient journal error
            log.exception("tick failed")
