"""Event -> floor dashboard updated, with 50 dashboards connected (target p99 <= 250 ms).

A real hall (example config, durable file journal, all 12 windows signed in) is served by
uvicorn in this process. Events alternate: a ticket issued (`IssueTicket`) and a call
(`CallNext` at a window serving that service, which finishes its current ticket first; a
ticket needing a case outcome is finished with one just before, unmeasured), each made with
`runtime.execute` once the previous event had reached every client, 0.05-0.25 s apart, 20 s
of hall time apart.

The clients run in a separate process, one asyncio loop, one `aiohttp.ClientSession` (its own
connection pool, as each browser has; aiohttp's C parser leaves more of the shared cores to the
hall than httpx, whose clients took three times the hall's CPU) per client, and behave like
`controller/api/pages/dashboard.html`: a floor_manager token; GET /api/events?with_state=true
held open, so after each burst of events the server sends the fresh state (the body of
GET /api/state, encoded once for every client) and the page renders it at once; every event
block also schedules a refresh of the other reads 500 ms later (80 ms, with /api/state too,
until the first pushed state): /api/dashboard, and /api/kpis too after a snapshot,
TicketFinished or RatingRecorded event or when the last KPIs are older than 3 s; a refresh
asked for while one is in flight runs once more after it; and every 15 s a refresh anyway.
Measured per client and event, from `runtime.execute` returning: the event's SSE block
read; the first state that contains it received, pushed or read (a call: its number in
`recent_calls`; an issue: the service's `issued_today` reached its sequence) - the figure
the target is judged on; and when the page renders it (the pushed state's arrival, or the
refresh's reads all done).

Baseline in the same run: the same with 1 client. Optionally (`--browsers K`, default 3)
a third phase with K real headless Chromium pages (Debian's /usr/bin/chromium via
Playwright) beside clients-K emulated ones: a MutationObserver in each page stamps the
moment a called number first appears in a window card (`#windows .current`); its clock is
related to this process's by bracketing `page.evaluate` (best of 5). Also printed: the CPU
each process used, and each read's cost alone, in turn on one raw socket. Every process
shares this machine's cores: in a hall the browsers and most clients are elsewhere.

    .venv/bin/python -m benchmarks.bench_dashboard_latency [--clients 50] [--events 40]
        [--browsers 3] [--client-processes 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import uvicorn

from benchmarks.common import MONDAY, OUTCOME, at, example_config, ms, percentile, sign_in_all
from controller import commands as cmd
from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.clock import ManualClock
from controller.journal import Journal
from controller.runtime import HallRuntime

TARGET_P99_SECONDS = 0.250
TOKEN = "bench-floor-manager-token-0001"
DEBOUNCE_SECONDS = 0.080  # scheduleRefresh(): setTimeout(..., pushed ? 500 : 80)
PUSHED_DEBOUNCE_SECONDS = 0.500
KPIS_EVERY_SECONDS = 3.0  # refresh(): wantKpis when the last KPIs are older than 3 s
PERIODIC_SECONDS = 15.0  # setInterval(() => scheduleRefresh(true), 15000)
EXTRA_KINDS = frozenset({"snapshot", "resync", "TicketFinished", "RatingRecorded"})
WAIT_SECONDS = 30.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Stamps each called number the first time a window card shows it (before paint).
DOM_WATCH = """
window.__seen = {};
new MutationObserver(() => {
  const t = performance.timeOrigin + performance.now();
  for (const node of document.querySelectorAll("#windows .current")) {
    const n = node.textContent;
    if (n && n !== "—" && !(n in window.__seen)) window.__seen[n] = t;
  }
}).observe(document, { childList: true, subtree: true, characterData: true });
"""


# ---- the emulated dashboards (run in the client process) ------------------------------------


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


# ---- the hall (this process) -----------------------------------------------------------------


class Hall:
    """The example hall on uvicorn, every window signed in, two tickets waiting per window."""

    def __init__(self, directory: Path, name: str) -> None:
        config = example_config()
        self.clock = ManualClock(at(MONDAY, "09:00", config))
        self.journal = Journal.at_path(directory / f"{name}.db")
        self.runtime = HallRuntime(config, self.journal, self.clock)
        for command in sign_in_all(config):
            self.runtime.execute(command)
        self.pairs = [(w.number, w.services[0]) for w in config.windows]
        self.needs_outcome = {s.code for s in config.services if s.outcome_required}
        for _, service in self.pairs * 2:
            self.runtime.execute(cmd.IssueTicket(service))
        tokens = TokenRegistry([])
        tokens.add(TOKEN, Caller("floor", Role.FLOOR_MANAGER))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        self.base = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.runtime, tokens),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=1,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)

    def event(self, i: int) -> tuple[str, str, float, float]:
        """Event `i`: an issue (even) or a call (odd); (kind, marker, started, returned)."""
        window, service = self.pairs[i // 2 % len(self.pairs)]
        command: cmd.Command = cmd.IssueTicket(service) if i % 2 == 0 else cmd.CallNext(window)
        self.clock.advance(20)
        current = self.runtime.engine.state.windows[window].current
        if isinstance(command, cmd.CallNext) and current is not None:
            ticket = self.runtime.engine.state.tickets[current]
            if ticket.service in self.needs_outcome:  # CallNext cannot finish these itself
                self.runtime.execute(cmd.Finish(window, OUTCOME))
        started = time.monotonic()
        reply = self.runtime.execute(command)
        returned = time.monotonic()
        if reply.status >= 300:
            raise SystemExit(f"{command} refused: {reply.body}")
        if isinstance(command, cmd.IssueTicket):
            marker = f"{service}#{self.runtime.engine.state.sequences[service]}"
            return "issue", marker, started, returned
        return "call", str(reply.body["number"]), started, returned

    def close(self) -> None:
        """Stop the streams, the server and the journal."""
        self.runtime.hub.stop()  # ends open event streams so uvicorn can stop
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.journal.close()


def read_costs(running: Hall, repeat: int = 100) -> dict[str, list[float]]:
    """Each read the page makes, alone and in turn over one raw keep-alive socket (seconds)."""
    port = int(running.base.rsplit(":", 1)[1])
    costs: dict[str, list[float]] = {}
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for path in ("/api/state", "/api/dashboard", "/api/kpis"):
            request = (
                f"GET {path} HTTP/1.1\r\nHost: hall\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
            ).encode()
            samples = costs[path] = []
            for i in range(repeat + 10):
                started = time.monotonic()
                sock.sendall(request)
                _read_response(sock)
                if i >= 10:  # the first ones warm caches
                    samples.append(time.monotonic() - started)
    return costs


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return body


@contextmanager
def hall(directory: Path, name: str) -> Iterator[Hall]:
    """A fresh Hall, closed afterwards."""
    running = Hall(directory, name)
    try:
        yield running
    finally:
        running.close()


class Browsers:
    """K dashboards in headless Chromium, each in its own context, watching the DOM."""

    def __init__(self, base: str, count: int) -> None:
        from playwright.sync_api import sync_playwright

        path = shutil.which("chromium") or "/usr/bin/chromium"
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        self.pages = []
        for _ in range(count):
            context = self._browser.new_context()
            context.add_init_script(DOM_WATCH)
            page = context.new_page()
            page.goto(f"{base}/dashboard#token={TOKEN}")
            page.wait_for_selector("#windows .window-card", timeout=WAIT_SECONDS * 1000)
            self.pages.append(page)
        self.offsets = [self._offset(page) for page in self.pages]

    @staticmethod
    def _offset(page: Any) -> float:
        """Seconds to add to a page's `performance` time (ms) / 1000 to get time.monotonic()."""
        best: tuple[float, float] = (float("inf"), 0.0)
        for _ in range(5):
            before = time.monotonic()
            page_now = float(page.evaluate("performance.timeOrigin + performance.now()")) / 1000
            after = time.monotonic()
            best = min(best, (after - before, (before + after) / 2 - page_now))
        return best[1]

    def wait(self, number: str) -> None:
        """Wait until every page's window cards have shown `number`."""
        for page in self.pages:
            page.wait_for_function(
                "n => n in window.__seen", arg=number, polling=10, timeout=WAIT_SECONDS * 1000
            )

    def seen(self) -> list[dict[str, float]]:
        """Per page: number -> time.monotonic() it first appeared in the DOM."""
        return [
            {n: t / 1000 + offset for n, t in page.evaluate("window.__seen").items()}
            for page, offset in zip(self.pages, self.offsets, strict=True)
        ]

    def close(self) -> None:
        """Close Chromium and Playwright."""
        self._browser.close()
        self._playwright.stop()


