"""The digital twin on the dashboard: per-hour waiting and waits, before and with extra windows,
with the hall's own habits measured from its journal.

The twin runs several whole days (about a second each), so an answer is built on a thread, one
at a time, and kept for the same question: the hall's config, day, extra windows and seeds.
"""

from __future__ import annotations

import datetime as dt
import threading
from importlib import resources
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from controller.api.auth import Role, require
from controller.api.deps import CallerDep, RuntimeDep
from controller.app.journal import Journal
from controller.domain.errors import InvalidRequest
from controller.settings.hall_config import HallConfig

router = APIRouter(tags=["twin"])
MAX_SEEDS = 5
MAX_EXTRA_WINDOWS = 6
_KEPT = 16  # answers kept (a handful of questions a day)
HABIT_DAYS = 20  # the hall's habits are measured from its journal's latest days


@router.get("/api/twin/hourly", response_model=dict[str, Any])
async def twin_hourly(
    request: Request,
    *,
    runtime: RuntimeDep,
    caller: CallerDep,
    extra_windows: Annotated[
        int, Query(ge=0, le=MAX_EXTRA_WINDOWS, description="综合 windows added")
    ] = 2,
    seeds: Annotated[int, Query(ge=1, le=MAX_SEEDS, description="simulated days")] = 3,
    day: Annotated[dt.date | None, Query(description="default: the next working day")] = None,
) -> dict[str, Any]:
    """Citizens waiting and mean wait per hour, the base hall beside the hall with extra windows,
    on the same citizens, with 95 % intervals over the seeds (the twin of docs/simulation.md)."""
    require(caller, Role.FLOOR_MANAGER)
    config = runtime.config
    if day is None:
        from controller.sim.simulate_day import next_working_day

        day = next_working_day(config, runtime.clock.now().astimezone(config.zone).date())
    answers: TwinAnswers = request.app.state.twin_answers
    return await anyio.to_thread.run_sync(
        answers.answer, config, day, extra_windows, seeds, runtime.journal
    )


@router.get("/dashboard/twin.js", include_in_schema=False)
def twin_script() -> Response:
    """The dashboard's twin panel (a static script, allowed by the page's script-src 'self')."""
    text = resources.files("controller.api").joinpath("pages", "twin.js").read_text("utf-8")
    return Response(text, media_type="text/javascript; charset=utf-8")


class TwinAnswers:
    """Twin answers by question, built one at a time."""

    def __init__(self) -> None:
        self.builds = 0
        self._lock = threading.Lock()
        self._kept: dict[tuple[Any, ...], dict[str, Any]] = {}

    def answer(
        self,
        config: HallConfig,
        day: dt.date,
        extra_windows: int,
        seeds: int,
        journal: Journal | None = None,
    ) -> dict[str, Any]:
        """The per-hour figures for this question, built unless kept; with the habits and
        service times measured from the journal's latest days when it has any."""
        from controller.domain.calendar import HallCalendar

        if not HallCalendar(config.calendar).is_working_day(day):
            raise InvalidRequest(
                "not_a_working_day", f"{day} is not a working day in this hall's calendar"
            )
        days = tuple(journal.days()[-HABIT_DAYS:]) if journal is not None else ()
        key = (id(config), day, extra_windows, seeds, days)
        with self._lock:  # one twin run at a time: the machine also runs the hall
            kept = self._kept.get(key)
            if kept is None:
                hall, habits = _hall_habits(config, journal, days)
                kept = _build(hall, day, extra_windows, seeds) | {"habits": habits}
                self.builds += 1
                if len(self._kept) >= _KEPT:
                    self._kept.pop(next(iter(self._kept)))
                self._kept[key] = kept
            return kept


def _hall_habits(
    config: HallConfig, journal: Journal | None, days: tuple[dt.date, ...]
) -> tuple[HallConfig, str]:
    from controller.sim.journal_habits import habits_of_journal

    if journal is None or not days:
        return config, "config"
    measured = habits_of_journal(config, journal, days)
    if measured.tickets == 0:
        return config, "config"
    return measured.apply(config), f"measured from {len(measured.days)} journaled days"


def _build(config: HallConfig, day: dt.date, extra_windows: int, seeds: int) -> dict[str, Any]:
    from controller.sim.twin_what_if import WhatIf, twin_figures

    what_if = WhatIf(extra_windows=extra_windows)
    twin, _ = twin_figures(config, what_if.hall(config), what_if, day, list(range(1, seeds + 1)))
    sides = [s for s in ("before", "after") if s in twin]
    out: dict[str, Any] = {
        "day": day.isoformat(),
        "extra_windows": extra_windows,
        "seeds": twin["seeds"],
        "wait_target_minutes": twin["wait_target_minutes"],
        "what_if": twin.get("what_if", ""),
    }
    for side in sides:
        figures = twin[side]
        out[side] = {
            "all": figures["groups"].get("all"),
            "waiting_by_hour": figures["waiting_by_hour"],
            "by_hour": figures["by_hour"],
        }
    if "change" in twin:
        out["change"] = {"all": twin["change"].get("all")}
    return out
