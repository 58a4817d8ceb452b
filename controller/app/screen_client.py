"""The TV screen's link to a running hall: follows GET /api/events and resynchronises after drops."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import httpx

from controller.app.screen_runner import ScreenFrame
from controller.domain.errors import HallError

log = logging.getLogger(__name__)
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
# The API sends a keepalive every 15 s; three missed means the link is dead even without a FIN.
READ_TIMEOUT_SECONDS = 45.0
REFRESH_SECONDS = 15.0  # re-read /api/state this often anyway: keeps the hall clock in step
COALESCE_SECONDS = 0.05  # a hall without `state` events: a burst costs one /api/state read
SNAPSHOT_EVENTS = frozenset({"snapshot", "resync"})


class ScreenLinkError(HallError):
    """The hall at `url` could not be reached or refused the screen (`status` when it answered)."""

    def __init__(self, url: str, detail: str, status: int | None = None) -> None:
        self.url = url
        self.detail = detail
        self.status = status
        super().__init__(f"hall at {url}: {detail}")


def fetch_snapshot(base_url: str, token: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """GET /api/state of the hall at `base_url`; ScreenLinkError when that fails."""
    with httpx.Client(timeout=timeout) as client:
        return _get_state(client, base_url.rstrip("/"), token)


class HallStream:
    """Follows a hall's live stream for a screen; `frame()` never blocks and never raises."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        backoff: Sequence[float] = BACKOFF_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._backoff = tuple(backoff)
        self._refresh = refresh_seconds
        self._client = httpx.Client(
            timeout=httpx.Timeout(10.0, read=read_timeout),
            headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._dirty = threading.Event()
        self._snapshot: dict[str, Any] | None = None
        self._streamed = 0  # snapshots taken from the stream: a read begun before one is older
        self._synced: tuple[dt.datetime, float] | None = None
        self._connected = False
        self._threads: list[threading.Thread] = []
        self._response: httpx.Response | None = None
        self.connections = 0
        self.last_error = ""

    @property
    def connected(self) -> bool:
        """Whether the live stream is up right now."""
        return self._connected

    def start(self) -> HallStream:
        """Start following the hall (returns at once; the first frame says "connecting")."""
        for target, name in ((self._follow_forever, "stream"), (self._refresh_forever, "refresh")):
            thread = threading.Thread(target=target, name=f"screen-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following and close the connection."""
        self._stop.set()
        self._dirty.set()
        self._interrupt()
        self._client.close()
        for thread in self._threads:
            thread.join(timeout)

    def frame(self) -> ScreenFrame:
        """The latest snapshot, the hall's time now (its clock, advanced locally), link state."""
        with self._lock:
            snapshot, synced, connected = self._snapshot, self._synced, self._connected
        if synced is None:
            now = dt.datetime.now().astimezone()
        else:
            now = synced[0] + dt.timedelta(seconds=time.monotonic() - synced[1])
        return ScreenFrame(snapshot, now, connected)

    def _follow_forever(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._follow()
                reason = "the hall closed the stream"
            except ScreenLinkError as err:
                reason = str(err)
            except (httpx.HTTPError, ValueError, KeyError) as err:
                reason = f"{type(err).__name__}: {err}"
            except Exception as err:  # the screen's supervisor: a TV must never crash
                reason = f"{type(err).__name__}: {err}"
                log.exception("screen stream failed unexpectedly")
            was_connected = self._set_connected(False)
            if self._stop.is_set():
                return
            failures = 0 if was_connected else failures + 1
            delay = self._backoff[min(failures, len(self._backoff) - 1)]
            if reason != self.last_error or was_connected:
                log.warning(
                    "screen link to %s down (%s); retrying in %.1f s", self.base_url, reason, delay
                )
            self.last_error = reason
            self._stop.wait(delay)

    def _follow(self) -> None:
        # with_state: the hall sends the fresh state after each burst; no read back per event.
        url = f"{self.base_url}/api/events?with_state=true"
        pushed = False  # an older hall without `state` events: read /api/state after events
        with self._client.stream("GET", url) as response:
            self._response = response
            if response.status_code != 200:
                response.read()
                raise ScreenLinkError(self.base_url, _refusal(response), response.status_code)
            for kind, data in sse_events(response.iter_lines()):
                if self._stop.is_set():
                    return
                if kind in SNAPSHOT_EVENTS:
                    self._set_snapshot(json.loads(data), streamed=True)
                    if self._set_connected(True) is False:
                        self.connections += 1
                        log.info("screen link to %s up", self.base_url)
                elif kind == "state":
                    self._set_snapshot(json.loads(data), streamed=True)
                    pushed = True
                elif not pushed:
                    self._dirty.set()

    def _interrupt(self) -> None:
        # Closing a client does not wake a thread blocked reading the stream; shutting the
        # socket down does.
        response = self._response
        stream = response.extensions.get("network_stream") if response is not None else None
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _refresh_forever(self) -> None:
        while not self._stop.is_set():
            self._dirty.wait(self._refresh)
            if self._stop.is_set():
                return
            if not self._connected:
                self._dirty.clear()  # the next stream connection starts with a full snapshot
                continue
            streamed = self._streamed
            self._stop.wait(COALESCE_SECONDS)
            self._dirty.clear()
            if self._streamed != streamed:
                continue  # the stream brought the state itself meanwhile
            try:
                state = _get_state(self._client, self.base_url, self._token)
                self._set_snapshot(state, read_after=streamed)
            except (ScreenLinkError, RuntimeError) as err:
                # The stream notices a real drop; a failed refresh is retried on the next event.
                log.debug("screen refresh failed: %s", err)

    def _set_snapshot(
        self, snapshot: dict[str, Any], *, streamed: bool = False, read_after: int | None = None
    ) -> None:
        """Show `snapshot`; a read begun after `read_after` stream states is dropped if one came since."""
        hall_now = dt.datetime.fromisoformat(snapshot["hall"]["now"])
        with self._lock:
            if read_after is not None and self._streamed != read_after:
                return  # a state from the stream came meanwhile: newer than this read
            self._streamed += streamed
            self._snapshot = snapshot
            self._synced = (hall_now, time.monotonic())

    def _set_connected(self, connected: bool) -> bool:
        with self._lock:
            was, self._connected = self._connected, connected
        return was


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs from server-sent-event lines; comments and keepalives are skipped."""
    kind, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield kind, "\n".join(data)
            kind, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                kind = value
            elif name == "data":
                data.append(value)


def _get_state(client: httpx.Client, base_url: str, token: str) -> dict[str, Any]:
    try:
        response = client.get(f"{base_url}/api/state", headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as err:
        raise ScreenLinkError(base_url, f"cannot connect ({type(err).__name__}: {err})") from err
    if response.status_code != 200:
        raise ScreenLinkError(base_url, _refusal(response), response.status_code)
    try:
        state: dict[str, Any] = response.json()
        dt.datetime.fromisoformat(state["hall"]["now"])
    except (ValueError, KeyError, TypeError) as err:
        raise ScreenLinkError(
            base_url, f"answered something that is not a hall state: {err}"
        ) from err
    return state


def _refusal(response: httpx.Response) -> str:
    try:
        message = str(response.json().get("message", ""))
    except ValueError:
        message = response.text[:200]
    return f"HTTP {response.status_code} {message}".strip()