@dataclass
class Phase:
    """One phase's samples (seconds, from execute returning), per stage."""

    name: str
    clients: int
    browsers: int
    sse: list[float] = field(default_factory=list)
    state: list[float] = field(default_factory=list)
    rendered: list[float] = field(default_factory=list)
    state_by_kind: dict[str, list[float]] = field(default_factory=dict)
    dom: list[float] = field(default_factory=list)
    execute: list[float] = field(default_factory=list)
    missed: int = 0
    requests: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0  # this process: uvicorn, the runtime, the Playwright driver calls
    client_cpu: list[float] = field(default_factory=list)  # each client process
    costs: dict[str, list[float]] = field(default_factory=dict)  # read_costs(), 1 client only


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


def run_phase(
    directory: Path, name: str, clients: int, events: int, *, browsers: int = 0, processes: int = 1
) -> Phase:
    """A fresh hall, `clients` dashboards (`browsers` of them Chromium), `events` events."""
    phase = Phase(name, clients, browsers)
    made: list[tuple[str, str, float]] = []
    dom: list[dict[str, float]] = []
    emulated = clients - browsers
    shares = [
        emulated // processes + (1 if p < emulated % processes else 0) for p in range(processes)
    ]
    with hall(directory, name) as running:
        group = [ClientProcess(running.base, share) for share in shares if share]
        chromium = Browsers(running.base, browsers) if browsers else None
        try:
            for process in group:
                process.wait_ready()
            rng = random.Random(3)
            began, cpu = time.monotonic(), time.process_time()
            for i in range(events):
                kind, marker, started, returned = running.event(i)
                phase.execute.append(returned - started)
                made.append((kind, marker, returned))
                for process in group:
                    process.wait_all(marker)
                if chromium is not None and kind == "call":
                    chromium.wait(marker)
                time.sleep(rng.uniform(0.05, 0.25))
            phase.seconds = time.monotonic() - began
            phase.server_cpu = time.process_time() - cpu
            if clients == 1:
                phase.costs = read_costs(running)
            dom = chromium.seen() if chromium is not None else []
        finally:
            if chromium is not None:
                chromium.close()
            for process in group:
                process.stop()
    phase.client_cpu = [process.cpu_seconds for process in group]
    collect(phase, made, [t for process in group for t in process.times], dom)
    return phase


