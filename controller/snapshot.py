"""The public state snapshot (no personal data) and the floor alerts derived from it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from controller import roster
from controller.calling import position_of
from controller.kpis import wait_of
from controller.ratings import RatingLevel
from controller.state import UNPRINTED, Lane, Ticket, TicketStatus, WindowState

if TYPE_CHECKING:
    from controller.engine import Engine


BAD_RATING_ALERT = dt.timedelta(minutes=30)
MAX_FLAG_ALERTS = 20


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
            _window_view(engine, w)
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
        "alerts": floor_alerts(engine, now),
    }


def ticket_view(engine: Engine, ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
    """One ticket as its QR status page shows it: no personal data."""
    service = engine.config.service(ticket.service)
    ahead = (
        position_of(engine.state, ticket, now) if ticket.status is TicketStatus.WAITING else None
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


def floor_alerts(engine: Engine, now: dt.datetime) -> list[dict[str, Any]]:
    """Alerts for the floor manager: long queues, long waits, paused windows with people waiting."""
    state, config = engine.state, engine.config
    thresholds = config.alerts
    alerts: list[dict[str, Any]] = []
    active = [w for w in state.windows.values() if w.status in ("idle", "serving")]
    for service in config.services:
        waiting = list(state.waiting.get(service.code, {}).values())
        if not waiting:
            continue
        serving = [w for w in active if service.code in w.services]
        per_window = len(waiting) / max(1, len(serving))
        if not serving:
            alerts.append(
                {
                    "kind": "no_window",
                    "service": service.code,
                    "message": f"{service.name}有 {len(waiting)} 人等候，但没有窗口在岗受理",
                }
            )
        elif per_window > thresholds.max_waiting_per_window:
            alerts.append(
                {
                    "kind": "long_queue",
                    "service": service.code,
                    "message": f"{service.name}每个窗口平均 {per_window:.0f} 人等候，超过 {thresholds.max_waiting_per_window} 人",
                }
            )
        oldest = max(now - t.issued_at for t in waiting)
        if oldest > dt.timedelta(minutes=thresholds.max_wait_minutes):
            alerts.append(
                {
                    "kind": "long_wait",
                    "service": service.code,
                    "message": f"{service.name}最长已等候 {oldest.total_seconds() / 60:.0f} 分钟，超过 {thresholds.max_wait_minutes} 分钟",
                }
            )
    for window in state.windows.values():
        if window.paused:
            waiting_for = _waiting_for(engine, window)
            if waiting_for:
                alerts.append(
                    {
                        "kind": "paused_with_waiting",
                        "window": window.number,
                        "message": f"{window.number}号窗口暂停服务（{window.pause_reason}），仍有 {waiting_for} 人等候",
                    }
                )
    unprinted = [t for t in state.tickets.values() if t.status in UNPRINTED]
    if unprinted:
        numbers = "、".join(t.number for t in unprinted[:10])
        alerts.append(
            {
                "kind": "print_failed",
                "tickets": [t.id for t in unprinted],
                "message": f"{len(unprinted)} 张票号未确认打印（{numbers}），请补打或作废",
            }
        )
    waits = [
        wait_of(t, now).total_seconds() / 60 for t in state.tickets.values() if t.first_called_at
    ]
    if waits and sum(waits) / len(waits) > thresholds.target_average_wait_minutes:
        alerts.append(
            {
                "kind": "average_wait",
                "message": f"今日平均等候 {sum(waits) / len(waits):.0f} 分钟，超过目标 {thresholds.target_average_wait_minutes} 分钟",
            }
        )
    return alerts + rating_alerts(engine, now)


def rating_alerts(engine: Engine, now: dt.datetime) -> list[dict[str, Any]]:
    """差评 received in the last half hour, and today's self-rating flags (latest first)."""
    tally, alerts = engine.state.ratings, []
    for at, number, window, level in reversed(tally.bad):
        if now - at <= BAD_RATING_ALERT:
            alerts.append(
                {
                    "kind": "bad_rating",
                    "window": window,
                    "message": f"{window}号窗口 {number} 收到差评（{RatingLevel(level).label}），请及时核实回访",
                }
            )
    for flag in reversed(tally.flags[-MAX_FLAG_ALERTS:]):
        alerts.append(
            {
                "kind": "rating_flag",
                "window": flag.window,
                "flag": flag.flag,
                "message": f"{flag.window}号窗口 {flag.number} 的评价疑似非群众本人所按：{flag.detail}",
            }
        )
    return alerts


def _window_view(engine: Engine, window: WindowState) -> dict[str, Any]:
    current = engine.state.tickets.get(window.current) if window.current else None
    config = engine.config.window(window.number)
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
        "waiting": _waiting_for(engine, window),
    }


def _waiting_for(engine: Engine, window: WindowState) -> int:
    return sum(
        1
        for code in window.services
        for t in engine.state.waiting.get(code, {}).values()
        if t.target_window in (None, window.number)
    )
