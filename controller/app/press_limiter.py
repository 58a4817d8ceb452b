"""Per-keypad press rate limit: a stuck key is refused before the journal, alerted, logged once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from controller.app.burst_limit import Burst, BurstLimiter
from controller.domain.alerts import Alert, AlertKind
from controller.settings.config_sections import PressLimitConfig

log = logging.getLogger(__name__)


class PressLimiter:
    """Past `max_presses` within `per_seconds` a keypad's presses are dropped until it calms.

    A burst starts with the first press past the limit and ends once a press would be within
    it again; each end is logged once, with the count of presses dropped.
    """

    def __init__(
        self, limit: PressLimitConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self._windows: dict[str, int] = {}
        self._limiter = BurstLimiter(
            limit.max_presses, limit.per_seconds, clock=clock, on_calm=self._calm
        )

    def admit(self, device_id: str, window: int | None) -> tuple[bool, bool]:
        """(admitted, first dropped of a burst) for one more press of `device_id`, now."""
        if window is not None:
            self._windows[device_id] = window
        verdict = self._limiter.admit(device_id)
        if verdict.burst_started:
            log.warning(
                "keypad %s at window %s: more than %d presses in %.0f s (a stuck key?); "
                "its presses are dropped until it is within the limit again",
                device_id,
                self._windows.get(device_id, "?"),
                self.limit.max_presses,
                self.limit.per_seconds,
            )
        return verdict.admitted, verdict.burst_started

    def alerts(self) -> list[Alert]:
        """Floor alerts: one per keypad whose presses are being dropped now."""
        found: list[Alert] = []
        for device_id, burst in self._limiter.bursts().items():
            window = self._windows.get(device_id, 0)
            found.append(
                Alert(
                    AlertKind.KEYPAD_STUCK,
                    f"{window}号窗口评价器 {device_id} 按键过于频繁，疑似按键卡住："
                    f"已丢弃 {burst.refused} 次按键，请检查评价器",
                    device=device_id,
                    window=window,
                )
            )
        return found

    def _calm(self, device_id: str, burst: Burst) -> None:
        log.warning(
            "keypad %s at window %s calm again after %.1f s: %d presses dropped",
            device_id,
            self._windows.get(device_id, "?"),
            burst.last - burst.since,
            burst.refused,
        )
