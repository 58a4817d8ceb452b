"""The observers of bench_screen_latency: who saw a called number first, and when.

They run in the benchmark's process (in-process screen) and in the remote process that plays
the TV's mini PC (`remote_main`, started with multiprocessing's spawn).
"""

from __future__ import annotations

import json
import os
import threading
import time
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, Protocol

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import httpx

from controller.app.screen_client import HallStream, sse_events
from controller.app.screen_runner import FRAMES_PER_SECOND, ScreenSource, scene_for
from display.scene import Scene

TOKEN = "bench-display-token-00000001"
SIZE = (1920, 1080)
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
    from devices.screen.pygame_screen import ScreenWindow

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
