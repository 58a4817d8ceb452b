"""`hallctl simulate-day`, `replay` and `flag-audit`: the digital twin on the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from controller.domain.errors import HallError
from controller.domain.kpi_definitions import kpi_label
from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig

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


def add_simulate_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    config_default: Path,
    data_default: Path,
) -> None:
    """Register `hallctl simulate-day`, `replay` and `flag-audit`."""
    config_help = f"hall config file (default {config_default})"
    sim = sub.add_parser(
        "simulate-day",
        help="simulate a whole day and print its KPIs; what-ifs on the same citizens",
        description="A seeded day of arrivals (morning and afternoon peaks) and staff habits "
        "through the real engine and journal (docs/simulation.md).",
    )
    sim.add_argument("--config", type=Path, default=config_default, help=config_help)
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
    sim.add_argument(
        "--extra-windows",
        type=int,
        default=0,
        metavar="N",
        help="what-if: add N 综合 windows serving every service (the same citizens)",
    )
    sim.add_argument(
        "--arrival-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="what-if: X times as many citizens (the same ones plus more, or a share of them)",
    )
    sim.add_argument(
        "--service-time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="what-if: every service takes X times as long (e.g. 0.8; the same citizens)",
    )
    sim.add_argument(
        "--no-habits",
        action="store_true",
        help="switch every simulated staff and citizen habit off (docs/simulation.md)",
    )
    sim.add_argument("--json", action="store_true", help="print the KPIs as JSON")
    sim.set_defaults(run=_simulate_day)

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
    replay.add_argument("--json", action="store_true", help="print JSON")
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


def _base(args: argparse.Namespace) -> HallConfig:
    from controller.sim.simulate_day import without_habits

    config = load_config(args.config)
    return without_habits(config) if args.no_habits else config


def _simulate_day(args: argparse.Namespace) -> int:
    from controller.sim.simulate_day import (
        day_arrivals,
        next_working_day,
        simulate_day,
        with_extra_windows,
        with_service_times,
    )
    from controller.sim.twin_results import day_figures, paired_change, summarise

    if args.seeds < 1 or args.extra_windows < 0 or args.arrival_scale < 0:
        raise HallError("--seeds must be 1 or more; --extra-windows and --arrival-scale 0 or more")
    if not 0 < args.service_time_scale <= 10:
        raise HallError("--service-time-scale must be above 0 and at most 10")
    base = _base(args)
    day = args.date or next_working_day(base, dt.date.today())
    changed = args.extra_windows > 0 or args.arrival_scale != 1.0 or args.service_time_scale != 1.0
    scenario = with_service_times(
        with_extra_windows(base, args.extra_windows), args.service_time_scale
    )
    target = float(base.alerts.max_wait_minutes)
    seeds = list(range(args.seed, args.seed + args.seeds))
    before: list[dict[str, Any]] = []
    after: list[dict[str, Any]] = []
    first: dict[str, Any] = {}
    progress = sys.stderr.isatty() and not args.json
    for seed in tqdm(seeds, disable=not progress or len(seeds) == 1, desc="孪生 / twin"):
        # What-ifs keep the base hall's citizens; only --arrival-scale changes them.
        citizens = day_arrivals(base, day, seed=seed)
        report = simulate_day(
            base, day, seed=seed, arrivals=citizens, progress=progress and len(seeds) == 1
        )
        before.append(day_figures(report, target))
        if changed:
            grown = day_arrivals(base, day, seed=seed, scale=args.arrival_scale)
            report = simulate_day(scenario, day, seed=seed, arrivals=grown)
            after.append(day_figures(report, target))
        first = first or {"report": report}
    twin: dict[str, Any] = {"seeds": seeds, "wait_target_minutes": target}
    twin["before"] = summarise(before)
    if changed:
        twin["after"] = summarise(after)
        twin["change"] = paired_change(before, after)
    shown = first["report"]
    if args.json:  # the first seed's (what-if) day, and the twin's figures over every seed
        print(json.dumps(shown.as_dict() | {"twin": twin}, ensure_ascii=False, indent=2))
        return 0
    title = f"{scenario.hall.name} 模拟日 / simulated day {day}"
    if len(seeds) == 1 and not changed:
        print(f"{title} (seed {args.seed}, {shown.seconds:.1f} s, {shown.events} events journaled)")
        if shown.refused:
            refused = ", ".join(f"{k} {v}" for k, v in shown.refused.items())
            print(f"  拒绝取号 / refused: {refused}")
        _print_kpis(shown.kpis)
    what = _what_if_label(args)
    print(f"{title}, seeds {seeds[0]}..{seeds[-1]}{what}{', habits off' if args.no_habits else ''}")
    _print_twin(twin, changed)
    return 0


def _what_if_label(args: argparse.Namespace) -> str:
    parts = []
    if args.extra_windows:
        parts.append(f"+{args.extra_windows} 综合 windows")
    if args.arrival_scale != 1.0:
        parts.append(f"arrivals x{args.arrival_scale:g}")
    if args.service_time_scale != 1.0:
        parts.append(f"service times x{args.service_time_scale:g}")
    return f"; what-if: {', '.join(parts)} (the same citizens)" if parts else ""


def _cell(figure: dict[str, Any], percent: bool = False) -> str:
    scale, unit = (100.0, "%") if percent else (1.0, "")
    if figure["mean"] is None:
        return "-"
    text = f"{figure['mean'] * scale:.1f}{unit}"
    if figure["ci95"]:
        low, high = (v * scale for v in figure["ci95"])
        text += f" [{low:.1f}, {high:.1f}]"
    return text


def _print_twin(twin: dict[str, Any], changed: bool) -> None:
    columns = ["before", "after", "change"] if changed else ["before"]
    heads = {"before": "现状 before", "after": "假设 what-if", "change": "变化 change (paired)"}
    print("  等候 wait (min), mean over seeds [95% CI]")
    print(f"  {'':<18}" + "".join(f"{heads[c]:<26}" for c in columns))
    target = f"<= {twin['wait_target_minutes']:g} min"
    for name in twin["before"]["groups"]:
        stats = ("mean", "p50", "p90", "within_target") if name == "all" else ("mean", "p90")
        for stat in stats:
            label = {"within_target": target}.get(stat, stat)
            cells = []
            for column in columns:
                groups = twin[column] if column == "change" else twin[column]["groups"]
                figure = groups.get(name, {}).get(stat)
                cells.append(_cell(figure, stat == "within_target") if figure else "-")
            who = name if stat == stats[0] else ""
            print(f"  {who:<6}{label:<12}" + "".join(f"{c:<26}" for c in cells))
    print("  按时段 / mean wait by hour of arrival (min)")
    for hour, figure in twin["before"]["by_hour"].items():
        row = [_cell(figure)]
        if changed:
            row.append(_cell(twin["after"]["by_hour"].get(hour, {"mean": None})))
        print(f"  {hour}:00{'':<12}" + "".join(f"{c:<26}" for c in row))


def _print_kpis(kpis: dict[str, Any], indent: str = "  ") -> None:
    for key, label in KPI_LINES:
        print(f"{indent}{kpi_label(key) + ' ' + label:<28} {_fmt(kpis.get(key))}")
    print(f"{indent}按业务 / by service:")
    for code, row in kpis["by_service"].items():
        print(
            f"{indent}  {code:<5} issued {row['issued']:>4}  served {row['served']:>4}  "
            f"avg wait {_fmt(row['average_wait_minutes']):>6}  max {_fmt(row['max_wait_minutes']):>6}"
        )


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if value < 1 and value != 0 else f"{value:.1f}"
    return str(value)


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
    from controller.sim.simulate_day import recorded_arrivals, simulate_day, without_habits

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
    scenario = without_habits(recorded_config) if args.no_habits else recorded_config
    report = simulate_day(scenario, args.date, seed=args.seed, arrivals=arrivals)
    if args.json:
        print(
            json.dumps(
                {"recorded": recorded, "replayed": report.kpis}, ensure_ascii=False, indent=2
            )
        )
        return 0
    print(f"重放 / replay of {args.date}: {len(arrivals)} recorded arrivals under {args.config}")
    print(f"  {'':<28} {'recorded':>10} {'replayed':>10}")
    for key, label in KPI_LINES:
        name = f"{kpi_label(key)} {label}"
        print(f"  {name:<28} {_fmt(recorded.get(key)):>10} {_fmt(report.kpis.get(key)):>10}")
    return 0


def _staffing(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from controller.sim.simulate_day import day_arrivals, next_working_day
    from controller.sim.staffing import plan_staffing

    base = _base(args)
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
