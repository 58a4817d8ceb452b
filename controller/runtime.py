"""The running hall: engine + journal + hub behind one lock; a command's events are durable first."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from controller import commands as cmd
from controller import rating_defaults, roster
from controller.clock import Clock
from controller.engine import Decision, Engine
from controller.errors import InvalidRequest, StoreError
from controller.floor_alerts import with_actions
from controller.group_commit import GroupCommitter, PendingWrite
from controller.hall_config import HallConfig
from controller.hub import Hub
from controller.journal import Journal, StoredResponse, encode_rows
from controller.kpis import compute_kpis
from controller.snapshot import build_snapshot, ticket_view
from controller.ticket_links import TicketLinks

log = logging.getLogger(__name__)
Render = Callable[[Decision], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's Idempotency-Key, scoped to caller and endpoint, with the request's fingerprint."""

    key: str
    fingerprint: str


@dataclass
class Reply:
    """What a command produced for its caller; `replayed` when served from an earlier retry."""

    status: int
    body: dict[str, Any]
    decision: Decision | None = None
    replayed: bool = False
    events: list[str] = field(default_factory=list)


def default_render(decision: Decision) -> tuple[int, dict[str, Any]]:
    """200 with the result, or the rejection's status with its reason and Chinese message."""
    if decision.rejection is not None:
        rejection = decision.rejection
        return rejection.status, {"error": rejection.reason, "message": rejection.message}
    return 200, decision.result


def store_alert(error: StoreError, since: dt.datetime) -> dict[str, Any]:
    """The floor alert for a journal that cannot be written (a full disk named as such)."""
    if error.disk_full:
        return {
            "kind": "disk_full",
            "since": since.isoformat(),
            "message": "数据盘已满：取号、叫号等操作无法保存，请立即清理磁盘空间或联系技术人员",
        }
    return {
        "kind": "journal_unwritable",
        "since": since.isoformat(),
        "message": "数据无法写入：取号、叫号等操作暂时无法保存，请联系技术人员",
    }