def collect(
    phase: Phase,
    made: list[tuple[str, str, float]],
    clients: list[ClientTimes],
    dom: list[dict[str, float]],
) -> None:
    """Turn the clients' and pages' sighting times into latencies from execute returning."""
    for kind, marker, returned in made:
        for times in clients:
            if marker not in times.state:
                phase.missed += 1
                continue
            if marker in times.sse:
                phase.sse.append(times.sse[marker] - returned)
            late = times.state[marker] - returned
            phase.state.append(late)
            phase.state_by_kind.setdefault(kind, []).append(late)
            phase.rendered.append(times.rendered[marker] - returned)
        if kind == "call":
            phase.dom.extend(page[marker] - returned for page in dom if marker in page)
    phase.requests = sum(t.requests for t in clients)


# ---- report ----------------------------------------------------------------------------------


def row(label: str, values: list[float], base: float | None = None) -> None:
    """One line: count, p50, p99, max and the p99 ratio to `base`."""
    if not values:
        print(f"{label:<50} {0:>6}")
        return
    ordered = sorted(values)
    p99 = percentile(ordered, 0.99)
    ratio = f"{p99 / base:>8.2f}x" if base else f"{'':>9}"
    print(
        f"{label:<50} {len(ordered):>6} {ms(percentile(ordered, 0.5))} {ms(p99)} "
        f"{ms(ordered[-1])} {ratio}"
    )


