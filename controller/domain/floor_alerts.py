"""Floor alerts a manager acts on, and the calm status line of the hall's own schedule.

Every alert kind has a stated action (controller/domain/alerts.py, docs/dashboard-and-console.md
"Alerts").
Alerts are computed from the live state, so each clears itself when its cause is gone; one cause
gives one alert (a service nobody takes names its paused windows instead of an alert per
window). What the hall's calendar explains (the lunch break, before opening) is folded into one
status line, "午休中，N 人等候，13:00 恢复", instead of per-window alerts.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from controller.domain.alerts import Alert, AlertKind
from controller.domain.kpis import wait_of
from controller.domain.ratings import RatingLevel
from controller.domain.state import UNPRINTED, WindowState, WindowStatus

if TYPE_CHECKING:
    from controller.domain.engine import Engine

BAD_RATING_ALERT = dt.timedelta(minutes=30)
MAX_FLAG_ALERTS = 20


def floor_status(engine: Engine, now: dt.datetime) -> dict[str, str] | None:
    """The calm status line of the hall's schedule (lunch, before opening), or None."""
    pause = _scheduled_pause(engine, now)
    if pause is None:
        return None
    kind, text, resume = pause
    waiting = sum(len(queue) for queue in engine.state.waiting.values())
    oldest = max(
        (now - t.issued_at for queue in engine.state.waiting.values() for t in queue.values()),
        default=dt.timedelta(0),
    )
    longest = f"（最长已等 {oldest.total_seconds() / 60:.0f} 分钟）" if waiting else ""
    return {
        "kind": kind,
        "message": f"{text}，{waiting} 人等候{longest}，{resume:%H:%M} {'恢复' if kind == 'lunch_break' else '开始办理'}",
    }


def floor_alerts(engine: Engine, now: dt.datetime) -> list[Alert]:
    """Alerts for the floor manager: services nobody takes, long queues and waits, paused windows."""
    state, config = engine.state, engine.config
    thresholds = config.alerts
    scheduled = _scheduled_pause(engine, now) is not None
    alerts: list[Alert] = []
    active = [
        w for w in state.windows.values() if w.status in (WindowStatus.IDLE, WindowStatus.SERVING)
    ]
    untaken: set[str] = set()
    for service in config.services:
        waiting = list(state.waiting.get(service.code, {}).values())
        if not waiting or scheduled:
            continue  # during a scheduled break the status line says it all
        serving = [w for w in active if service.code in w.services]
        oldest = max(now - t.issued_at for t in waiting)
        too_long = oldest > dt.timedelta(minutes=thresholds.max_wait_minutes)
        if not serving:
            untaken.add(service.code)
            paused = [
                str(w.number)
                for w in state.windows.values()
                if w.paused and service.code in w.services
            ]
            alerts.append(
                Alert(
                    AlertKind.NO_WINDOW,
                    f"{service.name}有 {len(waiting)} 人等候，但没有窗口在岗受理"
                    + (f"（{'、'.join(paused)}号窗口暂停服务）" if paused else "")
                    + (f"，最长已等候 {oldest.total_seconds() / 60:.0f} 分钟" if too_long else ""),
                    service=service.code,
                )
            )
            continue
        per_window = len(waiting) / len(serving)
        if per_window > thresholds.max_waiting_per_window:
            alerts.append(
                Alert(
                    AlertKind.LONG_QUEUE,
                    f"{service.name}每个窗口平均 {per_window:.0f} 人等候，超过 {thresholds.max_waiting_per_window} 人",
                    service=service.code,
                )
            )
        if too_long:
            alerts.append(
                Alert(
                    AlertKind.LONG_WAIT,
                    f"{service.name}最长已等候 {oldest.total_seconds() / 60:.0f} 分钟，超过 {thresholds.max_wait_minutes} 分钟",
                    service=service.code,
                )
            )
    for window in state.windows.values():
        if not window.paused or scheduled:
            continue
        waiting_services = {s for s in window.services if _waiting_in(engine, window, s)}
        if waiting_services and not waiting_services <= untaken:  # else its no_window names it
            alerts.append(
                Alert(
                    AlertKind.PAUSED_WITH_WAITING,
                    f"{window.number}号窗口暂停服务（{window.pause_reason}），仍有 {waiting_for(engine, window)} 人等候",
                    window=window.number,
                )
            )
    unprinted = [t for t in state.tickets.values() if t.status in UNPRINTED]
    if unprinted:
        numbers = "、".join(t.number for t in unprinted[:10])
        alerts.append(
            Alert(
                AlertKind.PRINT_FAILED,
                f"{len(unprinted)} 张票号未确认打印（{numbers}），请补打或作废",
                details=(("tickets", tuple(t.id for t in unprinted)),),
            )
        )
    waits = [
        wait_of(t, now).total_seconds() / 60 for t in state.tickets.values() if t.first_called_at
    ]
    if waits and sum(waits) / len(waits) > thresholds.target_average_wait_minutes:
        alerts.append(
            Alert(
                AlertKind.AVERAGE_WAIT,
                f"今日平均等候 {sum(waits) / len(waits):.0f} 分钟，超过目标 {thresholds.target_average_wait_minutes} 分钟",
            )
        )
    return alerts + rating_alerts(engine, now)


def rating_alerts(engine: Engine, now: dt.datetime) -> list[Alert]:
    """差评 received in the last half hour, and today's self-rating flags (latest first)."""
    tally, alerts = engine.state.ratings, list[Alert]()
    for at, number, window, level in reversed(tally.bad):
        if now - at <= BAD_RATING_ALERT:
            alerts.append(
                Alert(
                    AlertKind.BAD_RATING,
                    f"{window}号窗口 {number} 收到差评（{RatingLevel(level).label}），请及时核实回访",
                    window=window,
                )
            )
    for flag in reversed(tally.flags[-MAX_FLAG_ALERTS:]):
        alerts.append(
            Alert(
                AlertKind.RATING_FLAG,
                f"{flag.window}号窗口 {flag.number} 的评价疑似非群众本人所按：{flag.detail}",
                window=flag.window,
                details=(("flag", flag.flag),),
            )
        )
    return alerts


def waiting_for(engine: Engine, window: WindowState) -> int:
    """How many wait for this window (its services, not reserved for another window)."""
    return sum(_waiting_in(engine, window, code) for code in window.services)


def _waiting_in(engine: Engine, window: WindowState, code: str) -> int:
    return sum(
        1
        for t in engine.state.waiting.get(code, {}).values()
        if t.target_window in (None, window.number)
    )


def _scheduled_pause(engine: Engine, now: dt.datetime) -> tuple[str, str, dt.time] | None:
    """(kind, text, resume time) while the calendar has the hall at lunch or not yet open."""
    hours = engine.calendar.hours_on(now.date())
    if hours is None:
        return None
    moment = now.time()
    if hours.lunch is not None and hours.lunch.contains(moment):
        return ("lunch_break", "午休中", hours.lunch.end)
    if moment < hours.open:
        return ("before_opening", "未到办公时间", hours.open)
    return None
