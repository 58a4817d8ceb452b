"""The live province view: halls push summaries; /province lists halls trouble first; /metrics per hall."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from controller.satisfaction import live
from controller.satisfaction.auth import (
    SatisfactionCaller,
    SatisfactionRole,
    require_hall,
    require_role,
)
from controller.satisfaction.deps import CallerDep, ContextDep, SatisfactionContext
from controller.satisfaction.errors import HallSuspended, UnknownHall
from controller.satisfaction.models import ERROR_RESPONSES, HALL_ID
from controller.satisfaction.registry import ACTIVE, SUSPENDED, HallRegistry

router = APIRouter(tags=["province"], responses=ERROR_RESPONSES)
HallId = Annotated[str, Path(pattern=HALL_ID)]


@router.post("/api/v1/halls/{hall_id}/live")
def post_live(
    hall_id: HallId, summary: live.HallSummary, caller: CallerDep, context: ContextDep
) -> dict[str, bool]:
    """A hall's state summary (its own hall token); the latest one is kept."""
    require_role(caller, SatisfactionRole.HALL)
    require_hall(caller, hall_id, "path.hall_id")
    profile = context.profiles.get(hall_id)
    if profile is None:
        raise UnknownHall(hall_id, "path.hall_id")
    if profile.suspended:
        raise HallSuspended(hall_id, "path.hall_id")
    live.store_summary(context.engine, hall_id=hall_id, summary=summary, received=context.now())
    return {"stored": True}


@router.get("/api/v1/province/live")
def get_province_live(caller: CallerDep, context: ContextDep, request: Request) -> dict[str, Any]:
    """Every hall the caller may see with its latest summary, silent and alerting halls first."""
    require_role(
        caller,
        SatisfactionRole.PROVINCE_ADMIN,
        SatisfactionRole.SUPERVISION,
        SatisfactionRole.READER,
    )
    halls = _halls(context, request, caller)
    items = [h.public() for h in halls]
    return {
        "now": context.now().isoformat(),
        "silent_after_seconds": int(live.SILENT_AFTER.total_seconds()),
        "count": len(items),
        "silent": sum(1 for h in halls if h.silent),
        "alerting": sum(1 for h in halls if h.level == 2),
        "waiting": sum(h.waiting for h in halls),
        "halls": items,
    }


@router.get("/province", response_class=HTMLResponse, include_in_schema=False)
def province_page() -> HTMLResponse:
    """The province's live page (Chinese); #token=… gives it a 督查股, reader or admin token."""
    page = resources.files("controller.satisfaction").joinpath("pages/province.html")
    return HTMLResponse(page.read_text(encoding="utf-8"))


@router.get("/metrics", include_in_schema=False)
def metrics(context: ContextDep, request: Request) -> Response:
    """Prometheus text: each hall's waiting, oldest wait, windows, alerts, silence; no personal data."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProvinceCollector(_halls(context, request, None)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _halls(
    context: SatisfactionContext, request: Request, caller: SatisfactionCaller | None
) -> list[live.HallLive]:
    registry: HallRegistry = request.app.state.registry
    halls = {
        hall_id: (registry.name_of(hall_id), SUSPENDED if profile.suspended else ACTIVE)
        for hall_id, profile in registry.items()
        if caller is None or caller.may_see(hall_id)
    }
    return live.province_halls(context.engine, halls=halls, now=context.now())


class _ProvinceCollector(Collector):
    """One scrape's figures, from the halls as just read."""

    def __init__(self, halls: list[live.HallLive]) -> None:
        self.halls = halls

    def collect(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "province_hall_waiting",
            "citizens waiting, by hall and service",
            labels=["hall", "service"],
        )
        oldest = GaugeMetricFamily(
            "province_hall_oldest_wait_minutes", "the longest wait in the hall", labels=["hall"]
        )
        windows = GaugeMetricFamily(
            "province_hall_windows", "windows by state", labels=["hall", "state"]
        )
        alerts = GaugeMetricFamily("province_hall_alerts", "open floor alerts", labels=["hall"])
        silent = GaugeMetricFamily(
            "province_hall_silent", "1 when the hall has not pushed for 3 minutes", labels=["hall"]
        )
        age = GaugeMetricFamily(
            "province_hall_summary_age_seconds", "seconds since the last summary", labels=["hall"]
        )
        for hall in self.halls:
            silent.add_metric([hall.hall_id], 1.0 if hall.silent else 0.0)
            summary = hall.summary
            if summary is None or hall.received_at is None:
                continue
            age.add_metric([hall.hall_id], (hall.now - hall.received_at).total_seconds())
            for service in summary.services:
                waiting.add_metric([hall.hall_id, service.code], float(service.waiting))
            oldest.add_metric([hall.hall_id], float(hall.oldest_wait_minutes or 0.0))
            for state, count in summary.windows.model_dump().items():
                windows.add_metric([hall.hall_id, state], float(count))
            alerts.add_metric([hall.hall_id], float(len(summary.alerts)))
        yield from (waiting, oldest, windows, alerts, silent, age)
