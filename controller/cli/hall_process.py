"""`hallctl up`: the running hall process (engine, journal, API, clock ticker, demo)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.api.connection_guard import uvicorn_config
from controller.app.backup import DB_NAME, hall_lock
from controller.app.clock import Clock, ScaledClock, SystemClock, parse_clock_start
from controller.app.device_wiring import start_devices
from controller.app.journal import Journal
from controller.app.outbox_local import embedded_sender
from controller.app.runtime import HallRuntime
from controller.app.screen_runner import LocalScreen
from controller.app.simulated_families import Simulated, check_real_devices
from controller.app.ticket_machine import TicketMachine
from controller.app.ticket_print import ticket_renderer
from controller.domain.calendar import HallCalendar
from controller.satisfaction.embedded import embedded_satisfaction_app
from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig
from controller.sim.demo import DemoDriver
from controller.sim.simulate_day import next_working_day
from devices.printer.escpos_printer import open_printer
from devices.printer.printer import TicketPrinter
from devices.printer.sim_printer import SimulatedPrinter
from devices.printer.text_raster import rasterize_line

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
PRINTER_POLL_SECONDS = 15.0


@dataclass(frozen=True)
class UpOptions:
    """Options of `hallctl up`."""

    config: Path
    data: Path
    host: str = "127.0.0.1"
    port: int = 8000
    simulate: Simulated = field(default_factory=Simulated)  # families run as twins
    demo: bool = False
    clock: str | None = None
    speed: float | None = None


def run_hall(options: UpOptions) -> None:
    """Load and check the config, restore state from the journal, serve until stopped."""
    config = load_config(options.config)
    simulated = _simulated(options)
    tokens, admin_note, kiosk_token, admin_token = _tokens(config, options)
    check_real_devices(options.config, config, simulated)
    with hall_lock(options.data), contextlib.ExitStack() as stack:
        journal = Journal.at_path(options.data / DB_NAME)
        stack.callback(journal.close)
        clock = _make_clock(options, config)
        runtime = HallRuntime(config, journal, clock)
        stack.callback(runtime.hub.stop)
        stack.callback(runtime.committer.stop)  # what is queued is written before the hub stops
        machines, printer_twins = ticket_machines(runtime, simulate="printers" in simulated)
        stack.callback(_close_printers, machines, printer_twins)
        base = f"http://{options.host}:{options.port}"
        outbox_token = secrets.token_urlsafe(24)
        satisfaction = embedded_satisfaction_app(
            config,
            options.data,
            outbox_token=outbox_token,
            admin_token=os.environ.get("HALLCTL_ADMIN_TOKEN") or admin_token,
            clock=clock.now,
        )
        devices = start_devices(
            runtime,
            simulate=simulated,
            data_dir=options.data,
            base_url=base,
            outbox_token=outbox_token,
            speed=clock.speed if isinstance(clock, ScaledClock) else 1.0,
            embedded_send=embedded_sender(satisfaction.state.satisfaction, outbox_token),
        )
        stack.callback(devices.stop)
        stop = threading.Event()
        stack.callback(stop.set)
        threads = [threading.Thread(target=_tick, args=(runtime, stop), name="ticker", daemon=True)]
        threads += [
            threading.Thread(target=_poll, args=(m, stop), name=f"printers-{m.id}", daemon=True)
            for m in machines
        ]
        if options.demo:
            driver = DemoDriver(runtime, machine=machines[0] if machines else None, keypads=devices)
            threads.append(
                threading.Thread(target=driver.run, args=(stop,), name="demo", daemon=True)
            )
        app = create_app(runtime, tokens, machines, devices=devices)
        app.state.token_checks.extend(satisfaction.state.token_checks)
        app.mount("/satisfaction", satisfaction)
        screen = _local_screen(runtime)
        _banner(runtime, base, machines, admin_token, kiosk_token)
        for sim in printer_twins:
            print(f"  模拟打印机 / simulated printer at {sim.url}")
        for note in devices.notes:
            print(f"  {note}")
        print(f"  模拟的设备类 / simulated families: {simulated.describe()}")
        print(f"  {admin_note}")
        sys.stdout.flush()
        for thread in threads:
            thread.start()
        if screen is not None:
            screen.start()
            stack.callback(screen.stop)
        server_config, _book = uvicorn_config(app, options.host, options.port, config.server)
        server = uvicorn.Server(server_config)
        # uvicorn re-raises the SIGTERM it caught after shutting down; without a handler of
        # ours that would end the process before the devices (the broker process) are stopped.
        signal.signal(signal.SIGTERM, _terminate)
        server.run()


def _simulated(options: UpOptions) -> Simulated:
    """The families run as twins: as asked; every family for a demo that names none."""
    if not options.simulate and options.demo:
        return Simulated.every()
    return options.simulate


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _banner(
    runtime: HallRuntime,
    base: str,
    machines: list[TicketMachine],
    admin_token: str,
    kiosk_token: str,
) -> None:
    """Print where the hall's pages are (tokens in the URL fragment, never sent to a server)."""
    hall, clock = runtime.config.hall, runtime.clock
    print(
        f"{hall.name} 已启动 / hall is up  (journal: {runtime.restored_events} events restored "
        f"in {runtime.restore_seconds * 1000:.0f} ms; hall time {clock.now():%Y-%m-%d %H:%M})"
    )
    admin = _fragment(admin_token)
    print(f"  大厅看板 / dashboard:      {base}/dashboard{admin}")
    print(f"  叫号屏 / calling screen:   {base}/screen{admin}")
    print(f"  窗口控制台 / console:      {base}/console?window=1{admin}")
    print(f"  接口文档 / API docs:       {base}/docs")
    print(f"  实时状态 / live state:     {base}/api/state")
    print(f"  事件流 / event stream:     {base}/api/events")
    print(f"  今日统计 / today's KPIs:   {base}/api/kpis")
    print(f"  好差评接口 / ratings API:  {base}/satisfaction/docs")
    for machine in machines:
        kiosk = f"{base}/kiosk?machine={machine.id}"
        print(f"  自助取号 / kiosk:          {kiosk}{_fragment(kiosk_token)}")


