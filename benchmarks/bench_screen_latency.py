"""Call -> TV scene updated: in process (RuntimeScreenSource) and remote (HallStream over HTTP).

A real HallRuntime (example hall, durable file journal) served by uvicorn on a free port;
windows 1-3 call in turn, 30 s of hall time apart. Each sample runs from the moment
`runtime.execute(CallNext)` returned to the moment a scene whose latest-call tile shows that
number had been built by `controller.screen_runner.scene_for` (the pure
`display.screen_scene` function) at 1920x1080, or drawn on the screen. Four phases, each on
a fresh hall:

* in-process, built: `RuntimeScreenSource` (what `LocalScreen` uses when `[screen] local`),
  its `frame()` polled every 0.5 ms, a scene built whenever the snapshot changed;
* in-process, drawn: the same source behind the screen's 25 frames/s loop (the loop of
  `run_screen`, with `ScreenWindow` at 1920x1080 on SDL's dummy video driver, which draws
  with `SceneDrawer`); the sample ends when the frame showing the number was flipped;
* remote, built / drawn: the same two in a separate process (the TV's mini PC) following
  the hall with `controller.screen_client.HallStream`: GET /api/events?with_state=true
  (SSE), the fresh state arriving on the stream after each burst of events.

Baselines measured in the same run: a raw SSE reader in the remote process (httpx stream of
/api/events, the TicketCalled line parsed) beside the remote "built" phase; and, in this
process, a bare `runtime.snapshot()` + `scene_for` on a ready hall, and `SceneDrawer.draw`
of that scene. Times across the two processes use CLOCK_MONOTONIC, which Linux shares
between processes. No target is set for the screen; the figures are printed.

    .venv/bin/python -m benchmarks.bench_screen_latency [--calls 200]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import httpx
import uvicorn

from benchmarks.common import MONDAY, at, example_config, ms, percentile
from controller import commands as cmd
from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.clock import ManualClock
from controller.journal import Journal
from controller.runtime import HallRuntime
from controller.screen_client import HallStream, sse_events
from controller.screen_runner import (
    FRAMES_PER_SECOND,
    RuntimeScreenSource,
    ScreenFrame,
    ScreenSource,
    scene_for,
)
from display.scene import Scene

TOKEN = "bench-display-token-00000001"
SIZE = (1920, 1080)
CALLING = {1: "S0101", 2: "S0201", 3: "S0301"}  # window -> its A staff (example hall)
MAX_CALLS = 290  # window 2 takes from SB and YB; YB's quota is 200
POLL_SECONDS = 0.0005
WAIT_SECONDS = 10.0


class Recorder(Protocol):
    """Where observers report `(kind, number, monotonic time)` sightings."""

    def record(self, kind: str, number: str, at: float) -> None:
        """Note that `kind` first showed `number` at `at`."""
        ...


class Sightings:
    """First time each (kind, number) was seen, with a wait for one to appear."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seen: dict[tuple[str, str], float] = {}

    def record(self, kind: str, number: str, at: float) -> None:
        """Keep the first sighting only."""
        with self._cond:
            self._seen.setdefault((kind, number), at)
            self._cond.notify_all()

    def wait(self, kind: str, number: str, timeout: float = WAIT_SECONDS) -> float:
        """The moment `kind` first showed `number`; SystemExit after `timeout`."""
        with self._cond:
            if not self._cond.wait_for(lambda: (kind, number) in self._seen, timeout):
                raise SystemExit(f"{kind}: {number} not seen within {timeout:.0f} s")
            return self._seen[(kind, number)]


class PipeRecorder:
    """A Recorder in the remote process: sends each sighting to the parent."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._sent: set[tuple[str, str]] = set()

    def record(self, kind: str, number: str, at: float) -> None:
        """Send a sighting once."""
        with self._lock:
            if (kind, number) not in self._sent:
                self._sent.add((kind, number))
                self._conn.send((kind, number, at))

    def send(self, message: object) -> None:
        """Send anything else (ready, done)."""
        with self._lock:
            self._conn.send(message)


def latest_number(scene: Scene) -> str | None:
    """The number on the scene's latest-call tile, if any."""
    texts = scene.texts("latest-number")
    return texts[0].text if texts else None