class HallRuntime:
    """Serialises commands, journals their events before answering, then publishes them."""

    def __init__(
        self, config: HallConfig, journal: Journal, clock: Clock, hub: Hub | None = None
    ) -> None:
        self.config = config
        self.journal = journal
        self.clock = clock
        self.hub = hub or Hub()
        self._lock = threading.RLock()
        self._decided = 0  # bumped by every decided batch: readers cache answers by `version`
        started = time.perf_counter()
        self.engine = Engine(config)
        self.restored_events = self.engine.replay(journal.restart_events())
        self.restore_seconds = time.perf_counter() - started
        self.ticket_links = TicketLinks.of_journal(journal)
        self._alert_sources: list[Callable[[], list[dict[str, Any]]]] = []
        self._gauge_sources: list[Callable[[], dict[str, float]]] = []
        self.committer = GroupCommitter(journal, self.hub.publish, clock.now)
        self.add_gauge_source(self._journal_gauges)
        self._epoch = 0  # the committer's epoch this memory was built in
        # Answers queued but not yet durable, by Idempotency-Key: a retry waits for the first.
        self._pending_answers: dict[str, tuple[StoredResponse, PendingWrite]] = {}

    @property
    def version(self) -> int:
        """Moves on with every decided batch and every failed write (cached reads key on it)."""
        return self._decided + self.committer.epoch

    def execute(
        self,
        command: cmd.Command,
        *,
        idempotency: IdempotencyKey | None = None,
        render: Render = default_render,
    ) -> Reply:
        """Run a command; its events and response are on disk before this returns."""
        reply, durable = self.submit(command, idempotency=idempotency, render=render)
        if durable is not None:
            durable.done.wait()
            self._settle(durable)
        return reply

    async def execute_async(
        self,
        command: cmd.Command,
        *,
        idempotency: IdempotencyKey | None = None,
        render: Render = default_render,
    ) -> Reply:
        """As `execute`, on the event loop: decided at once, answered once durable."""
        reply, durable = self.submit(command, idempotency=idempotency, render=render)
        if durable is not None:
            await self.committer.wait_async(durable)
            self._settle(durable)
        return reply

    def submit(
        self,
        command: cmd.Command,
        *,
        idempotency: IdempotencyKey | None = None,
        render: Render = default_render,
    ) -> tuple[Reply, PendingWrite | None]:
        """Decide a command now; the reply, and the write to wait for before giving it."""
        storable_or_refuse(command)
        with self._lock:
            self._catch_up()
            replayed = self._stored_reply(idempotency)
            if replayed is not None:
                return replayed
            now = self.clock.now()
            self._roll_over(now)
            decision = self.engine.handle(command, now)
            status, body = render(decision)
            reply = Reply(status, body, decision, events=[e.kind for e in decision.events])
            if not decision.events:  # what it read may still be on its way to the disk
                return reply, self._last_write()
            response = None
            if idempotency is not None:
                response = (idempotency.key, StoredResponse(idempotency.fingerprint, status, body))
            durable = self._persist(decision, response)
            if response is not None:
                self._pending_answers[response[0]] = (response[1], durable)
            return reply, durable

    def stored_reply(self, idempotency: IdempotencyKey | None) -> Reply | None:
        """The answer already given to this Idempotency-Key, or None; 422 if the body differs."""
        with self._lock:
            found = self._stored_reply(idempotency)
        if found is None:
            return None
        reply, durable = found
        if durable is not None:
            durable.wait()
        return reply

    def _stored_reply(
        self, idempotency: IdempotencyKey | None
    ) -> tuple[Reply, PendingWrite | None] | None:
        if idempotency is None:
            return None
        durable: PendingWrite | None = None
        pending = self._pending_answers.get(idempotency.key)
        if pending is not None and not pending[1].done.is_set():
            stored, durable = pending
        else:
            self._pending_answers.pop(idempotency.key, None)
            found = self.journal.stored_response(idempotency.key)
            if found is None:
                return None
            stored = found
        if stored.fingerprint != idempotency.fingerprint:
            raise InvalidRequest(
                "idempotency_key_reused", "该 Idempotency-Key 已用于另一个不同的请求"
            )
        return Reply(stored.status, stored.body, replayed=True), durable

    def tick(self) -> None:
        """Let time pass: rolls the day over at the hall's midnight (durably)."""
        with self._lock:
            self._catch_up()
            self._roll_over(self.clock.now())
            last = self._last_write()
        if last is not None:
            last.wait()

    def add_alert_source(self, source: Callable[[], list[dict[str, Any]]]) -> None:
        """Devices report their own alerts (printer out of paper, …) into every snapshot."""
        self._alert_sources.append(source)

    def add_gauge_source(self, source: Callable[[], dict[str, float]]) -> None:
        """Devices and the outbox report figures for /metrics (e.g. hall_outbox_backlog)."""
        self._gauge_sources.append(source)

    def _journal_gauges(self) -> dict[str, float]:
        # Commands per commit is the group commit's effect: batches decided / transactions.
        return {
            "hall_journal_batches_decided": float(self._decided),
            "hall_journal_commits": float(self.committer.groups),
        }

    def gauges(self) -> dict[str, float]:
        """Every reported figure, by metric name."""
        found: dict[str, float] = {}
        for source in self._gauge_sources:
            found.update(source())
        return found

    def snapshot(self) -> dict[str, Any]:
        """The public state snapshot, consistent with the journal, plus device alerts."""
        with self._lock:
            self._catch_up()
            snapshot = build_snapshot(self.engine, self.clock.now())
            last = self._last_write()
        if last is not None:
            last.done.wait()
            if last.error is not None:  # what it shows never reached the disk: show what did
                return self.snapshot()
        trouble = self.committer.trouble
        if trouble is not None:
            snapshot["alerts"].append(store_alert(*trouble))
        snapshot["alerts"].extend(self.hub.alerts())
        for source in self._alert_sources:
            snapshot["alerts"].extend(source())
        snapshot["alerts"] = with_actions(snapshot["alerts"])  # every alert says what to do
        return snapshot

    def roster_at(self, window: int) -> list[dict[str, Any]]:
        """Who a window's own token may sign in: its A/B staff and today's temporaries for it."""
        with self._lock:
            return roster.window_roster(self.config, self.engine.state, window)

    def ticket(self, ticket_id: str) -> dict[str, Any] | None:
        """One of today's tickets as the status page shows it, or None."""
        with self._lock:
            ticket = self.engine.state.tickets.get(ticket_id)
            return ticket_view(self.engine, ticket, self.clock.now()) if ticket else None

    def ticket_by_token(self, token: str) -> dict[str, Any] | None:
        """One of today's tickets by its status token (the QR code's), or None."""
        with self._lock:
            found = self.ticket_links.find(token, self.engine.state.tickets)
            ticket = self.engine.state.tickets.get(found) if found else None
            return ticket_view(self.engine, ticket, self.clock.now()) if ticket else None

    def kpis(self, day: dt.date | None = None) -> dict[str, Any]:
        """KPIs of a day: today's from live state, earlier days' by replaying the journal."""
        threshold = self.config.alerts.max_wait_minutes
        with self._lock:
            now = self.clock.now()
            today = self.engine.state.day
            if day is None or day == today:
                state = self.engine.state
                return compute_kpis(
                    state.tickets.values(),
                    state.attendance,
                    day=today or now.date(),
                    now=now,
                    overtime_minutes=threshold,
                )
        past = Engine(self.config)
        past.replay(self.journal.events_of_day(day))
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=self.config.zone)
        return compute_kpis(
            past.state.tickets.values(),
            past.state.attendance,
            day=day,
            now=min(end, now),
            overtime_minutes=threshold,
        )

    def _roll_over(self, now: dt.datetime) -> None:
        day = self.engine.state.day
        if day is not None and now.astimezone(self.config.zone).date() <= day:
            return
        decision = self.engine.handle(cmd.Tick(), now)
        if decision.events:
            self._persist(decision, None)
        self.committer.wait_idle()  # the rating defaults read the days from the journal
        self._catch_up()
        today = now.astimezone(self.config.zone).date()
        for command in rating_defaults.due_commands(self.engine, self.journal, today):
            applied = self.engine.handle(command, now)
            if applied.events:
                self._persist(applied, None)

    def _persist(
        self, decision: Decision, response: tuple[str, StoredResponse] | None
    ) -> PendingWrite:
        assert self.engine.state.day is not None
        rows = encode_rows(decision.events, day=self.engine.state.day, response=response)
        self._decided += 1
        return self.committer.enqueue(rows, decision.events, self._epoch)

    def _settle(self, durable: PendingWrite) -> None:
        """Raise a failed write's error once memory is back to what the journal holds."""
        if durable.error is not None:
            with self._lock:
                self._catch_up()
            raise durable.error

    def _last_write(self) -> PendingWrite | None:
        """The last write this memory holds and the disk may not yet; None if all are settled."""
        last = self.committer.last()
        return last if last is not None and last.epoch == self._epoch else None

    def _catch_up(self) -> None:
        """After a failed write: memory ran ahead of the disk, rebuild it from what is durable."""
        if self._epoch == self.committer.epoch:
            return
        self.committer.wait_idle()
        self._epoch = self.committer.epoch
        self._pending_answers.clear()
        self.engine = Engine(self.config)
        self.engine.replay(self.journal.restart_events())


def storable_or_refuse(command: cmd.Command) -> None:
    """InvalidRequest for text no journal can hold (a lone surrogate), before anything changes."""
    for spec in dataclasses.fields(command):
        for text in _texts(getattr(command, spec.name)):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as err:
                raise InvalidRequest(
                    "unstorable_value", "请求中含有无法保存的字符，未执行任何操作"
                ) from err


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _texts(item)
