"""The province's live view: each hall's latest state summary, stored, and the halls ranked by trouble.

A hall pushes its summary on change (debounced) and at least every minute
(controller/app/hall_summary_push.py); one row per hall keeps the latest. A hall not heard from
for `SILENT_AFTER` (three missed heartbeats) is silent (失联): it ranks first, since nothing
it shows can be trusted any more.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from controller.satisfaction import store
from controller.satisfaction.models import SERVICE_CODE
from controller.satisfaction.registry import METADATA, SUSPENDED

LIVE = sa.Table(
    "satisfaction_hall_live",
    METADATA,
    sa.Column("hall_id", sa.String(64), primary_key=True),
    sa.Column("summary", sa.Text(), nullable=False),  # HallSummary as JSON
    sa.Column("hall_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)
SILENT_AFTER = dt.timedelta(minutes=3)
WINDOW_STATES = ("serving", "idle", "paused", "signed_out", "closed")
Short = Annotated[str, StringConstraints(max_length=100)]


class ServiceLive(BaseModel):
    """One service's queue: how many wait and for how long the longest has."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=SERVICE_CODE)
    name: Short = ""
    waiting: int = Field(ge=0, le=100_000)
    oldest_wait_minutes: float | None = Field(default=None, ge=0, le=100_000)


class WindowCounts(BaseModel):
    """How many windows are in each state."""

    model_config = ConfigDict(extra="forbid")

    serving: int = Field(default=0, ge=0, le=1000)
    idle: int = Field(default=0, ge=0, le=1000)
    paused: int = Field(default=0, ge=0, le=1000)
    signed_out: int = Field(default=0, ge=0, le=1000)
    closed: int = Field(default=0, ge=0, le=1000)


class AlertLive(BaseModel):
    """A floor alert as the hall shows it."""

    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, StringConstraints(max_length=64)]
    message: Annotated[str, StringConstraints(max_length=300)] = ""


class HallSummary(BaseModel):
    """What a hall pushes: its moment, whether it is open, queues, windows and alerts."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime
    name: Short = ""
    open: bool = False
    services: list[ServiceLive] = Field(default=[], max_length=200)
    windows: WindowCounts = WindowCounts()
    alerts: list[AlertLive] = Field(default=[], max_length=50)


@dataclass(frozen=True)
class HallLive:
    """A registered hall as the province view shows it, with its trouble level and reasons."""

    hall_id: str
    name: str
    status: str
    summary: HallSummary | None
    received_at: dt.datetime | None
    now: dt.datetime

    @property
    def silent(self) -> bool:
        """Not heard from for SILENT_AFTER, or never (a suspended hall is not expected to)."""
        if self.status == SUSPENDED:
            return False
        return self.received_at is None or self.now - self.received_at > SILENT_AFTER

    @property
    def waiting(self) -> int:
        """Citizens waiting across services (0 when unknown)."""
        return sum(s.waiting for s in self.summary.services) if self.summary else 0

    @property
    def oldest_wait_minutes(self) -> float | None:
        """The longest wait across services."""
        waits = [s.oldest_wait_minutes for s in self.summary.services] if self.summary else []
        return max((w for w in waits if w is not None), default=None)

    @property
    def level(self) -> int:
        """3 silent, 2 alerts, 0 calm, -1 suspended: the page lists the highest first."""
        if self.status == SUSPENDED:
            return -1
        if self.silent:
            return 3
        return 2 if self.summary and self.summary.alerts else 0

    @property
    def trouble(self) -> list[str]:
        """Why the hall ranks where it does, in Chinese."""
        if self.status == SUSPENDED:
            return ["已暂停接收"]
        if self.received_at is None:
            return ["从未上报实时状态"]
        if self.silent:
            minutes = int((self.now - self.received_at).total_seconds() // 60)
            return [f"失联：{minutes} 分钟无上报"]
        return [a.message or a.kind for a in self.summary.alerts] if self.summary else []

    def sort_key(self) -> tuple[int, bool, int, float, str]:
        """Trouble first: level (a hall gone silent before one never heard), alerts, longest wait."""
        alerts = len(self.summary.alerts) if self.summary else 0
        never = self.received_at is None
        return (-self.level, never, -alerts, -(self.oldest_wait_minutes or 0.0), self.hall_id)

    def public(self) -> dict[str, Any]:
        """The hall as /api/v1/province/live returns it."""
        summary = self.summary
        return {
            "hall_id": self.hall_id,
            "name": self.name or (summary.name if summary else ""),
            "status": self.status,
            "level": self.level,
            "silent": self.silent,
            "trouble": self.trouble,
            "received_at": self.received_at.isoformat() if self.received_at else None,
            "seconds_since": (
                round((self.now - self.received_at).total_seconds()) if self.received_at else None
            ),
            "open": summary.open if summary else None,
            "waiting": self.waiting,
            "oldest_wait_minutes": self.oldest_wait_minutes,
            "windows": summary.windows.model_dump() if summary else None,
            "alerts": [a.model_dump() for a in summary.alerts] if summary else [],
            "services": [s.model_dump() for s in summary.services] if summary else [],
        }


def store_summary(
    engine: Engine, *, hall_id: str, summary: HallSummary, received: dt.datetime
) -> None:
    """Keep `summary` as the hall's latest (an older one arriving late does not replace it)."""
    row = {
        "hall_id": hall_id,
        "summary": summary.model_dump_json(),
        "hall_time": store.as_utc(summary.at),
        "received_at": store.as_utc(received),
    }
    with store.writing(engine) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(LIVE).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["hall_id"],
            set_={k: statement.excluded[k] for k in ("summary", "hall_time", "received_at")},
            where=LIVE.c.hall_time <= statement.excluded.hall_time,
        )
        conn.execute(statement)


def province_halls(
    engine: Engine,
    *,
    halls: dict[str, tuple[str, str]],
    now: dt.datetime,
) -> list[HallLive]:
    """Every hall of `halls` (id: (name, status)) with its latest summary, trouble first."""
    with store.reading(engine) as conn:
        rows = {row["hall_id"]: row for row in conn.execute(sa.select(LIVE)).mappings()}
    found = []
    for hall_id, (name, status) in halls.items():
        row = rows.get(hall_id)
        summary = HallSummary.model_validate(json.loads(row["summary"])) if row else None
        received = _aware(row["received_at"]) if row else None
        found.append(HallLive(hall_id, name, status, summary, received, now))
    return sorted(found, key=HallLive.sort_key)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