def report(phases: list[Phase]) -> None:
    """Print every phase, the ratio to the 1-client baseline and the verdict."""
    base = phases[0]
    base_state = percentile(sorted(base.state), 0.99)
    base_rendered = percentile(sorted(base.rendered), 0.99)
    base_sse = percentile(sorted(base.sse), 0.99)
    print(
        f"{'from runtime.execute returning to':<50} {'count':>6} {'p50':>11} {'p99':>11} "
        f"{'max':>11} {'p99/1-cl':>9}"
    )
    for phase in phases:
        rate = phase.requests / phase.seconds if phase.seconds else 0.0
        in_chromium = f" ({phase.browsers} of them in Chromium)" if phase.browsers else ""
        print(
            f"{phase.name}: {phase.clients} client(s){in_chromium}, "
            f"{phase.requests / max(1, len(phase.execute)):.0f} HTTP reads per event "
            f"({rate:.0f}/s), missed {phase.missed}"
        )
        clients_cpu = " + ".join(f"{c:.1f}" for c in phase.client_cpu)
        print(
            f"  CPU over {phase.seconds:.1f} s: hall process {phase.server_cpu:.1f} s "
            f"({phase.server_cpu / max(1, len(phase.execute)) * 1000:.0f} ms per event), "
            f"client process(es) {clients_cpu} s ({len(phase.client_cpu)} of them; "
            f"{os.cpu_count()} cores)"
        )
        row("  SSE event block read", phase.sse, base_sse)
        row("  fresh state received (judged)", phase.state, base_state)
        for kind, values in sorted(phase.state_by_kind.items()):
            row(f"    of which {kind}", values, None)
        row("  page renders it", phase.rendered, base_rendered)
        if phase.dom:
            row("  Chromium: number in a window card (DOM)", phase.dom, base_rendered)
        row("  runtime.execute itself", phase.execute, None)
    print("one read alone, in turn on one raw keep-alive socket (after the baseline phase)")
    for path, values in base.costs.items():
        row(f"  GET {path}", values, None)
    print()
    for phase in phases:
        p99 = percentile(sorted(phase.state), 0.99)
        rendered = percentile(sorted(phase.rendered), 0.99)
        verdict = "met" if p99 <= TARGET_P99_SECONDS else "MISSED"
        line = (
            f"{phase.name}: fresh state p99 = {ms(p99).strip()} "
            f"({p99 / base_state:.2f}x 1 client; target <= 250 ms: {verdict}); "
            f"rendered p99 = {ms(rendered).strip()} "
            f"({'met' if rendered <= TARGET_P99_SECONDS else 'MISSED'})"
        )
        if phase.dom:
            dom = percentile(sorted(phase.dom), 0.99)
            line += f"; Chromium DOM p99 = {ms(dom).strip()}"
            line += f" ({'met' if dom <= TARGET_P99_SECONDS else 'MISSED'})"
        print(line)
    print(
        "(the state comes with the stream; the page's own coalescing wait, "
        f"{DEBOUNCE_SECONDS * 1000:.0f} ms, is only in a figure read before the first pushed state)"
    )


def main() -> None:
    """Parse options, run the phases in a temporary directory, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="dashboards connected (50)")
    parser.add_argument("--events", type=int, default=40, help="events per phase (40)")
    parser.add_argument(
        "--browsers", type=int, default=3, help="Chromium pages in a third phase (3; 0: none)"
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=1,
        help="spread the emulated clients over this many processes (1)",
    )
    args = parser.parse_args()
    if args.client_processes < 1:
        parser.error("--client-processes must be >= 1")
    if not 1 <= args.events <= 300:
        parser.error("--events must be 1-300 (20 s of hall time each: before the lunch break)")
    if not 0 <= args.browsers <= args.clients:
        parser.error("--browsers must be 0..--clients")
    if args.browsers and not (shutil.which("chromium") or Path("/usr/bin/chromium").exists()):
        print("Chromium not found (Debian package chromium): no browser phase")
        args.browsers = 0
    print(
        f"dashboard latency: {args.events} events per phase (issue and call alternating), "
        f"example hall, clients in one asyncio process"
    )
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hall-bench-dashboard-") as name:
        directory = Path(name)
        phases = [
            run_phase(directory, "baseline", 1, args.events),
            run_phase(
                directory, "loaded", args.clients, args.events, processes=args.client_processes
            ),
        ]
        if args.browsers:
            phases.append(
                run_phase(
                    directory,
                    "browsers",
                    args.clients,
                    args.events,
                    browsers=args.browsers,
                    processes=args.client_processes,
                )
            )
    print(f"(ran in {time.perf_counter() - began:.1f} s)\n")
    report(phases)


if __name__ == "__main__":
    main()
