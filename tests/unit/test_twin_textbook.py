"""With every habit off the twin is the textbook first-come-first-served c-server queue (issue 17).

The recursion is computed here, independently of the twin: citizen i (in arrival order) starts
at max(arrival_i, the earliest moment one of the c windows is free), and that window is then
free again at start + service_i. The twin runs its own arrivals and service times through the
real engine; every ticket's call time must equal the recursion's start exactly.
"""

from __future__ import annotations

import datetime as dt
import heapq
from typing import Any

import pytest

from controller.domain import commands as cmd
from controller.domain.engine import Engine
from controller.domain.hall_rules import WindowConfig
from controller.settings.hall_config import HallConfig
from controller.settings.simulation_habits import Behaviour
from controller.sim.simulation import HallSimulation
from tests.conftest import MONDAY


def one_service_hall(config: HallConfig, windows: int, utilisation: float) -> HallConfig:
    """The example hall with only 社会保障 (SB), `windows` fifo windows and no lunch break."""
    service = config.service("SB")
    assert service is not None
    sb = service.model_copy(update={"daily_quota": 999, "slot_quotas": [], "ticketing_hours": []})
    hours = {day: h.model_copy(update={"lunch": None}) for day, h in config.calendar.hours.items()}
    staff = [
        WindowConfig(
            number=n,
            name=f"社保窗口{n}",
            services=["SB"],
            staff=[{"id": f"T{n:02d}", "name": f"测试{n}", "role": "A"}],
        )
        for n in range(1, windows + 1)
    ]
    return config.model_copy(
        update={
            "services": [sb],
            "windows": staff,
            "calendar": config.calendar.model_copy(update={"hours": hours}),
            "simulation": Behaviour(habits=False, utilisation=utilisation),
        }
    )


def run_twin(config: HallConfig, seed: int) -> tuple[HallSimulation, Engine]:
    engine = Engine(config)

    def execute(command: cmd.Command, now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        decision = engine.handle(command, now)
        return decision.result, decision.rejection.reason if decision.rejection else None

    sim = HallSimulation(config, MONDAY, execute, seed=seed)
    for _ in range(100_000):
        if sim.next_time is None:
            break
        sim.run_until(sim.next_time)
    assert sim.next_time is None, "the simulated day did not end"
    return sim, engine


def textbook_starts(sim: HallSimulation, windows: int, mean: float) -> list[dt.datetime]:
    """First-come-first-served c-server recursion on the twin's arrivals and service times."""
    free = [sim.open_at] * windows
    starts = []
    for visit in sorted(sim.visits, key=lambda v: v.arrival.at):
        start = max(visit.arrival.at, heapq.heappop(free))
        starts.append(start)
        heapq.heappush(free, start + dt.timedelta(minutes=mean * visit.factor))
    return starts


@pytest.mark.parametrize("windows", [1, 2, 4])
@pytest.mark.parametrize("utilisation", [0.6, 0.9, 1.12])
def test_without_habits_every_call_is_the_textbook_queue_exactly(
    hall_config: HallConfig, windows: int, utilisation: float
) -> None:
    config = one_service_hall(hall_config, windows, utilisation)
    for seed in (1, 2):
        sim, engine = run_twin(config, seed)
        assert sim.refused == {} and sim.issued == len(sim.visits) > 20 * windows
        tickets = sorted(engine.state.tickets.values(), key=lambda t: t.issued_at)
        assert [t.issued_at for t in tickets] == [v.arrival.at for v in sim.visits]
        called = [t.first_called_at for t in tickets]
        assert called == textbook_starts(sim, windows, 8.0)  # SB: 8 minutes on average
        waits = [(t.first_called_at - t.issued_at).total_seconds() for t in tickets]  # type: ignore[operator]
        assert max(waits) > 0  # a queue formed: the comparison says something


def test_habits_on_is_not_the_textbook_queue(hall_config: HallConfig) -> None:
    config = one_service_hall(hall_config, 2, 0.9)
    config = config.model_copy(update={"simulation": Behaviour(utilisation=0.9)})
    sim, engine = run_twin(config, 1)
    tickets = sorted(engine.state.tickets.values(), key=lambda t: t.issued_at)
    assert [t.first_called_at for t in tickets] != textbook_starts(sim, 2, 8.0)
