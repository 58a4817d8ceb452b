"""Rating, served-count and work-order records: SQLModel base / create / public / table split."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    ConfigDict,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from sqlalchemy import BigInteger, Index, PrimaryKeyConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from controller.domain import values
from controller.domain.ratings import RECORD_REASON_TABLES, RatingLevel

HALL_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
RATING_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
# One vocabulary with the hall (controller.domain.values): a staff id or service code the hall accepts
# is one this API accepts, so no finished ticket or rating is parked for its shape.
STAFF_ID = values.STAFF_ID_PATTERN
SERVICE_CODE = values.SERVICE_CODE_PATTERN
REASON_CODE = r"^[A-Z0-9]{1,8}$"
# Reason tables by version (the keypad spec's, plus the legacy one of older records): a record
# naming another version cannot be read, so it is refused.
REASON_TABLES = RECORD_REASON_TABLES
MAX_FREE_TEXT = 500
MAX_REASONS = 10
FIRST_YEAR, LAST_YEAR = 2000, 2099
_T = TypeVar("_T")

Channel = Literal["4", "5", "7"]
# The 六件分类 case outcome staff record at finish, by name on the wire (like rating levels);
# controller.domain.state.Outcome holds the Chinese names (models_served.OUTCOME_LABELS).
CaseOutcome = Literal["immediate", "promised", "supplement", "joint", "rejected", "escalated"]
ReasonCode = Annotated[str, StringConstraints(pattern=REASON_CODE)]


def storable_text(value: _T) -> _T:
    """The value unchanged unless it is text no database can store (NUL)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("不能包含 NUL 字符")
    return value


def moment_in_range(value: dt.datetime) -> dt.datetime:
    """The moment unchanged if it lies in 2000-2099 (UTC); anything else is a typo or garbage."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR or not (
        FIRST_YEAR <= value.astimezone(dt.UTC).year <= LAST_YEAR
    ):
        raise ValueError(f"时间应在 {FIRST_YEAR}-{LAST_YEAR} 年之间")
    return value


class RatingBase(SQLModel):
    """Fields a rating record has in every form, in the order the outbox sends them."""

    rating_id: str = Field(
        max_length=64,
        schema_extra={"pattern": RATING_ID},
        description="unique per rating within its hall (hall-local: 20261123-A001-R1)",
    )
    hall_id: str = Field(
        max_length=64,
        schema_extra={"pattern": HALL_ID},
        description="the hall that produced it",
    )
    ticket_id: str = Field(min_length=1, max_length=64)
    number: str = Field(
        max_length=16,
        schema_extra={"pattern": r"^[A-Z0-9-]{1,16}$"},
        description="ticket number, e.g. A001",
    )
    window: int = Field(ge=1, le=999)
    staff_id: str = Field(
        max_length=32, schema_extra={"pattern": STAFF_ID}, description="serving staff (proManager)"
    )
    service: str = Field(
        max_length=16, schema_extra={"pattern": SERVICE_CODE}, description="the hall's service code"
    )
    item_code: str = Field(max_length=64, description="事项编码 (taskCode); empty when unset")
    case_number: str | None = Field(
        default=None, min_length=1, max_length=64, description="办件编号 (projectNo)"
    )
    outcome: str | None = Field(
        default=None, max_length=16, description="办件类型 (六件分类) recorded at finish"
    )
    department_code: str = Field(min_length=1, max_length=64, description="deptCode")
    region_code: str = Field(
        max_length=6, schema_extra={"pattern": r"^\d{6}$"}, description="行政区划代码 (areaCode)"
    )
    reason_table: str = Field(min_length=1, max_length=16, description="reason table version")
    assess_number: int = Field(ge=1, le=2, description="1: the rating; 2: one follow-up")
    device_id: str = Field(min_length=1, max_length=64)
    free_text: str | None = Field(default=None, max_length=MAX_FREE_TEXT)


class RatingCreate(RatingBase):
    """One rating as a controller pushes it; every field checked, unknown fields refused."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    window: StrictInt = Field(ge=1, le=999)
    assess_number: StrictInt = Field(ge=1, le=2)
    outcome: CaseOutcome | None = Field(default=None, description="办件类型 (六件分类)")
    level: RatingLevel
    reasons: list[ReasonCode] = Field(default=[], max_length=MAX_REASONS)
    channel: Channel = Field(description="pf: 5 keypad, 4 hall tablet, 7 system default")
    system_default: StrictBool = False
    finished_at: AwareDatetime
    rated_at: AwareDatetime

    # Patterned fields cannot hold NUL and pydantic refuses lone surrogates; these can.
    @field_validator(
        "ticket_id", "item_code", "case_number", "department_code", "device_id", "free_text"
    )
    @classmethod
    def _storable_text(cls, value: str | None) -> str | None:
        return storable_text(value)

    @field_validator("finished_at")
    @classmethod
    def _finish_in_range(cls, value: dt.datetime) -> dt.datetime:
        return moment_in_range(value)

    @field_validator("reason_table")
    @classmethod
    def _known_table(cls, value: str) -> str:
        if value not in REASON_TABLES:
            raise ValueError(f"未知的原因表版本 {value!r}，已知：{', '.join(REASON_TABLES)}")
        return value

    @field_validator("reasons")
    @classmethod
    def _reasons_fit_level(cls, value: list[str], info: ValidationInfo) -> list[str]:
        level, table = info.data.get("level"), REASON_TABLES.get(info.data.get("reason_table", ""))
        if value and level is not None and not level.is_bad:
            raise ValueError("只有差评（不满意、非常不满意）可以带原因")
        if table is not None and (unknown := [c for c in value if c not in table]):
            raise ValueError(f"原因代码 {', '.join(unknown)} 不在原因表中")
        if len(set(value)) != len(value):
            raise ValueError("原因代码重复")
        return sorted(value)

    @field_validator("system_default")
    @classmethod
    def _default_is_channel_7(cls, value: bool, info: ValidationInfo) -> bool:
        channel, level = info.data.get("channel"), info.data.get("level")
        if channel is not None and value != (channel == "7"):
            raise ValueError("系统默认评价的渠道必须为 7，渠道 7 只用于系统默认评价")
        if value and level is not None and level.is_bad:
            raise ValueError("系统默认评价不能是差评")
        return value

    @field_validator("rated_at")
    @classmethod
    def _after_finish(cls, value: dt.datetime, info: ValidationInfo) -> dt.datetime:
        moment_in_range(value)
        finished = info.data.get("finished_at")
        if finished is not None and value < finished:
            raise ValueError("评价时间早于办结时间")
        return value


