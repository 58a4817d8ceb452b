"""The provincial 好差评 exchange: a stored rating as the interface's field names and codings.

`projectStatus` (the 六件分类 case outcome, 即办件 …, as its Chinese name) is this project's name
for the "case status and type" field: check it against the province's interface specification.
Codings are lookups on the named level (RatingLevel.exchange_satisfaction: 5 = 非常满意 …
1 = 非常不满意), never arithmetic on another coding. Every value is a string, as the provincial
interfaces define them; `assessTime` is `yyyy-MM-dd HH:mm:ss` in the hall's own zone.
"""

from __future__ import annotations

import datetime as dt

from controller.domain.ratings import RatingLevel
from controller.satisfaction.models import RatingPublic

ASSESS_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # yyyy-MM-dd HH:mm:ss

# Our field → the exchange's field, in the order the exchange lists them (docs/satisfaction-api.md).
EXCHANGE_FIELDS: dict[str, str] = {
    "case_number": "projectNo",
    "outcome": "projectStatus",
    "item_code": "taskCode",
    "department_code": "deptCode",
    "region_code": "areaCode",
    "staff_id": "proManager",
    "channel": "pf",
    "level": "satisfaction",
    "reasons": "evalDetail",
    "free_text": "writingEvaluation",
    "rated_at": "assessTime",
    "assess_number": "assessNumber",
}


def to_exchange(record: RatingPublic, zone: dt.tzinfo) -> dict[str, str]:
    """The exchange record of one rating; `zone` is the hall's time zone."""
    return {
        "projectNo": record.case_number or "",
        "projectStatus": record.outcome_label or "",
        "taskCode": record.item_code,
        "deptCode": record.department_code,
        "areaCode": record.region_code,
        "proManager": record.staff_id,
        "pf": record.channel,
        "satisfaction": str(RatingLevel(record.level).exchange_satisfaction),
        "evalDetail": ",".join(record.reasons),
        "writingEvaluation": record.free_text or "",
        "assessTime": assess_time(record.rated_at, zone),
        "assessNumber": str(record.assess_number),
    }


def assess_time(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """An aware moment as the exchange's `assessTime` in the hall's zone."""
    if moment.tzinfo is None:
        raise ValueError("assessTime needs an aware datetime")
    return moment.astimezone(zone).strftime(ASSESS_TIME_FORMAT)
