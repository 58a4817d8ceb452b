"""Call -> TV scene updated: in process (RuntimeScreenSource) and remote (HallStream over HTTP).

A real HallRuntime (example hall, durable file journal) served by uvicorn on a free port;
windows 1-3 call in turn, 30 s of hall time apart. Each sample runs from the moment
`runtime.execute(CallNext)` returned to the moment a scene whose latest-call tile shows that
number had been built by `controller.app.screen_runner.scene_for` (the pure
`display.tv_layout` function) at 1920x1080, or drawn on the screen. Four phases, each on
a fresh hall:

* in-process, built: `RuntimeScreenSource` (what `LocalScreen` uses when `[screen] local`),
  its `frame()` polled every 0.5 ms, a scene built whenever the snapshot changed;
* in-process, drawn: the same source behind the screen's 25 frames/s loop (the loop of
  `run_screen`, with `ScreenWindow` at 1920x1080 on SDL's dummy video driver, which draws
  with `SceneDrawer`); the sample ends when the frame showing the number was flipped;
* remote, built / drawn: the same two in a separate process (the TV's mini PC) following
  the hall with `controller.app.screen_client.HallStream`: GET /api/events?with_state=true
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
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import uvicorn

from benchmarks.common import MONDAY, at, example_config, ms, percentile
from benchmarks.screen_watchers import (
    SIZE,
    TOKEN,
    Sightings,
    remote_main,
    watch_built,
    watch_drawn,
)
from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.app.screen_runner import (
    RuntimeScreenSource,
    ScreenFrame,
    scene_for,
)
from controller.domain import commands as cmd

CALLING = {1: "S0101", 2: "S0201", 3: "S0301"}  # window -> its A staff (example hall)
MAX_CALLS = 290  # window 2 takes from SB and YB; YB's quota is 200


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
        if not reply.accepted:
            raise SystemExit(f"call at window {window} refused: {reply.result}")
        return str(reply.result["number"]), started, returned

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

    from devices.screen.pygame_screen import SceneDrawer

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
