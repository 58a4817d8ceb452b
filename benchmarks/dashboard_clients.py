"""The emulated floor dashboards of bench_dashboard_latency (they run in a client process).

Each `PageClient` behaves like `controller/api/pages/dashboard.html`: it follows
GET /api/events?with_state=true, renders a pushed `state` at once, and re-reads the other
figures as the page does (see the benchmark's module docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import multiprocessing as mp
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

TOKEN = "bench-floor-manager-token-0001"
DEBOUNCE_SECONDS = 0.080  # scheduleRefresh(): setTimeout(..., pushed ? 500 : 80)
PUSHED_DEBOUNCE_SECONDS = 0.500
KPIS_EVERY_SECONDS = 3.0  # refresh(): wantKpis when the last KPIs are older than 3 s
PERIODIC_SECONDS = 15.0  # setInterval(() => scheduleRefresh(true), 15000)
EXTRA_KINDS = frozenset({"snapshot", "resync", "TicketFinished", "RatingRecorded"})
WAIT_SECONDS = 30.0


@dataclass
class ClientTimes:
    """When one client saw each marker ("A012" for a call, "SB#14" for an issue)."""

    sse: dict[str, float] = field(default_factory=dict)
    state: dict[str, float] = field(default_factory=dict)
    rendered: dict[str, float] = field(default_factory=dict)
    requests: int = 0


class PageClient:
    """One dashboard page: the live stream and the page's refresh rules (see module doc)."""

    def __init__(
        self, base: str, rendered: Callable[[str], None], rng: random.Random, *, pool: int = 6
    ) -> None:
        self._http = aiohttp.ClientSession(
            base_url=base,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
            connector=aiohttp.TCPConnector(limit=pool),  # a browser's 6 per host
        )
        self._on_rendered = rendered
        self._rng = rng
        self.times = ClientTimes()
        self.refreshes = 0
        self._pending: asyncio.TimerHandle | None = None
        self._pending_extras = False
        self._extras_timer: asyncio.TimerHandle | None = None
        self._refreshing = False
        self._again = False
        self._last_extras = 0.0
        self._issued: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.streaming = False
        self.pushed = False  # the stream sends the state itself (with_state=true)
        self._state_due = False  # set by the 15 s refresh: read the state anyway

    def start(self) -> None:
        """refresh(true); follow(); setInterval(scheduleRefresh(true), 15 s)."""
        self._spawn(self._refresh(True))
        self._tasks.append(asyncio.create_task(self._follow()))
        self._tasks.append(asyncio.create_task(self._periodic()))

    async def stop(self) -> None:
        """Cancel everything and close the connections."""
        for handle in (self._pending, self._extras_timer):
            if handle is not None:
                handle.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await task
        await self._http.close()

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)

    async def _periodic(self) -> None:
        await asyncio.sleep(self._rng.uniform(0, PERIODIC_SECONDS))  # pages opened at any time
        while True:
            self._state_due = True
            self._schedule(True)
            await asyncio.sleep(PERIODIC_SECONDS)

    async def _follow(self) -> None:
        headers = {"Accept": "text/event-stream"}
        params = {"with_state": "true"}
        async with self._http.get("/api/events", headers=headers, params=params) as response:
            response.raise_for_status()
            buffer = ""
            async for chunk in response.content.iter_any():
                arrived = time.monotonic()
                buffer += chunk.decode()
                while (end := buffer.find("\n\n")) >= 0:
                    block, buffer = buffer[:end], buffer[end + 2 :]
                    if block.startswith(":"):
                        continue  # keepalive
                    self.streaming = True
                    kind, data = _block(block)
                    if kind == "state":  # takeState(); render(): the page shows it now
                        self.pushed = True
                        for shown in self._seen(json.loads(data), arrived):
                            self.times.rendered[shown] = arrived
                            self._on_rendered(shown)
                        continue
                    marker = _event_marker(kind, data)
                    if marker is not None:
                        self.times.sse.setdefault(marker, arrived)
                    self._schedule(kind in EXTRA_KINDS)

    def _schedule(self, extras: bool) -> None:
        self._pending_extras = self._pending_extras or extras
        if self._pending is not None:
            return
        delay = PUSHED_DEBOUNCE_SECONDS if self.pushed else DEBOUNCE_SECONDS
        self._pending = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._pending = None
        extras, self._pending_extras = self._pending_extras, False
        self._spawn(self._refresh(extras))

    async def _refresh(self, with_extras: bool) -> None:
        if self._refreshing:
            self._again = True
            return
        self._refreshing = True
        try:
            want_kpis = with_extras or time.monotonic() - self._last_extras > KPIS_EVERY_SECONDS
            others = [self._get("/api/dashboard")]
            if want_kpis:
                others.append(self._get("/api/kpis"))
            # The 15 s refresh reads the state even when it is pushed (alerts move by themselves).
            wants_state, self._state_due = not self.pushed or self._state_due, False
            read_state = self._state() if wants_state else self._noop()
            fresh, *answered = await asyncio.gather(read_state, *others)
            done = time.monotonic()
            for marker in fresh:
                self.times.rendered[marker] = done
                self._on_rendered(marker)
            if want_kpis and answered[-1]:
                self._last_extras = time.monotonic()
            elif not want_kpis:
                if self._extras_timer is not None:
                    self._extras_timer.cancel()
                self._extras_timer = asyncio.get_running_loop().call_later(
                    KPIS_EVERY_SECONDS, self._schedule, True
                )
            self.refreshes += 1
        finally:
            self._refreshing = False
            if self._again:
                self._again = False
                self._spawn(self._refresh(False))

    async def _get(self, path: str) -> list[str]:
        async with self._http.get(path) as response:
            json.loads(await response.read())  # the page parses every body
            self.times.requests += 1
            return ["ok"] if response.status == 200 else []

    async def _noop(self) -> list[str]:
        return []

    async def _state(self) -> list[str]:
        """GET /api/state; the markers it shows for the first time."""
        async with self._http.get("/api/state") as response:
            body = await response.read()
        received = time.monotonic()
        self.times.requests += 1
        return self._seen(json.loads(body), received)

    def _seen(self, state: dict[str, Any], received: float) -> list[str]:
        """The markers `state` (received at `received`) shows for the first time."""
        fresh = []
        for call in state["recent_calls"]:
            if not call["recall"] and call["number"] not in self.times.state:
                fresh.append(call["number"])
        for service in state["services"]:
            code, issued = service["code"], service["issued_today"]
            for sequence in range(self._issued.get(code, 0) + 1, issued + 1):
                fresh.append(f"{code}#{sequence}")
            self._issued[code] = max(issued, self._issued.get(code, 0))
        for marker in fresh:
            self.times.state[marker] = received
        return fresh


