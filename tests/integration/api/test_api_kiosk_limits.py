"""A kiosk token's issuing rate limit (429 and a floor alert) and the staff step for 绿色通道.

Real parts: the runtime on a SQLite journal, the app over HTTP; the kiosk guard's clock is a
controlled one where the test needs a minute to pass.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from controller.api.kiosk_guard import KioskGuard
from controller.app.clock import ManualClock
from controller.settings.config_sections import KioskConfig
from tests.integration.api.conftest import TOKENS, Hall, at, auth, make_hall

PIN = "472913"
PRIORITY = {"service": "SB", "lane": "priority", "priority_reason": "老年人"}


class Ticking:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def guarded(hall: Hall, config: KioskConfig) -> Ticking:
    """Give the hall's app a kiosk guard with `config` on a hand-moved clock."""
    ticking = Ticking()
    app = hall.client.app
    guard = KioskGuard(config, app.state.tokens, clock=ticking)  # type: ignore[attr-defined]
    app.state.kiosk_guard = guard  # type: ignore[attr-defined]
    hall.runtime.add_alert_source(guard.alerts)
    return ticking


def alerts(hall: Hall, kind: str) -> list[dict[str, object]]:
    """The floor's alerts of one kind now (GET /api/state may be up to a second older)."""
    return [a for a in hall.runtime.snapshot()["alerts"] if a["kind"] == kind]


def test_one_kiosk_token_cannot_drain_the_day(hall: Hall) -> None:
    # The default limit: a real machine prints a ticket every few seconds at best.
    limit = KioskConfig()
    assert (limit.max_tickets, limit.per_seconds) == (20, 60.0)
    answers = [hall.post("/api/tickets", "kiosk", {"service": "SB"}) for _ in range(40)]
    statuses = [status for status, _ in answers]
    assert statuses == [201] * 20 + [429] * 20
    refusal = hall.client.post("/api/tickets", json={"service": "SB"}, headers=auth("kiosk"))
    assert refusal.status_code == 429
    assert refusal.json()["error"] == "kiosk_rate_limited"
    assert "取号过于频繁" in refusal.json()["message"]
    assert 0 < int(refusal.headers["Retry-After"]) <= 60
    assert len(hall.runtime.engine.state.tickets) == 20  # nothing issued past the limit
    state = hall.client.get("/api/state", headers=auth("floor")).json()  # the dashboard's read
    [alert] = [a for a in state["alerts"] if a["kind"] == "kiosk_rate_limited"]
    assert alert["token"] == "kiosk" and "取号过于频繁" in str(alert["message"])
    # The floor manager's own tickets are not the kiosk's limit.
    assert hall.post("/api/tickets", "floor", {"service": "SB"})[0] == 201
    # Appointment check-ins at the kiosk count too (a flood of guessed codes is the same load).
    status, body = hall.post("/api/appointments/NONE-1/check-in", "kiosk", {})
    assert (status, body["error"]) == (429, "kiosk_rate_limited")


def test_the_limit_lifts_and_the_alert_clears_when_the_kiosk_calms(hall: Hall) -> None:
    ticking = guarded(hall, KioskConfig(max_tickets=3, per_seconds=60.0))
    statuses = [hall.post("/api/tickets", "kiosk", {"service": "SB"})[0] for _ in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert len(alerts(hall, "kiosk_rate_limited")) == 1
    ticking.now += 61
    assert alerts(hall, "kiosk_rate_limited") == []
    assert hall.post("/api/tickets", "kiosk", {"service": "SB"})[0] == 201


def test_an_idempotent_retry_is_not_counted_twice(hall: Hall) -> None:
    guarded(hall, KioskConfig(max_tickets=2, per_seconds=60.0))
    first = hall.post("/api/tickets", "kiosk", {"service": "SB"}, key="retry-1")
    again = [hall.post("/api/tickets", "kiosk", {"service": "SB"}, key="retry-1") for _ in range(3)]
    assert all(answer == first for answer in again)
    assert hall.post("/api/tickets", "kiosk", {"service": "SB"})[0] == 201


def test_a_kiosk_priority_ticket_needs_a_staff_confirmation(tmp_path: Path) -> None:
    digest = hashlib.sha256(PIN.encode()).hexdigest()
    hall = make_hall(
        tmp_path / "hall.db", ManualClock(at("09:00")), kiosk={"priority_pin_sha256": digest}
    )
    try:
        status, body = hall.post("/api/tickets", "kiosk", PRIORITY)
        assert (status, body["error"]) == (403, "priority_needs_staff")
        assert "工作人员确认" in body["message"]
        status, body = hall.post(
            "/api/tickets", "kiosk", PRIORITY | {"staff_confirmation": "000000"}
        )
        assert (status, body["error"]) == (403, "staff_confirmation_invalid")
        assert hall.runtime.engine.state.tickets == {}  # nothing issued
        status, body = hall.post("/api/tickets", "kiosk", PRIORITY | {"staff_confirmation": PIN})
        assert (status, body["lane"]) == (201, "priority")
        # A floor manager's token confirms too (a hall without a PIN, or the PIN forgotten).
        floor_token = TOKENS["floor"][0]
        status, body = hall.post(
            "/api/tickets", "kiosk", PRIORITY | {"staff_confirmation": floor_token}
        )
        assert (status, body["lane"]) == (201, "priority")
        # Another kiosk's or a display's token is no staff confirmation.
        status, body = hall.post(
            "/api/tickets", "kiosk", PRIORITY | {"staff_confirmation": TOKENS["display"][0]}
        )
        assert (status, body["error"]) == (403, "staff_confirmation_invalid")
        # The floor manager's own priority tickets need no second step; normal ones none at all.
        assert hall.post("/api/tickets", "floor", PRIORITY)[0] == 201
        assert hall.post("/api/tickets", "kiosk", {"service": "SB"})[0] == 201
    finally:
        hall.runtime.journal.close()


def test_a_hall_without_a_pin_takes_only_a_floor_token(hall: Hall) -> None:
    status, body = hall.post("/api/tickets", "kiosk", PRIORITY | {"staff_confirmation": "123456"})
    assert (status, body["error"]) == (403, "staff_confirmation_invalid")
    ok = hall.post("/api/tickets", "kiosk", PRIORITY | {"staff_confirmation": TOKENS["admin"][0]})
    assert ok[0] == 201


@pytest.mark.parametrize("wrong", ["000000", "", "x" * 64])
def test_guessing_the_pin_locks_the_kiosks_priority_lane_and_alerts(hall: Hall, wrong: str) -> None:
    ticking = guarded(hall, KioskConfig(max_tickets=100, per_seconds=60.0))
    body = PRIORITY | {"staff_confirmation": wrong}
    statuses = [hall.post("/api/tickets", "kiosk", body)[0] for _ in range(5)]
    assert statuses == [403] * 5
    status, refusal = hall.post("/api/tickets", "kiosk", body)
    assert (status, refusal["error"]) == (429, "staff_confirmation_locked")
    # Locked: even the right confirmation waits (a guess that happened to hit proves nothing).
    right = PRIORITY | {"staff_confirmation": TOKENS["floor"][0]}
    assert hall.post("/api/tickets", "kiosk", right)[0] == 429
    [alert] = alerts(hall, "kiosk_confirmation_failed")
    assert "确认" in str(alert["message"])
    assert hall.post("/api/tickets", "kiosk", {"service": "SB"})[0] == 201  # normal tickets go on
    ticking.now += 301
    assert alerts(hall, "kiosk_confirmation_failed") == []
    assert hall.post("/api/tickets", "kiosk", right)[0] == 201
