"""The announcer: one queue, call order, no overlap, recalls, emergencies, no audio device."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from controller.app.clock import ManualClock
from controller.app.hub import Hub
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain.events import (
    Event,
    NoticeCleared,
    NoticePosted,
    TicketCalled,
    TicketRecalled,
)
from devices.voice.announcer import Announcer
from devices.voice.audio_sink import (
    AudioBuffer,
    AudioSink,
    PlayRecord,
    PygameAudioSink,
    SimulatedAudioSink,
)
from devices.voice.voice_clips import ClipSet
from devices.voice.voice_config import VoiceConfig
from display.voice_script import call_script
from tests.conftest import hall_time
from tests.required_parts import require_part
from tests.voice_helpers import generated_clip_dir, tiny_clip_dir, twenty_window_hall

AT = hall_time("09:00")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> ClipSet:
    return ClipSet.load(generated_clip_dir(tmp_path_factory))


@pytest.fixture
def running() -> Iterator[Callable[..., Announcer]]:
    started: list[Announcer] = []

    def start(sink: AudioSink, clip_set: ClipSet | None, **options: Any) -> Announcer:
        announcer = Announcer(sink, clip_set, **options)
        announcer.start()
        started.append(announcer)
        return announcer

    yield start
    for announcer in started:
        announcer.stop()


def test_burst_of_20_calls_within_one_second_all_announced_in_order(
    clips: ClipSet, running: Callable[..., Announcer], tmp_path: Path
) -> None:
    config = twenty_window_hall()
    clock = ManualClock(AT)
    hub = Hub()
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db", durable=False), clock, hub)
    sink = SimulatedAudioSink(time_scale=0.002)
    announcer = running(sink, clips)
    hub.subscribe("voice", announcer.on_events)
    for window in range(1, 21):
        runtime.execute(cmd.IssueTicket("ZH"))
        runtime.execute(cmd.SignIn(window, f"W{window:02d}", "A"))
    called: list[tuple[str, int]] = []
    start = clock.now()
    for window in random.Random(4).sample(range(1, 21), 20):
        clock.advance(0.045)
        reply = runtime.execute(cmd.CallNext(window))
        assert reply.accepted
        called.append((reply.result["number"], window))
    assert clock.now() - start < dt.timedelta(seconds=1)

    assert sink.wait_records(20, timeout=30)  # the hub delivers on its own thread
    assert announcer.wait_idle(timeout=5)
    hub.stop()
    records = sink.records
    assert [r.text for r in records] == [f"请{n}号到{w}号窗口办理" for n, w in called]
    assert [r.clips for r in records] == [call_script(n, w).clips(2) for n, w in called]
    assert all(r.completed for r in records)
    _assert_no_overlap(records)
    assert sink.max_concurrent == 1
    assert all(5 < r.duration_seconds < 20 for r in records)  # computed from the buffers
    health = announcer.health()
    assert (health.announced, health.missed, health.pending) == (20, 0, 0)


def test_real_mixer_plays_a_same_instant_burst_one_after_another(
    tmp_path: Path, running: Callable[..., Announcer], monkeypatch: pytest.MonkeyPatch
) -> None:
    _require_pygame()
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    clips = ClipSet.load(tiny_clip_dir(tmp_path / "clips", seconds=0.06))
    sink = TimedSink(PygameAudioSink(driver="dummy"))
    announcer = running(sink, clips, repeat=1, clip_gap_seconds=0.01)
    recall = TicketRecalled(at=AT, ticket_id="t-A001", number="A001", window=1, recall_count=1)
    batch: list[Event] = [_called("A001", 1), _called("B002", 12), _called("C003", 105), recall]
    announcer.on_events(batch)  # one batch: four announcements in the same instant
    assert announcer.wait_idle(timeout=20)
    assert [text for text, *_ in sink.plays] == [
        "请A001号到1号窗口办理",
        "请B002号到12号窗口办理",
        "请C003号到105号窗口办理",
        "再次呼叫，请A001号到1号窗口办理",
    ]
    for (_, duration, started, ended, completed), (*_, next_start, _e, _c) in zip(
        sink.plays, [*sink.plays[1:], ("", 0.0, float("inf"), 0.0, True)], strict=True
    ):
        assert completed
        assert ended - started >= 0.9 * duration  # the dummy driver plays in real time
        assert next_start >= ended
    assert sink.max_concurrent == 1


def test_a_recall_is_announced_again(
    clips: ClipSet, running: Callable[..., Announcer], tmp_path: Path
) -> None:
    clock = ManualClock(AT)
    hub = Hub()
    runtime = HallRuntime(
        twenty_window_hall(), Journal.at_path(tmp_path / "h.db", durable=False), clock, hub
    )
    sink = SimulatedAudioSink()
    announcer = running(sink, clips)
    hub.subscribe("voice", announcer.on_events)
    runtime.execute(cmd.IssueTicket("ZH"))
    runtime.execute(cmd.SignIn(3, "W03", "A"))
    runtime.execute(cmd.CallNext(3))
    clock.advance(30)
    assert runtime.execute(cmd.Recall(3)).accepted
    assert sink.wait_records(2, timeout=10)
    assert [r.text for r in sink.records] == [
        "请A001号到3号窗口办理",
        "再次呼叫，请A001号到3号窗口办理",
    ]
    assert sink.records[1].clips[1] == "zaici_hujiao.wav"
    hub.stop()


def test_an_emergency_preempts_and_the_interrupted_call_is_heard_again_whole(
    clips: ClipSet, running: Callable[..., Announcer]
) -> None:
    sink = SimulatedAudioSink(time_scale=0.05)
    announcer = running(sink, clips, emergency_repeat=1)
    announcer.on_events([_called("A001", 1), _called("A002", 2)])
    assert sink.wait_playing(timeout=5)
    posted = time.monotonic()
    announcer.on_events([_notice(7, "大厅临时停电，请有序离开")])
    assert announcer.wait_idle(timeout=20)
    records = sink.records
    assert [(r.kind, r.completed) for r in records] == [
        ("call", False),
        ("emergency", True),
        ("call", True),
        ("call", True),
    ]
    assert [r.text for r in records][2:] == ["请A001号到1号窗口办理", "请A002号到2号窗口办理"]
    assert records[1].text == "紧急通知：大厅临时停电，请有序离开"
    assert records[1].started - posted < 0.25  # preempted within a poll, not after the call
    assert records[0].ended - records[0].started < records[0].duration_seconds * 0.05
    _assert_no_overlap(records)
    assert announcer.health().interrupted == 1


def test_emergencies_queue_in_order_and_a_cleared_notice_is_not_heard(
    clips: ClipSet, running: Callable[..., Announcer]
) -> None:
    sink = SimulatedAudioSink(time_scale=0.02)
    announcer = running(sink, clips, emergency_repeat=1)
    announcer.on_events([_notice(1, "第一条")])
    assert sink.wait_playing(timeout=5)
    announcer.on_events([_called("A001", 1), _notice(2, "第二条"), _notice(3, "第三条")])
    announcer.on_events([NoticeCleared(at=AT, notice_id=3)])
    assert announcer.wait_idle(timeout=20)
    assert [(r.text, r.completed) for r in sink.records] == [
        ("紧急通知：第一条", True),  # a second emergency does not interrupt the first
        ("紧急通知：第二条", True),
        ("请A001号到1号窗口办理", True),
    ]
    announcer.on_events([_notice(4, "第四条")])
    assert sink.wait_playing(timeout=5)
    announcer.on_events([NoticeCleared(at=AT, notice_id=4)])  # taken down while playing
    assert announcer.wait_idle(timeout=5)
    assert (sink.records[-1].text, sink.records[-1].completed) == ("紧急通知：第四条", False)
    assert announcer.health().cancelled == 2


def test_no_audio_device_calls_continue_with_an_alert_and_the_device_is_retried(
    clips: ClipSet, running: Callable[..., Announcer], tmp_path: Path
) -> None:
    clock = ManualClock(AT)
    hub = Hub()
    runtime = HallRuntime(
        twenty_window_hall(), Journal.at_path(tmp_path / "h.db", durable=False), clock, hub
    )
    sink = SimulatedAudioSink(available=False)
    announcer = running(sink, clips, retry_seconds=0.05)
    hub.subscribe("voice", announcer.on_events)
    runtime.add_alert_source(announcer.alerts)
    for window in (1, 2, 3):
        runtime.execute(cmd.IssueTicket("ZH"))
        runtime.execute(cmd.SignIn(window, f"W{window:02d}", "A"))
        assert runtime.execute(cmd.CallNext(window)).accepted  # calling goes on
    _eventually(lambda: announcer.health().missed == 3)
    alerts = [a for a in runtime.snapshot()["alerts"] if a["kind"] == "voice_unavailable"]
    assert len(alerts) == 1
    assert "语音播报设备不可用" in alerts[0]["message"]
    assert "已有 3 次呼叫未播报" in alerts[0]["message"]
    assert sink.records == []

    sink.available = True  # the speaker is plugged back in: found by the periodic retry
    _eventually(lambda: announcer.health().available is True)
    assert announcer.alerts() == []
    runtime.execute(cmd.Recall(3))
    assert sink.wait_records(1, timeout=5)
    assert sink.records[0].text == "再次呼叫，请A003号到3号窗口办理"
    hub.stop()


def test_real_mixer_without_a_device_alerts_then_recovers(
    tmp_path: Path, running: Callable[..., Announcer], monkeypatch: pytest.MonkeyPatch
) -> None:
    _require_pygame()
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")  # restored after the test
    clips = ClipSet.load(tiny_clip_dir(tmp_path / "clips", seconds=0.06))
    sink = PygameAudioSink(driver="no_such_audio_driver")
    announcer = running(sink, clips, repeat=1, retry_seconds=0.05)
    started = time.monotonic()
    announcer.on_events([_called("A001", 1)])
    assert time.monotonic() - started < 0.5  # the hub's thread never waits for audio
    _eventually(lambda: announcer.health().missed == 1)
    (alert,) = [a.to_json() for a in announcer.alerts()]
    assert alert["kind"] == "voice_unavailable"
    assert "no_such_audio_driver" in alert["detail"]
    sink.driver = "dummy"
    _eventually(lambda: announcer.health().available is True)
    announcer.on_events([_called("A002", 2)])
    assert announcer.wait_idle(timeout=10)
    assert announcer.health().announced == 1
    assert sink.last_started is not None


def test_real_mixer_opened_elsewhere_at_44100_stereo_is_reopened_in_the_clip_format(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _require_pygame()
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    import pygame

    pygame.mixer.init(frequency=44100, size=-16, channels=2)  # as a plain pygame.init() does
    sink = PygameAudioSink(driver="dummy")
    try:
        sink.open()
        assert pygame.mixer.get_init() == (22050, -16, 1)
    finally:
        sink.close()


def test_a_device_lost_mid_announcement_is_counted_and_retried(
    clips: ClipSet, running: Callable[..., Announcer]
) -> None:
    sink = SimulatedAudioSink(fail_plays=1)
    announcer = running(sink, clips, retry_seconds=0.05)
    announcer.on_events([_called("A001", 1), _called("A002", 2)])
    assert sink.wait_records(1, timeout=5)
    assert announcer.wait_idle(timeout=5)
    assert [r.text for r in sink.records] == ["请A002号到2号窗口办理"]
    health = announcer.health()
    assert (health.missed, health.announced, health.available) == (1, 1, True)
    assert sink.opens == 2


def test_an_unspeakable_number_is_rejected_and_the_rest_announced(
    clips: ClipSet, running: Callable[..., Announcer]
) -> None:
    sink = SimulatedAudioSink()
    announcer = running(sink, clips)
    announcer.on_events([_called("A-1", 1), _called("A002", 1000), _called("A003", 3)])
    assert sink.wait_records(1, timeout=5)
    assert [r.text for r in sink.records] == ["请A003号到3号窗口办理"]
    assert announcer.health().rejected == 2


def test_broken_clips_disable_voice_with_an_alert_never_the_hall(
    clips: ClipSet, tmp_path: Path, running: Callable[..., Announcer]
) -> None:
    (tmp_path / "hall").mkdir()
    (tmp_path / "hall" / "qing.wav").write_text("oops", encoding="utf-8")
    config = VoiceConfig(clips_dir=tmp_path / "missing", custom_clips_dir=Path("hall"))
    sink = SimulatedAudioSink()
    announcer = Announcer.from_config(config, base=tmp_path, sink=sink)
    announcer.start()
    try:
        announcer.on_events([_called("A001", 1)])
        _eventually(lambda: announcer.health().missed == 1)
        (alert,) = [a.to_json() for a in announcer.alerts()]
        assert alert["kind"] == "voice_clips_invalid"
        assert str(tmp_path / "missing") in alert["message"]
        assert str(tmp_path / "hall" / "qing.wav") in alert["files"]
        assert sink.records == []
    finally:
        announcer.stop()


def test_from_config_resolves_clip_directories_from_the_base(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    source = generated_clip_dir(tmp_path_factory)
    config = VoiceConfig(clips_dir=source, repeat=3, gap_seconds=0.5, audio_driver="dummy")
    sink = SimulatedAudioSink()
    announcer = Announcer.from_config(config, base=tmp_path, sink=sink)
    announcer.start()
    try:
        announcer.on_events([_called("A001", 1)])
        assert sink.wait_records(1, timeout=5)
        assert sink.records[0].clips == call_script("A001", 1).clips(3)
        assert announcer.alerts() == []
    finally:
        announcer.stop()
    assert VoiceConfig(clips_dir=Path("v")).directories(tmp_path) == [tmp_path / "v"]


def test_stop_interrupts_a_long_announcement_promptly(
    clips: ClipSet, running: Callable[..., Announcer]
) -> None:
    sink = SimulatedAudioSink(time_scale=1.0)
    announcer = running(sink, clips)
    announcer.on_events([_called("A001", 1), _called("A002", 2)])
    assert sink.wait_playing(timeout=5)
    started = time.monotonic()
    announcer.stop()
    assert time.monotonic() - started < 1.0
    assert [r.completed for r in sink.records] == [False]


@dataclass
class TimedSink:
    """Wraps a real sink: records (text, duration, start, end, completed) of each play."""

    inner: PygameAudioSink
    plays: list[tuple[str, float, float, float, bool]] = field(default_factory=list)
    max_concurrent: int = 0
    _active: int = 0

    def open(self) -> None:
        self.inner.open()

    def play(self, audio: AudioBuffer, stop: threading.Event) -> bool:
        self._active += 1
        self.max_concurrent = max(self.max_concurrent, self._active)
        started = time.monotonic()
        try:
            completed = self.inner.play(audio, stop)
        finally:
            self._active -= 1
        self.plays.append(
            (audio.text, audio.duration_seconds, started, time.monotonic(), completed)
        )
        return completed

    def close(self) -> None:
        self.inner.close()


def _called(number: str, window: int) -> TicketCalled:
    return TicketCalled(at=AT, ticket_id=f"t-{number}", number=number, window=window, rule="fifo")


def _notice(notice_id: int, text: str) -> NoticePosted:
    return NoticePosted(at=AT, notice_id=notice_id, text=text, level="emergency")


def _assert_no_overlap(records: list[PlayRecord]) -> None:
    for before, after in itertools.pairwise(records):
        assert after.started >= before.ended


def _eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def _require_pygame() -> None:
    try:
        import pygame  # noqa: F401

        found = True
    except ImportError:
        found = False
    require_part("pygame", found, "pyproject.toml lists pygame>=2.5; run scripts/install.sh")
