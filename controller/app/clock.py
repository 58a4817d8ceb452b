"""Hall clocks: the real one, and a scaled one for training, demos and tests (--clock, --speed)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Anything that tells the hall's current time."""

    def now(self) -> dt.datetime:
        """The current hall time, timezone-aware."""
        ...


class SystemClock:
    """The machine's clock in the hall's time zone."""

    def __init__(self, zone: ZoneInfo) -> None:
        self._zone = zone

    def now(self) -> dt.datetime:
        """The current time in the hall's zone."""
        return dt.datetime.now(self._zone)


class ScaledClock:
    """Starts at `start` and runs `speed` times faster than real time."""

    def __init__(self, start: dt.datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("the start time needs a time zone")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = start
        self._speed = speed
        self._origin = time.monotonic()

    @property
    def speed(self) -> float:
        """How many hall seconds pass per real second."""
        return self._speed

    def now(self) -> dt.datetime:
        """The scaled hall time."""
        elapsed = (time.monotonic() - self._origin) * self._speed
        return self._start + dt.timedelta(seconds=elapsed)


class ManualClock:
    """A clock that moves only when told; for tests and simulations."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the start time needs a time zone")
        self._now = start

    def now(self) -> dt.datetime:
        """The time last set."""
        return self._now

    def set(self, moment: dt.datetime) -> None:
        """Move the clock to `moment`."""
        self._now = moment

    def advance(self, seconds: float) -> dt.datetime:
        """Move the clock forward and return the new time."""
        self._now += dt.timedelta(seconds=seconds)
        return self._now


def parse_clock_start(text: str, zone: ZoneInfo) -> dt.datetime:
    """Parse --clock: an ISO time; without an offset it is read in the hall's zone."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as err:
        raise ValueError(
            f"--clock expects an ISO time such as 2026-11-23T08:30, got {text!r}"
        ) from err
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
