"""The hall registry: a province admin adds, suspends, resumes halls and rotates tokens, no restart."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from controller.app.clock import ManualClock
from controller.satisfaction.app import create_satisfaction_app
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole, SatisfactionTokens
from controller.satisfaction.registry import TOKENS as TOKEN_TABLE
from controller.satisfaction.settings import SatisfactionSettings, load_central_config
from controller.settings.hall_config import token_digest
from tests.integration.satisfaction.conftest import HALL_A, NOW, PROFILES, TOKENS, record

ADMIN_TOKEN = "province-admin-token-for-tests-01"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NEW_HALL = "330106-XHQZWFW"


def _app(url: str, clock: ManualClock, *, refresh: float = 0.05) -> TestClient:
    tokens = SatisfactionTokens()
    for token, caller in TOKENS.values():
        tokens.add(token, caller)
    tokens.add(ADMIN_TOKEN, SatisfactionCaller("省厅", SatisfactionRole.PROVINCE_ADMIN))
    settings = SatisfactionSettings(database_url=url, registry_refresh_seconds=refresh)
    app = create_satisfaction_app(url, tokens, PROFILES, settings=settings, clock=clock.now)
    return TestClient(app)


def _push(
    client: TestClient, token: str, hall: str = NEW_HALL, rating: str = "20261123-A001"
) -> Any:
    body = {"records": [record(rating, hall_id=hall, region_code=hall.split("-", maxsplit=1)[0])]}
    return client.post(
        "/api/v1/evaluations", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def _eventually(check: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the registry change did not arrive"
        time.sleep(0.02)


def _dispose(*clients: TestClient) -> None:
    for client in clients:
        client.app.state.satisfaction.engine.dispose()  # type: ignore[attr-defined]


def test_a_hall_added_through_the_api_is_accepted_by_another_process_without_restart(
    database_url: str,
) -> None:
    clock = ManualClock(NOW)
    first, second = _app(database_url, clock), _app(database_url, clock)  # two API processes
    try:
        assert _push(second, "not-yet-issued-token").status_code == 401
        reply = first.post(
            "/api/v1/halls", json={"hall_id": NEW_HALL, "name": "西湖区政务服务中心"}, headers=ADMIN
        )
        assert reply.status_code == 201, reply.text
        issued = reply.json()
        assert issued["hall"]["status"] == "active" and issued["hall"]["source"] == "api"
        token = issued["token"]
        assert len(token) >= 40
        _eventually(lambda: _push(second, token).status_code == 200)
        assert _push(first, token, rating="20261123-A002").json()["accepted"] == 1
        # Another hall's records with it: refused, as for any hall token.
        assert _push(second, token, hall=HALL_A).status_code == 403
        engine = first.app.state.satisfaction.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            rows = conn.execute(sa.select(TOKEN_TABLE)).mappings().all()
        assert [r["sha256"] for r in rows] == [token_digest(token)]  # the hash, never the token
        assert all(token not in str(value) for row in rows for value in row.values())
        listed = second.get("/api/v1/halls", headers=ADMIN).json()
        assert [(h["hall_id"], h["name"], h["tokens"]) for h in listed["items"]] == [
            (NEW_HALL, "西湖区政务服务中心", 1)
        ]
    finally:
        _dispose(first, second)


def test_a_suspended_hall_is_answered_hall_suspended_then_accepted_again_on_resume(
    database_url: str,
) -> None:
    clock = ManualClock(NOW)
    first, second = _app(database_url, clock), _app(database_url, clock)
    try:
        token = first.post("/api/v1/halls", json={"hall_id": NEW_HALL}, headers=ADMIN).json()[
            "token"
        ]
        _eventually(lambda: _push(second, token).status_code == 200)
        suspended = first.post(f"/api/v1/halls/{NEW_HALL}/suspend", headers=ADMIN)
        assert suspended.json()["status_label"] == "已暂停"
        _eventually(lambda: _push(second, token, rating="R2").status_code == 403)
        refused = _push(second, token, rating="R2").json()
        assert refused["error"] == "hall_suspended" and NEW_HALL in refused["message"]
        first.post(f"/api/v1/halls/{NEW_HALL}/resume", headers=ADMIN)
        _eventually(lambda: _push(second, token, rating="R2").status_code == 200)
    finally:
        _dispose(first, second)


def test_a_rotated_token_stops_after_its_grace_and_the_new_one_works(database_url: str) -> None:
    clock = ManualClock(NOW)
    client = _app(database_url, clock)
    try:
        old = client.post("/api/v1/halls", json={"hall_id": NEW_HALL}, headers=ADMIN).json()[
            "token"
        ]
        rotated = client.post(
            f"/api/v1/halls/{NEW_HALL}/rotate-token", json={"grace_minutes": 10}, headers=ADMIN
        ).json()
        assert rotated["retired_tokens"] == 1
        assert _push(client, old).status_code == 200  # within its grace
        clock.advance(10 * 60)
        assert _push(client, old, rating="R2").status_code == 401
        assert _push(client, rotated["token"], rating="R2").status_code == 200
        now_token = client.post(f"/api/v1/halls/{NEW_HALL}/rotate-token", headers=ADMIN).json()
        assert _push(client, rotated["token"], rating="R3").status_code == 401  # no grace: at once
        assert _push(client, now_token["token"], rating="R3").status_code == 200
    finally:
        _dispose(client)


def test_only_a_province_admin_changes_the_registry_and_a_hall_is_added_once(
    database_url: str,
) -> None:
    clock = ManualClock(NOW)
    client = _app(database_url, clock)
    body = {"hall_id": NEW_HALL}
    try:
        for role in ("hall", "floor", "supervision", "reader"):
            headers = {"Authorization": f"Bearer {TOKENS[role][0]}"}
            answer = client.post("/api/v1/halls", json=body, headers=headers)
            assert (answer.status_code, answer.json()["error"]) == (403, "forbidden"), role
            assert (
                client.post(f"/api/v1/halls/{HALL_A}/suspend", headers=headers).status_code == 403
            )
        assert client.post("/api/v1/halls", json=body, headers=ADMIN).status_code == 201
        again = client.post("/api/v1/halls", json=body, headers=ADMIN)
        assert (again.status_code, again.json()["error"]) == (409, "hall_exists")
        missing = client.post("/api/v1/halls/330000-NONE/suspend", headers=ADMIN)
        assert (missing.status_code, missing.json()["error"]) == (404, "no_such_hall")
        bad = client.post(
            "/api/v1/halls", json={"hall_id": "x y", "timezone": "Mars/Base"}, headers=ADMIN
        )
        assert bad.status_code == 422 and {"hall_id", "timezone"} <= {
            p.split(":")[0] for p in bad.json()["problems"]
        }
    finally:
        _dispose(client)


CENTRAL = """
[settings]
database_url = "{url}"
registry_refresh_seconds = 0.05

