"""The app's context (engine, tokens, hall profiles, settings, clock) and its FastAPI dependencies."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated
from zoneinfo import ZoneInfo

from anyio import CapacityLimiter
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.engine import RowMapping

from controller.domain.ratings import RatingLevel
from controller.satisfaction import store
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionTokens, require_hall
from controller.satisfaction.errors import RecordRefused
from controller.satisfaction.models import HALL_ID, SERVICE_CODE, STAFF_ID, RatingPublic
from controller.satisfaction.models_served import OUTCOME_LABELS
from controller.satisfaction.pools import ReportDatabase
from controller.satisfaction.settings import HallProfile, SatisfactionSettings


@dataclass
class SatisfactionContext:
    """Everything a request needs; built once by the app factory."""

    engine: Engine
    tokens: SatisfactionTokens
    profiles: Mapping[str, HallProfile]
    settings: SatisfactionSettings
    clock: Callable[[], dt.datetime]
    report_db: ReportDatabase | None = None  # None: reports read through `engine`
    _ingest_turns: dict[asyncio.AbstractEventLoop, CapacityLimiter] = field(
        default_factory=dict, init=False, repr=False
    )

    @property
    def zones(self) -> dict[str, ZoneInfo]:
        """Each hall's zone (the profiles are the live registry: read them now)."""
        return {hall: p.zone for hall, p in self.profiles.items()}

    @property
    def reports(self) -> ReportDatabase:
        """Where reports read: their own pool and statement timeout."""
        if self.report_db is not None:
            return self.report_db
        return ReportDatabase(self.engine, self.settings.report_statement_timeout_ms)

    def ingest_turns(self) -> CapacityLimiter:
        """How many batches this process stores at once: one per ingest pool connection.

        The others wait on the event loop in arrival order. Forty threads taking turns on a
        few connections and the GIL cost ~3.5 ms of CPU a batch more (bench_province).
        One per event loop (a uvicorn worker has one; a test client starts one per request).
        """
        loop = asyncio.get_running_loop()
        turns = self._ingest_turns.get(loop)
        if turns is None:
            for stopped in [other for other in self._ingest_turns if other.is_closed()]:
                del self._ingest_turns[stopped]
            turns = self._ingest_turns[loop] = CapacityLimiter(self.settings.ingest_pool_size)
        return turns

    def now(self) -> dt.datetime:
        """The current moment (aware)."""
        return self.clock()

    def zone_for(self, hall_id: str | None) -> ZoneInfo:
        """The hall's zone, or the settings' zone for an unknown hall or for every hall."""
        profile = self.profiles.get(hall_id or "")
        return profile.zone if profile is not None else self.settings.zone

    def today(self, hall_id: str | None) -> dt.date:
        """Today's date in the hall's zone (the settings' zone across halls)."""
        return self.now().astimezone(self.zone_for(hall_id)).date()

    def public(self, row: RowMapping) -> RatingPublic:
        """A stored rating as read back, times in its hall's zone."""
        zone = self.zone_for(row["hall_id"])
        level = RatingLevel(row["level"])
        values = dict(row)
        values.update(
            level=level,
            level_label=level.label,
            outcome_label=OUTCOME_LABELS.get(row.get("outcome") or ""),
            reasons=[r for r in row["reasons"].split(",") if r],
            rated_at=store.in_zone(row["rated_at"], zone),
            finished_at=store.in_zone(row["finished_at"], zone),
            received_at=store.in_zone(row["received_at"], zone),
        )
        return RatingPublic.model_validate(values)


async def get_context(request: Request) -> SatisfactionContext:
    """The context the app was built with (async: read on the event loop, no thread hop)."""
    context: SatisfactionContext = request.app.state.satisfaction
    return context


ContextDep = Annotated[SatisfactionContext, Depends(get_context)]


_BEARER = HTTPBearer(auto_error=False, description="a token issued to a hall or an office")


def get_caller(
    context: ContextDep,
    request: Request,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)] = None,
) -> SatisfactionCaller:
    """The authenticated caller (401 without a valid bearer token)."""
    return context.tokens.caller_for(request.headers.get("Authorization"))


CallerDep = Annotated[SatisfactionCaller, Depends(get_caller)]


@dataclass(frozen=True)
class ScopeQuery:
    """The query parameters every read shares: hall, date range, window, staff, service."""

    hall_id: str | None
    day_from: dt.date | None
    day_to: dt.date | None
    window: int | None
    staff_id: str | None
    service: str | None


def get_scope_query(
    *,
    hall_id: Annotated[str | None, Query(pattern=HALL_ID)] = None,
    day_from: Annotated[
        dt.date | None, Query(alias="from", description="first rating day (hall-local)")
    ] = None,
    day_to: Annotated[
        dt.date | None, Query(alias="to", description="last rating day, inclusive")
    ] = None,
    window: Annotated[int | None, Query(ge=1, le=999)] = None,
    staff_id: Annotated[str | None, Query(pattern=STAFF_ID)] = None,
    service: Annotated[str | None, Query(pattern=SERVICE_CODE)] = None,
) -> ScopeQuery:
    """Parse the shared read parameters."""
    if day_from is not None and day_to is not None and day_from > day_to:
        raise RecordRefused("query.from", f"起始日期 {day_from} 晚于结束日期 {day_to}")
    return ScopeQuery(hall_id, day_from, day_to, window, staff_id, service)


def get_scope(
    caller: CallerDep, query: Annotated[ScopeQuery, Depends(get_scope_query)]
) -> store.Scope:
    """The scope of a read: the asked hall if the caller may see it, else the caller's own hall."""
    if query.hall_id is not None:
        require_hall(caller, query.hall_id, "query.hall_id")
        halls: tuple[str, ...] | None = (query.hall_id,)
    elif caller.hall_id is not None:
        halls = (caller.hall_id,)
    else:
        halls = None
    return store.Scope(
        halls=halls,
        day_from=query.day_from,
        day_to=query.day_to,
        window=query.window,
        staff_id=query.staff_id,
        service=query.service,
    )


ScopeDep = Annotated[store.Scope, Depends(get_scope)]


def hall_of_item(caller: SatisfactionCaller, hall_id: str | None, what: str) -> str:
    """The hall whose item (by a hall-local id) a caller asks for: `hall_id`, else its own."""
    if hall_id is not None:
        require_hall(caller, hall_id, "query.hall_id")
        return hall_id
    if caller.hall_id is None:
        raise RecordRefused(
            "query.hall_id", f"{what}只在本大厅内唯一，不属于单个大厅的令牌须用 hall_id 指明大厅"
        )
    return caller.hall_id
