"""The rating outbox: store and forward every RatingRecorded to the satisfaction API, exactly once.

The journal is the store: ratings are journaled events, and a cursor (the last delivered
journal seq, in journal_meta) marks how far the API has confirmed. Delivery is at least once
on the wire and exactly once at the API, which is idempotent on `rating_id`. A record the API
refuses for good (a 4xx about the record itself, such as 422 or 409) is parked: kept, alerted,
never dropped silently. Auth failures and a wrong URL (401, 403, 404) are retried: they are the
link's fault, not the record's.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from controller import events as ev
from controller.hall_config import HallConfig
from controller.journal import Journal

log = logging.getLogger(__name__)
KINDS = ("RatingRecorded",)
CURSOR_KEY = "outbox:ratings:cursor"
PARKED_KEY = "outbox:ratings:parked"
BATCH = 100
MIN_BACKOFF, MAX_BACKOFF = 1.0, 300.0


@dataclass(frozen=True)
class SendResult:
    """What the API said about one batch: delivered, retry later, or refused for good."""

    ok: bool
    retry: bool = False
    detail: str = ""


Send = Callable[[list[dict[str, Any]]], SendResult]


def rating_record(config: HallConfig, event: ev.RatingRecorded) -> dict[str, Any]:
    """The satisfaction API's record for a journaled rating (docs/satisfaction-api.md)."""
    return {
        "rating_id": event.rating_id,
        "hall_id": hall_id(config),
        "ticket_id": event.ticket_id,
        "number": event.number,
        "window": event.window,
        "staff_id": event.staff_id,
        "service": event.service,
        "item_code": event.item_code,
        "case_number": None,
        "department_code": event.department_code,
        "region_code": event.region_code,
        "level": event.level,
        "reasons": list(event.reasons),
        "reason_table": event.reason_table,
        "channel": event.channel,
        "assess_number": event.assess_number,
        "device_id": event.device_id,
        "rated_at": event.at.isoformat(),
        "finished_at": event.finished_at.isoformat(),
        "system_default": event.system_default,
    }


def hall_id(config: HallConfig) -> str:
    """The hall's id at the satisfaction API: region code and department code."""
    return f"{config.hall.region_code}-{config.hall.department_code}"


def http_sender(url: str, token: str, timeout: float = 10.0) -> Send:
    """POST batches to `url` (…/api/v1/evaluations) with a bearer token."""
    client = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {token}"})

    def send(records: list[dict[str, Any]]) -> SendResult:
        try:
            reply = client.post(url, json={"records": records})
        except httpx.HTTPError as err:
            return SendResult(False, retry=True, detail=f"{type(err).__name__}: {err}")
        if reply.is_success:
            return SendResult(True)
        detail = f"HTTP {reply.status_code}: {reply.text[:300]}"
        # 401/403 say the hall's token is wrong, not the record: a person fixes the config and
        # every rating must still go, so those are retried (with an alert) and never parked.
        retry = reply.status_code in (401, 403, 404, 408, 425, 429) or reply.status_code >= 500
        return SendResult(False, retry=retry, detail=detail)

    return send


class RatingOutbox:
    """Forwards journaled ratings in batches on its own thread; wake it after a new rating."""

    def __init__(self, journal: Journal, config: HallConfig, send: Send) -> None:
        self.journal = journal
        self.config = config
        self.send = send
        self.last_error = ""
        self.delivered = 0
        self._backoff = MIN_BACKOFF
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rating-outbox", daemon=True)

    def start(self) -> RatingOutbox:
        """Start forwarding."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (pending ratings stay in the journal for the next start)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def wake(self, _batch: object = None) -> None:
        """Try now (a hub callback: a new rating was journaled)."""
        self._wake.set()

    def backlog(self) -> int:
        """Ratings journaled but not yet confirmed by the API (parked ones included)."""
        return self.journal.count_after(self._cursor(), KINDS) + len(self.parked())

    def parked(self) -> list[dict[str, Any]]:
        """Records the API refused for good, with its answer, kept for a person to look at."""
        raw = self.journal.meta(PARKED_KEY)
        return list(json.loads(raw)) if raw else []

    def flush(self) -> bool:
        """Send everything pending now; True when nothing is left to send (parked aside)."""
        while True:
            cursor = self._cursor()
            pending = self.journal.events_after(cursor, KINDS, BATCH)
            if not pending:
                return True
            records = [
                rating_record(self.config, e)
                for _, e in pending
                if isinstance(e, ev.RatingRecorded)
            ]
            result = self.send(records)
            if result.ok:
                self.delivered += len(records)
            elif result.retry:
                self.last_error = result.detail
                return False
            elif not self._one_by_one(records):
                return False
            self.journal.set_meta(CURSOR_KEY, str(pending[-1][0]))
            self.last_error = ""

    def _one_by_one(self, records: list[dict[str, Any]]) -> bool:
        # A refused batch: find the records the API refuses for good, deliver the rest.
        for record in records:
            result = self.send([record])
            if result.ok:
                self.delivered += 1
            elif result.retry:
                self.last_error = result.detail
                return False
            else:
                self._park([record], result.detail)
        return True

    def status(self) -> dict[str, Any]:
        """Backlog, parked count, delivered since start and the last error, for screens."""
        return {
            "backlog": self.backlog(),
            "parked": len(self.parked()),
            "delivered": self.delivered,
            "last_error": self.last_error,
        }

    def alerts(self) -> list[dict[str, Any]]:
        """Floor alerts: the API unreachable with ratings waiting, or records refused for good."""
        found: list[dict[str, Any]] = []
        if self.last_error:
            found.append(
                {
                    "kind": "outbox_backlog",
                    "backlog": self.backlog(),
                    "message": f"评价数据暂未上报（积压 {self.backlog()} 条），将自动重试：{self.last_error[:80]}",
                }
            )
        if parked := self.parked():
            found.append(
                {
                    "kind": "outbox_parked",
                    "message": f"{len(parked)} 条评价记录被评价系统拒收，已保留待人工处理",
                }
            )
        return found

    def _cursor(self) -> int:
        value = self.journal.meta(CURSOR_KEY)
        return int(value) if value else 0

    def _park(self, records: list[dict[str, Any]], detail: str) -> None:
        log.error("satisfaction API refused %d ratings for good: %s", len(records), detail)
        parked = self.parked() + [{"record": r, "answer": detail} for r in records]
        self.journal.set_meta(PARKED_KEY, json.dumps(parked, ensure_ascii=False))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.flush()
            except Exception as err:  # the journal or the sender broke; keep the thread alive
                log.exception("rating outbox failed")
                self.last_error, done = f"{type(err).__name__}: {err}", False
            self._backoff = MIN_BACKOFF if done else min(self._backoff * 2, MAX_BACKOFF)
            self._wake.wait(timeout=60.0 if done else self._backoff)
            self._wake.clear()
