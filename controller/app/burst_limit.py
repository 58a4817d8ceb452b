"""A sliding-window rate limit per key, with bursts: refused from the first excess until calm."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Burst:
    """A key past its limit: since when (the limiter's clock), how many refused, the last try."""

    since: float
    refused: int = 0
    last: float = 0.0


@dataclass(frozen=True)
class Admission:
    """The verdict on one more event for a key; `burst_started` on the first refusal of a burst."""

    admitted: bool
    burst_started: bool = False


# Called when a burst ends (the key is within its limit again): key, the burst that ended.
OnCalm = Callable[[str, Burst], None]


class BurstLimiter:
    """At most `most` events per key within `per_seconds`; refused events count too.

    Counting the refused events keeps a key that never stops (a stuck keypad key, a script
    hammering the kiosk API) refused until it has been within the limit again. A burst ends
    once one more event would be admitted; `on_calm` hears of it once.
    """

    def __init__(
        self,
        most: int,
        per_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_calm: OnCalm | None = None,
    ) -> None:
        if most < 1 or per_seconds <= 0:
            raise ValueError(f"a limit of {most} events per {per_seconds} s admits nothing")
        self.most = most
        self.per_seconds = per_seconds
        self.clock = clock
        self._on_calm = on_calm
        self._arrivals: dict[str, deque[float]] = {}
        self._bursts: dict[str, Burst] = {}
        self._lock = threading.Lock()

    def admit(self, key: str) -> Admission:
        """Count one event of `key` now; admitted unless it is past the limit."""
        now = self.clock()
        with self._lock:
            arrivals = self._arrivals.setdefault(key, deque(maxlen=self.most))
            refuse = self._full(arrivals, now)
            arrivals.append(now)
            if not refuse:
                self._settle(key, now)
                return Admission(True)
            burst = self._bursts.get(key)
            started = burst is None
            if burst is None:
                burst = self._bursts[key] = Burst(since=now)
            burst.refused += 1
            burst.last = now
            return Admission(False, burst_started=started)

    def blocked(self, key: str) -> bool:
        """Whether an event of `key` now would be refused (nothing is counted)."""
        now = self.clock()
        with self._lock:
            arrivals = self._arrivals.get(key)
            return arrivals is not None and self._full(arrivals, now)

    def retry_after(self, key: str) -> float:
        """Seconds until one more event of `key` would be admitted (0 if it would be now)."""
        now = self.clock()
        with self._lock:
            arrivals = self._arrivals.get(key)
            if arrivals is None or not self._full(arrivals, now):
                return 0.0
            return max(0.0, arrivals[0] + self.per_seconds - now)

    def bursts(self) -> dict[str, Burst]:
        """Every key being refused now (bursts that have calmed are ended first)."""
        now = self.clock()
        with self._lock:
            for key in list(self._bursts):
                self._settle(key, now)
            return {key: Burst(b.since, b.refused, b.last) for key, b in self._bursts.items()}

    def _full(self, arrivals: deque[float], now: float) -> bool:
        # The deque holds the key's latest `most` events: full when all fall in the window.
        return len(arrivals) >= self.most and now - arrivals[0] < self.per_seconds

    def _settle(self, key: str, now: float) -> None:
        burst = self._bursts.get(key)
        if burst is None or self._full(self._arrivals[key], now):
            return
        del self._bursts[key]
        if self._on_calm is not None:
            self._on_calm(key, burst)
