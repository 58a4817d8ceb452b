"""The provincial exchange mapping against golden records written by hand."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from controller.domain.ratings import RatingLevel
from controller.satisfaction.exchange import assess_time, to_exchange
from controller.satisfaction.models import RatingPublic
from tests.integration.satisfaction.conftest import Api, at, record

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")  # UTC+6: a hall not on Beijing time


def _public(**changes: object) -> RatingPublic:
    values: dict[str, object] = {
        "rating_id": "20261123-A017",
        "hall_id": "330199-QSXZWFWZX",
        "ticket_id": "20261123-A017",
        "number": "A017",
        "window": 3,
        "staff_id": "S0301",
        "service": "SB",
        "item_code": "330199-SB-0001",
        "case_number": "QS2026112300017",
        "outcome": "promised",
        "outcome_label": "承诺件",
        "department_code": "QSXZWFWZX",
        "region_code": "330199",
        "reason_table": "2026.1",
        "assess_number": 1,
        "device_id": "keypad-03",
        "free_text": "窗口人员很耐心",
        "level": RatingLevel.VERY_SATISFIED,
        "level_label": "非常满意",
        "reasons": [],
        "channel": "5",
        "system_default": False,
        "finished_at": dt.datetime(2026, 11, 23, 9, 41, 2, tzinfo=SHANGHAI),
        "rated_at": dt.datetime(2026, 11, 23, 1, 41, 9, tzinfo=dt.UTC),
        "day": dt.date(2026, 11, 23),
        "received_at": dt.datetime(2026, 11, 23, 9, 41, 10, tzinfo=SHANGHAI),
    }
    values.update(changes)
    return RatingPublic.model_validate(values)


def test_a_keypad_rating_maps_to_the_golden_exchange_record() -> None:
    assert to_exchange(_public(), SHANGHAI) == {
        "projectNo": "QS2026112300017",
        "projectStatus": "承诺件",
        "taskCode": "330199-SB-0001",
        "deptCode": "QSXZWFWZX",
        "areaCode": "330199",
        "proManager": "S0301",
        "pf": "5",
        "satisfaction": "5",
        "evalDetail": "",
        "writingEvaluation": "窗口人员很耐心",
        "assessTime": "2026-11-23 09:41:09",
        "assessNumber": "1",
    }


def test_a_follow_up_bad_rating_on_the_tablet_maps_to_the_golden_record() -> None:
    bad = _public(
        level=RatingLevel.VERY_DISSATISFIED,
        level_label="非常不满意",
        reasons=["R02", "R04"],
        channel="4",
        assess_number=2,
        case_number=None,
        outcome=None,
        outcome_label=None,
        free_text=None,
        rated_at=dt.datetime(2026, 11, 23, 23, 59, 59, tzinfo=SHANGHAI),
    )
    assert to_exchange(bad, SHANGHAI) == {
        "projectNo": "",
        "projectStatus": "",
        "taskCode": "330199-SB-0001",
        "deptCode": "QSXZWFWZX",
        "areaCode": "330199",
        "proManager": "S0301",
        "pf": "4",
        "satisfaction": "1",
        "evalDetail": "R02,R04",
        "writingEvaluation": "",
        "assessTime": "2026-11-23 23:59:59",
        "assessNumber": "2",
    }


def test_a_system_default_keeps_channel_7() -> None:
    default = _public(
        level=RatingLevel.BASICALLY_SATISFIED,
        level_label="基本满意",
        channel="7",
        system_default=True,
        free_text=None,
        device_id="system-default",
    )
    mapped = to_exchange(default, SHANGHAI)
    assert (mapped["pf"], mapped["satisfaction"]) == ("7", "3")


@pytest.mark.parametrize(
    ("level", "satisfaction"),
    [
        ("very_satisfied", "5"),
        ("satisfied", "4"),
        ("basically_satisfied", "3"),
        ("dissatisfied", "2"),
        ("very_dissatisfied", "1"),
    ],
)
def test_each_level_by_name_has_its_exchange_code(level: str, satisfaction: str) -> None:
    rating = _public(level=RatingLevel(level), level_label=RatingLevel(level).label)
    assert to_exchange(rating, SHANGHAI)["satisfaction"] == satisfaction


def test_assess_time_is_the_halls_wall_clock() -> None:
    moment = dt.datetime(2026, 11, 23, 18, 5, 0, tzinfo=dt.UTC)
    assert assess_time(moment, SHANGHAI) == "2026-11-24 02:05:00"
    assert assess_time(moment, URUMQI) == "2026-11-24 00:05:00"
    with pytest.raises(ValueError, match="aware"):
        assess_time(dt.datetime(2026, 11, 23, 18, 5), SHANGHAI)


def test_the_exchange_endpoint_maps_stored_records(api: Api) -> None:
    api.ingest(
        record(
            "r-9",
            level="dissatisfied",
            reasons=["R03"],
            rated_at="2026-11-23T03:00:00+00:00",
            finished_at=at("2026-11-23 10:50"),
            outcome="immediate",
        )
    )
    status, body = api.get("/api/v1/exchange/evaluations", "reader")
    assert status == 200 and body["count"] == 1
    assert body["records"][0] == {
        "projectNo": "",
        "projectStatus": "即办件",
        "taskCode": "330199-SB-0001",
        "deptCode": "QSXZWFWZX",
        "areaCode": "330199",
        "proManager": "S0101",
        "pf": "5",
        "satisfaction": "2",
        "evalDetail": "R03",
        "writingEvaluation": "",
        "assessTime": "2026-11-23 11:00:00",
        "assessNumber": "1",
    }
