"""KPIs and exports (CSV, XLSX) of ratings and KPIs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from itertools import chain
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from controller.api.fast_json import json_response
from controller.domain.errors import InvalidRequest
from controller.satisfaction import export, export_stream, store
from controller.satisfaction.deps import ContextDep, SatisfactionContext, ScopeDep
from controller.satisfaction.kpis import GroupBy, KpiReport, compute_kpis
from controller.satisfaction.models import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=ERROR_RESPONSES)
Format = Literal["csv", "xlsx"]
GroupQuery = Annotated[
    list[GroupBy] | None,
    Query(description="group by hall and these: window, staff, service, day"),
]
AsOf = Annotated[dt.date | None, Query(description="差评 due as of this day (default today)")]


@router.get("/kpis", response_model=KpiReport)
def get_kpis(
    *,
    scope: ScopeDep,
    context: ContextDep,
    group_by: GroupQuery = None,
    as_of: AsOf = None,
) -> Response:
    """评价率, 满意率, strict 满意率, 差评率, 差评整改率 per hall and the chosen groups."""
    # Dumped once and encoded by orjson: FastAPI validated the 12,000 rows of a province month
    # by staff again through KpiReport and encoded them with json, ~1.5 s of a worker's GIL
    # that ingest waited behind (bench_province, 24 reports at once).
    return json_response(_report(context, scope, group_by, as_of).model_dump(mode="json"))


_FILES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {"text/csv": {}, export.XLSX_MEDIA_TYPE: {}},
        "description": "CSV (UTF-8 with BOM) or XLSX",
    }
}


@router.get("/exports/evaluations", response_class=Response, responses=_FILES)
def export_evaluations(
    *,
    scope: ScopeDep,
    context: ContextDep,
    region: Annotated[
        str | None,
        Query(pattern=export_stream.REGION, description="行政区划代码 prefix (2, 4 or 6 digits)"),
    ] = None,
    format: Format = "csv",
) -> Response:
    """Every rating in scope as CSV (streamed, any size) or XLSX (up to export_max_rows; more: a job)."""
    lines = export_stream.rating_lines(context.reports, scope, region, context.public)
    name = f"评价记录-{_span(scope)}"
    if format == "csv":
        # The first chunk is read before the answer starts: a report pool that is busy or a
        # statement timeout still answers its named 503 rather than a cut-off file.
        chunks = export_stream.csv_chunks(lines)
        first = next(chunks)
        return _file(chain([first], chunks), export.CSV_MEDIA_TYPE, f"{name}.csv")
    limit = context.settings.export_max_rows
    if export_stream.estimated_rows(context.reports, scope) > limit:
        raise InvalidRequest(
            "export_too_large",
            f"XLSX 导出超过 {limit} 条：请改用导出任务（POST /api/v1/exports/jobs）或 CSV",
        )
    path, _count = export_stream.xlsx_file(lines)
    chunks = export_stream.file_chunks(path, remove=True)
    return _file(chunks, export.XLSX_MEDIA_TYPE, f"{name}.xlsx")


@router.get("/exports/kpis", response_class=Response, responses=_FILES)
def export_kpis(
    *,
    scope: ScopeDep,
    context: ContextDep,
    group_by: GroupQuery = None,
    as_of: AsOf = None,
    format: Format = "csv",
) -> Response:
    """The KPI report as CSV or XLSX, rates as fractions (XLSX shows them as percentages)."""
    report = _report(context, scope, group_by, as_of)
    header, body = export.kpi_table(report.rows, report.group_by)
    body.append(export.total_line(report.total, report.group_by))
    name = f"评价指标-{_span(scope)}"
    if format == "csv":
        return _file(iter([export.to_csv(header, body)]), export.CSV_MEDIA_TYPE, f"{name}.csv")
    data = export.to_xlsx("评价指标", header, body, percent_columns=export.RATE_HEADERS)
    return _file(iter([data]), export.XLSX_MEDIA_TYPE, f"{name}.xlsx")


def _report(
    context: SatisfactionContext,
    scope: store.Scope,
    group_by: list[GroupBy] | None,
    as_of: dt.date | None,
) -> KpiReport:
    single = scope.halls[0] if scope.halls and len(scope.halls) == 1 else None
    return compute_kpis(
        context.reports,
        scope=scope,
        group_by=group_by or [],
        defaults_in_satisfaction=context.settings.defaults_in_satisfaction,
        as_of=as_of or context.today(single),
    )


def _span(scope: store.Scope) -> str:
    start = scope.day_from.isoformat() if scope.day_from else "起"
    end = scope.day_to.isoformat() if scope.day_to else "今"
    return f"{start}_{end}"


def _file(chunks: Iterator[bytes], media_type: str, filename: str) -> Response:
    ascii_name = filename.encode("ascii", "ignore").decode() or "export"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return StreamingResponse(
        chunks, media_type=media_type, headers={"Content-Disposition": disposition}
    )
