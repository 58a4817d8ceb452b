"""Staff cannot bury their own 差评 (issue 11, item 3): every sign-in the hall takes reaches the
satisfaction API with its finished tickets and ratings; none is parked for its staff id's shape.

The real hall API (sign-in, temporary staff), the real keypad path and the real satisfaction API
on uvicorn with the hall's outbox between them.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from controller.api.app import create_app
from controller.api.auth import TokenRegistry
from controller.api.schemas import SignInRequest
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.outbox import RatingOutbox, http_sender
from controller.app.runtime import HallRuntime
from controller.satisfaction.models_served import ServedTicketCreate
from tests.conftest import hall_time
from tests.integration.api.conftest import TOKENS, auth
from tests.integration.satisfaction.pg_server import free_port
from tests.outbox_helpers import (
    OUTBOX_TOKEN,
    roomy_config,
    satisfaction_api,
    serve,
    stored,
    wait_for,
)

SERVED = {
    "hall_id": "QSXZWFWZX",
    "ticket_id": "20261123-A001",
    "number": "A001",
    "window": 1,
    "service": "SB",
    "finished_at": "2026-11-23T09:05:00+08:00",
}


def test_a_sign_in_the_satisfaction_api_would_refuse_is_refused_and_a_temporary_one_is_rated(
    tmp_path: Path,
) -> None:
    config, clock = roomy_config(), ManualClock(hall_time("09:00"))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db"), clock)
    registry = TokenRegistry([])
    for token, caller in TOKENS.values():
        registry.add(token, caller)
    client = TestClient(create_app(runtime, registry))
    with satisfaction_api(config, tmp_path, free_port(), clock) as url:
        outbox = RatingOutbox(runtime.journal, config, http_sender(url, OUTBOX_TOKEN, timeout=2))
        runtime.hub.subscribe("outbox", outbox.wake)
        runtime.add_alert_source(outbox.alerts)
        outbox.start()
        try:
            refused = client.post(
                "/api/windows/1/sign-in",
                json={"staff": "张三 <b>", "role": "A"},
                headers=auth("staff1"),
            )
            assert refused.status_code == 422, refused.text
            added = client.post(
                "/api/roster/temporary",
                json={"id": "T0101", "name": "张三", "window": 1},
                headers=auth("floor"),
            )
            assert added.status_code == 201, added.text
            signed = client.post(
                "/api/windows/1/sign-in",
                json={"staff": "T0101", "role": "B"},
                headers=auth("staff1"),
            )
            assert signed.status_code == 200, signed.text
            ticket = serve(runtime, clock, 1, rating="very_dissatisfied")
            wait_for(lambda: outbox.backlog() == 0 and outbox.delivered == 2)
            received = stored(url)
            assert [(r["ticket_id"], r["staff_id"], r["level"]) for r in received] == [
                (ticket, "T0101", "very_dissatisfied")
            ]
            assert not [a for a in runtime.snapshot()["alerts"] if a["kind"].startswith("outbox")]
        finally:
            outbox.stop()
            runtime.hub.stop()
            runtime.journal.close()


@settings(max_examples=300, deadline=None)
@given(staff=st.text(max_size=40) | st.from_regex(r"[A-Za-z0-9_ -]{1,34}", fullmatch=True))
def test_every_staff_id_the_hall_accepts_the_satisfaction_api_accepts(staff: str) -> None:
    try:
        accepted = SignInRequest.model_validate_json(json.dumps({"staff": staff, "role": "A"}))
    except ValidationError:
        return
    record = ServedTicketCreate.model_validate(SERVED | {"staff_id": accepted.staff})
    assert record.staff_id == staff


def test_the_hall_refuses_what_the_satisfaction_api_refuses() -> None:
    for staff in ("张三 <b>", "T 0301", "临时01", "S" * 33, "S0101\t", ""):
        try:
            ServedTicketCreate.model_validate(SERVED | {"staff_id": staff})
        except ValidationError:
            pass
        else:
            raise AssertionError(f"the satisfaction API took {staff!r}")
        hall = TypeAdapter(SignInRequest)
        try:
            hall.validate_python({"staff": staff, "role": "A"})
        except ValidationError:
            continue
        raise AssertionError(f"the hall took {staff!r}, which the satisfaction API refuses")