def _block(block: str) -> tuple[str, str]:
    kind, data = "message", []
    for line in block.split("\n"):
        name, _, value = line.partition(":")
        if name == "event":
            kind = value.strip()
        elif name == "data":
            data.append(value.removeprefix(" "))
    return kind, "\n".join(data)


def _event_marker(kind: str, data: str) -> str | None:
    if kind == "TicketCalled":
        return str(json.loads(data)["number"])
    if kind == "TicketIssued":
        event = json.loads(data)
        return f"{event['service']}#{event['sequence']}"
    return None


def clients_main(base: str, count: int, conn: Connection) -> None:
    """The client process: `count` dashboards; reports markers every client has rendered."""
    asyncio.run(_clients(base, count, conn))


async def _clients(base: str, count: int, conn: Connection) -> None:
    rendered_by: dict[str, int] = {}

    def rendered(marker: str) -> None:
        rendered_by[marker] = rendered_by.get(marker, 0) + 1
        if rendered_by[marker] == count:
            conn.send(("all", marker, time.monotonic()))

    rng = random.Random(5)
    pages = [PageClient(base, rendered, rng) for _ in range(count)]
    for page in pages:
        page.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not all(p.streaming and p.refreshes >= 2 for p in pages):
        if time.monotonic() > deadline:
            conn.send(("error", "the clients did not all connect"))
            return
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    for page in pages:
        page.times.requests = 0  # count only the reads made while events are measured
    conn.send(("ready",))
    cpu = time.process_time()
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
    cpu = time.process_time() - cpu
    for page in pages:
        await page.stop()
    conn.send(("done", [dataclasses.asdict(p.times) for p in pages], cpu))


class ClientProcess:
    """The client process and the thread reading its messages."""

    def __init__(self, base: str, count: int) -> None:
        context = mp.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=clients_main, args=(base, count, child))
        self._process.start()
        self._cond = threading.Condition()
        self._all_seen: set[str] = set()
        self._ready = threading.Event()
        self._failure = ""
        self.times: list[ClientTimes] = []
        self.cpu_seconds = 0.0
        self._receiver = threading.Thread(target=self._receive, daemon=True)
        self._receiver.start()

    def wait_ready(self) -> None:
        """Wait until every client holds its stream and has drawn the page twice."""
        if not self._ready.wait(WAIT_SECONDS + 10) or self._failure:
            raise SystemExit(f"the client process did not get ready {self._failure}".strip())

    def wait_all(self, marker: str) -> None:
        """Wait until every client has received a state showing `marker` and rendered it."""
        with self._cond:
            if not self._cond.wait_for(lambda: marker in self._all_seen, WAIT_SECONDS):
                raise SystemExit(f"{marker} did not reach every client")

    def stop(self) -> None:
        """Ask the clients to stop and collect their times."""
        self._conn.send("stop")
        self._receiver.join(WAIT_SECONDS)
        self._process.join(10)

    def _receive(self) -> None:
        while True:
            message = self._conn.recv()
            if message[0] == "ready":
                self._ready.set()
            elif message[0] == "all":
                with self._cond:
                    self._all_seen.add(message[1])
                    self._cond.notify_all()
            elif message[0] == "done":
                self.times.extend(ClientTimes(**times) for times in message[1])
                self.cpu_seconds = message[2]
                return
            else:
                self._failure = str(message[1:])
                self._ready.set()
                return
