"""The outbox: store and forward finished tickets and ratings to the satisfaction API, exactly once.

The journal is the store: finished tickets and ratings are journaled events, and one cursor
per stream (the last delivered journal seq, in journal_meta) marks how far the API has
confirmed. Delivery is at least once on the wire and exactly once at the API, which is
idempotent on the ticket id (finished tickets) and on `rating_id` (ratings). Finished tickets
go first, so 评价率's denominator is not behind its numerator; an API that answers but refuses
them (an older central API without /served-tickets) still gets the ratings.

A record the API refuses for good (a 4xx about the record itself, such as 422 or 409) is
parked: kept, alerted, never dropped silently. Auth failures and a wrong URL (401, 403, 404)
are retried: they are the link's fault, not the record's; so is a hall the central registry
does not hold yet or has suspended (`unknown_hall`, `hall_suspended`, whatever the status). While the link fails, new events do
not trigger sends: retries follow an exponential backoff with jitter, capped
(`[satisfaction] retry_*` in the hall config); `retry_now` (an operator) skips the wait.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from controller.app.journal import Journal
from controller.app.outbox_records import TicketIndex, rating_record, served_record
from controller.domain import events as ev
from controller.domain.alerts import Alert, AlertKind
from controller.settings.hall_config import HallConfig

log = logging.getLogger(__name__)
BATCH = 100  # journal events read per send (SQLAlchemy grows worse than linear past it)
RATINGS, SERVED = "evaluations", "served-tickets"
IDLE_SECONDS = 60.0  # a healthy outbox looks again this often even without a wake
# After a wake the outbox lingers this long so a busy hall's finishes and ratings go as one
# batch (one store transaction, one cursor write) rather than one each.
LINGER_SECONDS = 0.25


@dataclass(frozen=True)
class SendResult:
    """What the API said about one batch: delivered, retry later, or refused for good."""

    ok: bool
    retry: bool = False
    detail: str = ""
    reachable: bool = True  # False: no answer at all (the link is down, skip the other streams)


# send(stream, records): POST records to the API's `stream` endpoint ("evaluations", …).
Send = Callable[[str, list[dict[str, Any]]], SendResult]
_BODY_KEYS = {RATINGS: "records", SERVED: "tickets"}
# Answers about the hall's registration, not the record: the hall keeps it and tries again.
RETRY_ERRORS = frozenset({"unknown_hall", "hall_suspended"})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: first, twice that, … up to `max_seconds`, each shortened by jitter."""

    first_seconds: float = 1.0
    max_seconds: float = 300.0
    jitter: float = 0.2  # each wait is cut by up to this fraction, so halls don't retry in step

    def delay(self, failures: int, rand: Callable[[], float]) -> float:
        """The wait after `failures` failed attempts in a row (1, 2, …); never above the cap."""
        base = min(self.max_seconds, self.first_seconds * 2.0 ** min(failures - 1, 60))
        return base * (1.0 - self.jitter * rand())


def api_base(evaluations_url: str) -> str:
    """The API's …/api/v1 from its evaluations URL (as the hall config names it)."""
    url = evaluations_url.rstrip("/")
    return url[: -len("/evaluations")] if url.endswith("/evaluations") else url


def http_sender(base_url: str, token: str, timeout: float = 10.0) -> Send:
    """POST batches to `base_url`/<stream> (base …/api/v1 or its …/evaluations) with a token."""
    client = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {token}"})
    base = api_base(base_url)

    def send(stream: str, records: list[dict[str, Any]]) -> SendResult:
        try:
            reply = client.post(f"{base}/{stream}", json={_BODY_KEYS[stream]: records})
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}"
            return SendResult(False, retry=True, detail=detail, reachable=False)
        if reply.is_success:
            return SendResult(True)
        detail = f"HTTP {reply.status_code}: {reply.text[:300]}"
        # 401/403 say the hall's token is wrong, not the record: a person fixes the config and
        # every record must still go, so those are retried (with an alert) and never parked.
        retry = reply.status_code in (401, 403, 404, 408, 425, 429) or reply.status_code >= 500
        return SendResult(False, retry=retry or _error_code(reply) in RETRY_ERRORS, detail=detail)

    return send


def _error_code(reply: httpx.Response) -> str:
    """The API's `error` code of a refusal ("" when the body is not the API's JSON)."""
    try:
        body = reply.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


@dataclass(frozen=True)
class _Stream:
    """One kind of record: which journal events it reads and which of them become records."""

    name: str
    reads: tuple[str, ...]
    sends: str
    label: str

    @property
    def cursor_key(self) -> str:
        return f"outbox:{_KEY_NAMES[self.name]}:cursor"

    @property
    def parked_key(self) -> str:
        return f"outbox:{_KEY_NAMES[self.name]}:parked"