class EvaluationBatch(SQLModel):
    """A batch pushed by a controller's outbox."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    records: list[RatingCreate] = Field(min_length=1, max_length=500)


class IngestReply(SQLModel):
    """How a batch was taken: new records, resent ones, 差评 work orders opened."""

    accepted: int
    duplicates: int
    work_orders_opened: int


class ErrorReply(SQLModel):
    """Every error: a code, a Chinese message naming the field, the problems of a bad request."""

    error: str
    message: str
    problems: list[str] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorReply, "description": text}
    for status, text in (
        (401, "缺少或无效的访问令牌"),
        (403, "角色或大厅不符"),
        (404, "不存在"),
        (409, "评价内容冲突或工单状态不允许"),
        (422, "请求格式错误（指明字段）"),
        (503, "数据库暂不可用"),
    )
}


class Rating(RatingBase, table=True):
    """A stored rating, keyed by (hall, rating id): times in UTC, `day` hall-local; never edited."""

    __tablename__ = "satisfaction_rating"
    # Rating ids are hall-local (every hall has its 20261123-A001-R1): the hall leads the key.
    __table_args__ = (
        PrimaryKeyConstraint("hall_id", "rating_id"),
        Index("ix_satisfaction_rating_hall_day", "hall_id", "day"),
        Index("ix_satisfaction_rating_feed", "feed_xid", "feed_seq"),
        Index("ix_satisfaction_rating_hall_feed", "hall_id", "feed_xid", "feed_seq"),
    )
    level: str = Field(max_length=24)
    reasons: str = Field(default="", max_length=200, description="codes joined by ','")
    channel: str = Field(max_length=1)
    system_default: bool
    finished_at: dt.datetime
    rated_at: dt.datetime
    day: dt.date = Field(index=True)
    content_hash: str = Field(max_length=64)
    received_at: dt.datetime
    # Arrival order for the exchange feed (feed.py): the writing transaction's id on PostgreSQL
    # (0 on SQLite, whose writers take turns) and a sequence number.
    feed_xid: int = Field(default=0, sa_type=BigInteger)
    feed_seq: int = Field(default=0, sa_type=BigInteger)
    # The hall day the id begins with: the monthly partition key (partitions.py); PostgreSQL's
    # primary key is (hall_id, rating_id, id_day), which id_day = f(rating_id) keeps as unique.
    id_day: dt.date


class RatingPublic(RatingBase):
    """A rating as read back: times in the hall's zone, the level with its Chinese label."""

    outcome: CaseOutcome | None = None
    outcome_label: str | None = None
    level: RatingLevel
    level_label: str
    reasons: list[str]
    channel: Channel
    system_default: bool
    finished_at: dt.datetime
    rated_at: dt.datetime
    day: dt.date
    received_at: dt.datetime


