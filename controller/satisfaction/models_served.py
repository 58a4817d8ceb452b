"""Served (finished) tickets, 评价率's denominator: create / table split, and case outcomes.

A controller pushes one record per finished ticket; the API keeps it once per hall and ticket
id, so a resent record changes nothing and a re-called ticket (called twice, finished once)
counts once.
"""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, ConfigDict, StrictInt, field_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from controller.domain.state import Outcome
from controller.satisfaction.models import (
    HALL_ID,
    SERVICE_CODE,
    STAFF_ID,
    CaseOutcome,
    moment_in_range,
    storable_text,
)

OUTCOME_LABELS: dict[str, str] = {o.name.lower(): o.value for o in Outcome}
TICKET_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


def outcome_name(label: str | None) -> str | None:
    """The wire name of an outcome journaled by its Chinese name (即办件 -> immediate)."""
    return Outcome(label).name.lower() if label else None


class ServedTicketCreate(SQLModel):
    """One finished ticket as a controller pushes it; unknown fields refused."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    hall_id: str = Field(max_length=64, schema_extra={"pattern": HALL_ID})
    ticket_id: str = Field(max_length=64, schema_extra={"pattern": TICKET_ID})
    number: str = Field(max_length=16, schema_extra={"pattern": r"^[A-Z0-9-]{1,16}$"})
    window: StrictInt = Field(ge=1, le=999)
    staff_id: str = Field(max_length=32, schema_extra={"pattern": STAFF_ID})
    service: str = Field(max_length=16, schema_extra={"pattern": SERVICE_CODE})
    finished_at: AwareDatetime
    outcome: CaseOutcome | None = Field(default=None, description="办件类型 (六件分类)")
    case_number: str | None = Field(
        default=None, min_length=1, max_length=64, description="办件编号 (projectNo)"
    )

    @field_validator("finished_at")
    @classmethod
    def _finish_in_range(cls, value: dt.datetime) -> dt.datetime:
        return moment_in_range(value)

    @field_validator("case_number")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return storable_text(value)


class ServedTicketBatch(SQLModel):
    """Finished tickets pushed by a controller's outbox."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    tickets: list[ServedTicketCreate] = Field(min_length=1, max_length=500)


class ServedTicketsReply(SQLModel):
    """How a batch of finished tickets was taken: new ones and resent ones."""

    accepted: int
    duplicates: int


class ServedTicket(SQLModel, table=True):
    """A stored finished ticket; `day` is the hall-local date of `finished_at` (UTC)."""

    __tablename__ = "satisfaction_served_ticket"
    __table_args__ = (Index("ix_satisfaction_served_ticket_hall_day", "hall_id", "day"),)
    hall_id: str = Field(primary_key=True, max_length=64)
    ticket_id: str = Field(primary_key=True, max_length=64)
    day: dt.date = Field(index=True)
    number: str = Field(max_length=16)
    window: int
    staff_id: str = Field(max_length=32)
    service: str = Field(max_length=16)
    outcome: str | None = Field(default=None, max_length=16)
    case_number: str | None = Field(default=None, max_length=64)
    finished_at: dt.datetime
    content_hash: str = Field(max_length=64)
    received_at: dt.datetime
    id_day: dt.date  # the hall day the id begins with: the monthly partition key (partitions.py)
