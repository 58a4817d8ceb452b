"""Group commit: commands that arrive together share one journal transaction, so one fsync.

The runtime decides commands one at a time in memory and queues each one's journal rows here.
One writer thread takes everything queued, writes it in one transaction and, only once that
is durable, publishes each command's events (oldest first) and releases its caller. A failed
write fails its whole group and everything queued behind it (decided on a state that never
reached the disk), and moves the `epoch` on: the runtime rebuilds its memory from the journal
before it decides anything else. The writer never takes the runtime's lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from controller.app.hub import State
from controller.app.journal import Journal, JournalRows
from controller.domain.errors import InvalidRequest, StoreError
from controller.domain.events import Event

log = logging.getLogger(__name__)


@dataclass(eq=False)
class PendingWrite:
    """One command's rows on their way to the disk; `wait` returns once they are durable."""

    rows: JournalRows
    events: Sequence[Event]
    epoch: int
    state: State | None = None  # the state right after these events, for subscribers that show it
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    _futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = field(
        default_factory=list
    )

    def wait(self) -> None:
        """Block until durable; raise the write's error if it failed."""
        self.done.wait()
        if self.error is not None:
            raise self.error


class GroupCommitter:
    """The journal's writer thread: queued writes, one transaction per group."""

    def __init__(
        self,
        journal: Journal,
        publish: Callable[[Sequence[Event], State | None], None],
        now: Callable[[], dt.datetime],
    ) -> None:
        self.journal = journal
        self.epoch = 0  # moved on by every failed write: memory must be rebuilt
        self.trouble: tuple[StoreError, dt.datetime] | None = None  # the last failed write
        self.groups = 0  # transactions written, for benchmarks and tests
        self._publish = publish
        self._now = now
        self._queue: list[PendingWrite] = []
        self._last: PendingWrite | None = None
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    def enqueue(
        self,
        rows: JournalRows,
        events: Sequence[Event],
        epoch: int,
        state: State | None = None,
    ) -> PendingWrite:
        """Queue one command's rows (decided on memory of `epoch`); returns its handle."""
        entry = PendingWrite(rows, events, epoch, state)
        with self._cond:
            if self._stopped:
                raise StoreError("the journal writer has stopped", self.journal.url)
            self._queue.append(entry)
            self._last = entry
            self._cond.notify()
        return entry

    def last(self) -> PendingWrite | None:
        """The most recently queued write (durable or not), or None."""
        return self._last

    async def wait_async(self, entry: PendingWrite) -> None:
        """Until `entry` is durable or failed (see its `error`), without blocking the loop."""
        future: asyncio.Future[None] | None = None
        with self._cond:
            if not entry.done.is_set():
                loop = asyncio.get_running_loop()
                future = loop.create_future()
                entry._futures.append((loop, future))
        if future is not None:
            await future

    def wait_idle(self) -> None:
        """Block until every write queued so far is durable (or failed)."""
        last = self._last
        if last is not None:
            last.done.wait()

    def stop(self) -> None:
        """Write what is queued, then end the writer thread."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if not self._queue:
                    return
                group, self._queue = self._queue, []
            stale = [e for e in group if e.epoch != self.epoch]
            current = [e for e in group if e.epoch == self.epoch]
            if stale:  # decided before the last failure was seen: that state is gone
                self._finish(stale, StoreError("an earlier journal write failed", self.journal.url))
            if current:
                self._write(current)

    def _write(self, group: list[PendingWrite]) -> None:
        try:
            self.journal.append_rows([e.rows for e in group])
        except Exception as err:  # whatever it was, no caller may wait for ever
            if not isinstance(err, StoreError | ValueError):
                err = StoreError(
                    f"journal write failed: {type(err).__name__}: {err}", self.journal.url
                )
            log.exception("journal write failed; memory will be rebuilt from the journal")
            self.epoch += 1
            error: BaseException = err
            if isinstance(err, StoreError):
                self.trouble = (err, self._now())
            else:  # text no journal can hold (a lone surrogate)
                error = InvalidRequest(
                    "unstorable_value", "请求中含有无法保存的字符，未执行任何操作"
                )
                error.__cause__ = err
            self._finish(group, error)
            return
        self.groups += 1
        if self.trouble is not None:
            log.warning("journal writable again")
            self.trouble = None
        try:
            for entry in group:
                self._publish(entry.events, entry.state)
        finally:  # durable is durable: the callers are answered even if publishing broke
            self._finish(group, None)

    def _finish(self, group: list[PendingWrite], error: BaseException | None) -> None:
        wakes: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        with self._cond:
            for entry in group:
                entry.error = error
                entry.done.set()
                wakes += entry._futures
        for loop, future in wakes:
            with contextlib.suppress(RuntimeError):  # the waiter's loop has closed
                loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