class ServedCountCreate(SQLModel):
    """How many tickets one staff member finished for one service at one window on one day."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    hall_id: str = Field(schema_extra={"pattern": HALL_ID})
    day: dt.date
    window: StrictInt = Field(ge=1, le=999)
    staff_id: str = Field(schema_extra={"pattern": STAFF_ID})
    service: str = Field(schema_extra={"pattern": SERVICE_CODE})
    served: StrictInt = Field(ge=0, le=100_000)


class ServedBatch(SQLModel):
    """Daily served counts pushed by a controller; a later push for the same key replaces it."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    counts: list[ServedCountCreate] = Field(min_length=1, max_length=5000)


class ServedCount(SQLModel, table=True):
    """The served count stored per hall, day, window, staff and service."""

    __tablename__ = "satisfaction_served"
    hall_id: str = Field(primary_key=True, max_length=64)
    day: dt.date = Field(primary_key=True)
    window: int = Field(primary_key=True)
    staff_id: str = Field(primary_key=True, max_length=32)
    service: str = Field(primary_key=True, max_length=16)
    served: int
    updated_at: dt.datetime


class WorkOrderBase(SQLModel):
    """A 差评 work order: who is responsible (谁办理谁负责), for which rating, until when."""

    rating_id: str = Field(max_length=64)
    hall_id: str = Field(max_length=64)
    day: dt.date = Field(index=True, description="hall-local date of the rating")
    window: int
    staff_id: str = Field(max_length=32, description="assignee: the serving staff")
    service: str = Field(max_length=16)
    level: str = Field(max_length=24)
    state: str = Field(index=True, max_length=16)
    deadline: dt.date = Field(description="rectify by this working day (inclusive)")
    rectified_on: dt.date | None = Field(default=None, description="hall-local rectify date")


class WorkOrder(WorkOrderBase, table=True):
    """A stored work order, one per (hall, rating id); times in UTC."""

    __tablename__ = "satisfaction_work_order"
    __table_args__ = (
        UniqueConstraint("hall_id", "rating_id", name="uq_satisfaction_work_order_hall_rating"),
        Index("ix_satisfaction_work_order_hall_day", "hall_id", "day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    reasons: str = Field(default="", max_length=200)
    opened_at: dt.datetime
    updated_at: dt.datetime


class WorkOrderAction(SQLModel, table=True):
    """One step taken on a work order: who, which role, from which state to which, and why."""

    __tablename__ = "satisfaction_work_order_action"
    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(index=True)
    action: str = Field(max_length=16)
    from_state: str = Field(max_length=16)
    to_state: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    role: str = Field(max_length=16)
    note: str = Field(max_length=1000)
    at: dt.datetime


class WorkOrderStep(SQLModel):
    """A step in a work order's history, as read back."""

    action: str
    action_label: str
    from_state: str
    to_state: str
    actor: str
    role: str
    note: str
    at: dt.datetime


class WorkOrderPublic(WorkOrderBase):
    """A work order as read back, with labels, overdue flag and (for one order) its history."""

    id: int
    reasons: list[str]
    state_label: str
    level_label: str
    overdue: bool
    opened_at: dt.datetime
    updated_at: dt.datetime
    history: list[WorkOrderStep] = []


class ActionRequest(SQLModel):
    """The note every work-order step carries (what the citizen said, what was fixed, why)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    note: str = Field(min_length=1, max_length=1000)

    @field_validator("note")
    @classmethod
    def _storable_note(cls, value: str) -> str:
        return storable_text(value)
