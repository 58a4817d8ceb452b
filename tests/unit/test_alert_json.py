"""The JSON shape of floor alerts, pinned: the typed `Alert` must send what the dashboard reads."""

from __future__ import annotations

import datetime as dt

from controller.app.runtime import store_alert
from controller.app.snapshot import build_snapshot
from controller.domain import commands as cmd
from controller.domain.alerts import Alert, AlertKind, Severity
from controller.domain.engine import Engine
from controller.domain.errors import StoreError
from tests.conftest import hall_time
from tests.engine_helpers import At, issue, ok, sign_in, with_service

NO_WINDOW_ACTION = "安排工作人员到受理该业务的窗口签到，或在窗口卡片上“调整业务”"


def test_floor_alerts_keep_their_json_shape(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    sign_in(engine, 6, "S0601", at("09:00"))
    issue(engine, "YB", at("09:01"))  # nobody serves 医保
    issue(engine, "SB", at("09:01"))
    ok(engine.handle(cmd.IssueTicket("GJJ", needs_print=True), at("09:02")))  # never printed
    issue(engine, "GJJ", at("09:03"))  # window 6 is staffed but does not call it
    ok(engine.handle(cmd.Pause(1, "取资料"), at("09:03")))
    alerts = build_snapshot(engine, at("09:45"))["alerts"]
    assert alerts == [
        {
            "kind": "no_window",
            "service": "SB",
            "message": "社会保障有 1 人等候，但没有窗口在岗受理（1号窗口暂停服务），最长已等候 44 分钟",
            "action": NO_WINDOW_ACTION,
        },
        {
            "kind": "no_window",
            "service": "YB",
            "message": "医疗保障有 1 人等候，但没有窗口在岗受理，最长已等候 44 分钟",
            "action": NO_WINDOW_ACTION,
        },
        {
            "kind": "long_wait",
            "service": "GJJ",
            "message": "住房公积金最长已等候 42 分钟，超过 30 分钟",
            "action": "优先叫号，安排人员了解久候群众的情况",
        },
        {
            "kind": "print_failed",
            "tickets": ["20261123-D001"],
            "message": "1 张票号未确认打印（D001），请补打或作废",
            "action": "补打（同一票号）或作废",
        },
    ]


def test_window_and_rating_alerts_keep_their_json_shape(hall_config: object, at: At) -> None:
    engine = Engine(with_service(hall_config, "SB", average_service_minutes=10))  # type: ignore[arg-type]
    sign_in(engine, 1, "S0101", at("09:00"))
    sign_in(engine, 2, "S0201", at("09:00"))
    issue(engine, "SB", at("09:01"))
    ok(engine.handle(cmd.Pause(1, "取资料"), at("09:02")))
    ok(engine.handle(cmd.CallNext(2), at("09:40")))  # waited 39 minutes: over the 15 target
    alerts = build_snapshot(engine, at("09:40") + dt.timedelta(seconds=1))["alerts"]
    assert alerts == [
        {
            "kind": "average_wait",
            "message": "今日平均等候 39 分钟，超过目标 15 分钟",
            "action": "增开窗口，查看办理时长偏长的窗口",
        }
    ]
    issue(engine, "SB", at("09:41"))
    alerts = build_snapshot(engine, at("09:42"))["alerts"]
    assert alerts[0] == {
        "kind": "paused_with_waiting",
        "window": 1,
        "message": "1号窗口暂停服务（取资料），仍有 1 人等候",
        "action": "请该窗口恢复服务，或把它的业务调整到其他窗口",
    }


def test_store_and_device_alerts_send_the_fields_the_dashboard_reads() -> None:
    since = hall_time("09:00")
    assert store_alert(StoreError("database or disk is full", disk_full=True), since).to_json() == {
        "kind": "disk_full",
        "since": "2026-11-23T09:00:00+08:00",
        "message": "数据盘已满：取号、叫号等操作无法保存，请立即清理磁盘空间或联系技术人员",
        "action": "立即清理数据盘空间或联系技术人员；恢复前取号、叫号无法保存",
    }
    board = Alert(
        AlertKind.LED_STRIP_OFFLINE, "综合屏离线", bus="a", address=9, details=(("window", None),)
    )
    assert board.to_json() == {
        "kind": "led_strip_offline",
        "bus": "a",
        "address": 9,
        "window": None,  # the comprehensive board is at no window: null, as before
        "message": "综合屏离线",
        "action": "检查设备的电源和连接线，仍不恢复请联系设备厂商",
    }
    clips = Alert(AlertKind.VOICE_CLIPS_INVALID, "语音片段有误", details=(("files", ("a.wav",)),))
    assert clips.to_json()["files"] == ["a.wav"]  # a list in JSON, as the source built it
    assert (board.severity, clips.severity) == (Severity.URGENT, Severity.WARNING)
