"""Alerts a manager acts on (issue: A day on the floor, item 3).

What the hall's own calendar explains (the lunch break, before opening) is one calm status line,
not per-window alerts; one cause gives one alert; every alert says what to do; and a simulated
day stays within an alert budget.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from controller.app.snapshot import build_snapshot
from controller.domain import commands as cmd
from controller.domain.alerts import ALERT_ACTIONS, AlertKind
from controller.domain.engine import Engine
from controller.settings.hall_config import HallConfig
from controller.sim.flag_audit import HONEST, audit_day, summarise
from tests.conftest import MONDAY
from tests.engine_helpers import At, issue, ok, sign_in

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "dashboard-and-console.md"


def _lunch_floor(engine: Engine, at: At) -> None:
    """Windows 3 (YB) and 1 (SB) pause for 午间休息 at 12:00 with citizens waiting."""
    sign_in(engine, 1, "S0101", at("11:00"))
    sign_in(engine, 3, "S0301", at("11:00"))
    issue(engine, "YB", at("11:40"))
    issue(engine, "SB", at("11:50"))
    ok(engine.handle(cmd.Pause(1, "午间休息"), at("12:00")))
    ok(engine.handle(cmd.Pause(3, "午间休息"), at("12:00")))


def test_the_scheduled_lunch_break_is_one_calm_status_line_not_per_window_alerts(
    engine: Engine, at: At
) -> None:
    _lunch_floor(engine, at)
    snapshot = build_snapshot(engine, at("12:52"))
    kinds = [a["kind"] for a in snapshot["alerts"]]
    assert not {"paused_with_waiting", "no_window", "long_wait"} & set(kinds), kinds
    assert snapshot["floor_status"] == {
        "kind": "lunch_break",
        "message": "午休中，2 人等候（最长已等 72 分钟），13:00 恢复",
    }
    # After the break the same pauses are a real complaint again, and the status line goes.
    after = build_snapshot(engine, at("13:05"))
    assert after["floor_status"] is None
    assert {"no_window"} <= {a["kind"] for a in after["alerts"]}


def test_one_cause_gives_one_alert_naming_the_paused_window(engine: Engine, at: At) -> None:
    sign_in(engine, 3, "S0301", at("09:00"))
    issue(engine, "YB", at("09:01"))
    ok(engine.handle(cmd.Pause(3, "取资料"), at("09:02")))
    alerts = build_snapshot(engine, at("09:05"))["alerts"]
    yb = [a for a in alerts if a.get("service") == "YB" or a.get("window") == 3]
    assert [a["kind"] for a in yb] == ["no_window"]
    assert "3号窗口暂停服务" in yb[0]["message"]


def test_a_paused_window_whose_service_another_window_takes_is_its_own_alert(
    engine: Engine, at: At
) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    sign_in(engine, 2, "S0102", at("09:00"))
    issue(engine, "SB", at("09:01"))
    ok(engine.handle(cmd.Pause(1, "取资料"), at("09:02")))
    kinds = [a["kind"] for a in build_snapshot(engine, at("09:05"))["alerts"]]
    assert kinds == ["paused_with_waiting"]


def test_every_alert_states_its_action_and_every_kind_is_documented(engine: Engine, at: At) -> None:
    _lunch_floor(engine, at)
    alerts = build_snapshot(engine, at("13:05"))["alerts"]
    assert alerts and all(a["action"] == ALERT_ACTIONS[a["kind"]] for a in alerts)
    assert set(ALERT_ACTIONS) == set(AlertKind)
    raised, by_hand = set(), set()
    for folder in ("controller", "devices"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name != "alerts.py":
                source = path.read_text(encoding="utf-8")
                raised |= {AlertKind[name] for name in re.findall(r"AlertKind\.(\w+)", source)}
                by_hand |= set(re.findall(r'"kind": "(\w+)"', source)) & set(AlertKind)
    assert sorted(by_hand) == []  # every alert is an Alert, none a hand-built dict
    assert sorted(set(AlertKind) - raised) == []  # and every kind has a source
    documented = set(re.findall(r"`(\w+)`", DOC.read_text(encoding="utf-8").split("### Alerts")[1]))
    assert sorted(set(AlertKind) - documented) == []


# Raised-alert counts of three honest simulated days (seeds 1-3, the example hall), measured
# 2026-12-07: long_wait 79, bad_rating 59, average_wait 4 and nothing else. Re-measured the same
# day when the twin got independent random streams (issue 17), which draws other days for the
# same seeds: long_wait 115, bad_rating 54, average_wait 3. Over seeds 1-8 both draws raise
# long_wait 29 times a day on average (230 and 232), so the rise is the draw, not a noisier panel.
# A change that makes the panel noisier (a kind raised more often, a new kind on an honest day)
# fails here.
ALERT_BUDGET = {"long_wait": 125, "bad_rating": 65, "average_wait": 6}


def test_honest_simulated_days_stay_within_the_alert_budget_with_no_flags(
    hall_config: HallConfig,
) -> None:
    summary = summarise([audit_day(hall_config, MONDAY, seed=s, planted=HONEST) for s in (1, 2, 3)])
    assert summary["flags"] == {}  # no honest staff member is flagged 擅自按键
    assert summary["refused_presses"] == {}  # every honest rating press counted
    assert summary["ratings"] > 0.8 * summary["finished"]
    over = {k: n for k, n in summary["alerts"].items() if n > ALERT_BUDGET.get(k, 0)}
    assert over == {}, summary["alerts"]


@pytest.mark.parametrize("seed", [1, 2])
def test_every_planted_dishonest_case_is_flagged_and_every_flag_names_one(
    hall_config: HallConfig, seed: int
) -> None:
    from controller.sim.flag_audit import DISHONEST

    summary = summarise([audit_day(hall_config, MONDAY, seed=seed, planted=DISHONEST)])
    assert set(summary["cases"]) == {"self_rate", "late_invite", "away_press", "top_run"}
    assert all(value == 1.0 for value in summary["recall"].values()), summary
    assert all(value == 1.0 for value in summary["precision"].values()), summary