def watch_built(source: ScreenSource, recorder: Recorder, stop: threading.Event) -> None:
    """Poll `source`; build a scene each time its snapshot changes and report the number."""
    last: dict[str, Any] | None = None
    while not stop.is_set():
        frame = source.frame()
        if frame.snapshot is not last:
            last = frame.snapshot
            number = latest_number(scene_for(frame, SIZE))
            if number is not None:
                recorder.record("built", number, time.monotonic())
        time.sleep(POLL_SECONDS)


def watch_drawn(
    source: ScreenSource, recorder: Recorder, stop: threading.Event, frames: list[float]
) -> None:
    """The screen's frame loop (as run_screen) at 1920x1080; reports numbers once flipped."""
    from display.screen_pygame import ScreenWindow

    window = ScreenWindow(windowed=True, size=SIZE)
    period = 1.0 / FRAMES_PER_SECOND
    try:
        while not stop.is_set() and not window.wants_to_close():
            started = time.monotonic()
            scene = scene_for(source.frame(), window.size)
            window.show(scene)
            shown = time.monotonic()
            frames.append(shown - started)
            number = latest_number(scene)
            if number is not None:
                recorder.record("picked", number, started)
                recorder.record("drawn", number, shown)
            time.sleep(max(0.0, period - (time.monotonic() - started)))
    finally:
        window.close()


def raw_sse(base: str, recorder: Recorder) -> None:
    """Baseline: read /api/events and report each TicketCalled as soon as its data is parsed."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "text/event-stream"}
    timeout = httpx.Timeout(10.0, read=None)
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("GET", f"{base}/api/events", headers=headers) as response,
    ):
        for kind, data in sse_events(response.iter_lines()):
            if kind == "TicketCalled":
                recorder.record("sse", json.loads(data)["number"], time.monotonic())


def remote_main(base: str, mode: str, conn: Connection) -> None:
    """The TV's process: HallStream plus the `mode` observer ("built" adds the raw SSE reader)."""
    recorder = PipeRecorder(conn)
    stream = HallStream(base, TOKEN).start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not stream.connected:
        if time.monotonic() > deadline:
            recorder.send(("error", stream.last_error))
            return
        time.sleep(0.01)
    stop = threading.Event()
    frames: list[float] = []
    if mode == "built":
        observe = partial(watch_built, stream, recorder, stop)
        threading.Thread(target=raw_sse, args=(base, recorder), daemon=True).start()
    else:
        observe = partial(watch_drawn, stream, recorder, stop, frames)
    thread = threading.Thread(target=observe, daemon=True)
    thread.start()
    time.sleep(0.5)  # the raw reader connected and the first frame drawn
    recorder.send(("ready",))
    conn.recv()  # "stop"
    stop.set()
    thread.join(5)
    stream.stop()
    recorder.send(("done", frames))


class Hall:
    """The example hall on uvicorn with windows 1-3 signed in and tickets waiting."""

    def __init__(self, directory: Path, name: str, calls: int) -> None:
        config = example_config()
        self.clock = ManualClock(at(MONDAY, "09:00", config))
        self.journal = Journal.at_path(directory / f"{name}.db")
        self.runtime = HallRuntime(config, self.journal, self.clock)
        for window, staff in CALLING.items():
            self.runtime.execute(cmd.SignIn(window, staff, "A"))
        stock = 2 * math.ceil(calls / 3) + 2  # windows 1 and 2 may both take SB, 2 and 3 YB
        for service in ("SB", "YB"):
            for _ in range(stock):
                self.runtime.execute(cmd.IssueTicket(service))
        tokens = TokenRegistry([])
        tokens.add(TOKEN, Caller("tv", Role.DISPLAY))
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

    def call(self, window: int) -> tuple[str, float, float]:
        """CallNext at `window`, 30 s of hall time later: (number, started, returned)."""
        self.clock.advance(30)
        started = time.monotonic()
        reply = self.runtime.execute(cmd.CallNext(window))
        returned = time.monotonic()
        if reply.status != 200:
            raise SystemExit(f"call at window {window} refused: {reply.body}")
        return str(reply.body["number"]), started, returned

    def close(self) -> None:
        """Stop the streams, the server and the journal."""
        self.runtime.hub.stop()  # ends open event streams so uvicorn can stop
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.journal.close()


