"""The reads every screen repeats after each event, encoded once per change of the hall.

Fifty dashboards and screens ask for /api/state within milliseconds of every event; building and
encoding the snapshot once for all of them (and orjson instead of FastAPI's generic encoder,
far cheaper here) keeps the hall's one interpreter free for the commands.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from fastapi.responses import Response

from controller.api import fast_json
from controller.app.runtime import HallRuntime

MAX_AGE_SECONDS = 1.0  # device alerts and "now" change without events: at most this stale


class SharedReads:
    """Encoded answers by key, rebuilt after an event, a new hall-clock second or MAX_AGE_SECONDS."""

    def __init__(self, runtime: HallRuntime, max_age: float = MAX_AGE_SECONDS) -> None:
        self.runtime = runtime
        self.max_age = max_age
        self.builds = 0
        self._entries: dict[str, tuple[tuple[int, int], float, bytes]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    async def answer_async(self, key: str, build: Callable[[], Any]) -> Response:
        """As `answer`, from an async endpoint: a fresh answer at once, a build on a thread."""
        return Response(await self.encoded_async(key, build), media_type="application/json")

    def answer(self, key: str, build: Callable[[], Any]) -> Response:
        """The JSON response for `key`, built by `build` only if the cached one is stale."""
        return Response(self.encoded(key, build), media_type="application/json")

    async def encoded_async(self, key: str, build: Callable[[], Any]) -> bytes:
        """As `encoded`, from async code: a fresh body at once, a build on a thread."""
        fresh = self._fresh(key)
        if fresh is not None:
            return fresh
        return await anyio.to_thread.run_sync(self.encoded, key, build)

    def encoded(self, key: str, build: Callable[[], Any]) -> bytes:
        """The UTF-8 JSON body for `key`, built by `build` only if the cached one is stale."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # the first of a burst builds, the others wait for its answer
            body = self._fresh(key)
            if body is None:
                stamp = self._stamp()
                body = encode_json(build())
                self.builds += 1
                self._entries[key] = (stamp, time.monotonic(), body)
        return body

    def forget(self) -> None:
        """Drop every cached answer (a device changed without a hall event: rebuild on demand)."""
        with self._guard:
            self._entries.clear()

    def _stamp(self) -> tuple[int, int]:
        # The hall clock's second is part of the version: waits and "now" move with it.
        return self.runtime.version, int(self.runtime.clock.now().timestamp())

    def _fresh(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != self._stamp():
            return None
        return entry[2] if time.monotonic() - entry[1] < self.max_age else None


def encode_json(value: Any) -> bytes:
    """UTF-8 JSON as FastAPI would send it (times as ISO 8601, enums by value)."""
    return fast_json.encode(value)
