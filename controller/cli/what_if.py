"""`hallctl simulate-day`: a simulated day, or a what-if on the same citizens over several seeds."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from controller.domain.errors import HallError
from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig
from controller.sim.twin_what_if import (
    POLICIES,
    WhatIf,
    parse_policies,
    parse_service_minutes,
    parse_staffing,
    twin_figures,
)


def add_simulate_day(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], config_default: Path
) -> None:
    """Register `hallctl simulate-day` and its what-if options."""
    sim = sub.add_parser(
        "simulate-day",
        help="simulate a whole day and print its KPIs; what-ifs on the same citizens",
        description="A seeded day of arrivals (morning and afternoon peaks) and staff habits "
        "through the real engine and journal (docs/simulation.md). Every what-if option but "
        "--arrival-scale keeps the citizens: the same tickets at the same moments.",
    )
    sim.add_argument(
        "--config",
        type=Path,
        default=config_default,
        help=f"hall config (default {config_default})",
    )
    sim.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    sim.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="N",
        help="simulate N days (seeds SEED..SEED+N-1): means with 95%% confidence intervals",
    )
    sim.add_argument(
        "--date", type=dt.date.fromisoformat, help="day to simulate (default: the next working day)"
    )
    add_what_if_options(
        sim.add_argument_group("what-if (the same citizens unless --arrival-scale)")
    )
    sim.add_argument(
        "--habits-from",
        type=Path,
        metavar="DIR",
        help="staff habits and service times measured from this data directory's journal "
        "(hallctl habits) instead of the config's [simulation]",
    )
    sim.add_argument(
        "--no-habits",
        action="store_true",
        help="switch every simulated staff and citizen habit off (docs/simulation.md)",
    )
    sim.add_argument(
        "--chart", type=Path, metavar="PNG", help="draw waiting and waits per hour to this PNG"
    )
    sim.add_argument("--json", action="store_true", help="print the KPIs as JSON")
    sim.set_defaults(run=_simulate_day)


def add_what_if_options(what: argparse._ArgumentGroup, *, growth: bool = True) -> None:
    """The what-if options (`growth`: with --arrival-scale, the one that changes demand)."""
    what.add_argument(
        "--extra-windows",
        type=int,
        default=0,
        metavar="N",
        help="add N 综合 windows serving every service",
    )
    what.add_argument(
        "--policy",
        metavar="POLICY|N=POLICY,…",
        help=f"calling policy ({', '.join(POLICIES)}) of every window, or of the windows named",
    )
    what.add_argument(
        "--staffing",
        metavar="HOUR=N,…",
        help="windows on duty from each local hour (the first N of the config's windows), "
        "e.g. 8=10,12=6,13=12",
    )
    what.add_argument(
        "--service-minutes",
        metavar="CODE=MIN,…",
        help="average service minutes of the services named (each citizen keeps their draw)",
    )
    what.add_argument(
        "--service-time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="every service takes X times as long (e.g. 0.8)",
    )
    if growth:
        what.add_argument(
            "--arrival-scale",
            type=float,
            default=1.0,
            metavar="X",
            help="demand growth: X times as many citizens (the same ones plus more, or a share)",
        )


def what_if_from_args(args: argparse.Namespace) -> WhatIf:
    """The what-if the options ask for (WhatIfError names a bad one)."""
    return WhatIf(
        extra_windows=args.extra_windows,
        policies=parse_policies(args.policy) if args.policy else {},
        staffing=parse_staffing(args.staffing) if args.staffing else {},
        service_time_scale=args.service_time_scale,
        service_minutes=parse_service_minutes(args.service_minutes) if args.service_minutes else {},
        arrival_scale=getattr(args, "arrival_scale", 1.0),
    )


def base_config(args: argparse.Namespace) -> HallConfig:
    """The config, with measured habits (`--habits-from`) and habits off (`--no-habits`)."""
    from controller.sim.simulate_day import without_habits

    config = load_config(args.config)
    source = getattr(args, "habits_from", None)
    if source is not None:
        from controller.sim.journal_habits import habits_of_data_dir

        config = habits_of_data_dir(source, config).apply(config)
    return without_habits(config) if args.no_habits else config


def _simulate_day(args: argparse.Namespace) -> int:
    from controller.sim.simulate_day import next_working_day
    from controller.sim.twin_table import print_kpis, print_twin

    if args.seeds < 1:
        raise HallError("--seeds must be 1 or more")
    what_if = what_if_from_args(args)
    base = base_config(args)
    scenario = what_if.hall(base)  # a bad option is named before any day is simulated
    day = args.date or next_working_day(base, dt.date.today())
    seeds = list(range(args.seed, args.seed + args.seeds))
    progress = sys.stderr.isatty() and not args.json
    twin, shown = twin_figures(base, scenario, what_if, day, seeds, progress=progress)
    title = f"{scenario.hall.name} 模拟日 / simulated day {day}"
    if args.chart is not None:
        from devices.screen.pygame_screen import save_png
        from display.twin_chart import twin_chart_scene

        save_png(twin_chart_scene(twin, f"{base.hall.name} {day} 孪生推演 / twin"), args.chart)
    if args.json:  # the first seed's (what-if) day, and the twin's figures over every seed
        print(json.dumps(shown.as_dict() | {"twin": twin}, ensure_ascii=False, indent=2))
        return 0
    if len(seeds) == 1 and not what_if.changed:
        print(f"{title} (seed {args.seed}, {shown.seconds:.1f} s, {shown.events} events journaled)")
        if shown.refused:
            refused = ", ".join(f"{k} {v}" for k, v in shown.refused.items())
            print(f"  拒绝取号 / refused: {refused}")
        print_kpis(shown.kpis)
    label = ""
    if what_if.changed:
        same = "the same citizens" + (" and more" if what_if.arrival_scale > 1 else "")
        label = f"; what-if: {what_if.label()} ({same})"
    habits = ", habits off" if args.no_habits else ""
    if args.habits_from is not None:
        habits += f", habits measured from {args.habits_from}"
    print(f"{title}, seeds {seeds[0]}..{seeds[-1]}{label}{habits}")
    print_twin(twin, what_if.changed)
    if args.chart is not None:
        print(f"  图表 / chart: {args.chart}")
    return 0
