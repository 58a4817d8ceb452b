"""schemathesis against the hall API's own OpenAPI schema: no server error, and every answer
a documented status with a documented body (refusals included: one ErrorBody shape).

Each operation is called as the admin (who may do everything) on a hall with a staffed window,
a waiting ticket and a notice, so generated cases reach past "not found" now and then.
Bounded: a few examples per operation. The live event stream (SSE) never ends and is left out.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from controller.app.clock import ManualClock
from tests.integration.api.conftest import Hall, at, auth, make_hall

pytestmark = pytest.mark.slow  # every route fuzzed from the OpenAPI schema

STREAMS = {"/api/events"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _operations() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        hall = make_hall(Path(folder) / "hall.db", ManualClock(at("09:00")))
        try:
            paths: dict[str, Any] = hall.client.app.openapi()["paths"]  # type: ignore[attr-defined]
        finally:
            hall.runtime.journal.close()
    return [
        (method.upper(), path)
        for path, methods in paths.items()
        for method in methods
        if path not in STREAMS
    ]


def _busy(hall: Hall) -> None:
    assert hall.post("/api/windows/1/sign-in", "staff1", {"staff": "S0101", "role": "A"})[0] == 200
    for _ in range(3):
        assert hall.post("/api/tickets", "kiosk", {"service": "SB"})[0] == 201
    assert hall.post("/api/notices", "floor", {"text": "测试通知"})[0] == 201


@pytest.mark.parametrize(("method", "path"), _operations())
def test_no_server_error_and_only_documented_answers(hall: Hall, method: str, path: str) -> None:
    _busy(hall)
    schema = schemathesis.openapi.from_asgi("/openapi.json", hall.client.app)
    operation = schema[path][method]
    headers = auth("admin")

    @given(case=operation.as_strategy())
    @settings(
        max_examples=12,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    call()
