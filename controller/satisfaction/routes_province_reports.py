"""Province reads: hall ranking, the exchange feed by cursor, export jobs and their downloads."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from sqlmodel import SQLModel

from controller.satisfaction import export_jobs, feed
from controller.satisfaction.deps import CallerDep, ContextDep, ScopeDep
from controller.satisfaction.exchange import to_exchange
from controller.satisfaction.export_stream import REGION
from controller.satisfaction.kpis import KpiRow, compute_kpis
from controller.satisfaction.models import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["province"], responses=ERROR_RESPONSES)
Region = Annotated[
    str | None,
    Query(
        pattern=REGION, description="行政区划代码 prefix: 2 digits a province, 4 a city, 6 a county"
    ),
]
RankBy = Literal["satisfaction_rate", "rating_rate", "strict_satisfaction_rate", "bad_rate"]


class RankedHall(SQLModel):
    """One hall's place in a ranking, with its KPI row."""

    rank: int
    kpis: KpiRow


class HallRanking(SQLModel):
    """Halls ranked by one rate (best first; 差评率 lowest first); halls without it last."""

    by: str
    as_of: dt.date
    halls: list[RankedHall]


class FeedItem(SQLModel):
    """One rating in the feed: its hall and id, and the record as the exchange names it."""

    hall_id: str
    rating_id: str
    record: dict[str, str]


class FeedPage(SQLModel):
    """A page of the feed; ask for `?after=<next>` for the following one (empty: caught up)."""

    count: int
    next: str
    items: list[FeedItem]


@router.get("/rankings/halls", response_model=HallRanking)
def rank_halls(
    *,
    scope: ScopeDep,
    context: ContextDep,
    by: RankBy = "satisfaction_rate",
    as_of: Annotated[dt.date | None, Query()] = None,
) -> HallRanking:
    """The halls in scope ranked by 满意率 (or 评价率 …) over the dates asked, from the rollups."""
    day = as_of or context.today(None)
    report = compute_kpis(
        context.reports,
        scope=scope,
        group_by=[],
        defaults_in_satisfaction=context.settings.defaults_in_satisfaction,
        as_of=day,
    )
    lower_is_better = by == "bad_rate"

    def order(row: KpiRow) -> tuple[bool, float, str]:
        rate = getattr(row, by)
        value = 0.0 if rate is None else (rate if lower_is_better else -rate)
        return rate is None, value, row.hall_id or ""

    ranked = sorted(report.rows, key=order)
    return HallRanking(
        by=by,
        as_of=day,
        halls=[RankedHall(rank=i, kpis=row) for i, row in enumerate(ranked, start=1)],
    )


@router.get("/exchange/feed", response_model=FeedPage)
def get_feed(
    *,
    scope: ScopeDep,
    context: ContextDep,
    after: Annotated[
        str | None, Query(pattern=feed.CURSOR, description="the `next` of the previous page")
    ] = None,
    region: Region = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> FeedPage:
    """Ratings in the order they arrived (late uploads included), as the exchange names them."""
    rows, cursor = feed.page(context.reports, scope=scope, region=region, after=after, limit=limit)
    items = [
        FeedItem(
            hall_id=r["hall_id"],
            rating_id=r["rating_id"],
            record=to_exchange(context.public(r), context.zone_for(r["hall_id"])),
        )
        for r in rows
    ]
    return FeedPage(count=len(items), next=cursor, items=items)


@router.post("/exports/jobs", response_model=export_jobs.ExportJobPublic, status_code=202)
def start_export_job(
    *,
    scope: ScopeDep,
    caller: CallerDep,
    context: ContextDep,
    region: Region = None,
    format: export_jobs.Format = "csv",
) -> export_jobs.ExportJobPublic:
    """Export every rating in scope to a file in the background; poll the job for its link."""
    return export_jobs.start(
        engine=context.engine,
        reports=context.reports,
        directory=context.settings.export_dir,
        caller=caller,
        scope=scope,
        region=region,
        fmt=format,
        publish=context.public,
        now=context.now(),
    )


JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{24}$")]


@router.get("/exports/jobs/{job_id}", response_model=export_jobs.ExportJobPublic)
def get_export_job(
    job_id: JobId, caller: CallerDep, context: ContextDep
) -> export_jobs.ExportJobPublic:
    """Where one of the caller's export jobs stands; `download` once it is ready."""
    return export_jobs.status(context.engine, job_id=job_id, caller=caller)


@router.get("/exports/jobs/{job_id}/file", response_class=FileResponse)
def download_export(job_id: JobId, caller: CallerDep, context: ContextDep) -> FileResponse:
    """The file of a ready export job (the caller's own)."""
    path, media_type = export_jobs.ready_file(
        context.engine, context.settings.export_dir, job_id=job_id, caller=caller
    )
    suffix = path.suffix
    return FileResponse(path, media_type=media_type, filename=f"评价记录-{job_id}{suffix}")