_KEY_NAMES = {RATINGS: "ratings", SERVED: "served"}
STREAMS = (
    _Stream(
        SERVED, ("TicketIssued", "TicketTransferred", "TicketFinished"), "TicketFinished", "办件"
    ),
    _Stream(RATINGS, ("RatingRecorded",), "RatingRecorded", "评价"),
)
SENT_KINDS = frozenset(s.sends for s in STREAMS)  # the only events that give the outbox work


def _wait_on(event: threading.Event, timeout: float) -> bool:
    return event.wait(timeout)


class RatingOutbox:
    """Forwards journaled finished tickets and ratings on its own thread."""

    def __init__(
        self,
        journal: Journal,
        config: HallConfig,
        send: Send,
        *,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[threading.Event, float], bool] = _wait_on,
        rand: Callable[[], float] = random.random,
        linger: float = LINGER_SECONDS,
    ) -> None:
        self.journal = journal
        self.config = config
        self.send = send
        self.retry = retry or RetryPolicy()
        self.last_error = ""
        self.delivered = 0
        self.failures = 0  # failed attempts in a row; 0 while the link is healthy
        self.retry_in = 0.0  # the current backoff wait, for screens
        self._clock, self._wait, self._rand = clock, wait, rand
        self.linger = linger
        self._index = TicketIndex(journal, config.zone)
        # Read past without anything to send (tickets issued, not yet finished): kept in memory
        # only, so a quiet event costs no disk write; a restart reads those events again.
        self._read_past: dict[str, int] = {}
        self._stored_cursor: dict[str, int] = {}  # as last read from or written to the journal
        self._wake = threading.Event()
        self._parked_lock = threading.Lock()  # the outbox thread parks, an operator resends
        self._force = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rating-outbox", daemon=True)

    def start(self) -> RatingOutbox:
        """Start forwarding."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (pending records stay in the journal for the next start)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def wake(self, batch: Sequence[ev.Event] | None = None) -> None:
        """New events were journaled (a hub callback): send soon if the link is healthy.

        A batch with nothing to send (a ticket issued, a call) does not wake it.
        """
        if batch is not None and not any(e.kind in SENT_KINDS for e in batch):
            return
        if self.failures == 0:
            self._wake.set()

    def retry_now(self) -> None:
        """Try at once even while backing off (an operator fixed the link)."""
        self._force = True
        self._wake.set()

    def resend_parked(self) -> dict[str, int]:
        """Offer every parked record to the API again, unchanged (a person fixed the cause).

        Accepted ones leave the parked list; refused ones stay with the new answer; an API that
        does not answer ends the round with the rest kept. Returns resent and still parked.
        """
        resent = 0
        with self._parked_lock:
            for stream in STREAMS:
                kept: list[dict[str, Any]] = []
                reachable = True
                for item in self._parked(stream):
                    if not reachable:
                        kept.append(item)
                        continue
                    result = self.send(stream.name, [item["record"]])
                    if result.ok:
                        resent += 1
                        self.delivered += 1
                    else:
                        reachable = not result.retry
                        kept.append({"record": item["record"], "answer": result.detail})
                self.journal.set_meta(stream.parked_key, json.dumps(kept, ensure_ascii=False))
        return {"resent": resent, "parked": len(self.parked())}

    def backlog(self) -> int:
        """Records journaled but not yet confirmed by the API (parked ones included)."""
        return sum(self.backlog_of().values())

    def backlog_of(self) -> dict[str, int]:
        """The backlog per stream: {"served-tickets": …, "evaluations": …}."""
        return {
            s.name: self.journal.count_after(self._cursor(s), (s.sends,)) + len(self._parked(s))
            for s in STREAMS
        }

    def parked(self) -> list[dict[str, Any]]:
        """Records the API refused for good, with its answer, kept for a person to look at."""
        return [dict(p, stream=s.name) for s in STREAMS for p in self._parked(s)]

    def flush(self) -> bool:
        """Send everything pending now; True when nothing is left to send (parked aside)."""
        # An API that answers but refuses one stream (an older central API without
        # /served-tickets: 404) must not hold the other back; one that does not answer at all
        # is not asked again in this attempt.
        errors: list[str] = []
        for stream in STREAMS:
            failed = self._flush_stream(stream)
            if failed is not None:
                errors.append(f"{stream.name}: {failed.detail}")
                if not failed.reachable:
                    break
        self.last_error = "; ".join(errors)
        return not errors

    def step(self) -> float:
        """One attempt to send everything; the seconds to wait before the next attempt."""
        try:
            done = self.flush()
        except Exception as err:  # the journal or the sender broke; keep the thread alive
            log.exception("outbox failed")
            self.last_error, done = f"{type(err).__name__}: {err}", False
        if done:
            self.failures, self.retry_in = 0, 0.0
            return IDLE_SECONDS
        self.failures += 1
        self.retry_in = self.retry.delay(self.failures, self._rand)
        return self.retry_in

    def status(self) -> dict[str, Any]:
        """Backlog (total and per stream), parked, delivered, failures and the last error."""
        backlog = self.backlog_of()
        return {
            "backlog": sum(backlog.values()),
            "backlog_by_stream": backlog,
            "parked": len(self.parked()),
            "delivered": self.delivered,
            "failures": self.failures,
            "retry_in_seconds": round(self.retry_in, 1),
            "last_error": self.last_error,
        }

    def alerts(self) -> list[Alert]:
        """Floor alerts: the API unreachable with records waiting, or records refused for good."""
        found: list[Alert] = []
        if self.last_error:
            backlog = self.backlog_of()
            parts = "、".join(f"{s.label} {backlog[s.name]} 条" for s in STREAMS)
            found.append(
                Alert(
                    AlertKind.OUTBOX_BACKLOG,
                    f"评价数据暂未上报（积压{parts}），将自动重试：{self.last_error[:80]}",
                    details=(("backlog", sum(backlog.values())),),
                )
            )
        if parked := self.parked():
            found.append(
                Alert(
                    AlertKind.OUTBOX_PARKED,
                    f"{len(parked)} 条评价记录被评价系统拒收，已保留待人工处理",
                )
            )
        return found

    def _flush_stream(self, stream: _Stream) -> SendResult | None:
        # The cursor is written once per flush of a stream, not once per batch: a crash in
        # between resends batches the API already holds, and it keeps each once (idempotent).
        confirmed: int | None = None
        try:
            while True:
                pending = self.journal.events_after(self._cursor(stream), stream.reads, BATCH)
                if not pending:
                    return None
                records = self._records([e for _, e in pending])
                if not records:
                    self._read_past[stream.name] = pending[-1][0]
                    continue
                result = self.send(stream.name, records)
                if result.ok:
                    self.delivered += len(records)
                elif result.retry:
                    return result
                elif (failed := self._one_by_one(stream, records)) is not None:
                    return failed
                confirmed = self._read_past[stream.name] = pending[-1][0]
        finally:
            if confirmed is not None:
                self.journal.set_meta(stream.cursor_key, str(confirmed))
                self._stored_cursor[stream.name] = confirmed

    def _records(self, events: list[ev.Event]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for event in events:
            if isinstance(event, ev.RatingRecorded):
                finish = self._index.finish_of(event.ticket_id, event.finished_at)
                records.append(rating_record(self.config, event, finish))
                continue
            self._index.feed(event)
            if isinstance(event, ev.TicketFinished):
                service = self._index.service_of(event.ticket_id, event.at)
                records.append(served_record(self.config, event, service))
        return records

    def _one_by_one(self, stream: _Stream, records: list[dict[str, Any]]) -> SendResult | None:
        # A refused batch: find the records the API refuses for good, deliver the rest.
        for record in records:
            result = self.send(stream.name, [record])
            if result.ok:
                self.delivered += 1
            elif result.retry:
                return result
            else:
                self._park(stream, record, result.detail)
        return None

    def _cursor(self, stream: _Stream) -> int:
        stored = self._stored_cursor.get(stream.name)
        if stored is None:
            value = self.journal.meta(stream.cursor_key)
            stored = self._stored_cursor[stream.name] = int(value) if value else 0
        return max(stored, self._read_past.get(stream.name, 0))

    def _parked(self, stream: _Stream) -> list[dict[str, Any]]:
        raw = self.journal.meta(stream.parked_key)
        return list(json.loads(raw)) if raw else []

    def _park(self, stream: _Stream, record: dict[str, Any], detail: str) -> None:
        log.error("satisfaction API refused a %s record for good: %s", stream.name, detail)
        with self._parked_lock:
            parked = [*self._parked(stream), {"record": record, "answer": detail}]
            self.journal.set_meta(stream.parked_key, json.dumps(parked, ensure_ascii=False))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._pause(self.step())

    def _pause(self, seconds: float) -> None:
        # Healthy: any wake ends the pause. Failing: only the deadline, retry_now or stop do.
        deadline = self._clock() + seconds
        while not self._stop.is_set():
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            woken = self._wait(self._wake, remaining)
            self._wake.clear()
            if self._force or self._stop.is_set():
                self._force = False
                return
            if woken and self.failures == 0:
                self._stop.wait(self.linger)  # let the rest of a burst join this batch
                return
