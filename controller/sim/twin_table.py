"""The twin's figures as text tables: a day's KPIs, and before / what-if / change side by side."""

from __future__ import annotations

from typing import Any

from controller.domain.kpi_definitions import kpi_label

KPI_LINES = [
    ("issued", "issued"),
    ("served", "served"),
    ("expired", "expired"),
    ("average_wait_minutes", "avg wait (min)"),
    ("max_wait_minutes", "max wait (min)"),
    ("average_service_minutes", "avg service (min)"),
    ("overtime_rate", "over-wait rate"),
    ("no_show_events", "no-show presses"),
    ("no_show_rate", "no-show rate (tickets)"),
    ("no_show_dropped", "dropped as no-show"),
]
_HEADS = {"before": "现状 before", "after": "假设 what-if", "change": "变化 change (paired)"}
_WIDTH = 26


def fmt(value: object) -> str:
    """A KPI value for a table cell: '-' for none, small shares with 4 decimals."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if value < 1 and value != 0 else f"{value:.1f}"
    return str(value)


def print_kpis(kpis: dict[str, Any], indent: str = "  ") -> None:
    """One day's KPIs, then issued / served / waits per service."""
    for key, label in KPI_LINES:
        print(f"{indent}{kpi_label(key) + ' ' + label:<28} {fmt(kpis.get(key))}")
    print(f"{indent}按业务 / by service:")
    for code, row in kpis["by_service"].items():
        print(
            f"{indent}  {code:<5} issued {row['issued']:>4}  served {row['served']:>4}  "
            f"avg wait {fmt(row['average_wait_minutes']):>6}  max {fmt(row['max_wait_minutes']):>6}"
        )


def cell(figure: dict[str, Any] | None, percent: bool = False) -> str:
    """`mean [low, high]` of a figure over seeds (percent: shares as %), '-' when none."""
    if not figure or figure["mean"] is None:
        return "-"
    scale, unit = (100.0, "%") if percent else (1.0, "")
    text = f"{figure['mean'] * scale:.1f}{unit}"
    if figure["ci95"]:
        low, high = (v * scale for v in figure["ci95"])
        text += f" [{low:.1f}, {high:.1f}]"
    return text


def print_twin(twin: dict[str, Any], changed: bool) -> None:
    """Waits per service (mean, p50, p90, share within target, share never called) and per
    hour, side by side."""
    columns = ["before", "after", "change"] if changed else ["before"]
    print("  等候 wait (min), mean over seeds [95% CI]; a citizen never called waits to the end")
    print(f"  {'':<18}" + "".join(f"{_HEADS[c]:<{_WIDTH}}" for c in columns))
    target = f"<= {twin['wait_target_minutes']:g} min"
    for name in twin["before"]["groups"]:
        stats: tuple[str, ...] = ("mean", "p90")
        if name == "all":
            stats = ("mean", "p50", "p90", "within_target", "not_called")
        for stat in stats:
            label = {"within_target": target, "not_called": "not called"}.get(stat, stat)
            cells = []
            for column in columns:
                groups = twin[column] if column == "change" else twin[column]["groups"]
                share = stat in ("within_target", "not_called")
                cells.append(cell(groups.get(name, {}).get(stat), share))
            who = name if stat == stats[0] else ""
            print(f"  {who:<6}{label:<12}" + "".join(f"{c:<{_WIDTH}}" for c in cells))
    _print_hours(twin, changed)


def _print_hours(twin: dict[str, Any], changed: bool) -> None:
    kinds = ("waiting_by_hour", "by_hour")
    sides = ("before", "after") if changed else ("before",)
    heads = {"waiting_by_hour": "等候人数 waiting", "by_hour": "等候 wait (min)"}
    print("  按时段 / by hour (waiting: citizens waiting on average; wait: by hour of arrival)")
    print(
        f"  {'':<8}"
        + "".join(
            f"{heads[k] + ' ' + _HEADS[s].split()[0]:<{_WIDTH}}" for k in kinds for s in sides
        )
    )
    hours = sorted({h for s in sides for k in kinds for h in twin[s].get(k, {})})
    for hour in hours:
        cells = [cell(twin[s].get(k, {}).get(hour)) for k in kinds for s in sides]
        print(f"  {hour}:00{'':<3}" + "".join(f"{c:<{_WIDTH}}" for c in cells))
