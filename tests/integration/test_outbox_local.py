"""The outbox storing into the embedded satisfaction API in process: no HTTP, still exactly once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.outbox import SENT_KINDS, RatingOutbox, Send, SendResult
from controller.app.outbox_local import embedded_sender
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.satisfaction.embedded import embedded_satisfaction_app
from controller.settings.hall_config import HallConfig
from tests.conftest import hall_time
from tests.outbox_helpers import (
    OUTBOX_TOKEN,
    READER_TOKEN,
    make_ratings,
    roomy_config,
    sign_in_everyone,
    stored,
)
from tests.servers import serving


@pytest.fixture
def config() -> HallConfig:
    """The example hall with room for a thousand tickets a day."""
    return roomy_config()


def _embedded(config: HallConfig, data: Path, clock: ManualClock) -> tuple[Any, Send]:
    app = embedded_satisfaction_app(
        config, data, outbox_token=OUTBOX_TOKEN, admin_token=READER_TOKEN, clock=clock.now
    )
    return app, embedded_sender(app.state.satisfaction, OUTBOX_TOKEN)


def test_in_process_batches_land_in_the_api_and_a_crash_before_the_cursor_sends_nothing_twice(
    config: HallConfig, tmp_path: Path
) -> None:
    clock, db = ManualClock(hall_time("08:35")), tmp_path / "hall.db"
    runtime = HallRuntime(config, Journal.at_path(db, durable=False), clock)
    first = make_ratings(runtime, clock, 150)
    _app, send = _embedded(config, tmp_path, clock)

    def store_then_crash(stream: str, records: list[dict[str, Any]]) -> SendResult:
        result = send(stream, records)  # stored in satisfaction.db ...
        if stream == "evaluations":
            raise RuntimeError("power cut")  # ... the controller dies before its cursor
        return result

    with pytest.raises(RuntimeError, match="power cut"):
        RatingOutbox(runtime.journal, config, store_then_crash).flush()
    runtime.hub.stop()
    runtime.journal.close()
    # The controller comes back: new journal handle, new embedded API on the same files.
    runtime = HallRuntime(config, Journal.at_path(db, durable=False), clock)
    app, send = _embedded(config, tmp_path, clock)
    outbox = RatingOutbox(runtime.journal, config, send)
    assert outbox.backlog_of() == {"served-tickets": 0, "evaluations": 150}
    second = make_ratings(runtime, clock, 30)
    assert outbox.flush() is True and outbox.backlog() == 0
    with serving(app) as base:
        received = stored(f"{base}/api/v1/evaluations")
    runtime.hub.stop()
    runtime.journal.close()
    assert sorted(r["rating_id"] for r in received) == sorted(first + second)  # each once
    assert {r["outcome"] for r in received} == {"immediate"}


def test_in_process_a_record_the_api_refuses_is_parked_with_its_answer(
    config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("08:35"))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db", durable=False), clock)
    ids = make_ratings(runtime, clock, 5)
    app, send = _embedded(config, tmp_path, clock)

    def one_broken(stream: str, records: list[dict[str, Any]]) -> SendResult:
        fixed = [r | {"level": "great"} if r.get("rating_id") == ids[2] else r for r in records]
        return send(stream, fixed)

    outbox = RatingOutbox(runtime.journal, config, one_broken)
    assert outbox.flush() is True
    with serving(app) as base:
        received = stored(f"{base}/api/v1/evaluations")
    runtime.hub.stop()
    runtime.journal.close()
    assert sorted(r["rating_id"] for r in received) == sorted(set(ids) - {ids[2]})
    [parked] = outbox.parked()
    assert parked["record"]["rating_id"] == ids[2] and "422" in parked["answer"]


def test_only_finished_tickets_and_ratings_wake_the_outbox(
    config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("08:35"))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db", durable=False), clock)
    woken: list[list[str]] = []
    done = threading.Event()

    def wake(batch: Any) -> None:
        woken.append([e.kind for e in batch])
        done.set()

    runtime.hub.subscribe("outbox", wake, kinds=SENT_KINDS)
    sign_in_everyone(runtime)
    service = runtime.config.windows[0].services[0]
    for _ in range(5):
        runtime.execute(cmd.IssueTicket(service))
    runtime.execute(cmd.CallNext(1))
    runtime.execute(cmd.Finish(1, "即办件"))
    assert done.wait(10)
    runtime.hub.stop()
    runtime.journal.close()
    assert woken == [["TicketFinished"]]  # sign-ins, issues and the call woke nothing
