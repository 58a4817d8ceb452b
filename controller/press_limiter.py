"""Per-keypad press rate limit: a stuck key is refused before the journal, alerted, logged once."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controller.device_settings import PressLimitConfig

log = logging.getLogger(__name__)


@dataclass
class _Device:
    window: int
    # Arrival times of the device's latest max_presses + 1 presses, dropped ones included: a
    # key that keeps bouncing keeps itself refused until it has been quiet a whole window.
    arrivals: deque[float]
    burst_since: float | None = None
    dropped: int = 0
    last: float = field(default=0.0)


class PressLimiter:
    """Counts each keypad's presses; past `max_presses` within `per_seconds` it drops them.

    A burst starts with the first press past the limit (logged once) and ends once a press
    would be within the limit again (logged once, with the count of presses dropped).
    """

    def __init__(
        self, limit: PressLimitConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._devices: dict[str, _Device] = {}
        self._lock = threading.Lock()

    def admit(self, device_id: str, window: int | None) -> tuple[bool, bool]:
        """(admitted, first dropped of a burst) for one more press of `device_id`, now."""
        now = self._clock()
        with self._lock:
            device = self._devices.get(device_id)
            if device is None:
                device = _Device(window or 0, deque(maxlen=self.limit.max_presses + 1))
                self._devices[device_id] = device
            if window is not None:
                device.window = window
            drop = self._would_drop(device, now)
            device.arrivals.append(now)
            device.last = now
            if not drop:
                self._settle(device_id, device, now)
                return True, False
            device.dropped += 1
            if device.burst_since is not None:
                return False, False
            device.burst_since = now
            log.warning(
                "keypad %s at window %d: more than %d presses in %.0f s (a stuck key?); "
                "its presses are dropped until it is quiet for %.0f s",
                device_id,
                device.window,
                self.limit.max_presses,
                self.limit.per_seconds,
                self.limit.per_seconds,
            )
            return False, True

    def alerts(self) -> list[dict[str, Any]]:
        """Floor alerts: one per keypad whose presses are being dropped now."""
        now = self._clock()
        found = []
        with self._lock:
            for device_id, device in self._devices.items():
                self._settle(device_id, device, now)
                if device.burst_since is None:
                    continue
                found.append(
                    {
                        "kind": "keypad_stuck",
                        "device": device_id,
                        "window": device.window,
                        "message": f"{device.window}号窗口评价器 {device_id} 按键过于频繁，"
                        f"疑似按键卡住：已丢弃 {device.dropped} 次按键，请检查评价器",
                    }
                )
        return found

    def dropped(self) -> dict[str, int]:
        """Presses dropped in each keypad's current burst (none for a calm keypad)."""
        with self._lock:
            return {d: v.dropped for d, v in self._devices.items() if v.burst_since is not None}

    def _would_drop(self, device: _Device, now: float) -> bool:
        # A press now would be the (max + 1)th within per_seconds.
        arrivals, most = device.arrivals, self.limit.max_presses
        return len(arrivals) >= most and now - arrivals[-most] < self.limit.per_seconds

    def _settle(self, device_id: str, device: _Device, now: float) -> None:
        if device.burst_since is None or self._would_drop(device, now):
            return
        log.warning(
            "keypad %s at window %d calm again after %.1f s: %d presses dropped",
            device_id,
            device.window,
            device.last - device.burst_since,
            device.dropped,
        )
        device.burst_since = None
        device.dropped = 0
