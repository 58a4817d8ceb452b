"""API: every mutating endpoint checks the caller's role."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import Hall, auth


def test_no_token_or_a_wrong_token_is_401(hall: Hall) -> None:
    response = hall.client.post("/api/tickets", json={"service": "SB"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    response = hall.client.post(
        "/api/tickets", json={"service": "SB"}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    response = hall.client.get("/api/state", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("display", "post", "/api/tickets", {"service": "SB"}),
        ("staff1", "post", "/api/tickets", {"service": "SB"}),
        ("kiosk", "post", "/api/windows/1/call-next", None),
        ("display", "post", "/api/windows/1/call-next", None),
        ("staff1", "post", "/api/windows/4/call-next", None),
        ("staff1", "post", "/api/windows/1/close", None),
        ("staff1", "post", "/api/notices", {"text": "x"}),
        ("kiosk", "put", "/api/duty-leader", {"name": "x"}),
        (
            "kiosk",
            "post",
            "/api/appointments",
            {"code": "ABCD-1", "service": "SB", "slot_start": "2026-11-23T10:00:00+08:00"},
        ),
        ("display", "get", "/api/kpis", None),
        ("staff1", "put", "/api/windows/1/services", {"services": ["SB"]}),
    ],
)
def test_roles_are_refused_outside_their_job(
    hall: Hall, role: str, method: str, path: str, body: object
) -> None:
    response = hall.client.request(method.upper(), path, json=body, headers=auth(role))
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "forbidden"


def test_each_role_can_do_its_job(hall: Hall) -> None:
    assert hall.post("/api/tickets", "kiosk", {"service": "SB"})[0] == 201
    assert hall.post("/api/windows/1/sign-in", "staff1", {"staff": "S0101", "role": "A"})[0] == 200
    assert hall.post("/api/windows/1/call-next", "staff1")[0] == 200
    assert hall.post("/api/notices", "floor", {"text": "欢迎"})[0] == 201
    assert hall.client.get("/api/state", headers=auth("display")).status_code == 200
    assert hall.client.get("/api/kpis", headers=auth("floor")).status_code == 200


def test_admin_token_from_the_environment_is_hashed_and_checked() -> None:
    from controller.api.auth import TokenRegistry
    from controller.domain.errors import AuthError
    from controller.settings.hall_config import token_digest

    registry = TokenRegistry([], admin_token="a-long-admin-token-from-env")
    assert registry.caller_for("Bearer a-long-admin-token-from-env").role.value == "admin"
    assert "a-long-admin-token-from-env" not in repr(registry.__dict__)
    assert token_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    with pytest.raises(AuthError):
        TokenRegistry([], admin_token="short")
