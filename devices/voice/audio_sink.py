"""The announcer's audio output: one PCM buffer at a time, real (pygame.mixer) or simulated."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from controller.domain.errors import HallError

# Every clip and every announcement buffer: 16-bit signed little-endian PCM, mono, 22050 Hz
# (espeak-ng's own output rate, so generated clips need no resampling).
SAMPLE_RATE = 22050
SAMPLE_WIDTH = 2
CHANNELS = 1
# How often a playing sink looks at its stop flag: bounds how late an emergency preempts.
POLL_SECONDS = 0.01
# A device that still reports "busy" this long after the buffer's end is stuck; give up on it.
STALL_MARGIN_SECONDS = 2.0


class AudioUnavailable(HallError):
    """The audio device cannot be opened or stopped working; `detail` says why."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"audio unavailable: {detail}")


@dataclass(frozen=True)
class AudioBuffer:
    """One whole announcement as PCM, with the clip sequence and Chinese text it was built from."""

    kind: str
    text: str
    clips: tuple[str, ...]
    pcm: bytes
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_seconds(self) -> float:
        """Playing time computed from the buffer's length."""
        return len(self.pcm) / (SAMPLE_WIDTH * CHANNELS * self.sample_rate)


class AudioSink(Protocol):
    """Where announcements are played; used from the announcer's one thread only."""

    def open(self) -> None:
        """Make the device ready (idempotent); AudioUnavailable if it cannot."""
        ...

    def play(self, audio: AudioBuffer, stop: threading.Event) -> bool:
        """Play, blocking until the end (True) or until `stop` is set (False, sound stopped)."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


class PygameAudioSink:
    """pygame.mixer on SDL's audio driver; `driver` sets SDL_AUDIODRIVER (e.g. "dummy")."""

    def __init__(self, *, volume: float = 1.0, driver: str | None = None, buffer: int = 1024):
        self.volume = volume
        self.driver = driver
        self.buffer = buffer
        self.last_started: float | None = None
        self._open = False

    def open(self) -> None:
        """Initialise the mixer in exactly our format (SDL converts for the device)."""
        if self._open:
            return
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        try:
            import pygame
        except ImportError as err:
            raise AudioUnavailable("pygame is not installed") from err
        if self.driver:
            os.environ["SDL_AUDIODRIVER"] = self.driver
        if pygame.mixer.get_init() not in (None, (SAMPLE_RATE, -8 * SAMPLE_WIDTH, CHANNELS)):
            pygame.mixer.quit()  # a plain pygame.init() elsewhere opened it at 44.1 kHz stereo
        try:
            # allowedchanges=0: the device may run at 48 kHz stereo, but the mixer must take
            # our raw 22050 Hz mono buffers as they are, or they play at the wrong speed.
            pygame.mixer.init(
                frequency=SAMPLE_RATE,
                size=-8 * SAMPLE_WIDTH,
                channels=CHANNELS,
                buffer=self.buffer,
                allowedchanges=0,
            )
        except pygame.error as err:
            raise AudioUnavailable(str(err) or "pygame.mixer.init failed") from err
        got = pygame.mixer.get_init()
        if got != (SAMPLE_RATE, -8 * SAMPLE_WIDTH, CHANNELS):
            pygame.mixer.quit()
            raise AudioUnavailable(f"mixer opened as {got}, not 22050 Hz 16-bit mono")
        self._open = True

    def play(self, audio: AudioBuffer, stop: threading.Event) -> bool:
        """Play the buffer on one mixer channel; stop it as soon as `stop` is set."""
        if not self._open:
            raise AudioUnavailable("mixer is not open")
        if stop.is_set():
            return False
        import pygame

        try:
            sound = pygame.mixer.Sound(buffer=audio.pcm)
            sound.set_volume(self.volume)
            channel = sound.play()
        except pygame.error as err:
            self.close()
            raise AudioUnavailable(str(err) or "pygame could not play") from err
        self.last_started = time.monotonic()
        deadline = self.last_started + audio.duration_seconds + STALL_MARGIN_SECONDS
        while channel.get_busy():
            if stop.wait(POLL_SECONDS):
                channel.stop()
                return False
            if time.monotonic() > deadline:
                channel.stop()
                self.close()
                raise AudioUnavailable("the audio device stopped playing (stalled)")
        return True

    def close(self) -> None:
        """Quit the mixer; the next `open` initialises it again."""
        if self._open:
            import pygame

            pygame.mixer.quit()
            self._open = False


@dataclass(frozen=True)
class PlayRecord:
    """What a simulated sink was asked to play, and when (monotonic seconds)."""

    kind: str
    text: str
    clips: tuple[str, ...]
    duration_seconds: float
    started: float
    ended: float
    completed: bool


@dataclass
class SimulatedAudioSink:
    """Records each announcement instead of playing it; plays for duration × `time_scale`.

    Fault switches: `available` False makes `open` fail (no audio device); `fail_plays` makes
    the next N plays fail as if the device vanished mid-announcement.
    """

    time_scale: float = 0.0
    clock: Callable[[], float] = time.monotonic
    available: bool = True
    fail_plays: int = 0
    records: list[PlayRecord] = field(default_factory=list)
    opens: int = 0
    max_concurrent: int = 0
    _active: int = field(default=0, init=False, repr=False)
    _open: bool = field(default=False, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _started: threading.Condition = field(
        default_factory=threading.Condition, init=False, repr=False
    )

    def open(self) -> None:
        """Fail while `available` is False; count successful opens."""
        if not self.available:
            raise AudioUnavailable("simulated: no audio device")
        if not self._open:
            self._open = True
            self.opens += 1

    def play(self, audio: AudioBuffer, stop: threading.Event) -> bool:
        """Record the buffer; wait its scaled duration unless `stop` is set first."""
        if not self._open:
            raise AudioUnavailable("simulated: not open")
        if self.fail_plays > 0:
            self.fail_plays -= 1
            self._open = False
            raise AudioUnavailable("simulated: device vanished")
        with self._lock:
            self._active += 1
            self.max_concurrent = max(self.max_concurrent, self._active)
        started = self.clock()
        with self._started:
            self._started.notify_all()
        try:
            stopped = (
                stop.wait(audio.duration_seconds * self.time_scale) if self.time_scale else False
            )
            stopped = stopped or stop.is_set()
        finally:
            with self._lock:
                self._active -= 1
        record = PlayRecord(
            audio.kind,
            audio.text,
            audio.clips,
            audio.duration_seconds,
            started,
            self.clock(),
            not stopped,
        )
        with self._started:
            self.records.append(record)
            self._started.notify_all()
        return not stopped

    def close(self) -> None:
        """Forget the open state."""
        self._open = False

    @property
    def playing(self) -> bool:
        """True while a play is in progress."""
        return self._active > 0

    def wait_records(self, count: int, timeout: float) -> bool:
        """Block until at least `count` plays have ended (True) or `timeout` passes (False)."""
        with self._started:
            return self._started.wait_for(lambda: len(self.records) >= count, timeout)

    def wait_playing(self, timeout: float) -> bool:
        """Block until a play is in progress (True) or `timeout` passes (False)."""
        with self._started:
            return self._started.wait_for(lambda: self._active > 0, timeout)
