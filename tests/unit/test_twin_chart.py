"""The twin's per-hour chart: a Scene from the figures, a PNG from the command line (issue 17)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from display.twin_chart import HEIGHT, SIDE_COLOURS, WIDTH, nice_ceiling, twin_chart_scene
from tests.conftest import MONDAY
from tests.system.test_cli import hallctl


def _figure(mean: float, low: float, high: float) -> dict[str, object]:
    return {"mean": mean, "ci95": [low, high], "seeds": 3}


TWIN = {
    "seeds": [1, 2, 3],
    "what_if": "+2 综合 windows",
    "before": {
        "waiting_by_hour": {"09": _figure(10, 8, 12), "10": _figure(20, 15, 25)},
        "by_hour": {"09": _figure(12, 10, 14), "10": _figure(30, 20, 40)},
    },
    "after": {
        "waiting_by_hour": {"09": _figure(5, 4, 6), "10": _figure(8, 6, 10)},
        "by_hour": {"09": _figure(6, 5, 7), "10": _figure(9, 7, 11)},
    },
}


def test_bars_stand_in_proportion_to_the_figures_with_both_sides_per_hour() -> None:
    scene = twin_chart_scene(TWIN, "青山县 2026-11-23")
    assert (scene.width, scene.height) == (WIDTH, HEIGHT)
    waiting = {b.role: b for b in scene.boxes() if b.role.startswith("bar-waiting_by_hour")}
    assert set(waiting) == {
        f"bar-waiting_by_hour-{side}-{hour}"
        for side in ("before", "after")
        for hour in ("09", "10")
    }
    ten = waiting["bar-waiting_by_hour-before-09"].height
    assert abs(waiting["bar-waiting_by_hour-before-10"].height - 2 * ten) <= 1
    assert abs(waiting["bar-waiting_by_hour-after-09"].height - ten / 2) <= 1
    # the what-if stands beside the base hall, both above the same hour label
    before, after = (
        waiting["bar-waiting_by_hour-before-09"],
        waiting["bar-waiting_by_hour-after-09"],
    )
    assert before.x < after.x < before.x + 2 * before.width + 4
    assert len(scene.boxes("ci")) == 8
    assert "假设 what-if: +2 综合 windows" in [t.text for t in scene.texts("legend")]


def test_without_a_what_if_there_is_one_bar_per_hour() -> None:
    scene = twin_chart_scene({"seeds": [1], "before": TWIN["before"]}, "t")
    roles = [b.role for b in scene.boxes() if b.role.startswith("bar-")]
    assert len(roles) == 4 and all("-before-" in r for r in roles)


def test_the_axis_top_is_a_round_number_at_or_above_the_highest_figure() -> None:
    assert [nice_ceiling(v) for v in (0, 0.3, 7, 12.5, 26, 101)] == [1, 0.5, 10, 20, 50, 200]


def test_simulate_day_draws_the_chart_as_png(tmp_path: Path) -> None:
    target = tmp_path / "charts" / "twin.png"
    result = hallctl(
        "simulate-day",
        "--date",
        MONDAY.isoformat(),
        "--seeds",
        "2",
        "--extra-windows",
        "2",
        "--chart",
        str(target),
    )
    assert result.returncode == 0, result.stderr
    assert str(target) in result.stdout
    with Image.open(target) as image:
        assert image.size == (WIDTH, HEIGHT)
        colours = {colour for _, colour in image.convert("RGB").getcolors(WIDTH * HEIGHT) or []}
    assert SIDE_COLOURS["before"] in colours and SIDE_COLOURS["after"] in colours
    # the side-by-side table: waiting and wait per hour, before and what-if
    assert "等候人数 waiting 现状" in result.stdout and "等候人数 waiting 假设" in result.stdout
