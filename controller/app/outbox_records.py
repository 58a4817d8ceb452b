"""What the outbox sends: rating and finished-ticket records built from journaled events.

Neither record is stored twice: both are built from the journal when sent. A rating carries
its ticket's finish outcome (六件分类), looked up in the finished ticket's event; a finished
ticket carries the service it was finished under (after any 转办 transfer).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from controller.app.journal import Journal
from controller.domain import events as ev
from controller.satisfaction.models_served import outcome_name
from controller.settings.hall_config import HallConfig

_INDEX_LIMIT = 50_000  # tickets remembered; about 25 busy hall days


def hall_id(config: HallConfig) -> str:
    """The hall's id at the satisfaction API: region code and department code."""
    return f"{config.hall.region_code}-{config.hall.department_code}"


def rating_record(
    config: HallConfig, event: ev.RatingRecorded, finish: ev.TicketFinished | None = None
) -> dict[str, Any]:
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
        "case_number": finish.case_number if finish is not None else None,
        "outcome": outcome_name(finish.outcome) if finish is not None else None,
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


def served_record(config: HallConfig, event: ev.TicketFinished, service: str) -> dict[str, Any]:
    """The satisfaction API's record for a finished ticket (评价率's denominator)."""
    return {
        "hall_id": hall_id(config),
        "ticket_id": event.ticket_id,
        "number": event.number,
        "window": event.window,
        "staff_id": event.staff_id,
        "service": service,
        "finished_at": event.at.isoformat(),
        "outcome": outcome_name(event.outcome),
        "case_number": event.case_number,
    }


@dataclass
class TicketIndex:
    """Each recent ticket's service and finish, fed in journal order, else read from its day."""

    journal: Journal
    zone: dt.tzinfo

    def __post_init__(self) -> None:
        self._services: dict[str, str] = {}
        self._finishes: dict[str, ev.TicketFinished | None] = {}

    def feed(self, event: ev.Event) -> None:
        """Note a ticket event read from the journal."""
        match event:
            case ev.TicketIssued():
                self._services[event.ticket_id] = event.service
            case ev.TicketTransferred():
                self._services[event.ticket_id] = event.to_service
            case ev.TicketFinished():
                self._finishes[event.ticket_id] = event
        if len(self._services) + len(self._finishes) > 2 * _INDEX_LIMIT:
            self._trim()

    def service_of(self, ticket_id: str, at: dt.datetime) -> str:
        """The service of a ticket journaled on the hall day of `at` ("" if the day lacks it)."""
        if ticket_id not in self._services:
            self._load_day(at)
        return self._services.get(ticket_id, "")

    def finish_of(self, ticket_id: str, finished_at: dt.datetime) -> ev.TicketFinished | None:
        """The finish of a ticket finished at `finished_at`, or None if the journal lacks it."""
        if ticket_id not in self._finishes:
            self._load_day(finished_at)
            self._finishes.setdefault(ticket_id, None)  # don't read the day again for it
        return self._finishes[ticket_id]

    def _load_day(self, at: dt.datetime) -> None:
        # The journal files an event under the hall day current when it happened.
        for event in self.journal.events_of_day(at.astimezone(self.zone).date()):
            if isinstance(event, ev.TicketIssued | ev.TicketTransferred | ev.TicketFinished):
                self.feed(event)

    def _trim(self) -> None:
        for table in (self._services, self._finishes):
            for key in list(table)[: len(table) // 2]:  # the oldest half (insertion order)
                del table[key]
