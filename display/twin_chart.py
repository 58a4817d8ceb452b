"""The twin's per-hour chart as a Scene: citizens waiting and mean wait, before beside what-if."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from display.scene import Box, Colour, Scene, Text

WIDTH, HEIGHT = 1200, 780
_BACKGROUND: Colour = (255, 255, 255)
_INK: Colour = (40, 50, 60)
_GRID: Colour = (225, 230, 236)
_AXIS: Colour = (150, 160, 170)
_WHISKER: Colour = (30, 30, 30)
SIDE_COLOURS: dict[str, Colour] = {"before": (120, 144, 156), "after": (21, 101, 192)}
_PANELS = (
    ("waiting_by_hour", "平均等候人数（人）  citizens waiting, average over the hour"),
    ("by_hour", "平均等候时长（分钟）  mean wait by hour of arrival (min)"),
)
_LEFT, _RIGHT, _TOP = 80, 30, 110


def twin_chart_scene(twin: Mapping[str, Any], title: str) -> Scene:
    """Bars per hour for `twin["before"]` (and `twin["after"]` when there is a what-if), each with
    its 95 % interval as a whisker; the figures of `hallctl simulate-day --json`'s `twin`."""
    sides = [s for s in ("before", "after") if s in twin]
    items: list[Box | Text] = [
        Text(title, _LEFT, 16, WIDTH - _LEFT - _RIGHT, 40, 30, _INK, role="title"),
        *_legend(twin, sides),
    ]
    panel_height = (HEIGHT - _TOP - 20) // len(_PANELS)
    hours = sorted({h for side in sides for key, _ in _PANELS for h in twin[side].get(key, {})})
    for index, (key, label) in enumerate(_PANELS):
        top = _TOP + index * panel_height
        series = {side: twin[side].get(key, {}) for side in sides}
        items += _panel(series, hours, label, top=top, height=panel_height - 20, key=key)
    return Scene(WIDTH, HEIGHT, _BACKGROUND, tuple(items))


def nice_ceiling(value: float) -> float:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten at or above `value` (1 for 0)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def _legend(twin: Mapping[str, Any], sides: list[str]) -> list[Box | Text]:
    names = {"before": "现状 before", "after": f"假设 what-if: {twin.get('what_if', '')}"}
    seeds = twin.get("seeds") or []
    items: list[Box | Text] = []
    x = _LEFT
    for side in sides:
        items.append(Box(x, 66, 22, 22, SIDE_COLOURS[side], role=f"legend-{side}"))
        items.append(Text(names[side], x + 30, 62, 480, 30, 20, _INK, role="legend"))
        x += 520
    note = f"{len(seeds)} 天 / seeds, 竖线 95% CI"
    items.append(Text(note, WIDTH - 330, 62, 300, 30, 18, _AXIS, align="right", role="note"))
    return items


def _panel(
    series: Mapping[str, Mapping[str, Any]],
    hours: list[str],
    label: str,
    *,
    top: int,
    height: int,
    key: str,
) -> list[Box | Text]:
    items: list[Box | Text] = [Text(label, _LEFT, top, 900, 30, 20, _INK, role="panel")]
    plot_top, plot_bottom = top + 40, top + height - 30
    highest = max(
        (
            (figure["ci95"] or [0, figure["mean"] or 0])[1]
            for figures in series.values()
            for figure in figures.values()
        ),
        default=0.0,
    )
    ceiling = nice_ceiling(highest)

    def y(value: float) -> int:
        return round(plot_bottom - (plot_bottom - plot_top) * min(value, ceiling) / ceiling)

    for step in range(6):  # fifths of 1, 2, 2.5 or 5 x 10^k are round
        value = ceiling * step / 5
        items.append(Box(_LEFT, y(value), WIDTH - _LEFT - _RIGHT, 1, _GRID if step else _AXIS))
        items.append(Text(f"{value:g}", 0, y(value) - 12, _LEFT - 10, 24, 16, _AXIS, "right"))
    if not hours:
        return items
    slot = (WIDTH - _LEFT - _RIGHT) / len(hours)
    bar = max(4, round(slot * 0.8 / max(1, len(series))))
    for h_index, hour in enumerate(hours):
        left = _LEFT + h_index * slot + slot * 0.1
        items.append(
            Text(
                f"{hour}时", round(left), plot_bottom + 4, round(slot * 0.8), 24, 16, _INK, "center"
            )
        )
        for s_index, (side, figures) in enumerate(series.items()):
            figure = figures.get(hour)
            if not figure or figure["mean"] is None:
                continue
            x = round(left + s_index * bar)
            mean_y = y(figure["mean"])
            role = f"bar-{key}-{side}-{hour}"
            items.append(
                Box(x, mean_y, bar - 2, max(1, plot_bottom - mean_y), SIDE_COLOURS[side], role=role)
            )
            if figure["ci95"]:
                low, high = (y(v) for v in figure["ci95"])
                items.append(
                    Box(x + bar // 2 - 2, high, 3, max(1, low - high), _WHISKER, role="ci")
                )
    return items
