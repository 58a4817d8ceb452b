"""过号 and the other KPIs are named so they cannot contradict, and defined once (issue: A day on the floor)."""

from __future__ import annotations

import re
from pathlib import Path

from controller.domain import commands as cmd
from controller.domain.engine import Engine
from controller.domain.kpi_definitions import KPI_DEFINITIONS
from controller.domain.kpis import compute_kpis
from tests.engine_helpers import At, issue, ok, sign_in

DOC = Path(__file__).parents[2] / "docs" / "dashboard-and-console.md"


def _kpis(engine: Engine, at: At) -> dict[str, object]:
    state = engine.state
    assert state.day is not None
    return compute_kpis(
        state.tickets.values(),
        state.attendance,
        day=state.day,
        now=at("12:00"),
        overtime_minutes=30,
    )


def test_no_show_events_tickets_and_drops_are_counted_apart(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    issue(engine, "SB", at("09:01"))
    issue(engine, "SB", at("09:02"))
    ok(engine.handle(cmd.CallNext(1), at("09:03")))
    ok(engine.handle(cmd.NoShow(1), at("09:05")))  # A001 re-queued (the example hall's policy)
    kpis = _kpis(engine, at)
    assert "no_show" not in kpis  # the old name counted dropped tickets beside a rate of events
    assert (kpis["no_show_events"], kpis["no_show_tickets"], kpis["no_show_dropped"]) == (1, 1, 0)
    assert (kpis["no_show_rate"], kpis["no_show_dropped_rate"]) == (1.0, 0.0)
    ok(engine.handle(cmd.CallNext(1), at("09:06")))
    ok(engine.handle(cmd.Finish(1, "即办件"), at("09:10")))
    ok(engine.handle(cmd.CallNext(1), at("09:11")))
    ok(engine.handle(cmd.NoShow(1), at("09:12")))  # A001 again: past max_requeues, dropped
    kpis = _kpis(engine, at)
    assert (kpis["no_show_events"], kpis["no_show_tickets"], kpis["no_show_dropped"]) == (2, 1, 1)
    assert (kpis["called"], kpis["no_show_rate"], kpis["no_show_dropped_rate"]) == (2, 0.5, 0.5)


def test_every_kpi_figure_has_exactly_one_definition_and_the_api_carries_them(
    engine: Engine, at: At
) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    issue(engine, "SB", at("09:01"))
    kpis = _kpis(engine, at)
    figures = set(kpis["by_service"]["SB"])  # type: ignore[index]
    assert figures == set(KPI_DEFINITIONS)
    definitions = kpis["definitions"]
    assert definitions["no_show_rate"] == {  # type: ignore[index]
        "label": "过号率",
        "definition": "过号票数 ÷ 已叫号票数",
    }
    labels = [label for label, _ in KPI_DEFINITIONS.values()]
    assert len(labels) == len(set(labels))


def test_the_docs_list_each_kpi_with_its_definition() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|$", text, flags=re.MULTILINE))
    assert {key: rows.get(key, "").strip() for key in KPI_DEFINITIONS} == {
        key: definition for key, (_, definition) in KPI_DEFINITIONS.items()
    }
