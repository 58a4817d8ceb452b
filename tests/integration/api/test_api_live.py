"""API: the live event stream, over a real uvicorn server and a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.api.conftest import Hall, auth
from tests.servers import serving


@pytest.fixture
def served(hall: Hall) -> Iterator[tuple[Hall, str]]:
    with serving(hall.client.app) as base:
        yield hall, base


def _read_events(lines: Iterator[str], wanted: int) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    kind = ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            found.append((kind, json.loads(line.removeprefix("data: "))))
            if len(found) >= wanted:
                break
    return found


def test_stream_starts_with_a_snapshot_then_follows_commands(served: tuple[Hall, str]) -> None:
    _, base = served
    with (
        httpx.Client(base_url=base, timeout=10) as client,
        client.stream("GET", "/api/events", headers=auth("display")) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines) == "event: snapshot"
        snapshot = json.loads(next(lines).removeprefix("data: "))
        assert snapshot["hall"]["name"] == "青山县政务服务中心"
        client.post(
            "/api/appointments",
            headers=auth("floor"),
            json={
                "code": "PRIVATE-1",
                "service": "SB",
                "slot_start": "2026-11-23T10:00:00+08:00",
                "name": "测试用户",
                "phone": "13800001234",
            },
        )
        client.post("/api/tickets", headers=auth("kiosk"), json={"service": "SB"})
        client.post(
            "/api/windows/1/sign-in", headers=auth("staff1"), json={"staff": "S0101", "role": "A"}
        )
        client.post("/api/windows/1/call-next", headers=auth("staff1"))
        events = _read_events(lines, 4)
    kinds = [kind for kind, _ in events]
    # The appointment (personal data, even masked) never reaches the public stream.
    assert kinds == ["DayOpened", "TicketIssued", "StaffSignedIn", "TicketCalled"]
    assert events[3][1]["number"] == "A001" and events[3][1]["window"] == 1


def test_stream_needs_a_token(served: tuple[Hall, str]) -> None:
    _, base = served
    response = httpx.get(f"{base}/api/events", timeout=5)
    assert response.status_code == 401


def _through_state_after(lines: Iterator[str], kind: str) -> tuple[list[str], dict[str, Any]]:
    """Events read up to the first `state` that follows a `kind` event, and that state."""
    seen: list[str] = []
    while True:
        [(read, data)] = _read_events(lines, 1)
        seen.append(read)
        if read == "state" and kind in seen:
            return seen, data


def test_with_state_each_burst_is_followed_by_the_fresh_state(served: tuple[Hall, str]) -> None:
    hall, base = served
    with (
        httpx.Client(base_url=base, timeout=10) as client,
        client.stream(
            "GET", "/api/events", params={"with_state": "true"}, headers=auth("display")
        ) as response,
    ):
        lines = response.iter_lines()
        [(kind, _)] = _read_events(lines, 1)
        assert kind == "snapshot"
        issued = client.post("/api/tickets", headers=auth("kiosk"), json={"service": "SB"}).json()
        seen, state = _through_state_after(lines, "TicketIssued")
        assert seen[-2:] == ["TicketIssued", "state"]  # the burst's events, then its state
        sb = next(s for s in state["services"] if s["code"] == "SB")
        assert sb["issued_today"] == 1 and sb["waiting"] == 1
        # The pushed state is the very body GET /api/state answers for the same hall version.
        assert client.get("/api/state", headers=auth("display")).json() == state
        client.post(
            "/api/windows/1/sign-in", headers=auth("staff1"), json={"staff": "S0101", "role": "A"}
        )
        client.post("/api/windows/1/call-next", headers=auth("staff1"))
        seen, state = _through_state_after(lines, "TicketCalled")
        assert state["recent_calls"][0]["number"] == issued["number"]
        assert seen.count("state") <= 2  # at most one per burst (sign-in, call)
        assert len(seen) - seen.count("state") >= 2
    assert hall.runtime.version >= 3


def test_without_with_state_no_state_events_are_sent(served: tuple[Hall, str]) -> None:
    _, base = served
    with (
        httpx.Client(base_url=base, timeout=10) as client,
        client.stream("GET", "/api/events", headers=auth("display")) as response,
    ):
        lines = response.iter_lines()
        _read_events(lines, 1)
        client.post("/api/tickets", headers=auth("kiosk"), json={"service": "SB"})
        client.post("/api/tickets", headers=auth("kiosk"), json={"service": "SB"})
        kinds = [k for k, _ in _read_events(lines, 3)]
    assert kinds == ["DayOpened", "TicketIssued", "TicketIssued"]  # no "state" in between
