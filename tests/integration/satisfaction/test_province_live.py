"""The live province view: a real hall pushes its summary over HTTP; halls in trouble come first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from controller.app.clock import ManualClock
from controller.app.device_wiring import HallDevices
from controller.app.hall_summary_push import (
    SummaryPusher,
    hall_summary,
    http_summary_sender,
    start_summary_push,
)
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain.calendar import HallCalendar
from controller.satisfaction.app import create_satisfaction_app
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole, SatisfactionTokens
from controller.satisfaction.settings import HallProfile, hall_id_of, profile_from_config
from tests.conftest import hall_time
from tests.integration.satisfaction.conftest import HALL_B_CALENDAR, ZONE
from tests.outbox_helpers import roomy_config, wait_for
from tests.servers import serving

HALL_TOKEN = "live-hall-token-for-the-tests-01"
READER_TOKEN = "live-reader-token-for-the-tests-1"
READER = {"Authorization": f"Bearer {READER_TOKEN}"}
CALM, ALERTING, NEVER = "330102-CALM", "330103-ALERT", "330104-NEVER"
PAUSED = "330105-PAUSED"


@contextmanager
def central(tmp_path: Path, clock: ManualClock, halls: dict[str, HallProfile]) -> Iterator[str]:
    """A central API on uvicorn knowing `halls` (each with the hall token of its id); base URL."""
    tokens = SatisfactionTokens()
    tokens.add(READER_TOKEN, SatisfactionCaller("province", SatisfactionRole.READER))
    for hall in halls:
        tokens.add(f"{HALL_TOKEN}-{hall}", SatisfactionCaller(hall, SatisfactionRole.HALL, hall))
    app: FastAPI = create_satisfaction_app(
        f"sqlite:///{tmp_path / 'central.db'}", tokens, halls, clock=clock.now
    )
    try:
        with serving(app) as base:
            yield base
    finally:
        app.state.satisfaction.engine.dispose()


def hall_profile(hall: str) -> HallProfile:
    return HallProfile(hall, ZONE, HallCalendar(HALL_B_CALENDAR))


def _live(base: str) -> dict[str, Any]:
    reply = httpx.get(f"{base}/api/v1/province/live", headers=READER)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_a_hall_pushes_its_queue_windows_and_alerts_and_the_province_sees_them(
    tmp_path: Path,
) -> None:
    config = roomy_config()
    hall = hall_id_of(config.hall)
    clock = ManualClock(hall_time("09:00"))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db", durable=False), clock)
    with central(tmp_path, clock, {hall: profile_from_config(config)}) as base:
        send = http_summary_sender(f"{base}/api/v1/evaluations", hall, f"{HALL_TOKEN}-{hall}", 5)
        pusher = SummaryPusher(runtime.snapshot, send, min_interval_seconds=0.05, poll_seconds=0.05)
        runtime.hub.subscribe("live-summary", pusher.wake)
        pusher.start()
        try:
            window = config.windows[0]
            runtime.execute(cmd.SignIn(window.number, window.staff[0].id, "A"))
            for _ in range(3):
                runtime.execute(cmd.IssueTicket(window.services[0]))
            clock.advance(25 * 60)  # the first has waited 25 minutes

            def seen() -> bool:
                halls = _live(base)["halls"]
                return bool(halls) and halls[0]["waiting"] == 3

            wait_for(seen)
            runtime.execute(cmd.Pause(window.number, "临时离开"))
            wait_for(lambda: (_live(base)["halls"][0]["windows"] or {}).get("paused") == 1)
            shown = _live(base)["halls"][0]
            assert shown["hall_id"] == hall and shown["silent"] is False
            assert shown["oldest_wait_minutes"] == pytest.approx(25, abs=0.5)
            assert shown["alerts"], "a paused window with citizens waiting is an alert"
            assert shown["level"] == 2 and shown["trouble"] == [
                a["message"] for a in shown["alerts"]
            ]
            metrics = httpx.get(f"{base}/metrics").text
            service = window.services[0]
            assert f'province_hall_waiting{{hall="{hall}",service="{service}"}} 3.0' in metrics
            assert f'province_hall_windows{{hall="{hall}",state="paused"}} 1.0' in metrics
            assert f'province_hall_silent{{hall="{hall}"}} 0.0' in metrics
            assert pusher.failures == 0 and pusher.pushed >= 2
        finally:
            pusher.stop()
            runtime.hub.stop()
            runtime.journal.close()


def summary_at(at: dt.datetime, *, alerts: int = 0, waiting: int = 0) -> dict[str, Any]:
    return {
        "at": at.isoformat(),
        "name": "测试大厅",
        "open": True,
        "services": [
            {"code": "SB", "name": "社保", "waiting": waiting, "oldest_wait_minutes": 3.0}
        ],
        "windows": {"serving": 2, "idle": 1, "paused": 0, "signed_out": 0, "closed": 0},
        "alerts": [{"kind": "long_wait", "message": f"告警 {n}"} for n in range(alerts)],
    }


def push_summary(base: str, hall: str, summary: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {HALL_TOKEN}-{hall}"}
    return httpx.post(f"{base}/api/v1/halls/{hall}/live", json=summary, headers=headers)


def test_silent_halls_come_first_then_halls_with_alerts_then_calm_ones(tmp_path: Path) -> None:
    clock = ManualClock(dt.datetime(2026, 12, 7, 10, 0, tzinfo=ZONE))
    gone = "330101-GONE"
    halls = {h: hall_profile(h) for h in (CALM, ALERTING, NEVER, gone)}
    halls[PAUSED] = HallProfile(PAUSED, ZONE, HallCalendar(HALL_B_CALENDAR), suspended=True)
    with central(tmp_path, clock, halls) as base:
        assert push_summary(base, gone, summary_at(clock.now(), waiting=9)).status_code == 200
        clock.advance(4 * 60)  # the gone hall's last word is now 4 minutes old: silent
        assert push_summary(base, CALM, summary_at(clock.now(), waiting=4)).status_code == 200
        assert push_summary(base, ALERTING, summary_at(clock.now(), alerts=2)).status_code == 200
        live = _live(base)
        order = [(h["hall_id"], h["level"]) for h in live["halls"]]
        assert order == [(gone, 3), (NEVER, 3), (ALERTING, 2), (CALM, 0), (PAUSED, -1)]
        assert live["halls"][0]["trouble"] == ["失联：4 分钟无上报"]
        assert live["halls"][1]["trouble"] == ["从未上报实时状态"]
        assert live["halls"][2]["trouble"] == ["告警 0", "告警 1"]
        assert live["halls"][4]["trouble"] == ["已暂停接收"] and not live["halls"][4]["silent"]
        assert (live["silent"], live["alerting"], live["waiting"]) == (2, 1, 13)
        # A late summary older than the one kept does not replace it.
        late = summary_at(clock.now() - dt.timedelta(minutes=1), alerts=0)
        assert push_summary(base, ALERTING, late).status_code == 200
        assert _live(base)["halls"][2]["hall_id"] == ALERTING
        metrics = httpx.get(f"{base}/metrics").text
        assert f'province_hall_silent{{hall="{NEVER}"}} 1.0' in metrics
        assert f'province_hall_summary_age_seconds{{hall="{gone}"}} 240.0' in metrics


def test_a_summary_for_another_hall_or_an_unknown_one_or_of_bad_shape_is_refused(
    tmp_path: Path,
) -> None:
    clock = ManualClock(dt.datetime(2026, 12, 7, 10, 0, tzinfo=ZONE))
    with central(tmp_path, clock, {CALM: hall_profile(CALM)}) as base:
        headers = {"Authorization": f"Bearer {HALL_TOKEN}-{CALM}"}
        other = httpx.post(
            f"{base}/api/v1/halls/{ALERTING}/live", json=summary_at(clock.now()), headers=headers
        )
        assert other.status_code == 403
        bad = dict(summary_at(clock.now()), at="2026-12-07T10:00:00", windows={"dancing": 1})
        refused = push_summary(base, CALM, bad)
        assert refused.status_code == 422
        assert {p.split(":")[0] for p in refused.json()["problems"]} == {"at", "windows.dancing"}
        reader = httpx.post(
            f"{base}/api/v1/halls/{CALM}/live", json=summary_at(clock.now()), headers=READER
        )
        assert reader.status_code == 403


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_pusher_sends_changes_at_most_every_interval_and_a_heartbeat_when_unchanged(
    tmp_path: Path,
) -> None:
    config = roomy_config()
    clock = ManualClock(hall_time("09:00"))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db", durable=False), clock)
    sent: list[dict[str, Any]] = []
    answers: list[str] = []
    ticks = _Clock()

    def send(summary: dict[str, Any]) -> str:
        sent.append(summary)
        return answers.pop(0) if answers else ""

    pusher = SummaryPusher(
        runtime.snapshot,
        send,
        min_interval_seconds=5,
        heartbeat_seconds=60,
        poll_seconds=10,
        clock=ticks,
    )
    try:
        assert pusher.step() == 5 and len(sent) == 1  # the first look always pushes
        runtime.execute(cmd.IssueTicket(config.services[0].code))
        ticks.now = 2.0
        assert pusher.step() == pytest.approx(3) and len(sent) == 1  # too soon: waits
        ticks.now = 5.0
        pusher.step()
        assert len(sent) == 2 and sent[1]["services"][0]["waiting"] == 1
        ticks.now = 30.0
        assert pusher.step() == 10 and len(sent) == 2  # unchanged: looks again in 10 s
        ticks.now = 65.0
        pusher.step()
        assert len(sent) == 3  # the heartbeat, unchanged
        answers.extend(["HTTP 503: busy", "HTTP 503: busy"])
        ticks.now = 130.0
        assert pusher.step() == 5 and pusher.failures == 1
        ticks.now = 135.0
        assert pusher.step() == 10 and pusher.failures == 2  # backing off, doubled
        ticks.now = 145.0
        pusher.step()
        assert pusher.failures == 0 and pusher.last_error == "" and len(sent) == 6
    finally:
        runtime.hub.stop()
        runtime.journal.close()


def test_the_summary_carries_no_names_or_ticket_numbers(tmp_path: Path) -> None:
    config = roomy_config()
    clock = ManualClock(hall_time("09:00"))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db", durable=False), clock)
    try:
        window = config.windows[0]
        runtime.execute(cmd.SignIn(window.number, window.staff[0].id, "A"))
        runtime.execute(cmd.IssueTicket(window.services[0]))
        summary = hall_summary(runtime.snapshot())
        text = str(summary)
        assert window.staff[0].name not in text and window.staff[0].id not in text
        assert set(summary) == {"at", "name", "open", "services", "windows", "alerts"}
        assert summary["windows"]["idle"] == 1
    finally:
        runtime.hub.stop()
        runtime.journal.close()


def test_a_hall_with_a_central_url_starts_pushing_as_its_devices_start(tmp_path: Path) -> None:
    config = roomy_config()
    hall = hall_id_of(config.hall)
    clock = ManualClock(hall_time("09:00"))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db", durable=False), clock)
    devices = HallDevices(runtime)
    with central(tmp_path, clock, {hall: profile_from_config(config)}) as base:
        try:
            url = f"{base}/api/v1/evaluations"
            pusher = start_summary_push(devices, url, f"{HALL_TOKEN}-{hall}", 5)
            wait_for(lambda: _live(base)["halls"][0]["received_at"] is not None)
            assert _live(base)["halls"][0]["level"] == 0 and pusher.pushed == 1
            assert any("实时概况" in note for note in devices.notes)
        finally:
            devices.stop()
            runtime.hub.stop()
            runtime.journal.close()