[[halls]]
id = "330102-XCQZWFW"
timezone = "Asia/Shanghai"
[halls.calendar]
holidays = ["2026-10-01"]
[halls.calendar.hours.mon]
open = "09:00"
close = "17:00"

[[tokens]]
name = "xcq-outbox"
role = "hall"
hall_id = "330102-XCQZWFW"
sha256 = "{hall_digest}"

[[tokens]]
name = "省厅"
role = "province_admin"
sha256 = "{admin_digest}"
"""


def test_config_file_halls_are_imported_and_the_registry_wins_at_the_next_start(
    database_url: str, tmp_path: Path
) -> None:
    hall_token = "xcq-hall-token-of-the-previous-release"
    text = CENTRAL.format(
        url=database_url,
        hall_digest=token_digest(hall_token),
        admin_digest=token_digest(ADMIN_TOKEN),
    )
    (tmp_path / "central.toml").write_text(text, encoding="utf-8")
    clock = ManualClock(NOW)

    def start() -> TestClient:
        loaded = load_central_config(tmp_path / "central.toml")
        app = create_satisfaction_app(
            loaded.settings.database_url,
            SatisfactionTokens(loaded.tokens),
            loaded.profiles,
            settings=loaded.settings,
            clock=clock.now,
            import_into_registry=True,
        )
        return TestClient(app)

    first = start()
    try:
        assert _push(first, hall_token, hall="330102-XCQZWFW").status_code == 200  # as before
        listed = first.get("/api/v1/halls", headers=ADMIN).json()["items"]
        assert [(h["hall_id"], h["source"], h["tokens"]) for h in listed] == [
            ("330102-XCQZWFW", "config", 1)
        ]
        first.post("/api/v1/halls/330102-XCQZWFW/rotate-token", headers=ADMIN)
        first.post("/api/v1/halls/330102-XCQZWFW/suspend", headers=ADMIN)
    finally:
        _dispose(first)
    # The file's calendar changed (a new holiday); the rotated token and the suspension stay.
    changed = text.replace('holidays = ["2026-10-01"]', 'holidays = ["2026-10-01", "2026-11-23"]')
    (tmp_path / "central.toml").write_text(changed, encoding="utf-8")
    restarted = start()
    try:
        assert _push(restarted, hall_token, hall="330102-XCQZWFW", rating="R2").status_code == 401
        statuses = [
            h["status"] for h in restarted.get("/api/v1/halls", headers=ADMIN).json()["items"]
        ]
        assert statuses == ["suspended"]
        registry = restarted.app.state.registry  # type: ignore[attr-defined]
        calendar = registry["330102-XCQZWFW"].calendar
        assert not calendar.is_working_day(dt.date(2026, 11, 23))  # a Monday, now a holiday
    finally:
        _dispose(restarted)


def test_a_process_that_cannot_read_the_registry_keeps_the_one_it_read(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(NOW)
    client = _app(database_url, clock)
    try:
        token = client.post("/api/v1/halls", json={"hall_id": NEW_HALL}, headers=ADMIN).json()[
            "token"
        ]
        assert _push(client, token).status_code == 200
        engine = client.app.state.satisfaction.engine  # type: ignore[attr-defined]
        with engine.begin() as conn:  # the counter unreadable: as if the database were away
            conn.exec_driver_sql("ALTER TABLE satisfaction_registry_generation RENAME TO gone")
        time.sleep(0.1)  # past the refresh interval
        assert _push(client, token, rating="R2").status_code == 200
        assert "cannot read the hall registry" in caplog.text
    finally:
        _dispose(client)
