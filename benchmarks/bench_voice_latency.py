"""Call → announcement starts: hub publish of a TicketCalled to the audio sink starting it.

An idle announcer (real Hub, real Announcer, clips generated with espeak-ng, or tones when
espeak-ng is missing) receives one call at a time; measured: the batch published on the hub
→ `sink.play` entered (queue hand-off, composing the buffer), with the simulated sink and
with the real pygame.mixer sink on SDL's dummy driver, and for the latter → the mixer
channel started. Each real play is stopped 20 ms in, so samples don't wait for speech.
Then a burst of 20 calls in one batch: all played in order, and how long the 20th waits at
real speed. Baseline: a bare queue.Queue hand-off between two threads. Target: p99 of
publish → mixer started ≤ 50 ms.

    .venv/bin/python -m benchmarks.bench_voice_latency [--calls 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import queue
import shutil
import tempfile
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.common import ms, percentile
from controller.events import TicketCalled
from controller.hub import Hub
from devices.announcer import Announcer
from devices.audio_sink import AudioBuffer, PygameAudioSink, SimulatedAudioSink
from devices.voice_clip_synth import generate_clip_set, write_wav
from devices.voice_clips import ClipSet
from display.voice_script import CLIP_NAMES

TARGET_P99_SECONDS = 0.050
STOP_AFTER_SECONDS = 0.020
AT = dt.datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class TimingSink:
    """Wraps a sink: when play was entered and (real mixer) when the channel started."""

    def __init__(self, inner: PygameAudioSink | SimulatedAudioSink) -> None:
        self.inner = inner
        self.entered: list[float] = []
        self.started: list[float] = []
        self.texts: list[str] = []

    def open(self) -> None:
        self.inner.open()

    def play(self, audio: AudioBuffer, stop: threading.Event) -> bool:
        self.entered.append(time.monotonic())
        self.texts.append(audio.text)
        if isinstance(self.inner, SimulatedAudioSink):
            return self.inner.play(audio, stop)
        own = threading.Event()
        timer = threading.Timer(STOP_AFTER_SECONDS, own.set)
        timer.start()
        try:
            return self.inner.play(audio, own)
        finally:
            timer.cancel()
            if self.inner.last_started is not None:
                self.started.append(self.inner.last_started)

    def close(self) -> None:
        self.inner.close()


def measure(sink: TimingSink, clips: ClipSet, calls: int) -> tuple[list[float], list[float]]:
    """Publish `calls` single calls on an idle announcer; latencies to play entered / started.

    Latencies are in call order (unsorted).
    """
    hub = Hub()
    announcer = Announcer(sink, clips)
    announcer.start()
    hub.subscribe("voice", announcer.on_events)
    wait_open(announcer)
    to_play: list[float] = []
    to_start: list[float] = []
    for i in range(calls):
        number = f"A{i % 1000:03d}"
        event = TicketCalled(at=AT, ticket_id=f"t{i}", number=number, window=1 + i % 20, rule="")
        published = time.monotonic()
        hub.publish([event])
        while len(sink.entered) <= i:
            time.sleep(0.0002)
        announcer.wait_idle(10)
        to_play.append(sink.entered[i] - published)
        if sink.started:
            to_start.append(sink.started[-1] - published)
    hub.stop()
    announcer.stop()
    return to_play, to_start


def burst(clips: ClipSet) -> tuple[float, bool, float]:
    """20 calls in one batch on the simulated sink: first start, order kept, 20th call's wait."""
    sink = SimulatedAudioSink()
    timing = TimingSink(sink)
    hub = Hub()
    announcer = Announcer(timing, clips)
    announcer.start()
    hub.subscribe("voice", announcer.on_events)
    wait_open(announcer)
    events = [
        TicketCalled(at=AT, ticket_id=f"b{w}", number=f"B{w:03d}", window=w, rule="")
        for w in range(1, 21)
    ]
    published = time.monotonic()
    hub.publish(events)
    sink.wait_records(20, 30)
    first = timing.entered[0] - published
    ordered = timing.texts == [f"请B{w:03d}号到{w}号窗口办理" for w in range(1, 21)]
    wait_of_20th = sum(r.duration_seconds for r in sink.records[:19])
    hub.stop()
    announcer.stop()
    return first, ordered, wait_of_20th


def wait_open(announcer: Announcer) -> None:
    """Wait until the announcer's thread has opened the device (pygame import, mixer init)."""
    deadline = time.monotonic() + 10
    while announcer.health().available is not True and time.monotonic() < deadline:
        time.sleep(0.001)


def baseline(count: int) -> list[float]:
    """A bare queue.Queue put → get on another thread, the floor of any hand-off."""
    handoff: queue.Queue[float | None] = queue.Queue()
    seen: list[float] = []
    done = threading.Event()

    def consume() -> None:
        while (sent := handoff.get()) is not None:
            seen.append(time.monotonic() - sent)
            done.set()

    thread = threading.Thread(target=consume)
    thread.start()
    for _ in range(count):
        done.clear()
        handoff.put(time.monotonic())
        done.wait()
        time.sleep(0.001)
    handoff.put(None)
    thread.join()
    return sorted(seen)


def clip_set(directory: Path) -> tuple[ClipSet, str]:
    """The espeak-ng clip set, or tones of similar length when espeak-ng is not installed."""
    if shutil.which("espeak-ng"):
        generate_clip_set(directory)
        return ClipSet.load(directory), "espeak-ng clips"
    from array import array

    for name in CLIP_NAMES:
        write_wav(directory / name, array("h", [1000, -1000] * 5000))
    return ClipSet.load(directory), "tone clips (espeak-ng missing)"


def row(label: str, values: list[float], base_p99: float) -> None:
    """One line of figures."""
    values = sorted(values)
    p99 = percentile(values, 0.99)
    print(
        f"{label:<34} {len(values):>5} {ms(percentile(values, 0.5))} {ms(p99)} "
        f"{ms(values[-1])} {p99 / base_p99:>8.1f}x"
    )


def main() -> None:
    """Run the measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="single calls per sink")
    args = parser.parse_args()
    os.environ["SDL_AUDIODRIVER"] = "dummy"
    with tempfile.TemporaryDirectory(prefix="hall-bench-voice-") as name:
        clips, kind = clip_set(Path(name))
        print(f"voice latency: {args.calls} calls per sink, {kind}, repeat 2\n")
        base = baseline(args.calls)
        sim_play, _ = measure(TimingSink(SimulatedAudioSink()), clips, args.calls)
        real_play, real_start = measure(
            TimingSink(PygameAudioSink(driver="dummy")), clips, args.calls
        )
        first, ordered, wait_of_20th = burst(clips)
    base_p99 = percentile(base, 0.99)
    print(f"{'':<34} {'count':>5} {'p50':>11} {'p99':>11} {'max':>11} {'p99/base':>9}")
    row("baseline queue hand-off", base, base_p99)
    row("publish → play (simulated sink)", sim_play, base_p99)
    row("publish → play (pygame dummy)", real_play, base_p99)
    row("publish → mixer started (pygame)", real_start, base_p99)
    p99 = percentile(sorted(real_start), 0.99)
    verdict = "met" if p99 <= TARGET_P99_SECONDS else "MISSED"
    print(f"\npublish → mixer started p99 = {ms(p99).strip()} (target <= 50 ms: {verdict})")
    print(
        f"burst of 20 in one batch: first play {ms(first).strip()} after publish, "
        f"order kept: {ordered}; the 20th call is heard {wait_of_20th:.0f} s after its call "
        "(19 announcements ahead of it at real speed)"
    )


if __name__ == "__main__":
    main()
