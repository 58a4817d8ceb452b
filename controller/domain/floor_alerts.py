"""Floor alerts a manager acts on, and the calm status line of the hall's own schedule.

Every alert kind has a stated action (ALERT_ACTIONS, docs/dashboard-and-console.md "Alerts").
Alerts are computed from the live state, so each clears itself when its cause is gone; one cause
gives one alert (a service nobody takes names its paused windows instead of an alert per
window). What the hall's calendar explains (the lunch break, before opening) is folded into one
status line, "午休中，N 人等候，13:00 恢复", instead of per-window alerts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from controller.domain.kpis import wait_of
from controller.domain.ratings import RatingLevel
from controller.domain.state import UNPRINTED, WindowState, WindowStatus

if TYPE_CHECKING:
    from controller.domain.engine import Engine

BAD_RATING_ALERT = dt.timedelta(minutes=30)
MAX_FLAG_ALERTS = 20
DEVICE_ACTION = "检查设备的电源和连接线，仍不恢复请联系设备厂商"
ALERT_ACTIONS = {
    "no_window": "安排工作人员到受理该业务的窗口签到，或在窗口卡片上“调整业务”",
    "paused_with_waiting": "请该窗口恢复服务，或把它的业务调整到其他窗口",
    "long_queue": "增开窗口或调整窗口业务，分流等候群众",
    "long_wait": "优先叫号，安排人员了解久候群众的情况",
    "average_wait": "增开窗口，查看办理时长偏长的窗口",
    "print_failed": "补打（同一票号）或作废",
    "bad_rating": "核实情况并回访群众（谁办理谁负责）",
    "rating_flag": "调阅该窗口的按键记录，核实是否为群众本人评价",
    "printer_fault": "检查取号机打印机：卡纸、缺纸、机盖或电源",
    "printer_unknown": "检查取号机打印机的电源和连接线",
    "no_printer": "立即检查取号机打印机，暂由导服人员协助登记取号",
    "paper_low": "更换取号机打印纸",
    "outbox_backlog": "检查大厅与好差评系统之间的网络，恢复后自动补报",
    "outbox_parked": "在设备面板查看拒收原因，处理后点“立即重新上报”",
    "keypad_offline": DEVICE_ACTION,
    "keypad_link_down": "检查评价器服务器（MQTT）是否运行",
    "keypad_bus_offline": DEVICE_ACTION,
    "led_bus_offline": DEVICE_ACTION,
    "led_strip_offline": DEVICE_ACTION,
    "led_strip_fault": DEVICE_ACTION,
    "voice_unavailable": "检查功放和音箱，叫号期间请人工引导",
    "voice_clips_invalid": "检查自定义语音素材目录，或恢复默认素材",
    "keypad_stuck": "查看该窗口评价器是否按键卡住或被人连续按压；按键恢复后告警自动消失",
    "kiosk_rate_limited": "查看该取号机是否被人连续取号，必要时暂停该取号机并收回多取的号",
    "kiosk_confirmation_failed": "查看该取号机前是否有人试探绿色通道确认码，必要时更换确认码",
    "subscriber_failed": "联系技术人员查看日志：该设备的画面可能未更新，其余设备照常工作",
    "keypad_display_fallback": "该窗口评价器显示了简化画面（工作人员信息无法显示），请核对工作人员登记信息",
    "disk_full": "立即清理数据盘空间或联系技术人员；恢复前取号、叫号无法保存",
    "journal_unwritable": "联系技术人员检查数据盘和数据库文件；恢复前取号、叫号无法保存",
}


def alert_action(kind: str) -> str:
    """What the floor manager should do about an alert of this kind (Chinese)."""
    return ALERT_ACTIONS.get(kind, DEVICE_ACTION)


def with_actions(alerts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The alerts, each with its `action` (one set by its source is kept)."""
    return [
        alert if "action" in alert else alert | {"action": alert_action(alert["kind"])}
        for alert in alerts
    ]


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


def floor_alerts(engine: Engine, now: dt.datetime) -> list[dict[str, Any]]:
    """Alerts for the floor manager: services nobody takes, long queues and waits, paused windows."""
    state, config = engine.state, engine.config
    thresholds = config.alerts
    scheduled = _scheduled_pause(engine, now) is not None
    alerts: list[dict[str, Any]] = []
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
                {
                    "kind": "no_window",
                    "service": service.code,
                    "message": f"{service.name}有 {len(waiting)} 人等候，但没有窗口在岗受理"
                    + (f"（{'、'.join(paused)}号窗口暂停服务）" if paused else "")
                    + (f"，最长已等候 {oldest.total_seconds() / 60:.0f} 分钟" if too_long else ""),
                }
            )
            continue
        per_window = len(waiting) / len(serving)
        if per_window > thresholds.max_waiting_per_window:
            alerts.append(
                {
                    "kind": "long_queue",
                    "service": service.code,
                    "message": f"{service.name}每个窗口平均 {per_window:.0f} 人等候，超过 {thresholds.max_waiting_per_window} 人",
                }
            )
        if too_long:
            alerts.append(
                {
                    "kind": "long_wait",
                    "service": service.code,
                    "message": f"{service.name}最长已等候 {oldest.total_seconds() / 60:.0f} 分钟，超过 {thresholds.max_wait_minutes} 分钟",
                }
            )
    for window in state.windows.values():
        if not window.paused or scheduled:
            continue
        waiting_services = {s for s in window.services if _waiting_in(engine, window, s)}
        if waiting_services and not waiting_services <= untaken:  # else its no_window names it
            alerts.append(
                {
                    "kind": "paused_with_waiting",
                    "window": window.number,
                    "message": f"{window.number}号窗口暂停服务（{window.pause_reason}），仍有 {waiting_for(engine, window)} 人等候",
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
    return with_actions(alerts + rating_alerts(engine, now))


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
