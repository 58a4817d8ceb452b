"""The running hall: engine + journal + hub behind one lock; a command's events are durable first."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controller.app.clock import Clock
from controller.app.group_commit import GroupCommitter, PendingWrite
from controller.app.hub import Hub
from controller.app.journal import Journal, StoredResponse, encode_rows
from controller.app.snapshot import build_snapshot, ticket_view
from controller.app.storable import storable_or_refuse
from controller.app.ticket_links import TicketLinks
from controller.domain import commands as cmd
from controller.domain import rating_defaults, roster
from controller.domain.alerts import Alert, AlertKind
from controller.domain.engine import Decision, Engine
from controller.domain.errors import InvalidRequest, StoreError
from controller.domain.kpis import compute_kpis
from controller.settings.hall_config import HallConfig

log = logging.getLogger(__name__)
# How a caller words a decision for its own client (the API: an HTTP status and a body). The
# words are kept with the command's events under its idempotency key, so a retry gets them again.
Render = Callable[[Decision], tuple[int, dict[str, Any]]]
PLAIN_WORDS_STATUS = 0  # kept words of a caller that is not HTTP (a keypad, a ticket machine)


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's Idempotency-Key, scoped to caller and endpoint, with the request's fingerprint."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class Outcome:
    """What a command came to: the engine's decision, or (a repeated key) the words kept for it."""

    decision: Decision | None  # None: answered from an earlier try, see `words`
    words: tuple[int, dict[str, Any]] | None = None  # the caller's render of it, or the kept one
    events: tuple[str, ...] = ()

    @property
    def replayed(self) -> bool:
        """True when served from an earlier try with the same key."""
        return self.decision is None

    @property
    def accepted(self) -> bool:
        """The command was carried out (a kept refusal carries an `error` code)."""
        if self.decision is not None:
            return self.decision.rejection is None
        return self.words is not None and "error" not in self.words[1]

    @property
    def result(self) -> dict[str, Any]:
        """The engine's result, or the kept body of an earlier try."""
        if self.decision is not None:
            return self.decision.result
        return self.words[1] if self.words is not None else {}

    @property
    def reason(self) -> str | None:
        """The refusal's code (e.g. queue_empty), or None when accepted."""
        refusal = self.refusal
        return None if refusal is None else refusal[0]

    @property
    def refusal(self) -> tuple[str, str] | None:
        """(reason code, Chinese message) when refused, else None."""
        if self.decision is not None:
            rejection = self.decision.rejection
            return None if rejection is None else (rejection.reason, rejection.message)
        if self.accepted or self.words is None:
            return None
        body = self.words[1]
        return str(body.get("error", "refused")), str(body.get("message", ""))


def plain_words(decision: Decision) -> tuple[int, dict[str, Any]]:
    """A decision worded for a caller that is not HTTP: the result, or the refusal's code."""
    rejection = decision.rejection
    if rejection is not None:
        return PLAIN_WORDS_STATUS, {"error": rejection.reason, "message": rejection.message}
    return PLAIN_WORDS_STATUS, decision.result


