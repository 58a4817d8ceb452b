"""Runs of 非常满意 against the window's own baseline (or the hall prior), and flags on the floor."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from controller.app.snapshot import build_snapshot
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Decision, Engine
from controller.settings.hall_config import HallConfig
from tests.conftest import hall_time
from tests.engine_helpers import At, issue, ok, sign_in

START = hall_time("08:31")
TOP = "very_satisfied"


class Window:
    """Serves one citizen after another at a window and lets each rate at once."""

    def __init__(self, engine: Engine, number: int) -> None:
        self.engine, self.number, self.served = engine, number, 0

    def serve_and_rate(self, level: str) -> Decision:
        """Issue, call, finish, invite and rate (80 s after the call) one SB ticket."""
        now = START + dt.timedelta(minutes=3 * self.served, seconds=self.number)
        self.served += 1
        issue(self.engine, "SB", now)
        n = self.number
        ok(self.engine.handle(cmd.CallNext(n), now + dt.timedelta(seconds=10)))
        ok(self.engine.handle(cmd.Finish(n, "即办件"), now + dt.timedelta(seconds=60)))
        ok(self.engine.handle(cmd.InviteRating(n), now + dt.timedelta(seconds=61)))
        press = cmd.PressKey(f"kp-{n}", "b", self.served, n, "rate", level, raw="rate")
        return ok(self.engine.handle(press, now + dt.timedelta(seconds=80)))

    def rate_all(self, levels: list[str]) -> list[int]:
        """Rate each level in turn; the 1-based positions whose rating was flagged top_run."""
        return [
            i
            for i, level in enumerate(levels, 1)
            if any(
                isinstance(e, ev.RatingFlagged) and e.flag == "top_run"
                for e in self.serve_and_rate(level).events
            )
        ]


def at_window_1(engine: Engine) -> Window:
    sign_in(engine, 1, "S0101", START - dt.timedelta(minutes=1))
    return Window(engine, 1)


def test_a_long_top_run_is_flagged_in_a_hall_where_one_window_rates(engine: Engine) -> None:
    # Only window 1 rates, all 非常满意: the hall's own share is that window's, so a hall-wide
    # baseline could never flag it. With no history before the run, the hall prior rules.
    rules = engine.config.ratings
    first = math.ceil(math.log(rules.top_run_probability) / math.log(rules.top_run_prior_share))
    flagged = at_window_1(engine).rate_all([TOP] * 20)
    assert flagged == [first] and first == 14  # one flag per run, not one per rating in it
    flag = engine.state.ratings.flags[0]
    assert flag.flag == "top_run" and "本大厅设定的基准" in flag.detail


def test_a_window_whose_mix_is_mostly_top_is_not_flagged_for_a_run(engine: Engine) -> None:
    window = at_window_1(engine)
    history = ([TOP] * 9 + ["satisfied"]) * 3  # 90 % 非常满意 today before the run
    assert window.rate_all(history) == []
    assert window.rate_all([TOP] * 15) == []  # at the hall prior the 14th would be flagged
    assert engine.state.ratings.top_run[1] == 15


def test_a_run_beyond_the_windows_own_baseline_is_flagged(engine: Engine) -> None:
    window = at_window_1(engine)
    history = ["satisfied", TOP, "basically_satisfied", "satisfied"] * 6  # 25 % 非常满意
    assert window.rate_all(history) == []
    flagged = window.rate_all([TOP] * 9)
    # (6+1)/(24+2) = 27 %: six in a row are already below 1 in 1,000; runs are checked from 8.
    assert flagged == [8]  # the 9th extends the flagged run: no second alert for one cause
    assert "本窗口此前的水平" in engine.state.ratings.flags[0].detail
    again = window.rate_all(["satisfied", *[TOP] * 12])  # a new run is flagged anew, once
    assert len(again) == 1 and again[0] > 8


def test_the_prior_and_the_look_back_are_settings(hall_config: HallConfig) -> None:
    rules = hall_config.ratings.model_copy(update={"top_run_prior_share": 0.9})
    engine = Engine(hall_config.model_copy(update={"ratings": rules}))
    assert at_window_1(engine).rate_all([TOP] * 30) == []  # 0.9 ** 30 = 4 %

    rules = hall_config.ratings.model_copy(update={"top_run_lookback": 10})
    engine = Engine(hall_config.model_copy(update={"ratings": rules}))
    window = at_window_1(engine)
    # 30 ratings, half at the top, then a run: at the default look-back the window's 50 %
    # would flag the 10th; seeing only the last 10 before the run (too few), the prior decides.
    assert window.rate_all([TOP, "satisfied"] * 15) == []
    assert window.rate_all([TOP] * 14) == [14]


@pytest.mark.parametrize(
    "flag", ["top_run", "fast_after_finish", "fast_after_invite", "invited_late"]
)
def test_every_flag_of_an_accepted_rating_reaches_the_floor_alerts(
    engine: Engine, at: At, flag: str
) -> None:
    window = at_window_1(engine)
    if flag == "top_run":
        window.rate_all([TOP] * 14)
    else:
        issue(engine, "SB", at("09:30"))
        ok(engine.handle(cmd.CallNext(1), at("09:31")))
        ok(engine.handle(cmd.Finish(1, "即办件"), at("09:35")))
        invited = {"fast_after_finish": "09:35", "fast_after_invite": "09:35:20"}
        ok(engine.handle(cmd.InviteRating(1), at(invited.get(flag, "09:36:30"))))
        pressed = {"fast_after_finish": "09:35:01.500", "fast_after_invite": "09:35:21"}
        when = at(pressed.get(flag, "09:36:45"))
        press = cmd.PressKey("kp-1", "b", 99, 1, "rate", "satisfied", raw="rate")
        ok(engine.handle(press, when))
    alerts = build_snapshot(engine, at("09:40"))["alerts"]
    floor = [a for a in alerts if a["kind"] == "rating_flag"]
    assert [a["flag"] for a in floor] == [flag]
    assert floor[0]["window"] == 1 and "1号窗口" in floor[0]["message"]
