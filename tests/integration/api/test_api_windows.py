"""API: window actions, floor manager commands, KPIs."""

from __future__ import annotations

from tests.integration.api.conftest import Hall, at, auth


def _staffed(hall: Hall, window: int = 1, staff: str = "S0101", role: str = "staff1") -> None:
    status, _ = hall.post(f"/api/windows/{window}/sign-in", role, {"staff": staff, "role": "A"})
    assert status == 200


def test_call_next_answers_the_number_or_409(hall: Hall) -> None:
    _staffed(hall)
    status, body = hall.post("/api/windows/1/call-next", "staff1")
    assert status == 409 and body["error"] == "queue_empty" and body["message"]
    hall.post("/api/tickets", "kiosk", {"service": "SB"})
    status, body = hall.post("/api/windows/1/call-next", "staff1")
    assert (status, body["number"]) == (200, "A001")


def test_idempotent_call_next_calls_once(hall: Hall) -> None:
    _staffed(hall)
    for _ in range(3):
        hall.post("/api/tickets", "kiosk", {"service": "SB"})
    first = hall.post("/api/windows/1/call-next", "staff1", key="press-1")
    again = hall.post("/api/windows/1/call-next", "staff1", key="press-1")
    assert first == again and first[1]["number"] == "A001"
    _, nxt = hall.post("/api/windows/1/call-next", "staff1", key="press-2")
    assert nxt["number"] == "A002"


def test_a_full_service_at_one_window(hall: Hall) -> None:
    _staffed(hall, 4, "S0401", "staff4")
    hall.post("/api/tickets", "kiosk", {"service": "BDC"})
    hall.post("/api/tickets", "kiosk", {"service": "BDC"})
    assert hall.post("/api/windows/4/call-next", "staff4")[1]["number"] == "C001"
    status, body = hall.post("/api/windows/4/recall", "staff4")
    assert (status, body["recall_count"]) == (200, 1)
    status, body = hall.post("/api/windows/4/finish", "staff4")
    assert (status, body["error"]) == (422, "outcome_required")
    status, body = hall.post("/api/windows/4/call-next", "staff4")
    assert (status, body["error"]) == (409, "outcome_required")
    status, body = hall.post("/api/windows/4/finish", "staff4", {"outcome": "承诺件"})
    assert (status, body["outcome"]) == (200, "承诺件")
    status, body = hall.post("/api/windows/4/invite-rating", "staff4")
    assert status == 200 and body["rating_until"].startswith("2026-11-23T09:02:00")
    hall.post("/api/windows/4/call-next", "staff4")
    status, body = hall.post("/api/windows/4/transfer", "staff4", {"to_service": "HJ"})
    assert (status, body["service"]) == (200, "HJ")
    status, body = hall.post("/api/windows/4/pause", "staff4", {"reason": ""})
    assert (status, body["problems"][0].split(":")[0]) == (422, "reason"), body
    status, body = hall.post("/api/windows/4/pause", "staff4", {"reason": "系统故障"})
    assert (status, body["state"]) == (200, "paused")
    assert hall.post("/api/windows/4/resume", "staff4")[1]["state"] == "idle"
    assert hall.post("/api/windows/4/sign-out", "staff4")[1]["state"] == "signed_out"


def test_no_show_and_bad_outcome(hall: Hall) -> None:
    _staffed(hall)
    hall.post("/api/tickets", "kiosk", {"service": "SB"})
    hall.post("/api/windows/1/call-next", "staff1")
    status, body = hall.post("/api/windows/1/finish", "staff1", {"outcome": "随便件"})
    assert (status, body["error"]) == (422, "bad_outcome")
    status, body = hall.post("/api/windows/1/no-show", "staff1")
    assert status == 200 and body["no_show"] is True and body["requeued"] is True


def test_unknown_window_and_bad_numbers(hall: Hall) -> None:
    status, body = hall.post("/api/windows/99/call-next", "floor")
    assert (status, body["error"]) == (404, "unknown_window")
    status, body = hall.post("/api/windows/0/call-next", "floor")
    assert status == 422 and body["error"] == "invalid_request"
    status, body = hall.post("/api/windows/abc/call-next", "floor")
    assert status == 422


def test_floor_manager_commands_show_in_the_state(hall: Hall) -> None:
    status, body = hall.post(
        "/api/notices", "floor", {"text": "系统维护，请稍候", "level": "emergency"}
    )
    assert status == 201
    notice_id = body["notice_id"]
    response = hall.client.put(
        "/api/duty-leader", json={"name": "值班领导甲", "title": "副主任"}, headers=auth("floor")
    )
    assert response.status_code == 200
    assert hall.post("/api/windows/3/close", "floor")[1]["state"] == "closed"
    response = hall.client.put(
        "/api/windows/12/services",
        headers=auth("floor"),
        json={"services": ["ZH", "SW"], "policy": "order"},
    )
    assert response.status_code == 200
    state = hall.client.get("/api/state", headers=auth("display")).json()
    assert state["notices"][0]["level"] == "emergency"
    assert state["duty_leader"] == {"name": "值班领导甲", "title": "副主任"}
    windows = {w["number"]: w for w in state["windows"]}
    assert windows[3]["state"] == "closed"
    assert windows[12]["services"] == ["ZH", "SW"]
    response = hall.client.delete(f"/api/notices/{notice_id}", headers=auth("floor"))
    assert response.status_code == 200
    assert hall.client.get("/api/state", headers=auth("display")).json()["notices"] == []
    response = hall.client.put(
        "/api/windows/12/services", headers=auth("floor"), json={"services": ["NOPE"]}
    )
    assert response.status_code == 404


