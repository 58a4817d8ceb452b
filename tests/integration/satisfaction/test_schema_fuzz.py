"""schemathesis against the app's own OpenAPI schema: no request gets a server error.

Every operation is called with cases generated from the schema (and some that break it), on
SQLite and on PostgreSQL, with a token of the role the operation is for; answers must be
documented statuses with documented bodies. Bounded: a few examples per operation.
"""

from __future__ import annotations

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

from controller.satisfaction.app import create_satisfaction_app
from controller.satisfaction.auth import SatisfactionTokens
from tests.integration.satisfaction.conftest import PROFILES, Api, auth, record

# The operations, read from a throwaway in-memory app (schemathesis' fixture loader does not
# work with this pytest, so each test builds the schema of its own app below).
OPERATIONS = [
    (method.upper(), path)
    for path, methods in create_satisfaction_app("sqlite://", SatisfactionTokens(), PROFILES)
    .openapi()["paths"]
    .items()
    for method in methods
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_server_error_on_any_operation(api: Api, method: str, path: str) -> None:
    api.ingest(record("r-1"), record("r-2", level="dissatisfied", reasons=["R01"]))
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operation = schema[path][method]
    pushes = method == "POST" and not path.startswith("/api/v1/work-orders")
    headers = auth("hall" if pushes else "supervision")

    @given(case=operation.as_strategy())
    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    call()
