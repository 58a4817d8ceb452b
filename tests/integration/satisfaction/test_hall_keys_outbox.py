"""Two halls' controllers (their outbox unchanged) push the same ticket and rating ids centrally."""

from __future__ import annotations

from pathlib import Path

import httpx

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.outbox import RatingOutbox, http_sender
from controller.app.runtime import HallRuntime
from controller.satisfaction.app import create_satisfaction_app
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole, SatisfactionTokens
from controller.satisfaction.settings import hall_id_of, profile_from_config
from controller.settings.hall_config import HallConfig
from tests.conftest import hall_time
from tests.outbox_helpers import READER, READER_TOKEN, make_ratings, roomy_config, stored
from tests.servers import serving

RATINGS = 12


def _second_hall(config: HallConfig) -> HallConfig:
    """The same hall layout under another region and department: another hall id."""
    hall = config.hall.model_copy(update={"region_code": "330102", "department_code": "XCQZWFW"})
    return config.model_copy(update={"hall": hall})


def test_two_controllers_with_the_same_ids_deliver_everything_and_park_nothing(
    tmp_path: Path,
) -> None:
    configs = [roomy_config()]
    configs.append(_second_hall(configs[0]))
    halls = [hall_id_of(c.hall) for c in configs]
    clock = ManualClock(hall_time("08:35"))
    tokens = SatisfactionTokens()
    tokens.add(READER_TOKEN, SatisfactionCaller("province", SatisfactionRole.READER))
    for hall in halls:
        tokens.add(f"{hall}-outbox-token", SatisfactionCaller(hall, SatisfactionRole.HALL, hall))
    profiles = {hall_id_of(c.hall): profile_from_config(c) for c in configs}
    app = create_satisfaction_app(
        f"sqlite:///{tmp_path / 'central.db'}", tokens, profiles, clock=clock.now
    )
    runtimes = [
        HallRuntime(c, Journal.at_path(tmp_path / f"hall-{n}.db", durable=False), clock)
        for n, c in enumerate(configs)
    ]
    try:
        ids = [make_ratings(runtime, clock, RATINGS) for runtime in runtimes]
        assert ids[0] == ids[1]  # both halls' days run alike: the same ticket and rating ids
        with serving(app) as base:
            url = f"{base}/api/v1/evaluations"
            for runtime, hall in zip(runtimes, halls, strict=True):
                outbox = RatingOutbox(
                    runtime.journal, runtime.config, http_sender(url, f"{hall}-outbox-token")
                )
                assert outbox.flush() is True, outbox.last_error
                assert outbox.parked() == [] and outbox.backlog() == 0
            received = stored(url)
            kpis = httpx.get(f"{base}/api/v1/kpis", headers=READER).json()
        for hall in halls:
            assert sorted(r["rating_id"] for r in received if r["hall_id"] == hall) == sorted(
                ids[0]
            )
        assert {(r["hall_id"], r["served"], r["rated"]) for r in kpis["rows"]} == {
            (hall, RATINGS, RATINGS) for hall in halls
        }
    finally:
        for runtime in runtimes:
            runtime.hub.stop()
            runtime.journal.close()
        app.state.satisfaction.engine.dispose()
