"""API: issuing tickets, idempotent retries, ticket status, appointments."""

from __future__ import annotations

from tests.integration.api.conftest import Hall, at, auth


def test_issue_ticket_returns_the_contract_fields(hall: Hall) -> None:
    status, body = hall.post("/api/tickets", "kiosk", {"service": "SB"})
    assert status == 201
    assert body["number"] == "A001"
    assert body["service"] == "SB"
    assert body["ahead"] == 0
    assert body["estimated_wait_minutes"] == 0
    assert body["id"] == "20261123-A001"


def test_retry_with_the_same_idempotency_key_returns_the_same_ticket(hall: Hall) -> None:
    first = hall.post("/api/tickets", "kiosk", {"service": "SB"}, key="kiosk-1-req-77")
    second = hall.post("/api/tickets", "kiosk", {"service": "SB"}, key="kiosk-1-req-77")
    assert first == second
    assert hall.runtime.engine.state.sequences["SB"] == 1
    _, third = hall.post("/api/tickets", "kiosk", {"service": "SB"})
    assert third["number"] == "A002"


def test_idempotent_answer_survives_a_restart(hall: Hall, tmp_path) -> None:
    from tests.integration.api.conftest import make_hall

    _, first = hall.post("/api/tickets", "kiosk", {"service": "YB"}, key="retry-after-crash")
    hall.runtime.journal.close()
    again = make_hall(hall.db_path, hall.clock)
    status, second = again.post("/api/tickets", "kiosk", {"service": "YB"}, key="retry-after-crash")
    assert status == 201
    assert second == first
    assert again.runtime.engine.state.sequences["YB"] == 1


def test_same_key_with_a_different_body_is_refused(hall: Hall) -> None:
    hall.post("/api/tickets", "kiosk", {"service": "SB"}, key="k-1")
    status, body = hall.post("/api/tickets", "kiosk", {"service": "YB"}, key="k-1")
    assert status == 422
    assert body["error"] == "idempotency_key_reused"


def test_keys_are_scoped_per_caller(hall: Hall) -> None:
    _, mine = hall.post("/api/tickets", "kiosk", {"service": "SB"}, key="same")
    _, theirs = hall.post("/api/tickets", "floor", {"service": "SB"}, key="same")
    assert mine["number"] == "A001"
    assert theirs["number"] == "A002"


def test_refusals_name_the_reason(hall: Hall) -> None:
    status, body = hall.post("/api/tickets", "kiosk", {"service": "NOPE"})
    assert (status, body["error"]) == (404, "unknown_service")
    hall.clock.set(at("12:30"))
    status, body = hall.post("/api/tickets", "kiosk", {"service": "SB"})
    assert (status, body["error"]) == (409, "lunch_break")
    assert "13:00" in body["message"]
    hall.clock.set(at("17:10"))
    status, body = hall.post("/api/tickets", "kiosk", {"service": "SB"})
    assert (status, body["error"]) == (409, "after_cutoff")


def test_malformed_requests_get_422_naming_the_field(hall: Hall) -> None:
    status, body = hall.post("/api/tickets", "kiosk", {"service": "SB", "lane": "vip"})
    assert status == 422 and "lane" in body["message"]
    status, body = hall.post("/api/tickets", "kiosk", {"servce": "SB"})
    assert status == 422 and "service" in body["message"]
    response = hall.client.post(
        "/api/tickets",
        content=b"{not json",
        headers=auth("kiosk") | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def test_priority_ticket_jumps_the_queue_and_says_so(hall: Hall) -> None:
    hall.post("/api/tickets", "kiosk", {"service": "SB"})
    status, body = hall.post(
        "/api/tickets", "floor", {"service": "SB", "lane": "priority", "priority_reason": "老年人"}
    )
    assert status == 201 and body["ahead"] == 0 and body["lane"] == "priority"
    hall.post("/api/windows/1/sign-in", "staff1", {"staff": "S0101", "role": "A"})
    _, called = hall.post("/api/windows/1/call-next", "staff1")
    assert called["number"] == body["number"]
    assert called["rule"] == "priority"


def test_ticket_status_page_follows_the_ticket(hall: Hall) -> None:
    hall.post("/api/tickets", "kiosk", {"service": "SB"})
    _, mine = hall.post("/api/tickets", "kiosk", {"service": "SB"})
    page = hall.client.get(f"/api/tickets/{mine['id']}", headers=auth("floor")).json()
    token = page["status_path"].removeprefix("/t/")
    view = hall.client.get(f"/api/t/{token}").json()  # public: the QR code's token, no bearer
    assert (view["status"], view["ahead"], view["window"]) == ("waiting", 1, None)
    hall.post("/api/windows/1/sign-in", "staff1", {"staff": "S0101", "role": "A"})
    hall.post("/api/windows/1/call-next", "staff1")
    hall.clock.set(at("09:05"))
    hall.post("/api/windows/1/call-next", "staff1")
    view = hall.client.get(f"/api/t/{token}").json()
    assert (view["status"], view["window"]) == ("called", 1)
    assert view["waited_minutes"] == 5.0
    assert set(view) >= {"number", "service_name", "estimated_wait_minutes"}
    missing = hall.client.get("/api/tickets/20261123-A999", headers=auth("floor"))
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_ticket"


def test_appointment_booking_masks_personal_data_and_checks_in(hall: Hall) -> None:
    booking = {
        "code": "YY-20261123-0007",
        "service": "BDC",
        "slot_start": "2026-11-23T09:30:00+08:00",
        "name": "测试用户",
        "phone": "13800001234",
    }
    status, body = hall.post("/api/appointments", "floor", booking)
    assert status == 201
    stored = hall.runtime.engine.state.appointments["YY-20261123-0007"]
    assert (stored.name_masked, stored.phone_masked) == ("测**户", "138****1234")
    raw = hall.db_path.read_bytes() + (
        hall.db_path.with_name("hall.db-wal").read_bytes()
        if hall.db_path.with_name("hall.db-wal").exists()
        else b""
    )
    assert b"13800001234" not in raw and "测试用户".encode() not in raw
    state = hall.client.get("/api/state", headers=auth("display")).text
    assert "138****1234" not in state and "测**户" not in state
    status, checked = hall.post("/api/appointments/YY-20261123-0007/check-in", "kiosk")
    assert status == 201 and checked["lane"] == "appointment" and checked["number"] == "C001"
    status, again = hall.post("/api/appointments/YY-20261123-0007/check-in", "kiosk")
    assert again["number"] == "C001" and again["already_checked_in"] is True
    status, body = hall.post("/api/appointments/NO-SUCH-CODE/check-in", "kiosk")
    assert (status, body["error"]) == (404, "unknown_appointment")
