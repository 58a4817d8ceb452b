"""Parts of the whole-hall crash soak: the demo hall as a process, what its devices show, its data.

The hall runs as `hallctl up --simulate --demo` would for an operator; the soak reads only what
the hall offers (its API, its log lines on stderr) and its two SQLite files, read-only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig
from devices.led.hall_bus_content import encode_content
from devices.led.led_config import BOARD
from devices.led.sim_led_model import SimLedStrip
from display.led_text import board_content, strip_content
from firmware_protocols.led.led_strip import request_frame
from tests.conftest import EXAMPLE_CONFIG
from tests.servers import free_port

ROOT = EXAMPLE_CONFIG.parent.parent
TOKEN = "soak-test-admin-token-00001"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class HallRun:
    """One `hallctl up` process of the soak, from spawn to its end."""

    process: subprocess.Popen[bytes]
    data: Path
    port: int
    clock: dt.datetime  # the hall time it was started at
    speed: float
    spawned: float  # time.monotonic() at spawn
    stderr: Path
    ready: float | None = None
    polled: tuple[float, dt.datetime] | None = None  # (monotonic, hall time) last read

    @property
    def base(self) -> str:
        """The hall's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def hall_time(self, at: float) -> dt.datetime:
        """The hall's time at monotonic `at`: from its last read, else an upper bound."""
        mark, hall = self.polled if self.polled is not None else (self.spawned, self.clock)
        return hall + dt.timedelta(seconds=max(0.0, at - mark) * self.speed)

    def kill(self) -> float:
        """SIGKILL the hall now (if it still runs); the monotonic moment of the kill."""
        at = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)
        return at

    def stop(self) -> None:
        """Stop the hall as an operator would (SIGTERM)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.kill()
                raise

    def log_lines(self) -> Iterator[dict[str, Any]]:
        """The hall's JSON log lines so far."""
        for line in self.stderr.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                yield json.loads(line)


def spawn_hall(data: Path, config: Path, clock: dt.datetime, speed: float, serial: int) -> HallRun:
    """Start `hallctl up --simulate --demo` on `data` with its hall clock at `clock`."""
    port = free_port()
    err = data.parent / f"hall-{serial:03d}.err"
    env = os.environ | {"HALLCTL_ADMIN_TOKEN": TOKEN}
    argv = [sys.executable, "-m", "controller.cli.main", "up", "--simulate", "--demo"]
    argv += ["--data", str(data), "--port", str(port), "--config", str(config)]
    argv += ["--clock", clock.replace(tzinfo=None).isoformat(timespec="seconds")]
    argv += ["--speed", str(speed), "--log-format", "json"]
    with err.open("wb") as sink:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    return HallRun(process, data, port, clock, speed, time.monotonic(), err)


def read_json(client: httpx.Client, path: str) -> dict[str, Any] | None:
    """GET `path` as JSON, or None while the hall does not answer."""
    try:
        response = client.get(path, headers=HEADERS, timeout=5)
    except httpx.TransportError:
        return None
    return response.json() if response.status_code == 200 else None


@dataclass
class DeviceWatch:
    """What the hall's simulated displays should show, from its config and a state snapshot."""

    config: HallConfig

    @classmethod
    def of(cls, path: Path) -> DeviceWatch:
        """The displays of the hall config at `path`."""
        return cls(load_config(path))

    def expected(self, snapshot: Mapping[str, Any]) -> dict[str, str]:
        """Each display's text for `snapshot`, as a fresh twin shows it after its commands."""
        texts: dict[str, str] = {}
        for bus in self.config.led.buses:
            for strip in bus.strips:
                board = strip.window == BOARD
                twin = SimLedStrip(
                    strip.address, board=board, lines=strip.lines, columns=strip.columns
                )
                if board:
                    shown = board_content(snapshot, lines=strip.lines, columns=strip.columns)
                    commands = encode_content(shown)
                else:
                    commands = encode_content(strip_content(snapshot, int(strip.window)))
                for seq, command in enumerate(commands, start=1):
                    twin.handle(request_frame(command, strip.address, seq), 0.0)
                texts[f"{bus.id}:{strip.address}"] = twin.text
        return texts


