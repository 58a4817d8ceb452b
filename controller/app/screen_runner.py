"""Runs the TV calling screen: a source of snapshots, the pure scene, and a pygame window."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from controller.app.hub import Batch
from controller.app.runtime import HallRuntime
from display.scene import Scene
from display.tv_layout import DESIGN, render_connecting, render_scene

if TYPE_CHECKING:
    from devices.screen.pygame_screen import FontChoice

log = logging.getLogger(__name__)
FRAMES_PER_SECOND = 25  # smooth enough for the notices line; layout + drawing take ~15 ms a frame
LOCAL_REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class ScreenFrame:
    """What to draw now: the latest snapshot (None before the first), hall time, link state."""

    snapshot: dict[str, Any] | None
    now: dt.datetime
    connected: bool


class ScreenSource(Protocol):
    """Anything that can say what the screen should show at this moment."""

    def frame(self) -> ScreenFrame:
        """The current frame input; must be cheap (called every frame) and never raise."""
        ...


def scene_for(frame: ScreenFrame, size: tuple[int, int] = DESIGN) -> Scene:
    """The scene for a frame: "connecting" until a snapshot exists, then the calling screen."""
    if frame.snapshot is None:
        return render_connecting(frame.now, size)
    return render_scene(frame.snapshot, frame.now, size, connection_lost=not frame.connected)


def run_screen(
    source: ScreenSource,
    *,
    windowed: bool = False,
    font: FontChoice | None = None,
    stop: threading.Event | None = None,
    fps: int = FRAMES_PER_SECOND,
    on_frame: Callable[[Scene], None] | None = None,
) -> None:
    """Show `source` full screen (or in a window) until Esc/Q, the window closes or `stop` is set.

    `on_frame` sees every scene after it is on the screen (tests, latency benchmarks).
    """
    from devices.screen.pygame_screen import ScreenWindow

    window = ScreenWindow(windowed=windowed, font=font)
    period = 1.0 / fps
    try:
        while not (stop is not None and stop.is_set()) and not window.wants_to_close():
            started = time.monotonic()
            scene = scene_for(source.frame(), window.size)
            window.show(scene)
            if on_frame is not None:
                on_frame(scene)
            time.sleep(max(0.0, period - (time.monotonic() - started)))
    finally:
        window.close()


class RuntimeScreenSource:
    """Frames from a hall running in this process: a fresh snapshot after each event batch."""

    def __init__(
        self, runtime: HallRuntime, refresh_seconds: float = LOCAL_REFRESH_SECONDS
    ) -> None:
        self._runtime = runtime
        self._refresh = refresh_seconds
        self._changed = threading.Event()
        self._snapshot: dict[str, Any] | None = None
        self._taken = 0.0
        runtime.hub.subscribe("tv-screen", self._on_batch, capacity=10)

    def frame(self) -> ScreenFrame:
        """The runtime's snapshot (re-taken after events or once a second) and its clock."""
        if (
            self._snapshot is None
            or self._changed.is_set()
            or time.monotonic() - self._taken >= self._refresh
        ):
            self._changed.clear()
            self._snapshot = self._runtime.state_snapshot()  # no device alerts on the TV
            self._taken = time.monotonic()
        return ScreenFrame(self._snapshot, self._runtime.clock.now(), connected=True)

    def _on_batch(self, _batch: Batch) -> None:
        self._changed.set()


class LocalScreen:
    """The calling screen inside the controller process: a thread drawing on a pygame window."""

    def __init__(
        self, runtime: HallRuntime, *, windowed: bool = False, font: FontChoice | None = None
    ) -> None:
        from devices.screen.pygame_screen import SceneDrawer, font_choice

        self._font = font or font_choice()
        SceneDrawer(self._font)  # a missing font fails here, at start-up, not in the thread
        self._source = RuntimeScreenSource(runtime)
        self._windowed = windowed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        self.on_frame: Callable[[Scene], None] | None = None

    def start(self) -> None:
        """Open the screen on its own thread."""
        self._thread = threading.Thread(target=self._run, name="tv-screen", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the screen and wait for its thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            run_screen(
                self._source,
                windowed=self._windowed,
                font=self._font,
                stop=self._stop,
                on_frame=self.on_frame,
            )
        except Exception as err:  # no display, lost display: the hall runs on without its TV
            self.error = f"{type(err).__name__}: {err}"
            log.exception("the TV screen stopped")
