"""Daily rollups the reports read (kept current at ingest) and export jobs: the tables.

A rollup row holds counts for one key; a report adds rows up instead of scanning ratings.
Grains: per (hall, day, window, staff, service) for breakdowns, per (hall, day) for province
rankings (thousands of rows a month, not millions), and per (hall, month, window, staff,
service) so a province month by staff reads one row per hall and staff, not one per day. 差评 work orders roll up
apart, by deadline too, because whether one is due depends on the report's as-of day.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import Index, Table
from sqlmodel import Field, SQLModel

RATING_COUNTS = (
    "rated",  # first ratings by citizens (评价率's numerator)
    "defaults",  # first ratings that are system defaults (channel 7)
    "satisfied",
    "satisfied_defaults",
    "strict",
    "strict_defaults",
    "bad",
    "bad_defaults",
    "follow_ups",  # assessNumber 2
    "served_tickets",  # finished tickets pushed one by one
)
ORDER_COUNTS = ("pending", "rectified", "on_time")  # overturned orders count nowhere


class _RatingCounts(SQLModel):
    rated: int = 0
    defaults: int = 0
    satisfied: int = 0
    satisfied_defaults: int = 0
    strict: int = 0
    strict_defaults: int = 0
    bad: int = 0
    bad_defaults: int = 0
    follow_ups: int = 0
    served_tickets: int = 0
    # Daily served counts (replaced by a later push); None while no count was pushed.
    served_counts: int | None = None


class _OrderCounts(SQLModel):
    pending: int = 0  # not rectified yet: due once the deadline is past the as-of day
    rectified: int = 0
    on_time: int = 0  # rectified on or before the deadline


class RollupDetail(_RatingCounts, table=True):
    """Counts per hall, day, window, staff and service."""

    __tablename__ = "satisfaction_rollup_detail"
    hall_id: str = Field(primary_key=True, max_length=64)
    day: dt.date = Field(primary_key=True)
    window: int = Field(primary_key=True)
    staff_id: str = Field(primary_key=True, max_length=32)
    service: str = Field(primary_key=True, max_length=16)


class RollupHall(_RatingCounts, table=True):
    """Counts per hall and day."""

    __tablename__ = "satisfaction_rollup_hall"
    hall_id: str = Field(primary_key=True, max_length=64)
    day: dt.date = Field(primary_key=True)


class RollupMonth(_RatingCounts, table=True):
    """Counts per hall, month (its first day), window, staff and service: province months by staff."""

    __tablename__ = "satisfaction_rollup_month"
    hall_id: str = Field(primary_key=True, max_length=64)
    month: dt.date = Field(primary_key=True)
    window: int = Field(primary_key=True)
    staff_id: str = Field(primary_key=True, max_length=32)
    service: str = Field(primary_key=True, max_length=16)


class RollupOrderDetail(_OrderCounts, table=True):
    """差评 work-order counts per hall, day, window, staff, service and deadline."""

    __tablename__ = "satisfaction_rollup_order_detail"
    hall_id: str = Field(primary_key=True, max_length=64)
    day: dt.date = Field(primary_key=True)
    window: int = Field(primary_key=True)
    staff_id: str = Field(primary_key=True, max_length=32)
    service: str = Field(primary_key=True, max_length=16)
    deadline: dt.date = Field(primary_key=True)


class RollupOrderHall(_OrderCounts, table=True):
    """差评 work-order counts per hall, day and deadline."""

    __tablename__ = "satisfaction_rollup_order_hall"
    hall_id: str = Field(primary_key=True, max_length=64)
    day: dt.date = Field(primary_key=True)
    deadline: dt.date = Field(primary_key=True)


class ExportJob(SQLModel, table=True):
    """A big export made in the background; its file is downloaded once it is ready."""

    __tablename__ = "satisfaction_export_job"
    __table_args__ = (Index("ix_satisfaction_export_job_owner", "owner", "created_at"),)
    id: str = Field(primary_key=True, max_length=32)
    owner: str = Field(max_length=64, description="the token name that asked for it")
    format: str = Field(max_length=8)
    params: str = Field(max_length=2000, description="the scope as JSON")
    state: str = Field(max_length=16)  # running, ready, failed
    rows: int = 0
    file_name: str = Field(default="", max_length=200)
    error: str = Field(default="", max_length=500)
    created_at: dt.datetime
    finished_at: dt.datetime | None = None


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


ROLLUP_DETAIL = _table(RollupDetail)
ROLLUP_HALL = _table(RollupHall)
ROLLUP_MONTH = _table(RollupMonth)
ORDER_DETAIL = _table(RollupOrderDetail)
ORDER_HALL = _table(RollupOrderHall)
EXPORT_JOBS = _table(ExportJob)
ROLLUP_TABLES = (ROLLUP_DETAIL, ROLLUP_HALL, ROLLUP_MONTH, ORDER_DETAIL, ORDER_HALL)
NEW_TABLES = (*ROLLUP_TABLES, EXPORT_JOBS)
DETAIL_KEY = ("hall_id", "day", "window", "staff_id", "service")
HALL_KEY = ("hall_id", "day")
MONTH_KEY = ("hall_id", "month", "window", "staff_id", "service")
