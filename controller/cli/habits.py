"""`hallctl habits`: the staff and citizen habits measured from the hall's own journal."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from controller.domain.errors import HallError
from controller.settings.config_loader import load_config
from controller.sim.journal_habits import (
    MIN_SAMPLES,
    MIN_SERVICE_SAMPLES,
    MeasuredHabits,
    habits_of_data_dir,
)


def add_habits_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    config_default: Path,
    data_default: Path,
) -> None:
    """Register `hallctl habits`."""
    habits = sub.add_parser(
        "habits",
        help="measure staff and citizen habits from the hall's journal (the twin's defaults)",
        description="The post-finish pause, reaction to a new ticket, 过号 / 转办 / 绿色通道 "
        "rates, sign-in around opening and each service's service-time law, measured from the "
        "journal; `simulate-day --habits-from` and `replay` use them (docs/simulation.md).",
    )
    habits.add_argument(
        "--data", type=Path, default=data_default, help=f"data directory (default {data_default})"
    )
    habits.add_argument(
        "--config",
        type=Path,
        default=config_default,
        help=f"hall config: windows and hours (default {config_default})",
    )
    habits.add_argument("--from", dest="start", type=dt.date.fromisoformat, help="first day")
    habits.add_argument("--to", dest="end", type=dt.date.fromisoformat, help="last day")
    habits.add_argument("--json", action="store_true", help="print JSON")
    habits.set_defaults(run=_habits)


def journal_days(args: argparse.Namespace, days: list[dt.date]) -> list[dt.date]:
    """The journal's days within --from / --to."""
    chosen = [
        d
        for d in days
        if (args.start is None or d >= args.start) and (args.end is None or d <= args.end)
    ]
    if not chosen:
        raise HallError("no journaled day within --from / --to")
    return chosen


def _habits(args: argparse.Namespace) -> int:
    from controller.app.backup import DB_NAME
    from controller.app.journal import Journal

    config = load_config(args.config)
    path = args.data / DB_NAME
    if not path.exists():
        raise HallError(f"no hall journal at {path}")
    journal = Journal.at_path(path)
    try:
        days = journal_days(args, journal.days())
    finally:
        journal.close()
    measured = habits_of_data_dir(args.data, config, days)
    if args.json:
        print(json.dumps(measured.as_dict(), ensure_ascii=False, indent=2))
        return 0
    _print(measured, config.simulation.model_dump(), {s.code: s for s in config.services})
    return 0


def _print(measured: MeasuredHabits, current: dict[str, Any], services: dict[str, Any]) -> None:
    span = f"{measured.days[0]}..{measured.days[-1]}" if measured.days else "-"
    print(
        f"习惯 / habits measured from {len(measured.days)} days ({span}), {measured.tickets} tickets"
    )
    print(f"  {'':<28}{'measured':<18}{'samples':>8}   config now")
    rows = [
        ("post_finish_pause_seconds", measured.post_finish_pause_seconds, measured.pause_samples),
        ("idle_poll_seconds", measured.idle_poll_seconds, measured.reaction_samples),
        ("no_show_rate", measured.no_show_rate, None),
        ("transfer_rate", measured.transfer_rate, None),
        ("priority_share", measured.priority_share, None),
        ("sign_in_spread_minutes", measured.sign_in_spread_minutes, measured.sign_in_samples),
    ]
    for key, value, samples in rows:
        shown = "too few" if value is None else _value(value)
        count = "" if samples is None else str(samples)
        print(f"  {key:<28}{shown:<18}{count:>8}   {_value(current[key])}")
    print("  服务时长 / service times (log-normal: mean minutes, spread of the log)")
    for code, law in measured.services.items():
        note = "" if law.samples >= MIN_SERVICE_SAMPLES else "  (too few: config kept)"
        planned = services[code].average_service_minutes if code in services else None
        now = current["service_minutes_by_service"].get(code, planned) or "-"
        print(
            f"  {code:<6} mean {law.mean_minutes:>7.2f} min  sigma {law.sigma:.3f}"
            f"{law.samples:>8}   {now} min{note}"
        )
    print(
        f"  (a habit with fewer than {MIN_SAMPLES} measurements, a service with fewer than "
        f"{MIN_SERVICE_SAMPLES}, keeps the config's value)"
    )


def _value(value: object) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(f"{v:g}" for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
