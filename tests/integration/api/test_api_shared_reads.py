"""The shared reads: one build per change of the hall, answers equal to FastAPI's own encoding."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor

from fastapi.encoders import jsonable_encoder

from controller.api.shared_reads import SharedReads, encode_json
from controller.domain import commands as cmd
from tests.integration.api.conftest import Hall, auth


def _reads(hall: Hall) -> SharedReads:
    reads: SharedReads = hall.client.app.state.shared_reads  # type: ignore[attr-defined]
    return reads


def test_a_burst_of_reads_builds_the_snapshot_once_and_an_event_rebuilds_it(hall: Hall) -> None:
    reads = _reads(hall)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: hall.client.get("/api/state", headers=auth("floor")), range(20))
        )
    assert {a.status_code for a in answers} == {200} and len({a.content for a in answers}) == 1
    assert reads.builds == 1
    hall.runtime.execute(cmd.IssueTicket("SB"))
    fresh = hall.client.get("/api/state", headers=auth("floor")).json()
    assert reads.builds == 2
    assert next(s for s in fresh["services"] if s["code"] == "SB")["waiting"] == 1


def test_the_hall_clock_moving_on_rebuilds_without_an_event(hall: Hall) -> None:
    first = hall.client.get("/api/state", headers=auth("floor")).json()
    hall.clock.advance(90)
    later = hall.client.get("/api/state", headers=auth("floor")).json()
    moved = dt.datetime.fromisoformat(later["hall"]["now"]) - dt.datetime.fromisoformat(
        first["hall"]["now"]
    )
    assert moved == dt.timedelta(seconds=90)


def test_the_encoding_is_what_fastapi_would_send(hall: Hall) -> None:
    hall.runtime.execute(cmd.SignIn(1, "S0101", "A"))
    hall.runtime.execute(cmd.IssueTicket("SB"))
    hall.runtime.execute(cmd.CallNext(1))
    for value in (hall.runtime.snapshot(), hall.runtime.kpis()):
        assert json.loads(encode_json(value)) == jsonable_encoder(value)
