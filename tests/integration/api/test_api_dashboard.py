"""/api/dashboard (day figures from the journal) and /api/console/{n}, with their auth."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.app.clock import ManualClock
from controller.app.dashboard_figures import waiting_history
from controller.domain import commands as cmd
from controller.domain.alerts import AlertKind, Severity
from controller.domain.state import CallingPolicy, WindowStatus
from tests.integration.api.conftest import Hall, at, auth, make_hall


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    """A fresh hall at Monday 09:00 (the dashboard routes are part of every hall app)."""
    made = make_hall(tmp_path / "hall.db", ManualClock(at("09:00")))
    yield made
    made.runtime.journal.close()


def _figures(hall: Hall, role: str = "floor") -> dict[str, Any]:
    response = hall.client.get("/api/dashboard", headers=auth(role))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _run(hall: Hall, command: cmd.Command) -> dict[str, Any]:
    reply = hall.runtime.execute(command)
    assert reply.accepted, reply.result
    return reply.result


def test_waiting_curve_waits_and_window_since_follow_the_day(hall: Hall) -> None:
    _run(hall, cmd.SignIn(1, "S0101", "A"))
    for _ in range(3):
        _run(hall, cmd.IssueTicket("SB"))
    hall.clock.set(at("09:12"))
    _run(hall, cmd.CallNext(1))  # A001 waited 12 minutes
    hall.clock.set(at("09:40"))
    _run(hall, cmd.CallNext(1))  # A002 waited 40 minutes
    hall.clock.set(at("09:41"))
    assert (
        hall.runtime.execute(cmd.Pause(1, "临时离开")).reason == "window_busy"
    )  # still serving A002
    figures = _figures(hall)

    history = {slot["at"][11:16]: slot["waiting"] for slot in figures["waiting_history"]}
    assert history["08:30"] == 0 and history["08:55"] == 0
    assert history["09:00"] == 3 and history["09:10"] == 3  # 09:12 is inside 09:10-09:15
    assert history["09:15"] == 2 and history["09:40"] == 2 and figures["step_minutes"] == 5
    bins = {b["label"]: b["count"] for b in figures["wait_histogram"]["bins"]}
    assert bins["10-15"] == 1 and bins["30-45"] == 1 and sum(bins.values()) == 2
    assert [b["over"] for b in figures["wait_histogram"]["bins"]][-4:] == [False, True, True, True]
    assert figures["wait_histogram"]["threshold_minutes"] == 30
    assert figures["window_since"] == {"1": at("09:40").isoformat()}
    assert figures["window_weights"]["2"] == {"SB": 2, "YB": 1}


def test_figures_are_read_incrementally_and_restart_with_the_day(hall: Hall) -> None:
    _run(hall, cmd.SignIn(2, "S0201", "A"))
    assert _figures(hall)["window_since"] == {"2": at("09:00").isoformat()}
    hall.clock.set(at("09:30"))
    _run(hall, cmd.IssueTicket("YB"))
    _run(hall, cmd.Pause(2, "临时离开"))
    figures = _figures(hall)
    assert figures["window_since"] == {"2": at("09:30").isoformat()}
    assert figures["waiting_history"][-1]["waiting"] == 1

    tuesday = at("09:00").replace(day=24)
    hall.clock.set(tuesday)
    hall.runtime.tick()  # the day rolls over: expired tickets, everyone signed out
    figures = _figures(hall)
    assert figures["day"] == "2026-11-24"
    assert figures["wait_histogram"]["called"] == 0
    assert max(slot["waiting"] for slot in figures["waiting_history"]) == 0


def test_waiting_history_takes_the_peak_of_each_slot() -> None:
    points = [(at("08:01"), 2), (at("09:01"), 5), (at("09:02"), 1), (at("09:16"), 0)]
    slots = waiting_history(points, at("09:00"), at("09:15"), 5)
    assert [(s["at"][11:16], s["waiting"]) for s in slots] == [
        ("09:00", 5),
        ("09:05", 1),
        ("09:10", 1),
        ("09:15", 1),
    ]


def test_console_setup_names_the_window_roster_and_service_rules(hall: Hall) -> None:
    response = hall.client.get("/api/console/4", headers=auth("staff4"))
    assert response.status_code == 200
    body = response.json()
    assert body["window"] == {"number": 4, "name": "不动产登记窗口"}
    assert [(m["id"], m["role"]) for m in body["roster"]] == [("S0401", "A"), ("S0402", "B")]
    bdc = next(s for s in body["services"] if s["code"] == "BDC")
    assert bdc["outcome_required"] is True and "完税凭证" in bdc["materials"]
    assert body["outcomes"] == ["即办件", "承诺件", "补办件", "联办件", "驳回件", "上报件"]
    assert hall.client.get("/api/console/4", headers=auth("floor")).status_code == 200


@pytest.mark.parametrize(
    ("path", "role", "status", "message"),
    [
        ("/api/console/1", "staff4", 403, "该令牌只能操作 4 号窗口"),
        ("/api/console/1", "kiosk", 403, "角色 kiosk 无权执行此操作"),
        ("/api/console/99", "floor", 404, "没有 99 号窗口"),
        ("/api/dashboard", "staff1", 403, "角色 window_staff 无权执行此操作"),
        ("/api/dashboard", "display", 403, "角色 display 无权执行此操作"),
    ],
)
def test_refusals_are_plain(hall: Hall, path: str, role: str, status: int, message: str) -> None:
    response = hall.client.get(path, headers=auth(role))
    assert (response.status_code, response.json()["message"]) == (status, message)
    assert hall.client.get(path).status_code == 401


def test_pages_are_served_without_a_token_and_load_nothing_external(hall: Hall) -> None:
    for path in ("/dashboard", "/console?window=1"):
        response = hall.client.get(path)
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
        assert "http://" not in response.text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in response.text and '<link rel="stylesheet"' not in response.text


def _page_object(page: str, name: str) -> dict[str, str]:
    """The JavaScript object literal `const NAME = {...};` of a served page, as a dict."""
    found = re.search(rf"const {name} = (\{{.*?\}});", page, re.S)
    assert found is not None, f"{name} not in the page"
    literal = re.sub(r"([{,]\s*)(\w+):", r'\1"\2":', found.group(1))  # bare keys -> JSON keys
    literal = re.sub(r",\s*}$", "}", literal)  # and no trailing comma
    parsed: dict[str, str] = json.loads(literal)
    return parsed


def test_the_pages_name_every_calling_policy_window_status_and_urgent_alert(hall: Hall) -> None:
    dashboard = hall.client.get("/dashboard").text
    assert _page_object(dashboard, "POLICY_NAMES") == {p.value: p.label for p in CallingPolicy}
    assert set(_page_object(dashboard, "STATE_NAMES")) == set(WindowStatus)
    urgent = re.search(r"const URGENT = new Set\((\[.*?\])\);", dashboard, re.S)
    assert urgent is not None
    assert set(json.loads(urgent.group(1))) == {
        kind for kind in AlertKind if kind.severity is Severity.URGENT
    }
    assert set(_page_object(dashboard, "ALERT_NAMES")) <= set(AlertKind)
    console = hall.client.get("/console?window=1").text
    assert set(_page_object(console, "STATE_NAMES")) == set(WindowStatus)
