"""Ingest: a batch is stored all or nothing, idempotent on rating_id, every field checked."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import pytest

from tests.integration.satisfaction.conftest import HALL_A, Api, at, auth, record


def _count(api: Api) -> int:
    status, body = api.get("/api/v1/evaluations", limit=1000)
    assert status == 200, body
    return int(body["count"])


def test_a_batch_is_stored_and_read_back_in_the_halls_zone(api: Api) -> None:
    bad = record(
        "20261123-A002",
        number="A002",
        level="very_dissatisfied",
        reasons=["R02", "R01"],
        rated_at="2026-11-23T02:10:00+00:00",  # 10:10 in the hall
        finished_at=at("2026-11-23 10:09:00"),
        free_text="等了很久",
        case_number="QS2026112300017",
    )
    reply = api.ingest(record(), bad)
    assert reply == {"accepted": 2, "duplicates": 0, "work_orders_opened": 1}
    status, body = api.get("/api/v1/evaluations/20261123-A002", "reader", hall_id=HALL_A)
    assert status == 200
    assert body["rated_at"] == "2026-11-23T10:10:00+08:00"
    assert body["day"] == "2026-11-23"
    assert body["level"] == "very_dissatisfied" and body["level_label"] == "非常不满意"
    assert body["reasons"] == ["R01", "R02"]
    assert (body["free_text"], body["case_number"]) == ("等了很久", "QS2026112300017")
    assert body["received_at"].endswith("+08:00")


def test_a_resent_batch_changes_nothing(api: Api) -> None:
    batch = [record(f"20261123-A00{i}", number=f"A00{i}") for i in range(1, 4)]
    assert api.ingest(*batch)["accepted"] == 3
    before = api.get("/api/v1/evaluations")[1]
    api.clock.advance(3600)
    assert api.ingest(*batch) == {"accepted": 0, "duplicates": 3, "work_orders_opened": 0}
    assert api.get("/api/v1/evaluations")[1] == before  # received_at unchanged too


def test_the_same_instant_with_another_offset_is_the_same_record(api: Api) -> None:
    api.ingest(record())
    same = record(rated_at="2026-11-23T01:31:05Z", finished_at="2026-11-23T01:30:40+00:00")
    assert api.ingest(same) == {"accepted": 0, "duplicates": 1, "work_orders_opened": 0}


def test_a_changed_record_is_a_409_naming_it_and_nothing_of_the_batch_is_stored(api: Api) -> None:
    api.ingest(record())
    status, body = api.post(
        "/api/v1/evaluations",
        "hall",
        {"records": [record("20261123-A009"), record(level="satisfied")]},
    )
    assert status == 409
    assert body["error"] == "rating_conflict" and "20261123-A001" in body["message"]
    assert _count(api) == 1
    status, body = api.get("/api/v1/evaluations/20261123-A001", hall_id=HALL_A)
    assert body["level"] == "very_satisfied"  # never overwritten


def test_one_id_twice_in_a_batch_with_different_content_is_a_409(api: Api) -> None:
    status, body = api.post(
        "/api/v1/evaluations", "hall", {"records": [record(), record(window=2)]}
    )
    assert status == 409 and "20261123-A001" in body["message"]
    assert _count(api) == 0
    assert api.ingest(record(), record()) == {
        "accepted": 1,
        "duplicates": 1,
        "work_orders_opened": 0,
    }


def test_a_system_default_is_stored_flagged_and_opens_no_work_order(api: Api) -> None:
    default = record(
        "20261116-A001-D",
        channel="7",
        system_default=True,
        level="basically_satisfied",
        device_id="system-default",
        rated_at=at("2026-11-23 09:00"),
        finished_at=at("2026-11-16 10:00"),
    )
    assert api.ingest(default)["work_orders_opened"] == 0
    body = api.get("/api/v1/evaluations/20261116-A001-D", hall_id=HALL_A)[1]
    assert body["system_default"] is True and body["channel"] == "7"


BAD_FIELDS: list[tuple[str, Any, str]] = [
    ("rating_id", "", "格式不符"),
    ("rating_id", "a b", "格式不符"),
    ("hall_id", "大厅", "格式不符"),
    ("ticket_id", "", "至少 1 个字符"),
    ("number", "a001", "格式不符"),
    ("window", 0, "应不小于 1"),
    ("window", 1000, "应不大于 999"),
    ("window", "1", "应为整数"),
    ("window", 1.5, "应为整数"),
    ("staff_id", "张三", "格式不符"),
    ("service", "sb", "格式不符"),
    ("item_code", "x" * 65, "最多 64 个字符"),
    ("case_number", "", "至少 1 个字符"),
    ("department_code", "", "至少 1 个字符"),
    ("region_code", "33019", "格式不符"),
    ("level", "good", "取值应为"),
    ("level", 5, "取值应为"),
    ("reasons", ["R01"], "只有差评"),
    ("reasons", "R01", "应为数组"),
    ("reasons", ["r01"], "格式不符"),
    ("reason_table", "1999.1", "未知的原因表版本"),
    ("channel", "6", "取值应为"),
    ("channel", 5, "取值应为"),
    ("channel", "7", "系统默认评价的渠道必须为 7"),
    ("assess_number", 3, "应不大于 2"),
    ("assess_number", True, "应为整数"),
    ("device_id", "", "至少 1 个字符"),
    ("rated_at", "2026-11-23T09:31:05", "时区偏移"),
    ("rated_at", "yesterday", "ISO 8601"),
    ("rated_at", at("2026-11-23 09:30:00"), "评价时间早于办结时间"),
    ("rated_at", "2226-11-23T09:31:05+08:00", "2000-2099"),
    ("finished_at", "2026-11-23", "时区偏移"),
    ("system_default", "yes", "true 或 false"),
    ("free_text", "字" * 501, "最多 500 个字符"),
    ("free_text", "a\x00b", "NUL"),
    ("free_text", "\ud800", "UTF-8"),
]


@pytest.mark.parametrize(("field", "value", "says"), BAD_FIELDS)
def test_every_field_is_checked_and_the_error_names_it(
    api: Api, field: str, value: Any, says: str
) -> None:
    bad = record(**{field: value})
    if field == "reasons" and value == ["r01"]:
        bad["level"] = "dissatisfied"
    response = api.client.post(  # ASCII JSON: a lone surrogate travels as \ud800
        "/api/v1/evaluations",
        content=json.dumps({"records": [record("ok-1"), bad]}),
        headers=auth("hall") | {"Content-Type": "application/json"},
    )
    status, body = response.status_code, response.json()
    assert status == 422, body
    assert body["error"] == "invalid_request" and body["message"].startswith("请求格式错误")
    blamed = "system_default" if (field, value) == ("channel", "7") else field  # the pair's flag
    named = [p for p in body["problems"] if re.match(rf"records\.1\.{blamed}[.:]", p)]
    assert named and says in named[0], body["problems"]
    assert _count(api) == 0


def test_a_bad_reason_code_for_a_bad_rating_is_named(api: Api) -> None:
    bad = record(level="dissatisfied", reasons=["R01", "X42"])
    status, body = api.post("/api/v1/evaluations", "hall", {"records": [bad]})
    assert status == 422 and "records.0.reasons: 原因代码 X42 不在原因表中" in body["problems"]


@pytest.mark.parametrize(
    "field", sorted(set(record()) - {"case_number", "reasons", "system_default"})
)
def test_a_missing_field_is_named(api: Api, field: str) -> None:
    incomplete = record()
    del incomplete[field]
    status, body = api.post("/api/v1/evaluations", "hall", {"records": [incomplete]})
    assert status == 422 and f"records.0.{field}: 缺少此字段" in body["problems"]


def test_unknown_fields_and_batch_sizes_are_refused(api: Api) -> None:
    status, body = api.post("/api/v1/evaluations", "hall", {"records": [record(name="张三")]})
    assert status == 422 and "records.0.name: 不允许的字段" in body["problems"]
    status, body = api.post("/api/v1/evaluations", "hall", {"records": []})
    assert status == 422 and body["problems"][0].startswith("records:")
    many = [record(f"r-{i}") for i in range(501)]
    status, body = api.post("/api/v1/evaluations", "hall", {"records": many})
    assert status == 422 and "records: 最多 500 条" in body["problems"]
    assert api.ingest(*many[:500])["accepted"] == 500


def test_a_rating_from_the_future_or_an_unknown_hall_is_refused(api: Api) -> None:
    late = record(rated_at="2026-11-24T18:11:00+08:00", finished_at=at("2026-11-24 18:00"))
    status, body = api.post("/api/v1/evaluations", "hall", {"records": [late]})
    assert status == 422 and body["message"].startswith("records.0.rated_at")
    soon = record(rated_at="2026-11-24T18:09:00+08:00", finished_at=at("2026-11-24 18:00"))
    assert api.ingest(soon)["accepted"] == 1
    stray = record("x-1", hall_id="999999-X")
    status, body = api.post("/api/v1/evaluations", "hall_x", {"records": [stray]})
    # Not the record's fault: 403 unknown_hall, which a hall's outbox retries, never parks.
    assert (status, body["error"]) == (403, "unknown_hall")
    assert body["message"].startswith("records.0.hall_id")


def test_served_counts_are_replaced_by_a_later_push(api: Api) -> None:
    count = {
        "hall_id": HALL_A,
        "day": "2026-11-23",
        "window": 1,
        "staff_id": "S0101",
        "service": "SB",
        "served": 7,
    }
    assert api.post("/api/v1/served", "hall", {"counts": [count]}) == (200, {"stored": 1})
    assert api.post("/api/v1/served", "hall", {"counts": [count | {"served": 9}]})[0] == 200
    report = api.get("/api/v1/kpis", hall_id=HALL_A)[1]
    assert report["total"]["served"] == 9
    status, body = api.post("/api/v1/served", "hall", {"counts": [count, count]})
    assert status == 422 and "同一大厅" in body["message"]
    status, body = api.post("/api/v1/served", "hall", {"counts": [count | {"served": -1}]})
    assert status == 422 and body["problems"] == ["counts.0.served: 应不小于 0"]


def test_the_same_batch_sent_at_once_from_two_connections_is_stored_once(api: Api) -> None:
    batch = {
        "records": [record(f"c-{i}", level="dissatisfied", reasons=["R01"]) for i in range(50)]
    }
    answers: list[tuple[int, Any]] = []

    def send() -> None:
        for _ in range(3):
            answers.append(api.post("/api/v1/evaluations", "hall", batch))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200] * 6, answers
    assert sum(body["accepted"] for _, body in answers) == 50
    assert sum(body["work_orders_opened"] for _, body in answers) == 50
    assert api.get("/api/v1/work-orders", limit=1000)[1]["count"] == 50
