"""A hall live before the central API knows it: its outbox retries with backoff, never parks."""

from __future__ import annotations

from pathlib import Path

import httpx

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.outbox import RatingOutbox, http_sender
from controller.app.runtime import HallRuntime
from controller.satisfaction.app import create_satisfaction_app
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole, SatisfactionTokens
from controller.satisfaction.settings import hall_id_of
from tests.conftest import hall_time
from tests.outbox_helpers import make_ratings, roomy_config, wait_for
from tests.servers import serving

RATINGS = 3
HALL_TOKEN = "hall-token-of-a-hall-not-yet-known-01"
ADMIN_TOKEN = "province-admin-token-for-the-tests-1"


def test_records_of_a_hall_the_api_does_not_know_yet_are_kept_for_retry_not_parked(
    tmp_path: Path,
) -> None:
    config = roomy_config()
    hall = hall_id_of(config.hall)
    clock = ManualClock(hall_time("08:35"))
    tokens = SatisfactionTokens()
    tokens.add(HALL_TOKEN, SatisfactionCaller("new-hall", SatisfactionRole.HALL, hall))
    tokens.add(ADMIN_TOKEN, SatisfactionCaller("省厅", SatisfactionRole.PROVINCE_ADMIN))
    app = create_satisfaction_app(
        f"sqlite:///{tmp_path / 'central.db'}", tokens, {}, clock=clock.now
    )
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db", durable=False), clock)
    try:
        make_ratings(runtime, clock, RATINGS)
        with serving(app) as base:
            url = f"{base}/api/v1/evaluations"
            outbox = RatingOutbox(runtime.journal, config, http_sender(url, HALL_TOKEN))
            assert outbox.flush() is False
            assert outbox.parked() == [], outbox.parked()
            assert outbox.backlog() == 2 * RATINGS  # finished tickets and ratings, all kept
            assert "unknown_hall" in outbox.last_error
            assert outbox.step() > 0 and outbox.failures == 1  # backing off, will try again
            # The province admin registers the hall: the records kept go at the next try.
            added = httpx.post(
                f"{base}/api/v1/halls",
                json={"hall_id": hall},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
            assert added.status_code == 201, added.text
            wait_for(outbox.flush)
            assert outbox.parked() == [] and outbox.backlog() == 0
            assert outbox.delivered == 2 * RATINGS
    finally:
        runtime.hub.stop()
        runtime.journal.close()
        app.state.satisfaction.engine.dispose()
