"""API fuzz: any body, path value or header on any route answers a 4xx or 2xx, never a 5xx.

Strings include tests.adversarial's hostile text (lone surrogates, control characters, very
long and mixed-script runs); after a run over every mutating route, /api/state, /api/events
and a restart from the journal still work and agree. HALL_API_FUZZ_EXAMPLES sets the size.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.app.clock import ManualClock
from tests.adversarial import EXAMPLES, TEXT, json_body
from tests.integration.api.conftest import Hall, at, auth, make_hall
from tests.servers import serving

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=30)
    | TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)

pytestmark = pytest.mark.slow  # thousands of generated requests
FIELDS = [
    "service",
    "lane",
    "priority_reason",
    "code",
    "slot_start",
    "name",
    "phone",
    "staff",
    "role",
    "reason",
    "to_service",
    "to_window",
    "outcome",
    "services",
    "policy",
    "weights",
    "text",
    "level",
    "title",
    "id",
    "post",
    "window",
    "case_number",
    "machine",
]
BODIES = JSON | st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5)
PATH_VALUES = st.sampled_from(
    [
        "1",
        "4",
        "12",
        "0",
        "-1",
        "999999999999999999999",
        "abc",
        "%E4%B8%AD",
        "20261123-A001",
        "YY-0001",
        "..",
        "1.5",
    ]
)
ROLES = st.sampled_from(["admin", "floor", "kiosk", "display", "staff1", "staff4"])


# One hall for all examples: state piles up across them, as it would in a real hall.
HALL: Hall = make_hall(Path(tempfile.mkdtemp()) / "hall.db", ManualClock(at("09:00")))
ROUTES = [
    (method.upper(), path)
    for path, operations in HALL.client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
    if path != "/api/events"
    for method in operations
]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    route=st.sampled_from(ROUTES),
    body=BODIES,
    value=PATH_VALUES,
    role=ROLES,
    key=st.none() | st.text(max_size=250),
    raw=st.booleans(),
)
def test_no_request_gets_a_server_error(
    *, route: tuple[str, str], body: object, value: str, role: str, key: str | None, raw: bool
) -> None:
    method, template = route
    path = template
    for name in ("{number}", "{ticket_id}", "{code}", "{notice_id}"):
        path = path.replace(name, value)
    headers = auth(role)
    if key is not None and key.isprintable() and key.isascii():
        headers["Idempotency-Key"] = key
    content = json.dumps(body).encode() if not raw else json.dumps(body)[:-1].encode() + b"\x00"
    response = HALL.client.request(
        method, path, content=content, headers=headers | {"Content-Type": "application/json"}
    )
    assert response.status_code < 500, (method, path, body, response.text)
    if response.status_code >= 400:
        payload = response.json()
        assert payload.get("message") or payload.get("detail"), response.text


HOSTILE = ["x\ud800y", "a\x00b", "a\x1b[2Jb", "a\tb", "\u202eevil", "e\u0301", "很" * 300, ""]
PLAUSIBLE: dict[str, object] = {
    "staff": "S0101",
    "role": "A",
    "reason": "午间休息",
    "text": "测试通知",
    "name": "王五",
    "service": "SB",
    "id": "T0009",
    "window": 1,
    "code": "BK-0009",
    "slot_start": "2026-11-23T10:00:00+08:00",
    "services": ["SB"],
    "to_service": "YB",
    "level": "normal",
    "lane": "normal",
    "policy": "fifo",
}


def _body_fields(method: str, template: str) -> list[str]:
    """The properties of a route's JSON body schema (none for a route without a body)."""
    spec: dict[str, Any] = HALL.client.app.openapi()  # type: ignore[attr-defined]
    body = spec["paths"][template][method.lower()].get("requestBody", {})
    refs = re.findall(r'"#/components/schemas/([A-Za-z]+)"', json.dumps(body))
    return [
        name for ref in refs for name in spec["components"]["schemas"][ref].get("properties", {})
    ]


def _busy(hall: Hall) -> None:
    assert hall.post("/api/windows/1/sign-in", "staff1", {"staff": "S0101", "role": "A"})[0] == 200
    for _ in range(3):
        assert hall.post("/api/tickets", "kiosk", {"service": "SB"})[0] == 201
    assert hall.post("/api/notices", "floor", {"text": "测试通知"})[0] == 201


def _live(hall: Hall) -> dict[str, Any]:
    """/api/state, and the first event of /api/events over a real socket: the same snapshot."""
    state = hall.client.get("/api/state", headers=auth("floor"))  # the stream's own role
    assert state.status_code == 200, state.text
    with (
        serving(hall.client.app) as base,
        httpx.Client(base_url=base, timeout=10) as client,
        client.stream("GET", "/api/events", headers=auth("floor")) as stream,
    ):
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(lines) == "event: snapshot"
        snapshot = json.loads(next(lines).removeprefix("data: "))
    assert snapshot["windows"] == state.json()["windows"]
    return dict(state.json())


def test_hostile_text_on_every_mutating_route_then_state_events_and_a_restart_work() -> None:
    folder = Path(tempfile.mkdtemp())
    hall = make_hall(folder / "hall.db", ManualClock(at("09:00")))
    _busy(hall)
    mutating = [(m, p) for m, p in ROUTES if m in ("POST", "PUT", "DELETE")]

    def send(method: str, template: str, value: str, role: str, body: object) -> None:
        path = template
        for name in ("{number}", "{ticket_id}", "{code}", "{notice_id}"):
            path = path.replace(name, value)
        response = hall.client.request(
            method,
            path,
            content=json_body(body),
            headers=auth(role) | {"Content-Type": "application/json"},
        )
        assert response.status_code < 500, (method, path, body, response.text)

    # Every field of every mutating route's body, with each hostile text once (the others
    # plausible, so the engine's own checks run too) ...
    for method, template in mutating:
        fields = _body_fields(method, template)
        for field in fields:
            for text in HOSTILE:
                body = {name: PLAUSIBLE.get(name, "x") for name in fields} | {field: text}
                send(method, template, "1", "admin", body)
    # ... then random hostile bodies.

    @settings(max_examples=EXAMPLES * 4, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        route=st.sampled_from(mutating),
        body=st.dictionaries(st.sampled_from(FIELDS), TEXT | JSON, max_size=6),
        value=PATH_VALUES | TEXT,
        role=st.sampled_from(["admin", "floor", "staff1", "kiosk"]),
    )
    def hostile(route: tuple[str, str], body: object, value: str, role: str) -> None:
        send(*route, quote(value.encode("utf-8", "surrogatepass"), safe=""), role, body)

    hostile()
    before = _live(hall)
    hall.runtime.hub.stop()
    hall.runtime.journal.close()
    restarted = make_hall(hall.db_path, hall.clock)
    try:
        assert _live(restarted) == before
    finally:
        restarted.runtime.hub.stop()
        restarted.runtime.journal.close()
