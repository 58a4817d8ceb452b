"""The configured default for unrated tickets (e.g. 广东: 基本满意 after 7 days), flagged as such.

Never a citizen's rating: each record says `system_default`, carries channel 7, and is left
out of 评价率. A day is defaulted once (`RatingDefaultsApplied` outlives restarts).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Protocol

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.errors import CommandRejected
from controller.domain.hall_rules import RatingRules
from controller.domain.ratings import CHANNEL_SYSTEM_DEFAULT, REASON_TABLE_VERSION
from controller.domain.state import HallState

if TYPE_CHECKING:
    from controller.domain.step import Step

SYSTEM_DEVICE = "system-default"


class JournaledDays(Protocol):
    """The days a journal holds and each day's events (the journal, without its storage)."""

    def days(self) -> list[dt.date]: ...
    def events_of_day(self, day: dt.date) -> list[ev.Event]: ...


def apply_defaults(
    step: Step, command: cmd.ApplyRatingDefaults, now: dt.datetime
) -> dict[str, Any]:
    """Record the default level for each unrated ticket of `source_day`, once per day."""
    rules, config = step.config.ratings, step.config
    if rules.default_after_days is None:
        raise CommandRejected("defaults_disabled", "本大厅未配置未评价默认规则")
    if now.date() - command.source_day < dt.timedelta(days=rules.default_after_days):
        raise CommandRejected(
            "too_soon", f"{command.source_day} 未满 {rules.default_after_days} 天"
        )
    done = step.state.rating_defaults_done
    if done is not None and command.source_day <= done:
        return {"source_day": command.source_day.isoformat(), "count": 0, "already_done": True}
    for ticket in command.tickets:
        service = config.service(ticket.service)
        step.emit(
            ev.RatingRecorded(
                at=now,
                rating_id=f"{ticket.ticket_id}-D",
                ticket_id=ticket.ticket_id,
                number=ticket.number,
                window=ticket.window,
                staff_id=ticket.staff_id,
                service=ticket.service,
                item_code=service.item_code if service else "",
                department_code=config.hall.department_code,
                region_code=config.hall.region_code,
                level=rules.default_level,
                reasons=(),
                reason_table=REASON_TABLE_VERSION,
                channel=CHANNEL_SYSTEM_DEFAULT,
                assess_number=1,
                device_id=SYSTEM_DEVICE,
                finished_at=ticket.finished_at,
                system_default=True,
            )
        )
    step.emit(
        ev.RatingDefaultsApplied(at=now, source_day=command.source_day, count=len(command.tickets))
    )
    return {"source_day": command.source_day.isoformat(), "count": len(command.tickets)}


def due_commands(
    rules: RatingRules, state: HallState, journal: JournaledDays, today: dt.date
) -> list[cmd.ApplyRatingDefaults]:
    """One command per journaled day now old enough and not yet defaulted, oldest first."""
    days = rules.default_after_days
    if days is None:
        return []
    last = today - dt.timedelta(days=days)
    done = state.rating_defaults_done
    due = [d for d in journal.days() if d <= last and (done is None or d > done)]
    return [
        cmd.ApplyRatingDefaults(day, unrated_tickets(journal.events_of_day(day))) for day in due
    ]


def unrated_tickets(events: list[ev.Event]) -> tuple[cmd.UnratedTicket, ...]:
    """The finished tickets of one day's events that no citizen rated."""
    rated = {e.ticket_id for e in events if isinstance(e, ev.RatingRecorded)}
    numbers = {e.ticket_id: e.number for e in events if isinstance(e, ev.TicketIssued)}
    services = {e.ticket_id: e.service for e in events if isinstance(e, ev.TicketIssued)}
    transfers = {e.ticket_id: e.to_service for e in events if isinstance(e, ev.TicketTransferred)}
    finished: dict[str, cmd.UnratedTicket] = {}
    for e in events:
        if isinstance(e, ev.TicketFinished) and e.ticket_id not in rated:
            finished[e.ticket_id] = cmd.UnratedTicket(
                ticket_id=e.ticket_id,
                number=numbers.get(e.ticket_id, e.number),
                window=e.window,
                staff_id=e.staff_id,
                service=transfers.get(e.ticket_id, services.get(e.ticket_id, "")),
                finished_at=e.at,
            )
    return tuple(finished.values())
