"""Rating ids are hall-local: two halls' 20261123-A001 are two ratings, each seen by its hall only."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.integration.satisfaction.conftest import HALL_A, HALL_B, Api, auth, record

IDS = ("20261123-A001", "20261123-A002", "20261123-A003")


def hall_b(rating_id: str, **changes: Any) -> dict[str, Any]:
    """Hall B's record under the same id as hall A's: another hall, window, staff, level."""
    base: dict[str, Any] = {
        "hall_id": HALL_B,
        "region_code": "330102",
        "department_code": "XCQZWFW",
        "item_code": "330102-SB-0001",
        "window": 7,
        "staff_id": "S0701",
        "device_id": "keypad-07",
        "level": "satisfied",
    }
    return record(rating_id, **(base | changes))


def _bad(make: Any, rating_id: str) -> dict[str, Any]:
    return make(rating_id, level="very_dissatisfied", reasons=["R02"])  # type: ignore[no-any-return]


def _both_halls(api: Api) -> None:
    """Hall A then hall B push the same three ids, the second of each a 差评."""
    a = [record(IDS[0]), _bad(record, IDS[1]), record(IDS[2], level="satisfied")]
    b = [hall_b(IDS[0]), _bad(hall_b, IDS[1]), hall_b(IDS[2], level="basically_satisfied")]
    assert api.ingest(*a) == {"accepted": 3, "duplicates": 0, "work_orders_opened": 1}
    assert api.ingest(*b, role="hall_b") == {
        "accepted": 3,
        "duplicates": 0,
        "work_orders_opened": 1,
    }


def test_two_halls_with_the_same_ids_both_keep_their_ratings_and_work_orders(api: Api) -> None:
    _both_halls(api)
    everything = api.get("/api/v1/evaluations", "supervision")[1]["items"]
    assert sorted((r["hall_id"], r["rating_id"]) for r in everything) == sorted(
        (hall, rid) for hall in (HALL_A, HALL_B) for rid in IDS
    )
    orders = api.get("/api/v1/work-orders", "supervision")[1]["items"]
    assert sorted((o["hall_id"], o["rating_id"], o["window"]) for o in orders) == sorted(
        [(HALL_A, IDS[1], 1), (HALL_B, IDS[1], 7)]
    )
    # Resent by either hall: duplicates, never a conflict with the other hall's rating.
    assert api.ingest(record(IDS[0]))["duplicates"] == 1
    assert api.ingest(hall_b(IDS[0]), role="hall_b")["duplicates"] == 1
    # Other content under its own id is still refused, naming the hall.
    status, body = api.post(
        "/api/v1/evaluations", "hall_b", {"records": [hall_b(IDS[0], window=8)]}
    )
    assert status == 409 and body["error"] == "rating_conflict"
    assert HALL_B in body["message"] and IDS[0] in body["message"]


def test_a_hall_cannot_claim_another_halls_ids_ahead_of_time(api: Api) -> None:
    # Hall A stores ratings under the ids hall B will give tomorrow, 差评 among them.
    claimed = [record(f"20261124-A00{n}", level="dissatisfied", reasons=["R01"]) for n in (1, 2)]
    api.ingest(*claimed)
    tomorrow = [_bad(hall_b, "20261124-A001"), hall_b("20261124-A002")]
    assert api.ingest(*tomorrow, role="hall_b") == {
        "accepted": 2,
        "duplicates": 0,
        "work_orders_opened": 1,
    }
    status, order = api.get("/api/v1/work-orders", "floor_b", rating_id="20261124-A001")
    assert status == 200 and [(o["hall_id"], o["level"]) for o in order["items"]] == [
        (HALL_B, "very_dissatisfied")
    ]


def test_each_hall_sees_only_its_own_through_every_read(api: Api) -> None:
    _both_halls(api)
    for role, hall, window in (("hall", HALL_A, 1), ("floor_b", HALL_B, 7), ("hall_b", HALL_B, 7)):
        items = api.get("/api/v1/evaluations", role)[1]["items"]
        assert {(r["hall_id"], r["window"]) for r in items} == {(hall, window)}, role
        assert sorted(r["rating_id"] for r in items) == list(IDS)
        one = api.get(f"/api/v1/evaluations/{IDS[0]}", role)[1]
        assert (one["hall_id"], one["window"]) == (hall, window), role
        kpis = api.get("/api/v1/kpis", role)[1]
        assert [r["hall_id"] for r in kpis["rows"]] == [hall] and kpis["total"]["rated"] == 3
        exchange = api.get("/api/v1/exchange/evaluations", role)[1]["records"]
        assert {r["areaCode"] for r in exchange} == {"330199" if hall == HALL_A else "330102"}
        exported = api.client.get("/api/v1/exports/evaluations", headers=auth(role))
        rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert {(r["大厅"], r["评价编号"]) for r in rows} == {(hall, rid) for rid in IDS}
        orders = api.get("/api/v1/work-orders", role)[1]["items"]
        assert [(o["hall_id"], o["rating_id"]) for o in orders] == [(hall, IDS[1])], role
        by_rating = api.get("/api/v1/work-orders", role, rating_id=IDS[1])[1]["items"]
        assert [o["id"] for o in by_rating] == [orders[0]["id"]]


def test_work_orders_of_the_same_rating_id_are_stepped_by_their_own_hall_only(api: Api) -> None:
    _both_halls(api)
    mine = api.get("/api/v1/work-orders", "floor")[1]["items"][0]["id"]
    theirs = api.get("/api/v1/work-orders", "floor_b")[1]["items"][0]["id"]
    assert mine != theirs
    status, body = api.post(f"/api/v1/work-orders/{theirs}/verify", "floor", {"note": "回访"})
    assert status == 404 and HALL_B not in body["message"]
    assert api.get(f"/api/v1/work-orders/{theirs}", "floor")[0] == 404
    status, body = api.post(f"/api/v1/work-orders/{mine}/verify", "floor", {"note": "回访"})
    assert status == 200 and body["state"] == "verified" and body["hall_id"] == HALL_A
    assert api.get(f"/api/v1/work-orders/{theirs}", "floor_b")[1]["state"] == "open"


def test_a_caller_of_no_hall_names_the_hall_of_a_rating(api: Api) -> None:
    _both_halls(api)
    status, body = api.get(f"/api/v1/evaluations/{IDS[0]}", "supervision")
    assert status == 422 and body["error"] == "invalid_request"
    assert "query.hall_id" in body["message"]
    for hall, window in ((HALL_A, 1), (HALL_B, 7)):
        status, body = api.get(f"/api/v1/evaluations/{IDS[0]}", "reader", hall_id=hall)
        assert status == 200 and (body["hall_id"], body["window"]) == (hall, window)
    status, body = api.get(f"/api/v1/evaluations/{IDS[0]}", "hall", hall_id=HALL_B)
    assert status == 403 and "query.hall_id" in body["message"]
    status, body = api.get("/api/v1/evaluations/20261123-A404", "hall_b")
    assert status == 404 and HALL_B in body["message"]
    orders = api.get("/api/v1/work-orders", "supervision", rating_id=IDS[1])[1]["items"]
    assert sorted(o["hall_id"] for o in orders) == sorted((HALL_A, HALL_B))


def test_finished_tickets_with_the_same_ids_count_in_each_halls_rating_rate(api: Api) -> None:
    _both_halls(api)
    for role, hall in (("hall", HALL_A), ("hall_b", HALL_B)):
        tickets = [
            {
                "hall_id": hall,
                "ticket_id": rid,
                "number": rid[-4:],
                "window": 1,
                "staff_id": "S0101",
                "service": "SB",
                "finished_at": "2026-11-23T09:30:40+08:00",
            }
            for rid in IDS
        ]
        status, body = api.post("/api/v1/served-tickets", role, {"tickets": tickets})
        assert status == 200 and body == {"accepted": 3, "duplicates": 0}
    for role in ("hall", "hall_b"):
        total = api.get("/api/v1/kpis", role)[1]["total"]
        assert (total["served"], total["rated"], total["rating_rate"]) == (3, 3, 1.0)
