"""Helpers for engine scenario tests: run commands, check outcomes, tune the config."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from controller.domain import commands as cmd
from controller.domain.engine import Decision, Engine
from controller.domain.errors import CommandRejected
from controller.settings.hall_config import HallConfig


class At(Protocol):
    """The `at` fixture: at("09:30") or at("09:30", day=date) -> aware hall-local time."""

    def __call__(self, hhmm: str, day: dt.date = ...) -> dt.datetime: ...


def kinds(decision: Decision) -> list[str]:
    """The kinds of the events a decision emitted, in order."""
    return [event.kind for event in decision.events]


def ok(decision: Decision) -> Decision:
    """Assert the command was accepted; return the decision for chaining."""
    assert decision.rejection is None, f"rejected: {decision.rejection}"
    return decision


def refused(
    decision: Decision, reason: str, *, kind: type[CommandRejected] | None = None
) -> Decision:
    """Assert the command was refused with this reason code (and of this kind of refusal)."""
    assert decision.rejection is not None, f"accepted: {decision.result}"
    assert decision.rejection.reason == reason, str(decision.rejection)
    if kind is not None:
        assert type(decision.rejection) is kind, type(decision.rejection)
    return decision


def issue(
    engine: Engine,
    service: str,
    now: dt.datetime,
    *,
    lane: str = "normal",
    reason: str | None = None,
) -> dict[str, Any]:
    """Issue a ticket that must be accepted; returns its result (id, number, ahead, ...)."""
    return ok(engine.handle(cmd.IssueTicket(service, lane, reason), now)).result


def sign_in(engine: Engine, window: int, staff_id: str, now: dt.datetime, role: str = "A") -> None:
    """Sign a rostered staff member in; must be accepted."""
    ok(engine.handle(cmd.SignIn(window, staff_id, role), now))


def call(engine: Engine, window: int, now: dt.datetime) -> str:
    """Call the next ticket at a window; must be accepted; returns the called number."""
    return str(ok(engine.handle(cmd.CallNext(window), now)).result["number"])


def finish(engine: Engine, window: int, now: dt.datetime, outcome: str | None = None) -> None:
    """Finish the window's current ticket; must be accepted."""
    ok(engine.handle(cmd.Finish(window, outcome), now))


def serve_all(engine: Engine, window: int, now: dt.datetime, limit: int = 50) -> list[str]:
    """Call and finish at one window until its queue is empty; the numbers in call order."""
    numbers: list[str] = []
    for _ in range(limit):
        decision = engine.handle(cmd.CallNext(window), now)
        if decision.rejection is not None:
            assert decision.rejection.reason == "queue_empty", str(decision.rejection)
            break
        numbers.append(str(decision.result["number"]))
        finish(engine, window, now, "即办件")
    return numbers


def waiting_numbers(engine: Engine, service: str) -> set[str]:
    """The numbers waiting in a service's queue."""
    return {t.number for t in engine.state.waiting.get(service, {}).values()}


def tuned(config: HallConfig, **sections: dict[str, Any]) -> HallConfig:
    """A copy of the config with fields of sub-models changed: tuned(c, queue={...})."""
    update = {
        name: getattr(config, name).model_copy(update=changes) for name, changes in sections.items()
    }
    return config.model_copy(update=update)


def with_service(config: HallConfig, code: str, **changes: Any) -> HallConfig:
    """A copy of the config with one service's fields changed."""
    services = [s.model_copy(update=changes) if s.code == code else s for s in config.services]
    return config.model_copy(update={"services": services})
