"""Screenshots of the dashboard and console after a simulated morning: `python -m tests.system.browser.dashboard_screenshots`."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from controller.domain import commands as cmd
from controller.domain.ratings import RatingLevel
from controller.sim.arrivals import generate_arrivals
from controller.sim.simulation import HallSimulation
from tests.conftest import MONDAY, hall_time
from tests.required_parts import chromium_path
from tests.system.browser.conftest import CHROMIUM_ARGS
from tests.system.browser.dashboard_helpers import DashboardHall, serve_dashboard_hall

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
# Mostly content citizens, a few 差评: the mix a hall's keypads typically report.
LEVELS = [
    (RatingLevel.VERY_SATISFIED, 0.72),
    (RatingLevel.SATISFIED, 0.17),
    (RatingLevel.BASICALLY_SATISFIED, 0.07),
    (RatingLevel.DISSATISFIED, 0.03),
    (RatingLevel.VERY_DISSATISFIED, 0.01),
]


def simulate_morning(hall: DashboardHall, until: str = "10:40", seed: int = 11) -> None:
    """Citizens and staff from 08:30 to `until` through the real engine; most citizens rate."""
    rng = random.Random(seed)
    presses = 0

    def execute(command: cmd.Command, at: dt.datetime) -> tuple[dict[str, Any], str | None]:
        nonlocal presses
        reply = hall.runtime.execute(command)
        if isinstance(command, cmd.InviteRating) and reply.accepted and rng.random() < 0.85:
            presses += 1
            level = rng.choices([lv for lv, _ in LEVELS], [w for _, w in LEVELS])[0]
            hall.clock.set(hall.clock.now() + dt.timedelta(seconds=rng.uniform(3, 4.5)))
            hall.runtime.execute(
                cmd.PressKey("keypad", "boot-1", presses, command.window, "rate", level.value)
            )
        decision = reply.decision
        if decision is None:
            return reply.result, None
        rejection = decision.rejection
        return decision.result, rejection.reason if rejection else None

    config = hall.runtime.config
    arrivals = generate_arrivals(config, MONDAY, random.Random(seed))
    simulation = HallSimulation(config, MONDAY, execute, seed=seed, arrivals=arrivals)
    end = hall_time(until)
    while (moment := simulation.next_time) is not None and moment <= end:
        hall.clock.set(max(moment, hall.clock.now()))
        simulation.run_until(hall.clock.now())
    hall.clock.set(end)


def stage_floor_situations(hall: DashboardHall) -> None:
    """A paused window with people waiting, a failed ticket print, and a notice on the screens."""
    for window in hall.runtime.snapshot()["windows"]:
        if window["state"] == "idle" and window["waiting"]:
            hall.run(cmd.Pause(window["number"], "临时离开"))
            break
    ticket = hall.run(cmd.IssueTicket("GJJ", needs_print=True))
    hall.run(cmd.RecordPrintFailure(str(ticket["id"]), "entrance-1", "paper_out"))
    hall.run(cmd.PostNotice("今天 16:30 起不动产登记暂停取号，请合理安排时间"))
    hall.clock.set(hall.clock.now() + dt.timedelta(minutes=4))


def main() -> None:
    """Write dashboard.png (1440×900) and console.png (1280×800) into `--out`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as scratch,
        serve_dashboard_hall(Path(scratch), start="08:30") as hall,
    ):
        simulate_morning(hall)
        stage_floor_situations(hall)
        windows = [w for w in hall.runtime.snapshot()["windows"] if w["state"] == "serving"]
        serving = max(windows, key=lambda w: w["waiting"])
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            hall.dashboard(page)
            page.locator("#kpi-satisfaction .value").filter(has_text="%").wait_for()
            page.wait_for_timeout(500)
            page.screenshot(path=str(args.out / "dashboard.png"))
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            hall.console(page, serving["number"])
            page.locator("#materials-list").wait_for()
            page.screenshot(path=str(args.out / "console.png"))
            browser.close()
    print(f"wrote {args.out / 'dashboard.png'} and {args.out / 'console.png'}")


if __name__ == "__main__":
    main()
