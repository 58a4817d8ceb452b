"""The hub: hands every journaled event to each subscriber without letting one stall the rest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controller.domain.alerts import Alert, AlertKind
from controller.domain.events import Event

log = logging.getLogger(__name__)
Batch = Sequence[Event]
State = Mapping[str, Any]  # the hall's state snapshot right after a batch (app/snapshot.py)


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
        callback: Callable[[Batch, State | None], None],
        capacity: int,
        kinds: frozenset[str] | None = None,
    ) -> None:
        self.health = SubscriberHealth(name)
        self._callback = callback
        self._kinds = kinds
        self._queue: queue.Queue[tuple[Batch, State | None] | None] = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._run, name=f"hub-{name}", daemon=True)
        self._thread.start()

    def offer(self, batch: Batch, state: State | None) -> None:
        if self._kinds is not None and not any(e.kind in self._kinds for e in batch):
            return  # nothing it reads: its thread is not woken
        try:
            self._queue.put_nowait((batch, state))
        except queue.Full:
            # A blocked subscriber loses events; it must resync from a state snapshot.
            self.health.dropped += len(batch)
            self.health.needs_resync = True

    def stop(self) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)

    def _run(self) -> None:
        while (delivery := self._queue.get()) is not None:
            batch, state = delivery
            try:
                self._callback(batch, state)
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
        self.wants_state = False  # a subscriber shows state: publish hands it the snapshot

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
        return self._add(name, lambda batch, _state: callback(batch), capacity, kinds)

    def subscribe_with_state(
        self, name: str, callback: Callable[[Batch, State], None], capacity: int | None = None
    ) -> SubscriberHealth:
        """As `subscribe`, with the state snapshot taken right after each batch was journaled.

        A device that shows state (a strip, a keypad) gets it handed, and never calls back into
        the runtime for it.
        """

        def deliver(batch: Batch, state: State | None) -> None:
            assert state is not None, "publish() without the state a subscriber asked for"
            callback(batch, state)

        self.wants_state = True
        return self._add(name, deliver, capacity, None)

    def _add(
        self,
        name: str,
        callback: Callable[[Batch, State | None], None],
        capacity: int | None,
        kinds: frozenset[str] | None,
    ) -> SubscriberHealth:
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

    def publish(self, batch: Batch, state: State | None = None) -> None:
        """Offer a batch (and the state after it, when `wants_state`) to everyone; never blocks."""
        if not batch:
            return
        with self._lock:
            subscribers = list(self._subscribers)
            streams = list(self._streams)
        for subscriber in subscribers:
            subscriber.offer(batch, state)
        for stream in streams:
            try:
                stream.loop.call_soon_threadsafe(_put_stream, stream, batch)
            except RuntimeError:  # the stream's loop has closed
                self.close_stream(stream)

    def health(self) -> list[SubscriberHealth]:
        """Health of every thread subscriber."""
        with self._lock:
            return [s.health for s in self._subscribers]

    def alerts(self) -> list[Alert]:
        """Floor alerts: subscribers whose last batch failed (logged in full; skipped, not stuck)."""
        return [
            Alert(
                AlertKind.SUBSCRIBER_FAILED,
                f"设备更新（{health.name}）处理事件失败，画面可能未更新，请查看日志",
                subscriber=health.name,
            )
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