def test_state_lists_services_windows_and_alerts(hall: Hall) -> None:
    for _ in range(12):
        hall.post("/api/tickets", "kiosk", {"service": "GJJ"})
    _staffed(hall, 6, "S0601", "floor")
    hall.clock.set(at("09:40"))
    state = hall.client.get("/api/state", headers=auth("floor")).json()
    gjj = next(s for s in state["services"] if s["code"] == "GJJ")
    assert gjj["waiting"] == 12 and gjj["oldest_wait_minutes"] == 40.0
    kinds = {a["kind"] for a in state["alerts"]}
    assert {"long_queue", "long_wait"} <= kinds
    window = next(w for w in state["windows"] if w["number"] == 6)
    assert window["staff"]["name"] == "韩磊" and window["waiting"] == 12


def test_no_window_alert_while_nobody_serves_a_waiting_service_then_gone(hall: Hall) -> None:
    hall.post("/api/tickets", "kiosk", {"service": "GJJ"})
    alerts = hall.client.get("/api/state", headers=auth("floor")).json()["alerts"]
    no_window = [a for a in alerts if a["kind"] == "no_window"]
    assert [a["service"] for a in no_window] == ["GJJ"]
    assert "没有窗口在岗受理" in no_window[0]["message"]
    _staffed(hall, 6, "S0601", "floor")
    alerts = hall.client.get("/api/state", headers=auth("floor")).json()["alerts"]
    assert not [a for a in alerts if a["kind"] == "no_window"]


def test_long_queue_counts_people_per_staffed_window(hall: Hall) -> None:
    # 11 waiting at one staffed window is over the example's 10; a second window halves it.
    for _ in range(11):
        hall.post("/api/tickets", "kiosk", {"service": "GJJ"})
    _staffed(hall, 6, "S0601", "floor")
    kinds = {
        a["kind"] for a in hall.client.get("/api/state", headers=auth("floor")).json()["alerts"]
    }
    assert "long_queue" in kinds
    _staffed(hall, 12, "S1201", "floor")  # 综合受理 also serves GJJ
    alerts = hall.client.get("/api/state", headers=auth("floor")).json()["alerts"]
    assert not [a for a in alerts if a["kind"] == "long_queue" and a["service"] == "GJJ"]


def test_kpis_today_and_for_an_earlier_day(hall: Hall) -> None:
    _staffed(hall)
    hall.post("/api/tickets", "kiosk", {"service": "SB"})
    hall.clock.set(at("09:10"))
    hall.post("/api/windows/1/call-next", "staff1")
    hall.clock.set(at("09:20"))
    hall.post("/api/windows/1/finish", "staff1")
    today = hall.client.get("/api/kpis", headers=auth("floor")).json()
    assert (today["issued"], today["served"], today["average_wait_minutes"]) == (1, 1, 10.0)
    assert today["average_service_minutes"] == 10.0
    assert today["by_staff"]["S0101"]["name"] == "周文"
    hall.clock.set(at("09:00", day=at("09:00").date().replace(day=24)))
    hall.post("/api/tickets", "kiosk", {"service": "SB"})
    earlier = hall.client.get("/api/kpis?date=2026-11-23", headers=auth("floor")).json()
    assert (earlier["issued"], earlier["served"], earlier["average_wait_minutes"]) == (1, 1, 10.0)
    bad = hall.client.get("/api/kpis?date=23/11/2026", headers=auth("floor"))
    assert bad.status_code == 422 and bad.json()["error"] == "bad_date"


def test_finish_takes_a_case_number_and_names_a_bad_one(hall: Hall) -> None:
    _staffed(hall)
    hall.post("/api/tickets", "kiosk", {"service": "SB"})
    hall.post("/api/windows/1/call-next", "staff1")
    status, body = hall.post("/api/windows/1/finish", "staff1", {"case_number": "x" * 65})
    assert status == 422 and any("case_number" in p for p in body["problems"])
    status, body = hall.post("/api/windows/1/finish", "staff1", {"case_number": "受理 1"})
    assert (status, body["error"]) == (422, "bad_case_number")
    status, body = hall.post(
        "/api/windows/1/finish", "staff1", {"outcome": "即办件", "case_number": "SB-2026-0001"}
    )
    assert (status, body["case_number"], body["outcome"]) == (200, "SB-2026-0001", "即办件")