def _close_printers(machines: list[TicketMachine], simulated: list[SimulatedPrinter]) -> None:
    for machine in machines:
        for printer in machine.printers:
            printer.close()
    for sim in simulated:
        sim.stop()


def ticket_machines(
    runtime: HallRuntime, *, simulate: bool
) -> tuple[list[TicketMachine], list[SimulatedPrinter]]:
    """One TicketMachine per configured machine; with `simulate`, every printer is a twin
    (without, those whose config says `simulate = true`)."""
    simulated: list[SimulatedPrinter] = []
    by_machine: dict[str, list[TicketPrinter]] = {}
    for configured in runtime.config.printers:
        printer = configured
        if simulate or configured.simulate:
            twin = SimulatedPrinter("tcp", paper_mm=configured.paper_mm).start()
            simulated.append(twin)
            printer = configured.model_copy(update={"url": twin.url, "status": "query"})
        by_machine.setdefault(printer.machine, []).append(open_printer(printer))
    render = ticket_renderer(runtime, rasterize_line)
    machines = [
        TicketMachine(mid, runtime, printers, render) for mid, printers in by_machine.items()
    ]
    for machine in machines:
        runtime.add_alert_source(machine.alerts)
    return machines, simulated


def _tokens(config: HallConfig, options: UpOptions) -> tuple[TokenRegistry, str, str, str]:
    """The registry, a line saying where the admin token is, a kiosk and an admin token made now."""
    tokens = TokenRegistry(config.auth.tokens, os.environ.get("HALLCTL_ADMIN_TOKEN"))
    simulated = bool(options.simulate) or options.demo
    generated = ""
    if os.environ.get("HALLCTL_ADMIN_TOKEN"):
        admin_note = "令牌来自 HALLCTL_ADMIN_TOKEN / token from HALLCTL_ADMIN_TOKEN"
    elif simulated:
        generated = secrets.token_urlsafe(24)
        tokens.add(generated, Caller("admin-generated", Role.ADMIN))
        admin_note = f"管理员令牌 / admin token: {generated}"
    elif config.auth.tokens:
        admin_note = "令牌见配置文件 / tokens from the config"
    else:
        raise SystemExit("no API tokens: set HALLCTL_ADMIN_TOKEN or [auth] tokens in the config")
    kiosk_token = ""
    if simulated:
        kiosk_token = secrets.token_urlsafe(18)
        tokens.add(kiosk_token, Caller("kiosk-generated", Role.KIOSK))
    return tokens, admin_note, kiosk_token, generated


def _fragment(token: str) -> str:
    return f"#token={token}" if token else ""


def _local_screen(runtime: HallRuntime) -> LocalScreen | None:
    """The TV screen drawn by this process when `[screen] local` is set (font checked now)."""
    if not runtime.config.screen.local:
        return None
    return LocalScreen(runtime, windowed=runtime.config.screen.windowed)


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


def _poll(machine: TicketMachine, stop: threading.Event) -> None:
    # Asking idle printers shows paper out on the dashboard before a citizen finds it.
    while True:
        try:
            machine.poll()
        except Exception:  # a printer fault must not end the polling
            log.exception("printer poll failed")
        if stop.wait(PRINTER_POLL_SECONDS):
            return


def _tick(runtime: HallRuntime, stop: threading.Event) -> None:
    while not stop.wait(TICK_SECONDS):
        try:
            runtime.tick()
        except Exception:  # the ticker must survive a transient journal error
            log.exception("tick failed")