@dataclass
class Resync:
    """How long after a restart the displays and keypads caught up (seconds from spawn)."""

    led: float | None = None
    keypads: float | None = None
    ready: float | None = None
    lagging: dict[str, str] = field(default_factory=dict)  # what still differed at the end

    @property
    def done(self) -> float | None:
        """When both were done, or None."""
        if self.led is None or self.keypads is None:
            return None
        return max(self.led, self.keypads)


def watch_resync(
    run: HallRun,
    client: httpx.Client,
    watch: DeviceWatch,
    old_boots: set[str],
    until: float,
) -> Resync:
    """Poll until every display shows its current state and every keypad is heard, or `until`.

    A display has caught up once its text equals what a state read just before or just after
    it asks for; a keypad once it is online with a boot id none of the earlier runs had.
    """
    result = Resync(ready=(run.ready - run.spawned) if run.ready else None)
    pending_led: set[str] | None = None
    heard: set[str] = set()
    while time.monotonic() < until and run.process.poll() is None:
        before = read_json(client, "/api/state")
        devices = read_json(client, "/api/devices")
        after = read_json(client, "/api/state")
        seen = time.monotonic()
        if before is None or devices is None or after is None:
            time.sleep(0.05)
            continue
        run.polled = (seen, dt.datetime.fromisoformat(after["hall"]["now"]))
        shown: dict[str, str] = devices.get("led_shown", {})
        wanted = [watch.expected(before), watch.expected(after)]
        if pending_led is None:
            pending_led = set(wanted[0])
        for display in list(pending_led):
            if any(shown.get(display) == w[display] for w in wanted):
                pending_led.discard(display)
        if not pending_led and result.led is None:
            result.led = seen - run.spawned
        keypads = devices["keypads"]
        fresh = [k for k in keypads if k["online"] and str(k.get("boot_id")) not in old_boots]
        if keypads and len(fresh) == len(keypads) and result.keypads is None:
            result.keypads = seen - run.spawned
        heard.update(str(k.get("boot_id")) for k in keypads if k["online"])
        if result.done is not None:
            break
        result.lagging = {d: f"{shown.get(d)!r} != {wanted[1][d]!r}" for d in pending_led}
        result.lagging |= {
            str(k["device_id"]): f"online={k['online']} boot={k.get('boot_id')}"
            for k in keypads
            if k not in fresh
        }
        time.sleep(0.1)
    old_boots.update(heard)
    return result


def wait_ready(run: HallRun, client: httpx.Client, until: float) -> bool:
    """True once the hall answers /api/state (False if it died or `until` came first)."""
    while time.monotonic() < until:
        if run.process.poll() is not None:
            return False
        state = read_json(client, "/api/state")
        if state is not None:
            run.ready = time.monotonic()
            run.polled = (run.ready, dt.datetime.fromisoformat(state["hall"]["now"]))
            return True
        time.sleep(0.05)
    return False


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a SQLite file another process writes."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
        yield conn


@dataclass
class JournalFacts:
    """What the hall journal holds (read-only), for the soak's checks."""

    events: int
    last_seq: int
    rows: list[tuple[int, str, str, dict[str, Any]]]  # seq, day, kind, payload

    @classmethod
    def read(cls, db: Path) -> JournalFacts:
        """Read every event of the journal at `db`."""
        with read_only(db) as conn:
            rows = [
                (seq, day, kind, json.loads(payload))
                for seq, day, kind, payload in conn.execute(
                    "SELECT seq, day, kind, payload FROM journal_event ORDER BY seq"
                )
            ]
        return cls(len(rows), rows[-1][0] if rows else 0, rows)

    def of_kind(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """(day, payload) of every event of `kind`, in journal order."""
        return [(day, payload) for _, day, k, payload in self.rows if k == kind]

    def count_up_to(self, seq: int) -> int:
        """How many events have a sequence number up to `seq`."""
        return sum(1 for row in self.rows if row[0] <= seq)


def satisfaction_rows(db: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Finished-ticket ids and (rating id, ticket id) pairs the embedded API stored."""
    if not db.exists():
        return [], []
    with read_only(db) as conn:
        served = [t for (t,) in conn.execute("SELECT ticket_id FROM satisfaction_served_ticket")]
        rated = list(conn.execute("SELECT rating_id, ticket_id FROM satisfaction_rating"))
    return served, rated


def percentile(values: list[float], share: float) -> float:
    """The `share` percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]
