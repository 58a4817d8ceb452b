"""Rating records: ingest (idempotent), served counts, queries, the exchange mapping, health."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from controller.domain.errors import NotFound
from controller.domain.ratings import RatingLevel
from controller.satisfaction import ingest, store
from controller.satisfaction.deps import (
    CallerDep,
    ContextDep,
    SatisfactionContext,
    ScopeDep,
    hall_of_item,
)
from controller.satisfaction.exchange import to_exchange
from controller.satisfaction.models import (
    ERROR_RESPONSES,
    HALL_ID,
    RATING_ID,
    EvaluationBatch,
    IngestReply,
    RatingPublic,
    ServedBatch,
)
from controller.satisfaction.models_served import ServedTicketBatch, ServedTicketsReply

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["evaluations"], responses=ERROR_RESPONSES)
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


class RatingPage(SQLModel):
    """A page of ratings."""

    count: int
    items: list[RatingPublic]


class ExchangePage(SQLModel):
    """A page of ratings as the provincial exchange names them."""

    count: int
    records: list[dict[str, str]]


class ServedReply(SQLModel):
    """How many served counts were stored."""

    stored: int


@router.post("/evaluations", response_model=IngestReply)
async def post_evaluations(
    batch: EvaluationBatch, caller: CallerDep, context: ContextDep
) -> IngestReply:
    """Store a batch of ratings (hall token, own hall only); a resent batch changes nothing."""
    store_batch = functools.partial(
        ingest.ingest_batch,
        context.engine,
        caller=caller,
        records=batch.records,
        profiles=context.profiles,
        now=context.now(),
        max_future=dt.timedelta(minutes=context.settings.max_future_minutes),
    )
    return await to_thread.run_sync(store_batch, limiter=context.ingest_turns())


@router.post("/served", response_model=ServedReply)
def post_served(batch: ServedBatch, caller: CallerDep, context: ContextDep) -> ServedReply:
    """Store daily served counts (评价率's denominator); a later push for a key replaces it."""
    stored = ingest.store_served_counts(
        context.engine,
        caller=caller,
        counts=batch.counts,
        profiles=context.profiles,
        now=context.now(),
    )
    return ServedReply(stored=stored)


@router.post("/served-tickets", response_model=ServedTicketsReply)
def post_served_tickets(
    batch: ServedTicketBatch, caller: CallerDep, context: ContextDep
) -> ServedTicketsReply:
    """Store finished tickets (评价率's denominator) once per hall and ticket id."""
    return ingest.store_served_tickets(
        context.engine,
        caller=caller,
        tickets=batch.tickets,
        profiles=context.profiles,
        now=context.now(),
        max_future=dt.timedelta(minutes=context.settings.max_future_minutes),
    )


@router.get("/evaluations", response_model=RatingPage)
def get_evaluations(
    *,
    scope: ScopeDep,
    context: ContextDep,
    level: RatingLevel | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> RatingPage:
    """Ratings in scope, oldest first."""
    with context.reports.reading() as conn:
        rows = store.ratings_on(
            conn, scope=scope, level=level.value if level else None, limit=limit, offset=offset
        )
    items = [context.public(row) for row in rows]
    return RatingPage(count=len(items), items=items)


@router.get("/evaluations/{rating_id}", response_model=RatingPublic)
def get_evaluation(
    rating_id: Annotated[str, Path(pattern=RATING_ID)],
    caller: CallerDep,
    context: ContextDep,
    hall_id: Annotated[
        str | None,
        Query(
            pattern=HALL_ID,
            description="the rating's hall (rating ids are hall-local); required for a token "
            "of no hall, else the token's own hall",
        ),
    ] = None,
) -> RatingPublic:
    """One hall's rating by its hall-local id: the token's own hall, or `hall_id`."""
    hall = hall_of_item(caller, hall_id, "评价编号")
    row = store.get_rating(context.engine, hall_id=hall, rating_id=rating_id)
    if row is None:
        raise NotFound("no_such_rating", f"大厅 {hall} 的评价 {rating_id} 不存在")
    return context.public(row)


@router.get("/exchange/evaluations", response_model=ExchangePage)
def get_exchange_records(
    *, scope: ScopeDep, context: ContextDep, limit: Limit = 100, offset: Offset = 0
) -> ExchangePage:
    """Ratings in scope mapped to the provincial 好差评 exchange fields."""
    with context.reports.reading() as conn:
        rows = store.ratings_on(conn, scope=scope, limit=limit, offset=offset)
    records = [to_exchange(context.public(r), context.zone_for(r["hall_id"])) for r in rows]
    return ExchangePage(count=len(records), records=records)


@router.get("/health")
def health(context: ContextDep) -> JSONResponse:
    """Readiness, without a token: both pools reach the database (503 when one does not)."""
    down = health_problems(context)
    if down:
        return JSONResponse({"status": "unavailable", "problems": down}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def health_problems(context: SatisfactionContext) -> list[str]:
    """Which pools cannot run SELECT 1 right now (empty: all can)."""
    problems = []
    for name, engine in (("ingest", context.engine), ("reports", context.reports.engine)):
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except SQLAlchemyError as err:
            log.warning("health: the %s pool cannot reach the database: %s", name, err)
            problems.append(f"{name}: 数据库不可达")
    return problems
