"""Shared pieces of the benchmarks: configs, a realistic command mix, percentiles."""

from __future__ import annotations

import datetime as dt
import math
import random
import string
from collections.abc import Callable, Iterator
from pathlib import Path

from controller.domain import commands as cmd
from controller.domain.engine import Decision
from controller.domain.state import HallState
from controller.settings.config_loader import load_config, parse_config
from controller.settings.hall_config import HallConfig

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "config" / "hall.example.toml"
ZONE_NAME = "Asia/Shanghai"
MONDAY = dt.date(2026, 11, 23)
OUTCOME = "即办件"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def example_config() -> HallConfig:
    """The example hall (12 windows, 9 services, quotas up to 400)."""
    return load_config(EXAMPLE_CONFIG)


def bench_config() -> HallConfig:
    """A hall big enough for 20,000 tickets a day.

    26 services (prefixes A-Z, quota 999 each), 26 windows each serving two services with
    mixed calling policies, open 00:00-23:59 every day with no lunch and no cut-off.
    """
    return parse_config(bench_config_text(), file="<bench>")


def bench_config_text() -> str:
    """The bench hall's TOML (see `bench_config`), for a hall run as `hallctl up --config`."""
    letters = string.ascii_uppercase
    parts = [
        '[hall]\nname = "基准测试大厅"\nregion_code = "330199"\n'
        'department_code = "BENCH"\ntimezone = "Asia/Shanghai"\n',
        "[calendar]\nticketing_cutoff_minutes = 0\nticketing_during_lunch = true\n",
    ]
    parts += [f'[calendar.hours.{d}]\nopen = "00:00"\nclose = "23:59"\n' for d in _DAYS]
    for i, letter in enumerate(letters):
        parts.append(
            f'[[services]]\ncode = "S{letter}"\nname = "业务{letter}"\nprefix = "{letter}"\n'
            f"daily_quota = 999\naverage_service_minutes = {5 + i % 4 * 5}\n"
            f"outcome_required = {'true' if i % 4 == 0 else 'false'}\n"
        )
    policies = ("fifo", "order", "weighted")
    for i, letter in enumerate(letters):
        other = letters[(i + 1) % len(letters)]
        policy = policies[i % 3]
        weights = f"weights = {{ S{letter} = 2, S{other} = 1 }}\n" if policy == "weighted" else ""
        parts.append(
            f'[[windows]]\nnumber = {i + 1}\nname = "{i + 1}号窗口"\n'
            f'services = ["S{letter}", "S{other}"]\npolicy = "{policy}"\n{weights}'
            f'staff = [{{ id = "W{i + 1:02d}A", name = "员工{i + 1}", role = "A" }}]\n'
        )
    return "\n".join(parts)


def at(day: dt.date, hhmm: str, config: HallConfig) -> dt.datetime:
    """An aware hall-local time on `day`."""
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=config.zone)


def sign_in_all(config: HallConfig) -> list[cmd.Command]:
    """Sign the first rostered member in at every window that has a roster."""
    return [cmd.SignIn(w.number, w.staff[0].id, w.staff[0].role) for w in config.windows if w.staff]


class CommandMix:
    """A seeded, state-aware stream of issue / call-next / finish / recall commands.

    Keeps queues short (as in a busy but coping hall): issues when little is waiting,
    otherwise works a window: call the next ticket, sometimes recall, then finish
    (signing the window's staff in again after a day rolled over).
    """

    def __init__(self, config: HallConfig, seed: int = 1, *, target_waiting: int = 60) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.codes = [s.code for s in config.services]
        self.needs_outcome = {s.code for s in config.services if s.outcome_required}
        self.windows = {w.number: w.staff[0] for w in config.windows if w.staff}
        self.numbers = list(self.windows)
        self.target_waiting = target_waiting

    def next(self, state: HallState) -> cmd.Command:
        """The next command given the current state."""
        rng = self.rng
        waiting = sum(len(q) for q in state.waiting.values())
        if waiting < self.target_waiting * rng.uniform(0.5, 1.5):
            lane = "priority" if rng.random() < 0.05 else "normal"
            return cmd.IssueTicket(rng.choice(self.codes), lane)
        number = rng.choice(self.numbers)
        window = state.windows[number]
        if window.staff_id is None:  # a new day signed everyone out
            member = self.windows[number]
            return cmd.SignIn(number, member.id, member.role)
        current = window.current
        if current is None:
            return cmd.CallNext(number)
        ticket = state.tickets[current]
        roll = rng.random()
        if roll < 0.05:
            return cmd.Recall(number)
        if ticket.service in self.needs_outcome or roll < 0.55:
            outcome = OUTCOME if ticket.service in self.needs_outcome else None
            return cmd.Finish(number, outcome)
        return cmd.CallNext(number)  # finishes the current ticket, then calls


def drive(
    mix: CommandMix,
    state: Callable[[], HallState],
    run: Callable[[cmd.Command, dt.datetime], Decision | None],
    *,
    start: dt.datetime,
    commands: int,
    step_seconds: float,
) -> Iterator[tuple[cmd.Command, dt.datetime, Decision | None]]:
    """Feed `commands` commands from the mix to `run`, the time moving `step_seconds` each."""
    now = start
    step = dt.timedelta(seconds=step_seconds)
    for _ in range(commands):
        command = mix.next(state())
        yield command, now, run(command, now)
        now += step


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values (share in 0..1)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def ms(seconds: float) -> str:
    """Seconds as milliseconds with three decimals."""
    return f"{seconds * 1000:8.3f} ms"
