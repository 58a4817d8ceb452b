"""KPIs against figures computed by hand (docs/satisfaction-api.md gives the formulas)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.integration.satisfaction.conftest import HALL_A, ZONE, Api, at, make_api, record

# Hall A, Monday 2026-11-23 and Tuesday 11-24. Window 1 (S0101, SB): VS VS S BS D, a system
# default BS and a follow-up VD (assessNumber 2). Window 2 (S0201, YB): S VD on the 23rd, VS
# on the 24th. Served: w1 8, w2 4 + 2, w3 5 (no rating at all).
W1 = [
    ("a1", "very_satisfied"),
    ("a2", "very_satisfied"),
    ("a3", "satisfied"),
    ("a4", "basically_satisfied"),
    ("a5", "dissatisfied"),
]
W2 = [
    ("b1", "satisfied", "2026-11-23"),
    ("b2", "very_dissatisfied", "2026-11-23"),
    ("b3", "very_satisfied", "2026-11-24"),
]


def _w1(rating_id: str, level: str, **changes: Any) -> dict[str, Any]:
    reasons = ["R01"] if level in ("dissatisfied", "very_dissatisfied") else []
    return record(rating_id, level=level, reasons=reasons, **changes)


def _w2(rating_id: str, level: str, day: str) -> dict[str, Any]:
    reasons = ["R02"] if level == "very_dissatisfied" else []
    return record(
        rating_id,
        level=level,
        reasons=reasons,
        window=2,
        staff_id="S0201",
        service="YB",
        finished_at=at(f"{day} 10:00"),
        rated_at=at(f"{day} 10:01"),
    )


def _seed(api: Api) -> None:
    records = [_w1(rid, level) for rid, level in W1]
    records.append(
        _w1(
            "a6-D",
            "basically_satisfied",
            channel="7",
            system_default=True,
            device_id="system-default",
        )
    )
    records.append(
        _w1(
            "a5-2",
            "very_dissatisfied",
            assess_number=2,
            channel="4",
            device_id="tablet-01",
            rated_at=at("2026-11-23 15:00"),
        )
    )
    records += [_w2(*item) for item in W2]
    assert api.ingest(*records)["work_orders_opened"] == 3
    counts = [
        ("2026-11-23", 1, "S0101", "SB", 8),
        ("2026-11-23", 2, "S0201", "YB", 4),
        ("2026-11-24", 2, "S0201", "YB", 2),
        ("2026-11-23", 3, "S0301", "GA", 5),
    ]
    served = [
        {"hall_id": HALL_A, "day": d, "window": w, "staff_id": s, "service": v, "served": n}
        for d, w, s, v, n in counts
    ]
    assert api.post("/api/v1/served", "hall", {"counts": served})[0] == 200


def _kpis(api: Api, role: str = "floor", **params: Any) -> dict[str, Any]:
    status, body = api.get("/api/v1/kpis", role, **params)
    assert status == 200, body
    result: dict[str, Any] = body
    return result


def test_kpis_per_window_match_the_hand_count(api: Api) -> None:
    _seed(api)
    report = _kpis(api, group_by="window", as_of="2026-11-24")
    rows = {row["window"]: row for row in report["rows"]}
    w1, w2, w3 = rows[1], rows[2], rows[3]
    assert (w1["served"], w1["rated"], w1["defaults"], w1["ratings"]) == (8, 5, 1, 5)
    assert (w1["satisfied"], w1["strictly_satisfied"], w1["bad"], w1["follow_ups"]) == (4, 3, 1, 1)
    assert w1["rating_rate"] == 0.625  # 5 / 8: the default is never a citizen's rating
    assert w1["satisfaction_rate"] == 0.8  # 4 / 5
    assert w1["strict_satisfaction_rate"] == 0.6  # 3 / 5
    assert w1["bad_rate"] == 0.2  # 1 / 5
    assert (w2["served"], w2["rated"], w2["satisfied"], w2["bad"]) == (6, 3, 2, 1)
    assert (w2["rating_rate"], w2["satisfaction_rate"], w2["bad_rate"]) == (0.5, 0.6667, 0.3333)
    assert (w3["served"], w3["rated"], w3["rating_rate"], w3["satisfaction_rate"]) == (
        5,
        0,
        0.0,
        None,
    )
    total = report["total"]
    assert (total["served"], total["rated"], total["ratings"]) == (19, 8, 8)
    assert total["rating_rate"] == 0.4211  # 8 / 19
    assert total["satisfaction_rate"] == 0.75  # 6 / 8
    assert total["strict_satisfaction_rate"] == 0.625  # 5 / 8
    assert total["bad_rate"] == 0.25  # 2 / 8
    assert report["defaults_in_satisfaction"] is False
    assert (total["bad_due"], total["rectification_rate"]) == (0, None)  # nothing due yet


def test_per_day_staff_and_service_and_filters(api: Api) -> None:
    _seed(api)
    days = _kpis(api, group_by="day", window=2)["rows"]
    assert [(r["day"], r["served"], r["rated"], r["rating_rate"]) for r in days] == [
        ("2026-11-23", 4, 2, 0.5),
        ("2026-11-24", 2, 1, 0.5),
    ]
    staff = {r["staff_id"]: r for r in _kpis(api, group_by="staff")["rows"]}
    assert staff["S0101"]["satisfaction_rate"] == 0.8 and staff["S0301"]["rated"] == 0
    both = _kpis(api, group_by=["service", "day"])["rows"]
    assert [(r["service"], r["day"], r["rated"]) for r in both] == [
        ("GA", "2026-11-23", 0),
        ("SB", "2026-11-23", 5),
        ("YB", "2026-11-23", 2),
        ("YB", "2026-11-24", 1),
    ]
    one_day = _kpis(api, **{"from": "2026-11-24", "to": "2026-11-24"})["total"]
    assert (one_day["served"], one_day["rated"], one_day["satisfaction_rate"]) == (2, 1, 1.0)
    status, body = api.get("/api/v1/kpis", "floor", **{"from": "2026-11-25", "to": "2026-11-24"})
    assert status == 422 and "query.from" in body["message"]


def test_defaults_count_in_satisfaction_only_when_the_setting_says_so(database_url: str) -> None:
    api = make_api(database_url, defaults_in_satisfaction=True)
    try:
        _seed(api)
        w1 = {r["window"]: r for r in _kpis(api, group_by="window")["rows"]}[1]
        assert (w1["rated"], w1["ratings"], w1["satisfied"]) == (5, 6, 5)
        assert w1["rating_rate"] == 0.625  # 评价率 never counts the default
        assert w1["satisfaction_rate"] == 0.8333  # 5 / 6
        assert w1["strict_satisfaction_rate"] == 0.5  # 3 / 6
        assert w1["bad_rate"] == 0.1667  # 1 / 6
    finally:
        api.app.state.satisfaction.engine.dispose()


def _step(api: Api, order: int, action: str, role: str = "floor") -> None:
    status, body = api.post(f"/api/v1/work-orders/{order}/{action}", role, {"note": action})
    assert status == 200, body


def _orders(api: Api) -> dict[str, int]:
    items = api.get("/api/v1/work-orders")[1]["items"]
    return {item["rating_id"]: item["id"] for item in items}


def test_rectification_rate_counts_on_time_fixes_of_due_bad_ratings(api: Api) -> None:
    _seed(api)
    orders = _orders(api)
    # Hall A opens Mon-Sat; 15 working days after Mon 11-23 is Thu 12-10.
    assert {i["deadline"] for i in api.get("/api/v1/work-orders")[1]["items"]} == {"2026-12-10"}
    api.clock.set(dt.datetime(2026, 12, 1, 10, 0, tzinfo=ZONE))
    _step(api, orders["a5"], "verify")
    _step(api, orders["a5"], "rectify")  # on time
    _step(api, orders["a5-2"], "verify")
    _step(api, orders["b2"], "appeal")
    _step(api, orders["b2"], "overturn", "supervision")  # 申诉成立: not due at all
    early = _kpis(api, group_by="window", as_of="2026-12-05")
    assert early["total"]["bad_due"] == 1 and early["total"]["rectification_rate"] == 1.0
    late = _kpis(api, group_by="window", as_of="2026-12-11")
    w1 = {r["window"]: r for r in late["rows"]}[1]
    assert (w1["bad_due"], w1["bad_rectified_on_time"], w1["rectification_rate"]) == (2, 1, 0.5)
    overdue = api.get("/api/v1/work-orders", "floor", overdue="true", as_of="2026-12-11")[1]
    assert [i["rating_id"] for i in overdue["items"]] == ["a5-2"]
    assert overdue["items"][0]["overdue"] is True
    api.clock.set(dt.datetime(2026, 12, 11, 9, 0, tzinfo=ZONE))
    _step(api, orders["a5-2"], "rectify")  # a day late
    after = _kpis(api, as_of="2026-12-20")["total"]
    assert (after["bad_due"], after["bad_rectified_on_time"], after["rectification_rate"]) == (
        2,
        1,
        0.5,
    )
    assert (
        api.get("/api/v1/work-orders", "floor", overdue="true", as_of="2026-12-20")[1]["items"]
        == []
    )


@pytest.mark.parametrize("role", ["supervision", "reader"])
def test_unbound_readers_see_every_hall(api: Api, role: str) -> None:
    _seed(api)
    hall_b = record("c1", hall_id="330102-XCQZWFW", department_code="XCQ", region_code="330102")
    api.ingest(hall_b, role="hall_b")
    report = _kpis(api, role, group_by="window")
    assert {r["hall_id"] for r in report["rows"]} == {HALL_A, "330102-XCQZWFW"}
    assert report["total"]["hall_id"] is None and report["total"]["rated"] == 9
    assert _kpis(api, role, hall_id="330102-XCQZWFW")["total"]["rated"] == 1
