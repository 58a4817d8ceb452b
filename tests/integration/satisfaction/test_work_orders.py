"""差评 work orders: opened on ingest, steps by role, working-day deadlines, overdue listing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.integration.satisfaction.conftest import HALL_B, ZONE, Api, at, record


def _bad(rating_id: str = "20261123-A001", **changes: Any) -> dict[str, Any]:
    return record(rating_id, level="dissatisfied", reasons=["R05", "R01"], **changes)


def _step(api: Api, order: int, action: str, role: str = "floor", note: str = "说明") -> Any:
    status, body = api.post(f"/api/v1/work-orders/{order}/{action}", role, {"note": note})
    assert status == 200, body
    return body


def test_a_bad_rating_opens_one_order_assigned_to_the_serving_staff(api: Api) -> None:
    assert api.ingest(_bad(), record("20261123-A002"))["work_orders_opened"] == 1
    assert api.ingest(_bad())["work_orders_opened"] == 0  # resent: no second order
    status, page = api.get("/api/v1/work-orders", "floor")
    assert status == 200 and page["count"] == 1
    order = page["items"][0]
    assert (order["rating_id"], order["staff_id"], order["window"]) == ("20261123-A001", "S0101", 1)
    assert (order["state"], order["state_label"]) == ("open", "待核实")
    assert order["reasons"] == ["R01", "R05"] and order["level_label"] == "不满意"


def test_the_whole_way_open_verified_rectified_reported_closed(api: Api) -> None:
    api.ingest(_bad())
    order = api.get("/api/v1/work-orders")[1]["items"][0]["id"]
    _step(api, order, "verify", note="电话回访，群众反映等候久")
    api.clock.advance(86400)
    rectified = _step(api, order, "rectify", note="增开窗口，已当面致歉")
    assert rectified["rectified_on"] == "2026-11-25"
    _step(api, order, "report", note="已向群众反馈整改结果")
    status, _ = api.post(f"/api/v1/work-orders/{order}/close", "floor", {"note": "x"})
    assert status == 403  # only 督查股 closes
    closed = _step(api, order, "close", "supervision", "同意办结")
    assert closed["state"] == "closed" and closed["state_label"] == "已办结"
    full = api.get(f"/api/v1/work-orders/{order}", "floor")[1]
    assert [(h["action"], h["from_state"], h["to_state"], h["actor"]) for h in full["history"]] == [
        ("verify", "open", "verified", "floor-a"),
        ("rectify", "verified", "rectified", "floor-a"),
        ("report", "rectified", "reported", "floor-a"),
        ("close", "reported", "closed", "督查股"),
    ]
    assert full["history"][1]["note"] == "增开窗口，已当面致歉"
    assert full["history"][0]["at"] == "2026-11-24T18:00:00+08:00"


def test_a_step_from_the_wrong_state_is_a_409_in_chinese(api: Api) -> None:
    api.ingest(_bad())
    order = api.get("/api/v1/work-orders")[1]["items"][0]["id"]
    status, body = api.post(f"/api/v1/work-orders/{order}/rectify", "floor", {"note": "x"})
    assert status == 409 and body["error"] == "bad_transition"
    assert body["message"] == f"工单 {order} 当前状态为「待核实」，不能整改"
    status, body = api.post(f"/api/v1/work-orders/{order}/verify", "floor", {"note": ""})
    assert status == 422 and body["problems"] == ["note: 至少 1 个字符"]
    status, body = api.post("/api/v1/work-orders/999/verify", "floor", {"note": "x"})
    assert status == 404 and "999" in body["message"]
    status, body = api.post(f"/api/v1/work-orders/{order}/delete", "supervision", {"note": "x"})
    assert status == 422 and body["problems"][0].startswith("path.action")


def test_an_appeal_is_upheld_then_rectified_or_overturned_for_good(api: Api) -> None:
    api.ingest(_bad("r-1"), _bad("r-2"))
    orders = {i["rating_id"]: i["id"] for i in api.get("/api/v1/work-orders")[1]["items"]}
    _step(api, orders["r-1"], "appeal", note="群众误按")
    status, _ = api.post(f"/api/v1/work-orders/{orders['r-1']}/uphold", "floor", {"note": "x"})
    assert status == 403  # the decision is 督查股's
    upheld = _step(api, orders["r-1"], "uphold", "supervision", "查看录像，差评属实")
    assert upheld["state_label"] == "申诉不成立（差评维持）"
    assert _step(api, orders["r-1"], "rectify")["state"] == "rectified"
    _step(api, orders["r-2"], "verify")
    _step(api, orders["r-2"], "appeal")
    assert _step(api, orders["r-2"], "overturn", "supervision")["state"] == "overturned"
    for action in ("verify", "rectify", "report", "close", "appeal", "uphold"):
        status, _ = api.post(
            f"/api/v1/work-orders/{orders['r-2']}/{action}", "supervision", {"note": "x"}
        )
        assert status == 409, action


def test_deadlines_count_working_days_across_a_holiday_and_a_makeup_weekend(api: Api) -> None:
    # Hall B: Mon-Fri, 5 working days. Rated Fri 09-25; Sat 09-26 off; Sun 09-27 调休 works (1);
    # Mon-Wed 09-28..30 (2-4); 10-01..07 National Day (10-03/04 a weekend); Thu 10-08 (5).
    api.clock.set(dt.datetime(2026, 9, 25, 17, 0, tzinfo=ZONE))
    hall_b = _bad(
        "b-1",
        hall_id=HALL_B,
        region_code="330102",
        department_code="XCQZWFW",
        finished_at=at("2026-09-25 16:00"),
        rated_at=at("2026-09-25 16:01"),
    )
    api.ingest(hall_b, role="hall_b")
    # Hall A: Mon-Sat, 15 days. Rated Wed 09-23: 09-24 (1), 09-25 holiday, 09-26 Sat (2),
    # 09-27 Sun 调休 (3), 09-28..30 (4-6), 10-01/02 holidays, 10-03 Sat (7), 10-04 Sun,
    # 10-05..07 holidays, 10-08/09 (8, 9), 10-10 Sat 调休 (10), 10-11 Sun, 10-12..16 (11-15).
    hall_a = _bad("a-1", finished_at=at("2026-09-23 11:00"), rated_at=at("2026-09-23 11:01"))
    api.ingest(hall_a)
    deadlines = {i["rating_id"]: i["deadline"] for i in api.get("/api/v1/work-orders")[1]["items"]}
    assert deadlines == {"b-1": "2026-10-08", "a-1": "2026-10-16"}
    on_the_day = api.get("/api/v1/work-orders", overdue="true", as_of="2026-10-08")[1]
    assert on_the_day["items"] == []  # the deadline day itself is still in time
    next_day = api.get("/api/v1/work-orders", overdue="true", as_of="2026-10-09")[1]
    assert [i["rating_id"] for i in next_day["items"]] == ["b-1"]
    api.clock.set(dt.datetime(2026, 10, 9, 9, 0, tzinfo=ZONE))
    listed = api.get("/api/v1/work-orders", "floor_b")[1]
    assert listed["as_of"] == "2026-10-09" and listed["items"][0]["overdue"] is True
    _step(api, listed["items"][0]["id"], "verify", "floor_b")
    assert api.get("/api/v1/work-orders", "floor_b", overdue="true")[1]["count"] == 1
    only_verified = api.get("/api/v1/work-orders", state="verified")[1]
    assert [i["rating_id"] for i in only_verified["items"]] == ["b-1"]
