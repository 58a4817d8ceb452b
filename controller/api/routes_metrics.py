"""Prometheus metrics at /metrics: queues, waits, windows, alerts, devices, outbox, latency."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from controller.app.runtime import HallRuntime
from controller.domain.state import WindowStatus

router = APIRouter(tags=["operations"])
WINDOW_STATES = tuple(status.value for status in WindowStatus)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The Prometheus text format; no personal data, so no token (bind the API to the LAN)."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI, runtime: HallRuntime) -> None:
    """Give `app` its own registry with the hall collector and a request-latency middleware."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(HallCollector(runtime))
    latency = Histogram(
        "hall_request_seconds",
        "API request latency by route template and method",
        ["method", "route", "status"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    )
    app.state.metrics_registry = registry
    app.add_middleware(_RequestTimer, latency=latency)


class _RequestTimer:
    """Times every HTTP request by route template (plain ASGI: no per-request task or copy)."""

    def __init__(self, app: ASGIApp, latency: Histogram) -> None:
        self.app = app
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            if template != "/api/events":  # a stream lasts as long as the client stays
                self.latency.labels(scope["method"], template, str(status)).observe(
                    time.perf_counter() - started
                )


class HallCollector(Collector):
    """Reads a fresh snapshot (and device gauges) at every scrape."""

    def __init__(self, runtime: HallRuntime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        """One family per figure; labels are service codes, window numbers, alert kinds."""
        snapshot = self.runtime.snapshot()
        waiting = GaugeMetricFamily("hall_waiting", "Tickets waiting", labels=["service"])
        oldest = GaugeMetricFamily(
            "hall_oldest_wait_seconds", "Longest current wait", labels=["service"]
        )
        issued = GaugeMetricFamily("hall_issued_today", "Tickets issued today", labels=["service"])
        for service in snapshot["services"]:
            waiting.add_metric([service["code"]], service["waiting"])
            oldest.add_metric([service["code"]], (service["oldest_wait_minutes"] or 0) * 60)
            issued.add_metric([service["code"]], service["issued_today"])
        state = GaugeMetricFamily(
            "hall_window_state", "1 for the window's current state", labels=["window", "state"]
        )
        for window in snapshot["windows"]:
            for name in WINDOW_STATES:
                state.add_metric([str(window["number"]), name], 1 if window["state"] == name else 0)
        alerts = GaugeMetricFamily("hall_alerts", "Floor alerts by kind", labels=["kind"])
        for kind, count in sorted(Counter(a["kind"] for a in snapshot["alerts"]).items()):
            alerts.add_metric([kind], count)
        hub = GaugeMetricFamily(
            "hall_subscriber_dropped", "Events a device subscriber had to drop", labels=["name"]
        )
        for health in self.runtime.hub.health():
            hub.add_metric([health.name], health.dropped)
        yield from (waiting, oldest, issued, state, alerts, hub)
        for name, value in sorted(self.runtime.gauges().items()):
            yield GaugeMetricFamily(name, name.replace("_", " "), value=value)
