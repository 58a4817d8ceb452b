"""The hall's live summary for the province: pushed to the central API on change and every minute.

What goes: waiting and the longest wait per service, windows by state, the floor alerts; no
personal data (no names, no ticket numbers). A change (a journaled batch wakes the pusher,
and the snapshot is looked at every `poll_seconds` for alerts that come without events) is
pushed at most every `min_interval_seconds`, so a busy morning costs the province one request
per hall per few seconds; an unchanged hall still pushes every `heartbeat_seconds`, so the
province tells a quiet hall from a silent one. A failed push is retried with backoff up to
the heartbeat; a summary is a state, not a record, so nothing is queued: the next one
replaces it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from controller.app.outbox import api_base
from controller.app.outbox_records import hall_id

if TYPE_CHECKING:
    from controller.app.device_wiring import HallDevices

log = logging.getLogger(__name__)
WINDOW_STATES = ("serving", "idle", "paused", "signed_out", "closed")
MAX_ALERTS = 50
MAX_TEXT = 300

# send(summary) -> "" when delivered, else what went wrong.
SendSummary = Callable[[dict[str, Any]], str]


def hall_summary(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The summary of a state snapshot (controller.app.snapshot.build_snapshot plus device alerts)."""
    windows = dict.fromkeys(WINDOW_STATES, 0)
    for window in snapshot["windows"]:
        if window["state"] in windows:
            windows[window["state"]] += 1
    return {
        "at": snapshot["hall"]["now"],
        "name": str(snapshot["hall"]["name"])[:100],
        "open": bool(snapshot["hall"]["open"]),
        "services": [
            {
                "code": s["code"],
                "name": str(s["name"])[:100],
                "waiting": s["waiting"],
                "oldest_wait_minutes": s["oldest_wait_minutes"],
            }
            for s in snapshot["services"]
        ],
        "windows": windows,
        "alerts": [
            {"kind": str(a.get("kind", ""))[:64], "message": str(a.get("message", ""))[:MAX_TEXT]}
            for a in snapshot["alerts"][:MAX_ALERTS]
        ],
    }


def change_key(summary: dict[str, Any]) -> str:
    """What makes two summaries different for the province (waits to the minute, not the moment)."""
    services = [
        dict(s, oldest_wait_minutes=int(s["oldest_wait_minutes"] or 0)) for s in summary["services"]
    ]
    return json.dumps([summary["open"], services, summary["windows"], summary["alerts"]])


def http_summary_sender(
    evaluations_url: str, hall_id: str, token: str, timeout: float
) -> SendSummary:
    """POST summaries to the central API's …/api/v1/halls/{hall_id}/live with the hall's token."""
    client = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {token}"})
    url = f"{api_base(evaluations_url)}/halls/{hall_id}/live"

    def send(summary: dict[str, Any]) -> str:
        try:
            reply = client.post(url, json=summary)
        except httpx.HTTPError as err:
            return f"{type(err).__name__}: {err}"
        return "" if reply.is_success else f"HTTP {reply.status_code}: {reply.text[:200]}"

    return send


class SummaryPusher:
    """Pushes the hall's summary on its own thread: on change (rate-limited) and every minute."""

    def __init__(
        self,
        snapshot: Callable[[], dict[str, Any]],
        send: SendSummary,
        *,
        min_interval_seconds: float = 5.0,
        heartbeat_seconds: float = 60.0,
        poll_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._snapshot = snapshot
        self._send = send
        self.min_interval = min_interval_seconds
        self.heartbeat = heartbeat_seconds
        self.poll = poll_seconds
        self._clock = clock
        self.pushed = 0
        self.failures = 0
        self.last_error = ""
        self._last_key: str | None = None
        self._last_sent: float | None = None
        self._not_before = float("-inf")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hall-summary-push", daemon=True)

    def start(self) -> SummaryPusher:
        """Start pushing."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def wake(self, _batch: object = None) -> None:
        """Something was journaled (a hub callback): look for a change soon."""
        self._wake.set()

    def step(self) -> float:
        """Push if the summary changed or the heartbeat is due; the seconds until the next look."""
        now = self._clock()
        if now < self._not_before:
            return self._not_before - now
        summary = hall_summary(self._snapshot())
        key = change_key(summary)
        since = None if self._last_sent is None else now - self._last_sent
        if key == self._last_key and since is not None and since < self.heartbeat:
            return min(self.poll, self.heartbeat - since)
        problem = self._send(summary)
        if problem:
            self.failures += 1
            self.last_error = problem
            wait = min(self.heartbeat, self.min_interval * 2.0 ** min(self.failures - 1, 10))
            self._not_before = now + wait
            log.warning("live summary not delivered (retry in %.0f s): %s", wait, problem)
            return wait
        self.failures, self.last_error, self.pushed = 0, "", self.pushed + 1
        self._last_key, self._last_sent = key, now
        self._not_before = now + self.min_interval
        return self.min_interval

    def status(self) -> dict[str, Any]:
        """Summaries pushed, failures in a row and the last error."""
        return {"pushed": self.pushed, "failures": self.failures, "last_error": self.last_error}

    def _run(self) -> None:
        delay = 0.0
        while not self._stop.is_set():
            self._wake.wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                delay = self.step()
            except Exception as err:  # the snapshot or the sender broke; keep the thread alive
                log.exception("live summary push failed")
                self.last_error, delay = f"{type(err).__name__}: {err}", self.heartbeat


def start_summary_push(devices: HallDevices, url: str, token: str, timeout: float) -> SummaryPusher:
    """Start the hall's pusher to the central API at `url` (its …/evaluations), woken by the hub."""
    runtime = devices.runtime
    send = http_summary_sender(url, hall_id(runtime.config), token, timeout)
    pusher = SummaryPusher(runtime.snapshot, send)
    runtime.hub.subscribe("live-summary", pusher.wake)
    pusher.start()
    devices._stops.append(pusher.stop)
    devices.notes.append(f"实时概况 / live summary → {api_base(url)}/halls/…/live")
    return pusher
