"""Auth: every mutating endpoint refuses a missing token and every wrong role or hall."""

from __future__ import annotations

import pytest

from controller.satisfaction.auth import SatisfactionTokenConfig, SatisfactionTokens
from controller.satisfaction.workorders import TRANSITIONS, Action
from tests.integration.satisfaction.conftest import HALL_A, HALL_B, TOKENS, Api, auth, record

SERVED = {
    "hall_id": HALL_A,
    "day": "2026-11-23",
    "window": 1,
    "staff_id": "S0101",
    "service": "SB",
    "served": 3,
}
ACTION_PATHS = [f"/api/v1/work-orders/1/{a.value}" for a in Action]
TICKET = {
    "hall_id": HALL_A,
    "ticket_id": "20261123-A001",
    "number": "A001",
    "window": 1,
    "staff_id": "S0101",
    "service": "SB",
    "finished_at": "2026-11-23T09:30:40+08:00",
}
PUSHES = ["/api/v1/evaluations", "/api/v1/served", "/api/v1/served-tickets"]
MUTATING = [*PUSHES, *ACTION_PATHS]
READS = [
    "/api/v1/evaluations",
    f"/api/v1/evaluations/20261123-A001?hall_id={HALL_A}",
    "/api/v1/kpis",
    "/api/v1/work-orders",
    "/api/v1/work-orders/1",
    "/api/v1/exports/evaluations",
    "/api/v1/exports/kpis",
    "/api/v1/exchange/evaluations",
]


def _body(path: str) -> dict[str, object]:
    if path.endswith("/evaluations"):
        return {"records": [record()]}
    if path.endswith("/served"):
        return {"counts": [SERVED]}
    if path.endswith("/served-tickets"):
        return {"tickets": [TICKET]}
    return {"note": "回访核实"}


@pytest.fixture
def seeded(api: Api) -> Api:
    """Hall A with one 差评 (work order 1)."""
    api.ingest(record(level="dissatisfied", reasons=["R01"]))
    return api


def test_no_token_a_wrong_scheme_or_an_unknown_token_is_401(seeded: Api) -> None:
    for path in MUTATING + READS:
        method = seeded.client.post if path in MUTATING else seeded.client.get
        kwargs = {"json": _body(path)} if path in MUTATING else {}
        for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"}):
            response = method(path, headers=headers, **kwargs)
            assert response.status_code == 401, (path, headers, response.text)
            assert response.json()["error"] == "unauthorized"
            assert response.headers["WWW-Authenticate"] == "Bearer"
    assert seeded.get("/api/v1/work-orders/1")[1]["state"] == "open"


@pytest.mark.parametrize("path", PUSHES)
def test_only_a_hall_token_pushes_records(seeded: Api, path: str) -> None:
    for role in ("floor", "floor_b", "supervision", "supervision_b", "reader"):
        status, body = seeded.post(path, role, _body(path))
        assert status == 403 and body["error"] == "forbidden", (role, body)
        assert "无权" in body["message"]


@pytest.mark.parametrize("path", PUSHES)
def test_a_hall_token_writes_only_its_own_hall(seeded: Api, path: str) -> None:
    status, body = seeded.post(path, "hall_b", _body(path))
    assert status == 403
    assert HALL_A in body["message"] and HALL_B in body["message"]
    field = {"evaluations": "records", "served": "counts", "served-tickets": "tickets"}
    assert f"{field[path.rsplit('/', 1)[1]]}.0.hall_id" in body["message"]


def _wrong_roles(action: Action) -> list[str]:
    allowed = {c.role for _, c in TOKENS.values() if c.role in TRANSITIONS[action].roles}
    roles = [name for name, (_, c) in TOKENS.items() if c.role not in allowed]
    return list(dict.fromkeys([*roles, "floor_b", "supervision_b"]))  # + right role, other hall


def test_work_order_steps_refuse_wrong_roles_and_halls(seeded: Api) -> None:
    for action in Action:
        for role in _wrong_roles(action):
            path = f"/api/v1/work-orders/1/{action.value}"
            status, body = seeded.post(path, role, {"note": "x"})
            right_role = TOKENS[role][1].role in TRANSITIONS[action].roles
            if role in ("floor_b", "supervision_b") and right_role:
                # The right role of another hall: hall A's order is not there for it at all.
                assert status == 404 and body["error"] == "no_such_work_order", (action, role)
                assert HALL_A not in body["message"]
                continue
            assert status == 403, (action, role, body)
            assert body["error"] == "forbidden"
    assert seeded.get("/api/v1/work-orders/1")[1]["state"] == "open"
    assert seeded.get("/api/v1/work-orders/1")[1]["history"] == []


def test_a_hall_bound_token_reads_only_its_hall(seeded: Api) -> None:
    for role in ("hall_b", "floor_b", "supervision_b"):
        # Ids are hall-local: hall B's token looks among hall B's, where these are not.
        for path in ("/api/v1/evaluations/20261123-A001", "/api/v1/work-orders/1"):
            status, body = seeded.get(path, role)
            assert status == 404 and HALL_A not in body["message"], (role, path)
        status, body = seeded.get("/api/v1/evaluations/20261123-A001", role, hall_id=HALL_A)
        assert status == 403 and "query.hall_id" in body["message"]
        status, body = seeded.get("/api/v1/kpis", role, hall_id=HALL_A)
        assert status == 403 and "query.hall_id" in body["message"]
        status, body = seeded.get("/api/v1/evaluations", role)
        assert status == 200 and body["count"] == 0  # its own hall: nothing there


def test_own_hall_and_unbound_tokens_read(seeded: Api) -> None:
    for role in ("hall", "floor", "supervision", "reader"):
        for path in READS:
            response = seeded.client.get(path, headers=auth(role))
            assert response.status_code == 200, (role, path, response.text)


def test_tokens_are_kept_as_digests_and_hall_roles_need_a_hall() -> None:
    digest = "a" * 64
    registry = SatisfactionTokens([SatisfactionTokenConfig(name="p", role="reader", sha256=digest)])
    assert list(registry._by_digest) == [digest]
    with pytest.raises(ValueError, match="must name its hall_id"):
        SatisfactionTokenConfig(name="h", role="hall", sha256=digest)
    registry.add("a-secret-token-0001", TOKENS["reader"][1])
    assert "a-secret-token-0001" not in repr(registry.__dict__)
    assert registry.caller_for("Bearer a-secret-token-0001").role.value == "reader"
