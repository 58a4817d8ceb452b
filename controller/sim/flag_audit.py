"""Self-rating flags (擅自按键) measured, not guessed: seeded simulated days through the real engine.

Honest days: citizens rate when invited, 3-75 s later (often after the next call, a lunch pause
or the closing sign-out); no rating is the staff's. Planted days add the dishonest habits the
flags exist for, each recorded as a case: staff pressing 非常满意 right after their own
invitation (`self_rate`), inviting a minute or more after the citizen left and rating themselves
(`late_invite`), pressing a rating key while paused with nobody invited (`away_press`), and one
window's staff rating every citizen 非常满意 themselves all day (`top_run`). The audit reports
each flag kind's precision and each case kind's recall, and counts the floor alerts a manager
would have seen (docs/ratings.md, `hallctl flag-audit`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from controller.domain import commands as cmd
from controller.domain.alerts import Alert, AlertKind
from controller.domain.engine import Engine
from controller.domain.floor_alerts import floor_alerts
from controller.domain.hall_rules import WindowConfig
from controller.settings.hall_config import HallConfig
from controller.settings.simulation_habits import citizen_level
from controller.sim.simulation import HallSimulation

STEP = dt.timedelta(minutes=1)
LAST_CALL = dt.timedelta(hours=3)
# Which flags answer which planted habit.
FLAGS_OF_CASE = {
    "self_rate": frozenset({"fast_after_finish", "fast_after_invite"}),
    "late_invite": frozenset({"invited_late"}),
    "away_press": frozenset({"staff_absent"}),
    "top_run": frozenset({"top_run"}),
}


@dataclass(frozen=True)
class Planted:
    """Dishonest habits and how often they happen (shares of finished tickets)."""

    self_rate_share: float = 0.0
    late_invite_share: float = 0.0
    away_press_share: float = 0.0
    top_run_window: int | None = None


HONEST = Planted()
DISHONEST = Planted(
    self_rate_share=0.03, late_invite_share=0.03, away_press_share=0.02, top_run_window=1
)


@dataclass(frozen=True)
class Case:
    """One planted dishonest act: its kind, window, ticket (if any) and the press time."""

    kind: str
    window: int
    ticket_id: str
    at: dt.datetime


@dataclass
class DayAudit:
    """One simulated day: planted cases, flags raised, ratings, and alerts seen per kind."""

    seed: int
    cases: list[Case] = field(default_factory=list)
    flags: list[tuple[str, int, str, dt.datetime]] = field(
        default_factory=list
    )  # flag, window, ticket, at
    ratings: int = 0
    finished: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    runs: dict[str, frozenset[str]] = field(default_factory=dict)  # top_run flag's ticket -> run

    def matched(self) -> tuple[Counter[str], Counter[str]]:
        """(flags of each kind that answer a planted case, cases of each kind some flag found)."""
        true_flags: Counter[str] = Counter()
        found: Counter[str] = Counter()
        for case in self.cases:
            found[case.kind] += any(self._answers(f, case) for f in self.flags)
        for flag in self.flags:
            if any(self._answers(flag, c) for c in self.cases):
                true_flags[flag[0]] += 1
        return true_flags, found

    def _answers(self, flag: tuple[str, int, str, dt.datetime], case: Case) -> bool:
        """True when `flag` is the kind that answers `case` and concerns the same act.

        A top_run flag answers a planted case whose press is part of the flagged run (the run
        holds at least one rating the staff pressed themselves).
        """
        kind, window, ticket, at = flag
        if kind not in FLAGS_OF_CASE[case.kind] and kind != "top_run":
            return False
        if window != case.window:
            return False
        if kind == "top_run":
            run = self.runs.get(ticket, frozenset())
            return case.kind == "top_run" or case.ticket_id in run
        if case.kind == "away_press":
            return abs((at - case.at).total_seconds()) < 1
        return ticket == case.ticket_id


class Raters:
    """The citizens (and planted staff habits) at each window right after a finish."""

    def __init__(
        self, seed: int, planted: Planted, audit: DayAudit, *, rate_share: float = 0.85
    ) -> None:
        self.rng = random.Random(f"raters-{seed}")  # its own stream: the staff's stay the same
        self.planted, self.audit, self.rate_share = planted, audit, rate_share
        self._seq = itertools.count(1)

    def after_finish(
        self, sim: HallSimulation, window: WindowConfig, ticket_id: str, now: dt.datetime
    ) -> dt.datetime:
        """Invite and rate (honestly or as planted); returns the earliest time to call next."""
        n, planted, roll = window.number, self.planted, self.rng.random()
        self.audit.finished += 1
        if planted.top_run_window == n:
            sim.execute(cmd.InviteRating(n), now)
            self._press(
                sim, n, now + self._seconds(3, 10), "very_satisfied", case=("top_run", ticket_id)
            )
            return now
        if roll < planted.self_rate_share:
            sim.execute(cmd.InviteRating(n), now)
            self._press(
                sim,
                n,
                now + self._seconds(0.3, 1.5),
                "very_satisfied",
                case=("self_rate", ticket_id),
            )
            return now
        roll -= planted.self_rate_share
        if roll < planted.late_invite_share:
            later = now + self._seconds(65, 150)
            sim.schedule(later, lambda t: sim.execute(cmd.InviteRating(n), t))
            self._press(
                sim,
                n,
                later + self._seconds(3, 8),
                "very_satisfied",
                case=("late_invite", ticket_id),
            )
            return later + dt.timedelta(seconds=10)
        roll -= planted.late_invite_share
        if roll < planted.away_press_share:
            sim.schedule(
                now + dt.timedelta(seconds=1), lambda t: sim.execute(cmd.Pause(n, "暂时离开"), t)
            )
            self._press(
                sim, n, now + self._seconds(3, 8), "very_satisfied", case=("away_press", "")
            )
            back = now + dt.timedelta(seconds=30)
            sim.schedule(back, lambda t: sim.execute(cmd.Resume(n), t))
            return back
        sim.execute(cmd.InviteRating(n), now)
        if self.rng.random() < self.rate_share:
            self._press(sim, n, now + self._seconds(3, 75), self._level(), case=None)
        return now

    def _press(
        self,
        sim: HallSimulation,
        window: int,
        at: dt.datetime,
        level: str,
        *,
        case: tuple[str, str] | None,
    ) -> None:
        if case is not None and not (
            case[0] == "top_run" and any(c.kind == "top_run" for c in self.audit.cases)
        ):
            self.audit.cases.append(Case(case[0], window, case[1], at))
        reasons = ("R02",) if level.endswith("dissatisfied") else ()
        press = cmd.PressKey(
            f"kp-{window}", "sim", next(self._seq), window, "rate", level, reasons, raw="rate"
        )

        def run(t: dt.datetime) -> None:
            _, refused = sim.execute(press, t)
            if refused:
                self.audit.refused[refused] += 1
            else:
                self.audit.ratings += 1

        sim.schedule(at, run)

    def _seconds(self, low: float, high: float) -> dt.timedelta:
        return dt.timedelta(seconds=self.rng.uniform(low, high))

    def _level(self) -> str:
        return citizen_level(self.rng.random())


def audit_day(
    config: HallConfig, day: dt.date, *, seed: int, planted: Planted = HONEST
) -> DayAudit:
    """Run one whole simulated day on the engine; its cases, flags, ratings and alerts."""
    audit = DayAudit(seed)
    engine = Engine(config)
    raters = Raters(seed, planted, audit)

    def execute(command: cmd.Command, now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        decision = engine.handle(command, now)
        return decision.result, decision.rejection.reason if decision.rejection else None

    sim = HallSimulation(config, day, execute, seed=seed, after_finish=raters.after_finish)
    moment, end = sim.open_at - dt.timedelta(minutes=30), sim.close_at + LAST_CALL
    shown: set[tuple[Any, ...]] = set()
    while sim.next_time is not None and moment < end:
        moment += STEP
        sim.run_until(moment)
        now_shown = {_alert_key(a) for a in floor_alerts(engine, moment)}
        audit.alerts.update(key[0] for key in now_shown - shown)  # counted when raised
        shown = now_shown
    audit.flags = [
        (f.flag, f.window, f.rating_id.removesuffix("-R1"), f.at)
        for f in engine.state.ratings.flags
    ]
    return audit


def summarise(days: list[DayAudit]) -> dict[str, Any]:
    """Precision per flag kind, recall per case kind, and totals, over several days."""
    flags: Counter[str] = Counter(f[0] for d in days for f in d.flags)
    cases: Counter[str] = Counter(c.kind for d in days for c in d.cases)
    true_flags: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for d in days:
        t, f = d.matched()
        true_flags.update(t)
        found.update(f)
    return {
        "days": len(days),
        "finished": sum(d.finished for d in days),
        "ratings": sum(d.ratings for d in days),
        "refused_presses": dict(sum((d.refused for d in days), Counter())),
        "flags": dict(flags),
        "precision": {k: round(true_flags[k] / n, 3) for k, n in flags.items()},
        "cases": dict(cases),
        "recall": {k: round(found[k] / n, 3) for k, n in cases.items()},
        "alerts": dict(sum((d.alerts for d in days), Counter())),
    }


def _flagged_runs(engine: Engine) -> dict[str, frozenset[str]]:
    """For each top_run flag, the tickets of the run it flagged (the window's last N ratings)."""
    runs: dict[str, frozenset[str]] = {}
    for flag in engine.state.ratings.flags:
        if flag.flag != "top_run":
            continue
        length = int(re.search(r"连续 (\d+) 次", flag.detail).group(1))  # type: ignore[union-attr]
        rated = sorted(
            (t.rated_at, t.id)
            for t in engine.state.tickets.values()
            if t.window == flag.window and t.rated_at is not None and t.rated_at <= flag.at
        )
        runs[flag.rating_id.removesuffix("-R1")] = frozenset(tid for _, tid in rated[-length:])
    return runs


def _alert_key(alert: Alert) -> tuple[str, str | None, int | None, str | None]:
    return (
        alert.kind.value,
        alert.service,
        alert.window,
        alert.message if alert.kind is AlertKind.RATING_FLAG else None,
    )