@contextmanager
def hall(directory: Path, name: str, calls: int) -> Iterator[Hall]:
    """A fresh Hall, closed afterwards."""
    running = Hall(directory, name, calls)
    try:
        yield running
    finally:
        running.close()


def drive(
    running: Hall, sightings: Sightings, kinds: tuple[str, ...], calls: int
) -> dict[str, list[float]]:
    """Make `calls` calls, each after the previous was seen by every kind; latencies per kind."""
    rng = random.Random(11)
    found: dict[str, list[float]] = {kind: [] for kind in (*kinds, "execute")}
    for i in range(calls):
        number, started, returned = running.call(1 + i % 3)
        found["execute"].append(returned - started)
        for kind in kinds:
            found[kind].append(sightings.wait(kind, number) - returned)
        time.sleep(rng.uniform(0.02, 0.08))  # calls apart; the frame loop's phase varies
    return found


def in_process(
    directory: Path, mode: str, calls: int
) -> tuple[dict[str, list[float]], list[float]]:
    """One in-process phase ("built" or "drawn"); latencies and frame times."""
    with hall(directory, f"local-{mode}", calls) as running:
        sightings = Sightings()
        source = RuntimeScreenSource(running.runtime)
        stop = threading.Event()
        frames: list[float] = []
        if mode == "built":
            thread = threading.Thread(target=watch_built, args=(source, sightings, stop))
        else:
            thread = threading.Thread(target=watch_drawn, args=(source, sightings, stop, frames))
        thread.start()
        time.sleep(0.5)
        try:
            kinds = (mode,) if mode == "built" else ("picked", mode)
            found = drive(running, sightings, kinds, calls)
        finally:
            stop.set()
            thread.join(5)
    return found, frames


def remote(directory: Path, mode: str, calls: int) -> tuple[dict[str, list[float]], list[float]]:
    """One remote phase in a child process; "built" also runs the raw SSE baseline."""
    with hall(directory, f"remote-{mode}", calls) as running:
        context = mp.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=remote_main, args=(running.base, mode, child))
        process.start()
        sightings = Sightings()
        ready = threading.Event()
        frames: list[float] = []

        def receive() -> None:
            while True:
                message = parent.recv()
                if message[0] == "ready":
                    ready.set()
                elif message[0] == "done":
                    frames.extend(message[1])
                    return
                elif message[0] == "error":
                    raise SystemExit(f"remote screen: {message[1]}")
                else:
                    sightings.record(*message)

        receiver = threading.Thread(target=receive, daemon=True)
        receiver.start()
        if not ready.wait(30):
            raise SystemExit("the remote screen process did not get ready")
        kinds = (mode, "sse") if mode == "built" else ("picked", mode)
        try:
            found = drive(running, sightings, kinds, calls)
        finally:
            parent.send("stop")
            receiver.join(10)
            process.join(10)
    return found, frames


