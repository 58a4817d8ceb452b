"""Twenty windows call within one second through the real hall: strips, TV screen and voice.

One HallRuntime on uvicorn (a 20-window hall), its hub feeding at once: an LED bus with 20
simulated strips on one real pty at 9600 baud (default timings and probes), the in-process TV
screen source and a remote screen client following the live stream, and the announcer with
the real espeak-ng clips into the simulated audio sink.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from controller.app.screen_client import HallStream
from controller.app.screen_runner import RuntimeScreenSource, ScreenFrame, ScreenSource, scene_for
from controller.app.subscribers.latest_state import LatestState
from controller.app.subscribers.led_strips import LedStripSubscriber
from controller.domain import commands as cmd
from devices.led.led_bus import LedBus
from devices.led.led_config import LedBusConfig, LedStripConfig
from devices.led.sim_led_strip import SimLedStrip, SimulatedLedBus
from devices.screen.pygame_screen import DEFAULT_FONT_PATH, save_png
from devices.voice.announcer import Announcer
from devices.voice.audio_sink import SimulatedAudioSink
from devices.voice.voice_clips import ClipSet
from display.tv_text import NO_TICKET
from display.voice_script import call_script
from firmware_protocols.led.led_strip import ShowCall
from tests.required_parts import require_part
from tests.screen_helpers import DISPLAY_TOKEN, ScreenHall, served_hall, wait_for
from tests.voice_helpers import generated_clip_dir, twenty_window_hall

WINDOWS = range(1, 21)
BLINK_SECONDS = 5


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> ClipSet:
    return ClipSet.load(generated_clip_dir(tmp_path_factory))


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[ScreenHall]:
    with served_hall(tmp_path, twenty_window_hall()) as running:
        yield running


@dataclass
class Burst:
    """The hall and everything its hub feeds."""

    hall: ScreenHall
    sims: dict[int, SimLedStrip]
    sink: SimulatedAudioSink
    announcer: Announcer
    local: RuntimeScreenSource
    remote: HallStream


@contextmanager
def wired(hall: ScreenHall, clips: ClipSet, directory: Path) -> Iterator[Burst]:
    """The LED line, the announcer and both screens subscribed to the hall's hub."""
    runtime = hall.runtime
    with ExitStack() as stack:
        line = stack.enter_context(SimulatedLedBus(baudrate=9600, link=directory / "led"))
        sims = {n: line.add_strip(n) for n in WINDOWS}
        strips = [LedStripConfig(address=n, window=n) for n in WINDOWS]
        bus_config = LedBusConfig(id="hall", url=line.url, strips=strips)  # 9600 baud, defaults
        latest = LatestState(runtime.state_snapshot())
        bus = stack.enter_context(LedBus(bus_config, latest))
        runtime.add_alert_source(bus.alerts)
        leds = LedStripSubscriber(bus.displays, latest, blink_seconds=BLINK_SECONDS)
        leds.watch(runtime.hub.subscribe_with_state("led", leds.handle))
        sink = SimulatedAudioSink(time_scale=0.002)
        announcer = Announcer(sink, clips)
        announcer.start()
        stack.callback(announcer.stop)
        runtime.hub.subscribe("voice", announcer.on_events)
        local = RuntimeScreenSource(runtime)
        remote = HallStream(hall.base, DISPLAY_TOKEN, backoff=(0.05, 0.1, 0.2)).start()
        stack.callback(remote.stop)
        yield Burst(hall, sims, sink, announcer, local, remote)


def _tiles(frame: ScreenFrame) -> list[str]:
    return [t.text for t in scene_for(frame).texts("window-ticket")]


def _shows(source: ScreenSource, tiles: list[str]) -> bool:
    return _tiles(source.frame()) == tiles


def test_twenty_calls_in_one_second_reach_every_strip_the_screen_and_the_voice(
    hall: ScreenHall, clips: ClipSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    runtime = hall.runtime
    with wired(hall, clips, tmp_path) as burst:
        for n in WINDOWS:
            runtime.execute(cmd.IssueTicket("ZH"))
            runtime.execute(cmd.SignIn(n, f"W{n:02d}", "A"))
        for n, sim in burst.sims.items():  # the line is quiet again: every strip shows 亮牌上岗
            sim.wait_for_text(f"员工{n}", timeout=20)
        remote = burst.remote
        wait_for(lambda: remote.connected and _tiles(remote.frame()) == [NO_TICKET] * 20)

        called: list[tuple[str, int]] = []
        start = hall.clock.now()
        for window in random.Random(20).sample(list(WINDOWS), 20):
            hall.clock.advance(0.045)
            reply = runtime.execute(cmd.CallNext(window))
            assert reply.accepted, reply.result
            called.append((str(reply.result["number"]), window))
        assert hall.clock.now() - start < dt.timedelta(seconds=1)
        assert sorted(number for number, _ in called) == [f"A{n:03d}" for n in WINDOWS]

        _assert_strips(burst, called)
        _assert_screens(burst, called, tmp_path)
        _assert_voice(burst, called)


def _assert_strips(burst: Burst, called: list[tuple[str, int]]) -> None:
    """Every strip shows its own window's number, from one SHOW_CALL each, in call order."""
    for number, window in called:
        burst.sims[window].wait_for_text(f"请{number}号到{window}号窗口", timeout=10)
    arrived = []
    for number, window in called:
        shown = [e for e in burst.sims[window].executed if isinstance(e.request, ShowCall)]
        assert [e.request for e in shown] == [ShowCall(number, f"{window}号窗口", BLINK_SECONDS)]
        arrived.append(shown[0].at)
    assert arrived == sorted(arrived)
    alerts = burst.hall.runtime.snapshot()["alerts"]
    assert not [a for a in alerts if a["kind"].startswith("led_")]


def _assert_screens(burst: Burst, called: list[tuple[str, int]], directory: Path) -> None:
    """The TV screen, in this process and over the live stream, lists all 20."""
    by_window = {window: number for number, window in called}
    wanted = [by_window[n] for n in WINDOWS]
    sources: list[ScreenSource] = [burst.local, burst.remote]
    for source in sources:
        wait_for(partial(_shows, source, wanted), what=f"20 tiles on {source}")
        scene = scene_for(source.frame())
        assert scene.texts("latest-number")[0].text == called[-1][0]
    require_part(
        "WenQuanYi Zen Hei font",
        DEFAULT_FONT_PATH.is_file(),
        "scripts/install.sh installs the Debian package fonts-wqy-zenhei",
    )
    png = save_png(scene_for(burst.remote.frame()), directory / "burst-screen.png")
    assert png.stat().st_size > 0


def _assert_voice(burst: Burst, called: list[tuple[str, int]]) -> None:
    """All 20 announced in call order, one at a time, none skipped."""
    sink = burst.sink
    assert sink.wait_records(20, timeout=30)
    assert burst.announcer.wait_idle(timeout=10)
    records = sink.records
    assert [r.text for r in records] == [f"请{n}号到{w}号窗口办理" for n, w in called]
    assert [r.clips for r in records] == [call_script(n, w).clips(2) for n, w in called]
    assert all(r.completed for r in records) and sink.max_concurrent == 1
    for before, after in itertools.pairwise(records):
        assert after.started >= before.ended
    health = burst.announcer.health()
    assert (health.announced, health.missed, health.pending) == (20, 0, 0)
