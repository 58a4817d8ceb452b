"""API fuzz: any body, path value or header on any route answers a 4xx or 2xx, never a 5xx."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.clock import ManualClock
from tests.api.conftest import Hall, at, auth, make_hall

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
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