def store_alert(error: StoreError, since: dt.datetime) -> Alert:
    """The floor alert for a journal that cannot be written (a full disk named as such)."""
    if error.disk_full:
        return Alert(
            AlertKind.DISK_FULL,
            "数据盘已满：取号、叫号等操作无法保存，请立即清理磁盘空间或联系技术人员",
            since=since,
        )
    return Alert(
        AlertKind.JOURNAL_UNWRITABLE,
        "数据无法写入：取号、叫号等操作暂时无法保存，请联系技术人员",
        since=since,
    )


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
        self._alert_sources: list[Callable[[], list[Alert]]] = []
        self._gauge_sources: list[Callable[[], dict[str, float]]] = []
        self.committer = GroupCommitter(journal, self.hub.publish, clock.now)
        self.add_gauge_source(self._journal_gauges)
        self._epoch = 0  # the committer's epoch this memory was built in
        # Answers queued but not yet durable, by Idempotency-Key: a retry waits for the first.
        # Once durable a retry reads the journal, so they are dropped, oldest first.
        self._pending_answers: dict[str, tuple[StoredResponse, PendingWrite]] = {}
        self._pending_order: deque[str] = deque()

    @property
    def version(self) -> int:
        """Moves on with every decided batch and every failed write (cached reads key on it)."""
        return self._decided + self.committer.epoch

    def execute(
        self,
        command: cmd.Command,
        *,
        idempotency: IdempotencyKey | None = None,
        render: Render | None = None,
    ) -> Outcome:
        """Run a command; its events (and the words kept under its key) are on disk first."""
        outcome, durable = self.submit(command, idempotency=idempotency, render=render)
        if durable is not None:
            durable.done.wait()
            self._settle(durable)
        return outcome

    async def execute_async(
        self,
        command: cmd.Command,
        *,
        idempotency: IdempotencyKey | None = None,
        render: Render | None = None,
        admit: Callable[[], None] | None = None,
    ) -> Outcome:
        """As `execute`, on the event loop: decided at once, answered once durable."""
        outcome, durable = self.submit(command, idempotency=idempotency, render=render, admit=admit)
        if durable is not None:
            await self.committer.wait_async(durable)
            self._settle(durable)
        return outcome

    def submit(
        self,
        command: cmd.Command,
        *,
        idempotency: IdempotencyKey | None = None,
        render: Render | None = None,
        admit: Callable[[], None] | None = None,
    ) -> tuple[Outcome, PendingWrite | None]:
        """Decide a command now; the reply, and the write to wait for before giving it."""
        storable_or_refuse(command)
        with self._lock:
            self._catch_up()
            replayed = self._stored_reply(idempotency)
            if replayed is not None:
                return replayed
            if admit is not None:  # the caller's own limits (a kiosk's rate): not for a retry
                admit()
            now = self.clock.now()
            self._roll_over(now)
            decision = self.engine.handle(command, now)
            words = (render or plain_words)(decision) if render or idempotency else None
            outcome = Outcome(decision, words, tuple(e.kind for e in decision.events))
            if not decision.events:  # what it read may still be on its way to the disk
                return outcome, self._last_write()
            response = None
            if idempotency is not None and words is not None:
                response = (idempotency.key, StoredResponse(idempotency.fingerprint, *words))
            durable = self._persist(decision, response)
            self._forget_durable_answers()
            if response is not None:
                self._pending_answers[response[0]] = (response[1], durable)
                self._pending_order.append(response[0])
            return outcome, durable

    def _forget_durable_answers(self) -> None:
        # Writes finish in the order they were queued: stop at the first still in flight.
        while self._pending_order:
            pending = self._pending_answers.get(self._pending_order[0])
            if pending is not None and not pending[1].done.is_set():
                return
            self._pending_answers.pop(self._pending_order.popleft(), None)

    def stored_reply(self, idempotency: IdempotencyKey | None) -> Outcome | None:
        """The outcome already given to this Idempotency-Key, or None; 422 if the body differs."""
        with self._lock:
            found = self._stored_reply(idempotency)
        if found is None:
            return None
        outcome, durable = found
        if durable is not None:
            durable.wait()
        return outcome

    def _stored_reply(
        self, idempotency: IdempotencyKey | None
    ) -> tuple[Outcome, PendingWrite | None] | None:
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
        return Outcome(None, (stored.status, stored.body)), durable

    def tick(self) -> None:
        """Let time pass: rolls the day over at the hall's midnight (durably)."""
        with self._lock:
            self._catch_up()
            self._roll_over(self.clock.now())
            last = self._last_write()
        if last is not None:
            last.wait()

    def add_alert_source(self, source: Callable[[], list[Alert]]) -> None:
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

    def state_snapshot(self) -> dict[str, Any]:
        """The hall's state snapshot, consistent with the journal, without device alerts."""
        with self._lock:
            self._catch_up()
            snapshot = build_snapshot(self.engine, self.clock.now())
            last = self._last_write()
        if last is not None:
            last.done.wait()
            if last.error is not None:  # what it shows never reached the disk: show what did
                return self.state_snapshot()
        return snapshot

    def snapshot(self) -> dict[str, Any]:
        """The public state snapshot, consistent with the journal, plus device alerts."""
        snapshot = self.state_snapshot()
        trouble = self.committer.trouble
        alerts = [store_alert(*trouble)] if trouble is not None else []
        alerts += self.hub.alerts()
        for source in self._alert_sources:
            alerts += source()
        snapshot["alerts"].extend(alert.to_json() for alert in alerts)
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
        for command in rating_defaults.due_commands(
            self.config.ratings, self.engine.state, self.journal, today
        ):
            applied = self.engine.handle(command, now)
            if applied.events:
                self._persist(applied, None)

    def _persist(
        self, decision: Decision, response: tuple[str, StoredResponse] | None
    ) -> PendingWrite:
        assert self.engine.state.day is not None
        rows = encode_rows(decision.events, day=self.engine.state.day, response=response)
        self._decided += 1
        # Built here, under the lock, only when a device shows state: the batch's own state,
        # handed to subscribers with the events once they are durable.
        state = build_snapshot(self.engine, self.clock.now()) if self.hub.wants_state else None
        return self.committer.enqueue(rows, decision.events, self._epoch, state)

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
        self._pending_order.clear()
        self.engine = Engine(self.config)
        self.engine.replay(self.journal.restart_events())
