"""The hub: hands every journaled event to each subscriber without letting one stall the rest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from controller.events import Event

log = logging.getLogger(__name__)
Batch = Sequence[Event]


@dataclass
class SubscriberHealth:
    """What the hub knows about one subscriber: failures, and events it had to drop."""

    name: str
    delivered: int = 0
    failures: int = 0
    dropped: int = 0
    last_error: str = ""
    needs_resync: bool = False
    failing: bool = False  # the last batch raised; cleared by the next one delivered


class _ThreadSubscriber:
    def __init__(
        self,
        name: str,
        callback: Callable[[Batch], None],
        capacity: int,
        kinds: frozenset[str] | None = None,
    ) -> None:
        self.health = SubscriberHealth(name)
        self._callback = callback
        self._kinds = kinds
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._run, name=f"hub-{name}", daemon=True)
        self._thread.start()

    def offer(self, batch: Batch) -> None:
        if self._kinds is not None and not any(e.kind in self._kinds for e in batch):
            return  # nothing it reads: its thread is not woken
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            # A blocked subscriber loses events; it must resync from a state snapshot.
            self.health.dropped += len(batch)
            self.health.needs_resync = True

    def stop(self) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                self._callback(batch)
                self.health.delivered += len(batch)
                self.health.failing = False
            except Exception as err:  # a subscriber's failure is its own; the hall goes on
                self.health.failing = True
                self.health.failures += 1
                self.health.last_error = f"{type(err).__name__}: {err}"
                log.exception("subscriber %s failed", self.health.name)


@dataclass
class StreamSubscription:
    """An asyncio queue fed by the hub, for the API's live event stream."""

    queue: asyncio.Queue[Batch | None]
    loop: asyncio.AbstractEventLoop
    overflowed: bool = field(default=False)


class Hub:
    """Fans out event batches: thread subscribers (devices) and asyncio streams (API clients)."""

    def __init__(self, capacity: int = 1000) -> None:
        self._capacity = capacity
        self._subscribers: list[_ThreadSubscriber] = []
        self._streams: list[StreamSubscription] = []
        self._lock = threading.Lock()

    def subscribe(
        self,
        name: str,
        callback: Callable[[Batch], None],
        capacity: int | None = None,
        *,
        kinds: frozenset[str] | None = None,
    ) -> SubscriberHealth:
        """Call `callback` with each batch on the subscriber's own thread (queue of `capacity`).

        With `kinds`, only batches holding an event of one of those kinds are handed over.
        """
        subscriber = _ThreadSubscriber(name, callback, capacity or self._capacity, kinds)
        with self._lock:
            self._subscribers.append(subscriber)
        return subscriber.health

    def open_stream(self, loop: asyncio.AbstractEventLoop) -> StreamSubscription:
        """A new asyncio stream of batches; close it with `close_stream`."""
        stream = StreamSubscription(asyncio.Queue(maxsize=self._capacity), loop)
        with self._lock:
            self._streams.append(stream)
        return stream

    def close_stream(self, stream: StreamSubscription) -> None:
        """Stop feeding a stream."""
        with self._lock:
            if stream in self._streams:
                self._streams.remove(stream)

    def publish(self, batch: Batch) -> None:
        """Offer a batch to everyone; never blocks, never raises for a subscriber."""
        if not batch:
            return
        with self._lock:
            subscribers = list(self._subscribers)
            streams = list(self._streams)
        for subscriber in subscribers:
            subscriber.offer(batch)
        for stream in streams:
            try:
                stream.loop.call_soon_threadsafe(_put_stream, stream, batch)
            except RuntimeError:  # the stream's loop has closed
                self.close_stream(stream)

    def health(self) -> list[SubscriberHealth]:
        """Health of every thread subscriber."""
        with self._lock:
            return [s.health for s in self._subscribers]

    def alerts(self) -> list[dict[str, str]]:
        """Floor alerts: subscribers whose last batch failed (logged in full; skipped, not stuck)."""
        return [
            {
                "kind": "subscriber_failed",
                "subscriber": health.name,
                "message": f"设备更新（{health.name}）处理事件失败，画面可能未更新，请查看日志",
            }
            for health in self.health()
            if health.failing
        ]

    def stop(self) -> None:
        """Stop subscriber threads and end streams."""
        with self._lock:
            subscribers, self._subscribers = self._subscribers, []
            streams, self._streams = self._streams, []
        for subscriber in subscribers:
            subscriber.stop()
        for stream in streams:
            with contextlib.suppress(RuntimeError):
                stream.loop.call_soon_threadsafe(_put_stream, stream, None)


def _put_stream(stream: StreamSubscription, batch: Batch | None) -> None:
    try:
        stream.queue.put_nowait(batch)
    except asyncio.QueueFull:
        stream.overflowed = True