def bare(directory: Path, samples: int) -> dict[str, list[float]]:
    """Baselines in this process: snapshot, snapshot + scene build, and draw of that scene."""
    import pygame

    from display.screen_pygame import SceneDrawer

    found: dict[str, list[float]] = {"snapshot": [], "build": [], "draw": []}
    with hall(directory, "bare", samples) as running:
        drawer = SceneDrawer()
        surface = pygame.Surface(SIZE)
        for i in range(samples):
            running.call(1 + i % 3)
            started = time.monotonic()
            snapshot = running.runtime.snapshot()
            taken = time.monotonic()
            scene = scene_for(ScreenFrame(snapshot, running.clock.now(), True), SIZE)
            built = time.monotonic()
            drawer.draw(surface, scene)
            found["snapshot"].append(taken - started)
            found["build"].append(built - started)
            found["draw"].append(time.monotonic() - built)
    return found


def row(label: str, values: list[float], base: float | None) -> None:
    """One line of figures; the ratio is p99 over the named baseline's p99."""
    ordered = sorted(values)
    p99 = percentile(ordered, 0.99)
    ratio = f"{p99 / base:>8.1f}x" if base else f"{'':>9}"
    print(
        f"{label:<52} {len(ordered):>5} {ms(percentile(ordered, 0.5))} {ms(p99)} "
        f"{ms(ordered[-1])} {ratio}"
    )


def main() -> None:
    """Run the four phases and the baselines in a temporary directory; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls", type=int, default=200, help=f"calls per phase, 1-{MAX_CALLS} (200)"
    )
    args = parser.parse_args()
    if not 1 <= args.calls <= MAX_CALLS:
        parser.error(f"--calls must be 1-{MAX_CALLS} (the example hall's daily quotas)")
    calls = args.calls
    print(f"TV screen latency: {calls} calls per phase, example hall, scenes at 1920x1080")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hall-bench-screen-") as name:
        directory = Path(name)
        base = bare(directory, calls)
        local_built, _ = in_process(directory, "built", calls)
        local_drawn, local_frames = in_process(directory, "drawn", calls)
        remote_built, _ = remote(directory, "built", calls)
        remote_drawn, remote_frames = remote(directory, "drawn", calls)
    print(f"(ran in {time.perf_counter() - began:.1f} s; latencies from execute() returning)\n")
    build_p99 = percentile(sorted(base["build"]), 0.99)
    sse_p99 = percentile(sorted(remote_built["sse"]), 0.99)
    print(f"{'':<52} {'count':>5} {'p50':>11} {'p99':>11} {'max':>11} {'p99/base':>9}")
    print("baselines")
    row("  bare runtime.snapshot()", base["snapshot"], None)
    row("  bare snapshot + scene_for (= base, in-process)", base["build"], None)
    row("  bare SceneDrawer.draw of that scene", base["draw"], None)
    row("  raw SSE reader sees TicketCalled (= base, remote)", remote_built["sse"], None)
    print("in process (RuntimeScreenSource)")
    row("  call -> scene built", local_built["built"], build_p99)
    row("  call -> a frame began with it (25 fps loop)", local_drawn["picked"], build_p99)
    row("  call -> that frame flipped", local_drawn["drawn"], build_p99)
    row("  frame: scene_for + draw + flip", local_frames, None)
    print("remote process (HallStream: SSE with the state pushed)")
    row("  call -> scene built", remote_built["built"], sse_p99)
    row("  call -> a frame began with it (25 fps loop)", remote_drawn["picked"], sse_p99)
    row("  call -> that frame flipped", remote_drawn["drawn"], sse_p99)
    row("  frame: scene_for + draw + flip", remote_frames, None)
    print("runtime.execute(CallNext) itself, in this process")
    for label, phase in (
        ("in-process built", local_built),
        ("in-process drawn (frame loop here)", local_drawn),
        ("remote built", remote_built),
        ("remote drawn", remote_drawn),
    ):
        row(f"  during {label}", phase["execute"], None)
    coalesce = percentile(sorted(remote_built["built"]), 0.5) - percentile(
        sorted(remote_built["sse"]), 0.5
    )
    print(
        f"\nremote: scene built p50 is {ms(coalesce).strip()} after the raw SSE p50 "
        "(the state comes on the stream after the burst's events); "
        "no target is set for the screen"
    )


if __name__ == "__main__":
    main()
