"""Daily KPIs (统计): issued, served, waits, 超时率, 过号率, 评价率, 满意率 per service, window, staff."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from controller.domain.kpi_definitions import KPI_DEFINITIONS
from controller.domain.ratings import RatingLevel
from controller.domain.state import Attendance, Ticket, TicketStatus


def compute_kpis(
    tickets: Iterable[Ticket],
    attendance: Iterable[Attendance],
    *,
    day: dt.date,
    now: dt.datetime,
    overtime_minutes: int,
) -> dict[str, Any]:
    """KPIs of one day; waits of tickets never called run to their end (or `now`).

    Tickets whose paper never reached a citizen (print failed, voided) are counted apart and
    left out of every other figure.
    """
    every = list(tickets)
    all_tickets = [t for t in every if t.printed is not False]
    unprinted = [t for t in every if t.printed is False]
    by_service: dict[str, list[Ticket]] = defaultdict(list)
    by_window: dict[int, list[Ticket]] = defaultdict(list)
    by_staff: dict[str, list[Ticket]] = defaultdict(list)
    for ticket in all_tickets:
        by_service[ticket.service].append(ticket)
        if ticket.window is not None:
            by_window[ticket.window].append(ticket)
        if ticket.staff_id:
            by_staff[ticket.staff_id].append(ticket)
    limit = dt.timedelta(minutes=overtime_minutes)
    staff_rows = {
        staff_id: _figures(rows, now, limit) for staff_id, rows in sorted(by_staff.items())
    }
    for record in attendance:
        row = staff_rows.setdefault(record.staff_id, _figures([], now, limit))
        row["name"] = record.staff_name
        end = record.signed_out_at or now
        row["on_duty_minutes"] = round(
            row.get("on_duty_minutes", 0) + (end - record.signed_in_at).total_seconds() / 60, 1
        )
        row.setdefault("sign_ins", []).append(
            {
                "window": record.window,
                "role": record.role,
                "signed_in_at": record.signed_in_at.isoformat(),
                "signed_out_at": record.signed_out_at.isoformat() if record.signed_out_at else None,
                "automatic_sign_out": record.automatic_out,
            }
        )
    return {
        "date": day.isoformat(),
        "overtime_threshold_minutes": overtime_minutes,
        **_figures(all_tickets, now, limit),
        "never_printed": len(unprinted),
        "voided": sum(1 for t in unprinted if t.status is TicketStatus.VOID),
        "by_service": {
            code: _figures(rows, now, limit) for code, rows in sorted(by_service.items())
        },
        "by_window": {str(n): _figures(rows, now, limit) for n, rows in sorted(by_window.items())},
        "by_staff": staff_rows,
        "definitions": {
            key: {"label": label, "definition": text}
            for key, (label, text) in KPI_DEFINITIONS.items()
        },
    }


def wait_of(ticket: Ticket, now: dt.datetime) -> dt.timedelta:
    """Call − ticket (or check-in) time; for a ticket never called, up to its end or `now`."""
    end = ticket.first_called_at or ticket.ended_at or now
    return max(dt.timedelta(0), end - ticket.issued_at)


def _figures(tickets: list[Ticket], now: dt.datetime, limit: dt.timedelta) -> dict[str, Any]:
    called = [t for t in tickets if t.first_called_at is not None]
    finished = [t for t in tickets if t.status is TicketStatus.FINISHED]
    waits = [wait_of(t, now).total_seconds() / 60 for t in called]
    services = [
        (t.ended_at - t.first_called_at).total_seconds() / 60
        for t in finished
        if t.ended_at is not None and t.first_called_at is not None
    ]
    overtime = sum(1 for t in tickets if wait_of(t, now) > limit)
    no_show_tickets = sum(1 for t in called if t.no_show_count > 0)
    dropped = sum(1 for t in tickets if t.status is TicketStatus.NO_SHOW)
    levels = [RatingLevel(t.rating) for t in finished if t.rating is not None]
    strict = (RatingLevel.VERY_SATISFIED, RatingLevel.SATISFIED)
    return {
        "issued": len(tickets),
        "called": len(called),
        "served": len(finished),
        "expired": sum(1 for t in tickets if t.status is TicketStatus.EXPIRED),
        "waiting": sum(1 for t in tickets if t.status is TicketStatus.WAITING),
        "average_wait_minutes": _mean(waits),
        "max_wait_minutes": round(max(waits), 1) if waits else None,
        "average_service_minutes": _mean(services),
        "overtime_rate": _ratio(overtime, len(tickets)),
        # 过号 counted three ways, each named for what it counts (controller/domain/kpi_definitions.py).
        "no_show_events": sum(t.no_show_count for t in tickets),
        "no_show_tickets": no_show_tickets,
        "no_show_rate": _ratio(no_show_tickets, len(called)),
        "no_show_dropped": dropped,
        "no_show_dropped_rate": _ratio(dropped, len(called)),
        "rated": len(levels),
        "rating_rate": _ratio(len(levels), len(finished)),
        "satisfaction_rate": _ratio(sum(1 for v in levels if v.is_satisfied), len(levels)),
        "strict_satisfaction_rate": _ratio(sum(1 for v in levels if v in strict), len(levels)),
        "bad_rating_rate": _ratio(sum(1 for v in levels if v.is_bad), len(levels)),
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
