"""Floor alerts (告警) as one typed record: every source builds an `Alert`, the API sends `to_json()`.

Each kind has a stated action (docs/dashboard-and-console.md "Alerts") and a severity; the
dashboard highlights the urgent ones (a test checks its list against `AlertKind.severity`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DEVICE_ACTION = "检查设备的电源和连接线，仍不恢复请联系设备厂商"
# A detail an alert carries for its source (a ticket list, a backlog size, …); sent as it is.
AlertDetail = str | int | float | bool | tuple[str, ...] | None
# An alert as JSON (str, int, float, bool, list[str] or null values), for readers that index it.
AlertJson = dict[str, Any]


class Severity(StrEnum):
    """How soon the floor manager must act: urgent ones are highlighted on the dashboard."""

    URGENT = "urgent"
    WARNING = "warning"


class AlertKind(StrEnum):
    """Every kind of floor alert the hall raises."""

    NO_WINDOW = "no_window"
    PAUSED_WITH_WAITING = "paused_with_waiting"
    LONG_QUEUE = "long_queue"
    LONG_WAIT = "long_wait"
    AVERAGE_WAIT = "average_wait"
    PRINT_FAILED = "print_failed"
    BAD_RATING = "bad_rating"
    RATING_FLAG = "rating_flag"
    PRINTER_FAULT = "printer_fault"
    PRINTER_UNKNOWN = "printer_unknown"
    NO_PRINTER = "no_printer"
    PAPER_LOW = "paper_low"
    OUTBOX_BACKLOG = "outbox_backlog"
    OUTBOX_PARKED = "outbox_parked"
    KEYPAD_OFFLINE = "keypad_offline"
    KEYPAD_LINK_DOWN = "keypad_link_down"
    KEYPAD_BUS_OFFLINE = "keypad_bus_offline"
    LED_BUS_OFFLINE = "led_bus_offline"
    LED_STRIP_OFFLINE = "led_strip_offline"
    LED_STRIP_FAULT = "led_strip_fault"
    VOICE_UNAVAILABLE = "voice_unavailable"
    VOICE_CLIPS_INVALID = "voice_clips_invalid"
    KEYPAD_STUCK = "keypad_stuck"
    KIOSK_RATE_LIMITED = "kiosk_rate_limited"
    KIOSK_CONFIRMATION_FAILED = "kiosk_confirmation_failed"
    SUBSCRIBER_FAILED = "subscriber_failed"
    KEYPAD_DISPLAY_FALLBACK = "keypad_display_fallback"
    DISK_FULL = "disk_full"
    JOURNAL_UNWRITABLE = "journal_unwritable"

    @property
    def action(self) -> str:
        """What the floor manager should do about it (Chinese)."""
        return ALERT_ACTIONS[self]

    @property
    def severity(self) -> Severity:
        """Urgent or a warning."""
        return Severity.URGENT if self in _URGENT else Severity.WARNING


ALERT_ACTIONS: dict[AlertKind, str] = {
    AlertKind.NO_WINDOW: "安排工作人员到受理该业务的窗口签到，或在窗口卡片上“调整业务”",
    AlertKind.PAUSED_WITH_WAITING: "请该窗口恢复服务，或把它的业务调整到其他窗口",
    AlertKind.LONG_QUEUE: "增开窗口或调整窗口业务，分流等候群众",
    AlertKind.LONG_WAIT: "优先叫号，安排人员了解久候群众的情况",
    AlertKind.AVERAGE_WAIT: "增开窗口，查看办理时长偏长的窗口",
    AlertKind.PRINT_FAILED: "补打（同一票号）或作废",
    AlertKind.BAD_RATING: "核实情况并回访群众（谁办理谁负责）",
    AlertKind.RATING_FLAG: "调阅该窗口的按键记录，核实是否为群众本人评价",
    AlertKind.PRINTER_FAULT: "检查取号机打印机：卡纸、缺纸、机盖或电源",
    AlertKind.PRINTER_UNKNOWN: "检查取号机打印机的电源和连接线",
    AlertKind.NO_PRINTER: "立即检查取号机打印机，暂由导服人员协助登记取号",
    AlertKind.PAPER_LOW: "更换取号机打印纸",
    AlertKind.OUTBOX_BACKLOG: "检查大厅与好差评系统之间的网络，恢复后自动补报",
    AlertKind.OUTBOX_PARKED: "在设备面板查看拒收原因，处理后点“立即重新上报”",
    AlertKind.KEYPAD_OFFLINE: DEVICE_ACTION,
    AlertKind.KEYPAD_LINK_DOWN: "检查评价器服务器（MQTT）是否运行",
    AlertKind.KEYPAD_BUS_OFFLINE: DEVICE_ACTION,
    AlertKind.LED_BUS_OFFLINE: DEVICE_ACTION,
    AlertKind.LED_STRIP_OFFLINE: DEVICE_ACTION,
    AlertKind.LED_STRIP_FAULT: DEVICE_ACTION,
    AlertKind.VOICE_UNAVAILABLE: "检查功放和音箱，叫号期间请人工引导",
    AlertKind.VOICE_CLIPS_INVALID: "检查自定义语音素材目录，或恢复默认素材",
    AlertKind.KEYPAD_STUCK: "查看该窗口评价器是否按键卡住或被人连续按压；按键恢复后告警自动消失",
    AlertKind.KIOSK_RATE_LIMITED: "查看该取号机是否被人连续取号，必要时暂停该取号机并收回多取的号",
    AlertKind.KIOSK_CONFIRMATION_FAILED: "查看该取号机前是否有人试探绿色通道确认码，必要时更换确认码",
    AlertKind.SUBSCRIBER_FAILED: "联系技术人员查看日志：该设备的画面可能未更新，其余设备照常工作",
    AlertKind.KEYPAD_DISPLAY_FALLBACK: "该窗口评价器显示了简化画面（工作人员信息无法显示），请核对工作人员登记信息",
    AlertKind.DISK_FULL: "立即清理数据盘空间或联系技术人员；恢复前取号、叫号无法保存",
    AlertKind.JOURNAL_UNWRITABLE: "联系技术人员检查数据盘和数据库文件；恢复前取号、叫号无法保存",
}
_URGENT = frozenset(
    {
        AlertKind.NO_WINDOW,
        AlertKind.PAUSED_WITH_WAITING,
        AlertKind.PRINT_FAILED,
        AlertKind.PRINTER_FAULT,
        AlertKind.NO_PRINTER,
        AlertKind.BAD_RATING,
        AlertKind.OUTBOX_PARKED,
        AlertKind.LED_BUS_OFFLINE,
        AlertKind.LED_STRIP_OFFLINE,
        AlertKind.LED_STRIP_FAULT,
        AlertKind.KEYPAD_BUS_OFFLINE,
        AlertKind.VOICE_UNAVAILABLE,
        AlertKind.KEYPAD_OFFLINE,
        AlertKind.DISK_FULL,
        AlertKind.JOURNAL_UNWRITABLE,
        AlertKind.KEYPAD_STUCK,
        AlertKind.KIOSK_RATE_LIMITED,
        AlertKind.KIOSK_CONFIRMATION_FAILED,
    }
)


@dataclass(frozen=True)
class Alert:
    """One floor alert: its kind, the Chinese message, and where it is (fields set when known).

    `details` are the source's own fields (a ticket list, a backlog size, …), sent as they are.
    """

    kind: AlertKind
    message: str
    window: int | None = None
    service: str | None = None
    device: str | None = None
    bus: str | None = None
    address: int | None = None
    printer: str | None = None
    machine: str | None = None
    token: str | None = None
    subscriber: str | None = None
    since: dt.datetime | None = None
    details: tuple[tuple[str, AlertDetail], ...] = ()

    @property
    def action(self) -> str:
        """What the floor manager should do about it (Chinese)."""
        return self.kind.action

    @property
    def severity(self) -> Severity:
        """Urgent or a warning."""
        return self.kind.severity

    def to_json(self) -> AlertJson:
        """The alert as the API and the live stream send it: kind, where, details, message, action."""
        found: AlertJson = {"kind": self.kind.value}
        for name in _WHERE:
            value = getattr(self, name)
            if value is not None:
                found[name] = value.isoformat() if isinstance(value, dt.datetime) else value
        for name, detail in self.details:
            found[name] = list(detail) if isinstance(detail, tuple) else detail
        found["message"] = self.message
        found["action"] = self.action
        return found


_WHERE = (
    "window",
    "service",
    "device",
    "bus",
    "address",
    "printer",
    "machine",
    "token",
    "subscriber",
    "since",
)
