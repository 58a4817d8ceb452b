"""/metrics: Prometheus text with queues, windows, alerts, device gauges and request latency."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.api.conftest import Hall


def scrape(hall: Hall) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics scrape by (name, sorted labels)."""
    response = hall.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_follow_the_hall_and_the_requests(hall: Hall) -> None:
    hall.post("/api/windows/1/sign-in", json={"staff": "S0101", "role": "A"})
    for _ in range(3):
        assert hall.post("/api/tickets", "kiosk", json={"service": "SB"})[0] == 201
    hall.post("/api/windows/1/call-next", "staff1")
    hall.post("/api/windows/2/sign-in", json={"staff": "S0201", "role": "A"})
    hall.post("/api/windows/2/pause", json={"reason": "取资料"})
    hall.runtime.add_gauge_source(lambda: {"hall_outbox_backlog": 7.0})
    samples = scrape(hall)
    assert samples[("hall_waiting", (("service", "SB"),))] == 2
    assert samples[("hall_issued_today", (("service", "SB"),))] == 3
    assert samples[("hall_window_state", (("state", "serving"), ("window", "1")))] == 1
    assert samples[("hall_window_state", (("state", "paused"), ("window", "2")))] == 1
    assert samples[("hall_window_state", (("state", "idle"), ("window", "1")))] == 0
    assert samples[("hall_outbox_backlog", ())] == 7
    posts = samples[
        (
            "hall_request_seconds_count",
            (("method", "POST"), ("route", "/api/tickets"), ("status", "201")),
        )
    ]
    assert posts == 3
    assert "hall_alerts" in {name for name, _ in samples}
