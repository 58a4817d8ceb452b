"""The voice announcer: one queue, one thread, one announcement at a time, in call order.

Calls and recalls are appended in the order the hub delivers them and each is played to the
end as one buffer, so two calls in the same instant are both heard, one after the other
(FQM #138: the second call's audio replaced the first; FQM #275: the screen moved on before
the announcement finished). An emergency goes to the front, stops a call that is playing,
and that call is played again, whole, right after it. Without an audio device calls go on:
announcements are dropped and counted, `alerts()` says so, and the device is retried.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from controller.domain.alerts import Alert, AlertKind
from controller.domain.events import (
    Event,
    NoticeCleared,
    NoticePosted,
    TicketCalled,
    TicketRecalled,
)
from devices.voice.audio_sink import AudioSink, AudioUnavailable, PygameAudioSink
from devices.voice.voice_clips import ClipSet, VoiceClipError, compose
from devices.voice.voice_config import VoiceConfig
from display.voice_script import UnspeakableNumber, VoiceScript, call_script, emergency_script

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Item:
    seq: int
    script: VoiceScript
    repeat: int
    notice_id: int | None = None


@dataclass
class VoiceHealth:
    """Counters and device state; `available` is None until the device was first tried."""

    available: bool | None = None
    detail: str = ""
    announced: int = 0
    interrupted: int = 0  # preempted by an emergency, then played again
    missed: int = 0  # dropped: no audio device, or no usable clips
    cancelled: int = 0  # emergency notices cleared before or while being heard
    rejected: int = 0  # numbers the clip vocabulary cannot read
    pending: int = 0
    playing: str = ""


class Announcer:
    """Announces calls, recalls and emergencies through one AudioSink on its own thread."""

    def __init__(
        self,
        sink: AudioSink,
        clips: ClipSet | None,
        *,
        repeat: int = 2,
        gap_seconds: float = 1.0,
        clip_gap_seconds: float = 0.03,
        emergency_repeat: int = 3,
        retry_seconds: float = 10.0,
        clip_error: VoiceClipError | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self._clips = clips
        self._clip_error = clip_error
        self._repeat = repeat
        self._gap = gap_seconds
        self._clip_gap = clip_gap_seconds
        self._emergency_repeat = emergency_repeat
        self._retry = retry_seconds
        self._clock = clock
        self._health = VoiceHealth()
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._seq = 0
        self._current: _Item | None = None
        self._current_stop: threading.Event | None = None
        self._stop_reason = ""
        self._stopping = False
        self._next_retry = 0.0
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(
        cls, config: VoiceConfig, *, base: Path, sink: AudioSink | None = None
    ) -> Announcer:
        """Load the clips (a broken set disables voice with an alert, never the hall)."""
        clips: ClipSet | None = None
        error: VoiceClipError | None = None
        try:
            clips = ClipSet.load(*config.directories(base))
        except VoiceClipError as err:
            log.error("voice disabled: %s", err)
            error = err
        return cls(
            sink or PygameAudioSink(volume=config.volume, driver=config.audio_driver),
            clips,
            repeat=config.repeat,
            gap_seconds=config.gap_seconds,
            clip_gap_seconds=config.clip_gap_seconds,
            emergency_repeat=config.emergency_repeat,
            retry_seconds=config.retry_seconds,
            clip_error=error,
        )

    def start(self) -> None:
        """Start the announcer thread (opens the audio device at once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="voice-announcer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop what is playing, drop what is queued, end the thread, close the device."""
        with self._cond:
            self._stopping = True
            self._interrupt("shutdown")
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def on_events(self, batch: Sequence[Event]) -> None:
        """Hub callback: queue calls, recalls and emergency notices; never blocks on audio."""
        for event in batch:
            try:
                if isinstance(event, TicketCalled):
                    self.announce(call_script(event.number, event.window))
                elif isinstance(event, TicketRecalled):
                    self.announce(call_script(event.number, event.window, recall=True))
                elif isinstance(event, NoticePosted) and event.level == "emergency":
                    self.announce(emergency_script(event.text), notice_id=event.notice_id)
                elif isinstance(event, NoticeCleared):
                    self.cancel_notice(event.notice_id)
            except UnspeakableNumber as err:
                with self._cond:
                    self._health.rejected += 1
                log.error("not announced: %s", err)

    def announce(self, script: VoiceScript, *, notice_id: int | None = None) -> None:
        """Queue one announcement: calls in order; an emergency first, preempting a call."""
        with self._cond:
            self._seq += 1
            repeat = self._emergency_repeat if script.preempts else self._repeat
            item = _Item(self._seq, script, repeat, notice_id)
            if script.preempts:
                self._queue.insert(self._after_emergencies(), item)
                if self._current is not None and not self._current.script.preempts:
                    self._interrupt("preempted")
            else:
                self._queue.append(item)
            self._cond.notify_all()

    def cancel_notice(self, notice_id: int) -> None:
        """An emergency notice was taken down: drop it from the queue, stop it if playing."""
        with self._cond:
            kept = deque(i for i in self._queue if i.notice_id != notice_id)
            self._health.cancelled += len(self._queue) - len(kept)
            self._queue = kept
            if self._current is not None and self._current.notice_id == notice_id:
                self._interrupt("cancelled")
            self._cond.notify_all()

    def health(self) -> VoiceHealth:
        """A snapshot of the counters, the device state, the queue length and what plays."""
        with self._cond:
            playing = self._current.script.text if self._current else ""
            return dataclasses.replace(self._health, pending=len(self._queue), playing=playing)

    def alerts(self) -> list[Alert]:
        """Floor alerts: clips unusable, or no audio device (calls go on unannounced)."""
        if self._clip_error is not None:
            first = self._clip_error.problems[0]
            return [
                Alert(
                    AlertKind.VOICE_CLIPS_INVALID,
                    f"语音播报已停用：语音片段有误（{first}），叫号照常进行，请检查语音文件",
                    details=(("files", tuple(p.file for p in self._clip_error.problems)),),
                )
            ]
        health = self.health()
        if health.available is False:
            return [
                Alert(
                    AlertKind.VOICE_UNAVAILABLE,
                    (
                        f"语音播报设备不可用（{health.detail}）：叫号照常进行但没有语音，"
                        f"已有 {health.missed} 次呼叫未播报，系统每 {self._retry:g} 秒自动重试"
                    ),
                    details=(("detail", health.detail), ("missed", health.missed)),
                )
            ]
        return []

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or playing (True), or `timeout` passes (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._current is None, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._stopping:
                    self._cond.wait(self._idle_timeout())
                if self._stopping:
                    dropped = len(self._queue)
                    self._queue.clear()
                    break
                item = self._queue.popleft() if self._queue else None
                if item is not None:  # current from now: preempt and cancel reach it at once
                    self._current, self._current_stop = item, threading.Event()
                    self._stop_reason = ""
            usable = self._clips is not None and self._ensure_open()
            if item is None:
                continue
            if usable:
                self._play(item)
            else:
                self._finish(item, "missed")
        if dropped:
            log.warning("announcer stopped with %d announcements unplayed", dropped)
        self._sink.close()

    def _play(self, item: _Item) -> None:
        assert self._clips is not None
        audio = compose(
            item.script,
            self._clips,
            repeat=item.repeat,
            gap_seconds=self._gap,
            clip_gap_seconds=self._clip_gap,
        )
        with self._cond:
            stop, reason = self._current_stop, self._stop_reason
        if stop is None or stop.is_set():  # preempted, cancelled or stopped while composing
            self._finish(item, reason or "cancelled")
            return
        outcome = "announced"
        try:
            if not self._sink.play(audio, stop):
                outcome = self._stop_reason or "cancelled"
        except AudioUnavailable as err:
            self._unavailable(err, retry_at=self._clock())
            outcome = "missed"
        self._finish(item, outcome)

    def _finish(self, item: _Item, outcome: str) -> None:
        with self._cond:
            if self._current is item:
                self._current = self._current_stop = None
            if outcome == "announced":
                self._health.announced += 1
            elif outcome == "preempted":
                self._health.interrupted += 1
                self._queue.insert(self._after_emergencies(), item)  # heard again, whole
            elif outcome == "missed":
                self._health.missed += 1
            elif outcome == "cancelled":
                self._health.cancelled += 1
            self._cond.notify_all()

    def _ensure_open(self) -> bool:
        if self._health.available:
            return True
        now = self._clock()
        if now < self._next_retry:
            return False
        try:
            self._sink.open()
        except AudioUnavailable as err:
            self._unavailable(err, retry_at=now + self._retry)
            return False
        with self._cond:
            if self._health.available is False:
                log.info("audio device available again")
            self._health.available, self._health.detail = True, ""
        return True

    def _unavailable(self, err: AudioUnavailable, *, retry_at: float) -> None:
        with self._cond:
            if self._health.available is not False:
                log.warning("voice announcements unavailable: %s", err.detail)
            self._health.available, self._health.detail = False, err.detail
            self._next_retry = retry_at

    def _idle_timeout(self) -> float | None:
        if self._health.available or self._clips is None:
            return None
        return max(0.0, self._next_retry - self._clock())

    def _after_emergencies(self) -> int:
        index = 0
        while index < len(self._queue) and self._queue[index].script.preempts:
            index += 1
        return index

    def _interrupt(self, reason: str) -> None:
        if self._current_stop is not None:
            self._stop_reason = reason
            self._current_stop.set()
