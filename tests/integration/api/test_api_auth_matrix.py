"""API auth matrix: every mutating endpoint (and every role-restricted read) refuses a missing
token with 401 and every role outside its job with 403, and lets its own roles through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller.app.clock import ManualClock
from tests.integration.api.conftest import TOKENS, at, auth, make_hall

ROLES = tuple(TOKENS)  # admin, floor, kiosk, display, staff1 (window 1), staff4 (window 4)
FLOOR = {"admin", "floor"}
STAFF_AT_1 = FLOOR | {"staff1"}  # staff4 is staff, but of another window


# (method, OpenAPI path, path to call, body, roles allowed). Window routes act on window 1.
MATRIX: list[tuple[str, str, str, Any, set[str]]] = [
    ("post", "/api/tickets", "/api/tickets", {"service": "SB"}, FLOOR | {"kiosk"}),
    (
        "post",
        "/api/tickets/{ticket_id}/reprint",
        "/api/tickets/T-none/reprint",
        None,
        FLOOR | {"kiosk"},
    ),
    ("post", "/api/tickets/{ticket_id}/void", "/api/tickets/T-none/void", {"reason": "x"}, FLOOR),
    (
        "post",
        "/api/appointments",
        "/api/appointments",
        {"code": "ABCD-1", "service": "SB", "slot_start": "2026-11-23T10:00:00+08:00"},
        FLOOR,
    ),
    (
        "post",
        "/api/appointments/{code}/check-in",
        "/api/appointments/NONE-1/check-in",
        {},
        FLOOR | {"kiosk"},
    ),
    *[
        ("post", f"/api/windows/{{number}}/{action}", f"/api/windows/1/{action}", None, STAFF_AT_1)
        for action in ("sign-out", "call-next", "recall", "no-show", "resume", "invite-rating")
    ],
    ("post", "/api/windows/{number}/open", "/api/windows/1/open", None, FLOOR),
    ("post", "/api/windows/{number}/close", "/api/windows/1/close", None, FLOOR),
    (
        "post",
        "/api/windows/{number}/sign-in",
        "/api/windows/1/sign-in",
        {"staff": "S0101", "role": "A"},
        STAFF_AT_1,
    ),
    ("post", "/api/windows/{number}/pause", "/api/windows/1/pause", {"reason": "x"}, STAFF_AT_1),
    (
        "post",
        "/api/windows/{number}/transfer",
        "/api/windows/1/transfer",
        {"to_service": "SB"},
        STAFF_AT_1,
    ),
    ("post", "/api/windows/{number}/finish", "/api/windows/1/finish", None, STAFF_AT_1),
    (
        "put",
        "/api/windows/{number}/services",
        "/api/windows/1/services",
        {"services": ["SB"]},
        FLOOR,
    ),
    ("post", "/api/notices", "/api/notices", {"text": "测试通知"}, FLOOR),
    ("delete", "/api/notices/{notice_id}", "/api/notices/999", None, FLOOR),
    ("put", "/api/duty-leader", "/api/duty-leader", {"name": "值班领导"}, FLOOR),
    (
        "post",
        "/api/roster/temporary",
        "/api/roster/temporary",
        {"id": "T0001", "name": "临时人员", "window": 1},
        FLOOR,
    ),
    ("post", "/api/outbox/retry", "/api/outbox/retry", None, FLOOR),
]

# Reads that only some roles may make (the public pages and /api/state are covered elsewhere).
RESTRICTED_READS: list[tuple[str, str, str, Any, set[str]]] = [
    ("get", "/api/kpis", "/api/kpis", None, FLOOR),
    ("get", "/api/dashboard", "/api/dashboard", None, FLOOR),
    ("get", "/api/devices", "/api/devices", None, FLOOR),
    ("get", "/api/keypads", "/api/keypads", None, FLOOR),
    ("get", "/api/console/{number}", "/api/console/1", None, STAFF_AT_1),
    ("get", "/api/printers", "/api/printers", None, FLOOR | {"kiosk", "display"}),
    # By sequential id: hall staff only (the public status page goes by its QR code's token).
    (
        "get",
        "/api/tickets/{ticket_id}",
        "/api/tickets/20261123-A999",
        None,
        FLOOR | {"staff1", "staff4"},
    ),
]


@pytest.fixture(scope="module")
def openapi_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The hall API's OpenAPI paths."""
    hall = make_hall(tmp_path_factory.mktemp("openapi") / "hall.db", ManualClock(at("09:00")))
    try:
        paths: dict[str, Any] = hall.client.get("/openapi.json").json()["paths"]
    finally:
        hall.runtime.journal.close()
    return paths


def test_the_matrix_covers_every_mutating_endpoint(openapi_paths: dict[str, Any]) -> None:
    served = {
        (method, path)
        for path, operations in openapi_paths.items()
        for method in operations
        if method in {"post", "put", "patch", "delete"}
    }
    listed = {(method, path) for method, path, *_ in MATRIX}
    assert served == listed, (
        f"not in the matrix: {sorted(served - listed)}; gone: {sorted(listed - served)}"
    )
    read_paths = {path for _, path, *_ in RESTRICTED_READS}
    assert read_paths <= set(openapi_paths), read_paths - set(openapi_paths)


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"),
    [pytest.param(m, url, body, ok, id=f"{m} {url}") for m, _, url, body, ok in MATRIX]
    + [pytest.param(m, url, body, ok, id=f"{m} {url}") for m, _, url, body, ok in RESTRICTED_READS],
)
def test_missing_token_is_401_and_every_wrong_role_403(
    tmp_path: Path, method: str, path: str, body: Any, allowed: set[str]
) -> None:
    hall = make_hall(tmp_path / "hall.db", ManualClock(at("09:00")))
    before = hall.runtime.journal.count()
    try:
        kwargs: dict[str, Any] = {} if body is None else {"json": body}
        response = hall.client.request(method.upper(), path, **kwargs)
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "unauthorized"
        response = hall.client.request(
            method.upper(), path, headers={"Authorization": "Bearer wrong-token-000000"}, **kwargs
        )
        assert response.status_code == 401, response.text
        for role in sorted(set(ROLES) - allowed):
            response = hall.client.request(method.upper(), path, headers=auth(role), **kwargs)
            assert response.status_code == 403, (role, response.text)
            assert response.json()["error"] == "forbidden"
        assert hall.runtime.journal.count() == before, "a refused call changed the hall"
        for role in sorted(allowed):
            response = hall.client.request(method.upper(), path, headers=auth(role), **kwargs)
            assert response.status_code not in {401, 403}, (role, response.text)
    finally:
        hall.runtime.journal.close()
