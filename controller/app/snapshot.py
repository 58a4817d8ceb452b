"""The public state snapshot (no personal data) and the floor alerts derived from it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from controller.domain import roster
from controller.domain.calling import position_of
from controller.domain.floor_alerts import floor_alerts, floor_status, waiting_for
from controller.domain.invitations import open_invitation
from controller.domain.kpis import wait_of
from controller.domain.state import Lane, Ticket, TicketStatus, WindowState

if TYPE_CHECKING:
    from controller.domain.engine import Engine


def build_snapshot(engine: Engine, now: dt.datetime) -> dict[str, Any]:
    """What every screen, console and dashboard may show right now."""
    state, config = engine.state, engine.config
    now = now.astimezone(config.zone)
    services = []
    for service in config.services:
        waiting = list(state.waiting.get(service.code, {}).values())
        oldest = max((now - t.issued_at for t in waiting), default=None)
        refusal = engine.calendar.ticketing_refusal(service, now)
        services.append(
            {
                "code": service.code,
                "name": service.name,
                "prefix": service.prefix,
                "waiting": len(waiting),
                "priority_waiting": sum(1 for t in waiting if t.lane is Lane.PRIORITY),
                "oldest_wait_minutes": round(oldest.total_seconds() / 60, 1) if oldest else None,
                "issued_today": state.sequences[service.code],
                "daily_quota": service.daily_quota,
                "windows": [
                    w.number
                    for w in state.windows.values()
                    if service.code in w.services and w.open
                ],
                "ticketing_open": refusal is None,
                "ticketing_message": refusal[1] if refusal else None,
                "estimated_wait_minutes": engine.estimate_minutes(service, len(waiting)),
                "materials": list(service.materials),
            }
        )
    return {
        "hall": {
            "name": config.hall.name,
            "day": state.day.isoformat() if state.day else None,
            "now": now.isoformat(),
            "open": engine.calendar.is_open_at(now),
        },
        "services": services,
        "windows": [
            _window_view(engine, w, now)
            for w in sorted(state.windows.values(), key=lambda w: w.number)
            if config.window(w.number) is not None
        ],
        "recent_calls": [
            {"number": c.number, "window": c.window, "at": c.at.isoformat(), "recall": c.recall}
            for c in state.recent_calls
        ],
        "notices": [
            {"id": n.id, "text": n.text, "level": n.level, "at": n.at.isoformat()}
            for n in sorted(state.notices.values(), key=lambda n: n.id)
        ],
        "duty_leader": (
            {"name": state.duty_leader[0], "title": state.duty_leader[1]}
            if state.duty_leader
            else None
        ),
        "temporary_staff": roster.temporary_view(state),
        "alerts": [alert.to_json() for alert in floor_alerts(engine, now)],
        "floor_status": floor_status(engine, now),
    }


def ticket_view(engine: Engine, ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
    """One ticket as its QR status page shows it: no personal data."""
    service = engine.config.service(ticket.service)
    ahead = (
        position_of(engine.state, ticket, now, engine.config.queue.escalation)
        if ticket.status is TicketStatus.WAITING
        else None
    )
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service,
        "service_name": service.name if service else ticket.service,
        "lane": ticket.lane.value,
        "status": ticket.status.value,
        "window": ticket.window
        if ticket.status is not TicketStatus.WAITING
        else ticket.target_window,
        "issued_at": ticket.issued_at.isoformat(),
        "called_at": ticket.called_at.isoformat() if ticket.called_at else None,
        "ended_at": ticket.ended_at.isoformat() if ticket.ended_at else None,
        "ahead": ahead,
        "estimated_wait_minutes": engine.estimate_minutes(service, ahead)
        if service and ahead is not None
        else None,
        "waited_minutes": round(wait_of(ticket, now).total_seconds() / 60, 1),
        "outcome": ticket.outcome,
        "recall_count": ticket.recall_count,
        "no_show_count": ticket.no_show_count,
        "transfer_count": ticket.transfer_count,
        "printer": ticket.printer,
        "print_failure": ticket.print_failure,
        "rating_invited_until": ticket.rating_invited_until.isoformat()
        if ticket.rating_invited_until
        else None,
    }


def _window_view(engine: Engine, window: WindowState, now: dt.datetime) -> dict[str, Any]:
    current = engine.state.tickets.get(window.current) if window.current else None
    config = engine.config.window(window.number)
    invited = open_invitation(engine.state, window, now)
    return {
        "number": window.number,
        "name": window.name,
        "state": window.status,
        "services": list(window.services),
        "policy": window.policy,
        "current": (
            {
                "number": current.number,
                "service": current.service,
                "id": current.id,
                "called_at": current.called_at.isoformat() if current.called_at else None,
            }
            if current
            else None
        ),
        "staff": (
            {
                "id": window.staff_id,
                "name": window.staff_name,
                "role": window.staff_role,
                "post": window.staff_post,
            }
            if window.staff_id
            else None
        ),
        "roster": [
            {"name": m.name, "role": m.role, "post": m.post}
            for m in (config.staff if config else [])
        ],
        "pause_reason": window.pause_reason,
        "waiting": waiting_for(engine, window),
        # The ticket a rating press at this window counts for now (controller/domain/invitations.py).
        "rating_open": _invitation_view(invited, now) if invited else None,
    }


def _invitation_view(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
    until = ticket.rating_invited_until or now
    return {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "until": until.isoformat(),
        "seconds_left": max(0, int((until - now).total_seconds())),
    }
