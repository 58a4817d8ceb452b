"""`hallctl simulate-day`, `replay` and `flag-audit`: the digital twin on the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from controller.cli.habits import add_habits_command
from controller.cli.what_if import (
    add_simulate_day,
    add_what_if_options,
    base_config,
    what_if_from_args,
)
from controller.domain.errors import HallError
from controller.domain.kpi_definitions import kpi_label
from controller.settings.config_loader import load_config
from controller.sim.twin_table import KPI_LINES, fmt


def add_simulate_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    config_default: Path,
    data_default: Path,
) -> None:
    """Register `hallctl simulate-day`, `replay` and `flag-audit`."""
    config_help = f"hall config file (default {config_default})"
    add_simulate_day(sub, config_default)
    add_habits_command(sub, config_default, data_default)

    replay = sub.add_parser("replay", help="re-run a recorded day's arrivals under another config")
    replay.add_argument(
        "--data", type=Path, default=data_default, help=f"data directory (default {data_default})"
    )
    replay.add_argument("--date", type=dt.date.fromisoformat, required=True, help="recorded day")
    replay.add_argument(
        "--config",
        type=Path,
        default=config_default,
        help=f"config to try (default {config_default})",
    )
    replay.add_argument("--seed", type=int, default=1, help="random seed for staff behaviour")
    replay.add_argument("--no-habits", action="store_true", help="switch every simulated habit off")
    replay.add_argument(
        "--config-habits",
        action="store_true",
        help="use the config's [simulation] habits and service times, not those measured "
        "from the journal (hallctl habits)",
    )
    replay.add_argument("--json", action="store_true", help="print JSON")
    add_what_if_options(replay.add_argument_group("what-if on the recorded citizens"), growth=False)
    replay.set_defaults(run=_replay)

    staffing = sub.add_parser(
        "staffing",
        help="windows per hour keeping a share of waits under the target, found by the twin",
        description="The fewest 综合 windows (each serving every service) per hour such that "
        "SHARE of each hour's citizens are called within TARGET minutes, on the same citizens "
        "in every trial, checked by running the whole day on the answer (docs/simulation.md).",
    )
    staffing.add_argument("--config", type=Path, default=config_default, help=config_help)
    staffing.add_argument(
        "--date", type=dt.date.fromisoformat, help="day (default: the next working day)"
    )
    staffing.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    staffing.add_argument("--seeds", type=int, default=3, metavar="N", help="days (default 3)")
    staffing.add_argument(
        "--target",
        type=float,
        metavar="MIN",
        help="wait target (default [alerts] max_wait_minutes)",
    )
    staffing.add_argument(
        "--share", type=float, default=0.9, help="share of waits within the target (default 0.9)"
    )
    staffing.add_argument(
        "--max-windows", type=int, metavar="N", help="most windows (default the hall's count)"
    )
    staffing.add_argument(
        "--recorded",
        type=Path,
        metavar="DIR",
        help="use the citizens recorded on --date in this data directory's journal",
    )
    staffing.add_argument(
        "--habits-from",
        type=Path,
        metavar="DIR",
        help="habits and service times measured from this data directory's journal",
    )
    staffing.add_argument("--no-habits", action="store_true", help="every simulated habit off")
    staffing.add_argument("--json", action="store_true", help="print JSON")
    staffing.set_defaults(run=_staffing)

    audit = sub.add_parser(
        "flag-audit",
        help="measure the 擅自按键 flags on simulated days: honest, then with planted dishonesty",
    )
    audit.add_argument("--config", type=Path, default=config_default, help=config_help)
    audit.add_argument("--seeds", type=int, default=3, help="simulated days (seeds 1..N)")
    audit.set_defaults(run=_flag_audit)


def _flag_audit(args: argparse.Namespace) -> int:
    from controller.sim.flag_audit import DISHONEST, HONEST, audit_day, summarise
    from controller.sim.simulate_day import next_working_day

    config = load_config(args.config)
    day = next_working_day(config, dt.date.today())
    for name, planted in (("honest", HONEST), ("planted", DISHONEST)):
        days = [
            audit_day(config, day, seed=seed, planted=planted) for seed in range(1, args.seeds + 1)
        ]
        print(f"{name}: {json.dumps(summarise(days), ensure_ascii=False)}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from controller.app.backup import DB_NAME
    from controller.app.journal import Journal
    from controller.sim.journal_habits import habits_of_journal
    from controller.sim.simulate_day import recorded_arrivals, simulate_day, without_habits

    what_if = what_if_from_args(args)
    path = args.data / DB_NAME
    if not path.exists():
        raise HallError(f"no hall journal at {path}")
    journal = Journal.at_path(path)
    arrivals = recorded_arrivals(journal, args.date)
    if not arrivals:
        raise HallError(f"no tickets recorded on {args.date} in {path}")
    from controller.domain.engine import Engine
    from controller.domain.kpis import compute_kpis

    recorded_config = load_config(args.config)
    past = Engine(recorded_config)
    past.replay(journal.events_of_day(args.date))
    end = dt.datetime.combine(
        args.date + dt.timedelta(days=1), dt.time(0), tzinfo=recorded_config.zone
    )
    recorded = compute_kpis(
        past.state.tickets.values(),
        past.state.attendance,
        day=args.date,
        now=end,
        overtime_minutes=recorded_config.alerts.max_wait_minutes,
    )
    scenario, measured = recorded_config, None
    if not args.config_habits:  # the hall's own habits and service times, from its journal
        measured = habits_of_journal(recorded_config, journal)
        scenario = measured.apply(recorded_config)
    journal.close()
    scenario = without_habits(scenario) if args.no_habits else scenario
    changed = what_if.hall(scenario)  # a bad option is named before the day is replayed
    report = simulate_day(scenario, args.date, seed=args.seed, arrivals=arrivals)
    columns = {"recorded": recorded, "replayed": report.kpis}
    if what_if.changed:  # the same recorded citizens in the changed hall
        staffing = dict(what_if.staffing) or None
        other = simulate_day(
            changed, args.date, seed=args.seed, arrivals=arrivals, staffing=staffing
        )
        columns["what_if"] = other.kpis
    if args.json:
        habits = measured.as_dict() if measured else None
        label = what_if.label() if what_if.changed else None
        print(
            json.dumps(
                columns | {"measured_habits": habits, "what_if_label": label},
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(f"重放 / replay of {args.date}: {len(arrivals)} recorded arrivals under {args.config}")
    source = (
        "the config's [simulation]"
        if measured is None
        else (f"measured from {len(measured.days)} journaled days (hallctl habits)")
    )
    print(f"  habits and service times: {source}{', habits off' if args.no_habits else ''}")
    if what_if.changed:
        print(f"  what-if: {what_if.label()} (the same recorded citizens)")
    print(f"  {'':<28}" + "".join(f" {name:>10}" for name in columns))
    for key, label in KPI_LINES:
        name = f"{kpi_label(key)} {label}"
        print(f"  {name:<28}" + "".join(f" {fmt(kpis.get(key)):>10}" for kpis in columns.values()))
    return 0


def _staffing(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from controller.sim.simulate_day import day_arrivals, next_working_day
    from controller.sim.staffing import plan_staffing

    base = base_config(args)
    if args.seeds < 1 or not 0 < args.share <= 1:
        raise HallError("--seeds must be 1 or more and --share within (0, 1]")
    day = args.date or next_working_day(base, dt.date.today())
    target = args.target if args.target is not None else float(base.alerts.max_wait_minutes)
    most = args.max_windows or len(base.windows)
    if most < 1 or target <= 0:
        raise HallError("--max-windows must be 1 or more and --target above 0")
    seeds = range(args.seed, args.seed + args.seeds)
    if args.recorded is not None:
        citizens = dict.fromkeys(seeds, _recorded(args.recorded, day))
    else:
        citizens = {seed: day_arrivals(base, day, seed=seed) for seed in seeds}
    noisy = sys.stderr.isatty() and not args.json
    plan = plan_staffing(
        base,
        day,
        citizens,
        target_minutes=target,
        share=args.share,
        max_windows=most,
        progress=(lambda line: print(f"  … {line}", file=sys.stderr)) if noisy else None,
    )
    if args.json:
        print(json.dumps(asdict(plan) | {"reached": plan.reached}, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{base.hall.name} 排班 / staffing {day}: {args.share:.0%} of waits within {target:g} min, "
        f"综合 windows, seeds {seeds[0]}..{seeds[-1]}"
    )
    print(f"  {'hour':<8}{'windows':>8}{'citizens':>10}{'within':>9}")
    for hour in plan.hours:
        mark = "" if hour.reached else f"  未达标 not reached with {most}"
        print(
            f"  {hour.hour:02d}:00{'':<3}{hour.windows:>8}{hour.citizens:>10}"
            f"{hour.within_target:>9.1%}{mark}"
        )
    return 0


def _recorded(data: Path, day: dt.date) -> list[Any]:
    from controller.app.backup import DB_NAME
    from controller.app.journal import Journal
    from controller.sim.simulate_day import recorded_arrivals

    path = data / DB_NAME
    if not path.exists():
        raise HallError(f"no hall journal at {path}")
    journal = Journal.at_path(path)
    try:
        arrivals = recorded_arrivals(journal, day)
    finally:
        journal.close()
    if not arrivals:
        raise HallError(f"no tickets recorded on {day} in {path}")
    return arrivals
