"""`hallctl`: run, check, simulate, back up and restore a hall."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from controller.api.auth import token_digest
from controller.backup import DB_NAME, backup, check_journal, restore
from controller.cli_keypads import add_keypad_commands
from controller.cli_mqtt import add_mqtt_broker_commands
from controller.cli_printer import add_printer_commands
from controller.cli_satisfaction import add_satisfaction_commands
from controller.cli_screen import add_screen_commands
from controller.config_loader import load_config
from controller.errors import ConfigError, HallError
from controller.journal import Journal
from controller.kpi_definitions import kpi_label
from firmware_protocols.escpos_ticket import EscPosError

DEFAULT_CONFIG = Path("config/hall.example.toml")
DEFAULT_DATA = Path("var")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hallctl` console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except ConfigError as err:
        print(f"配置有误 / the hall config has {len(err.problems)} problem(s):", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except (HallError, EscPosError) as err:
        print(f"hallctl: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hallctl",
        description="Run and look after a government service hall (政务服务大厅) controller.",
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    up = sub.add_parser(
        "up",
        help="run the hall: engine, journal, API (and simulated devices)",
        description="Run the hall until stopped with Ctrl-C. State survives restarts.",
    )
    _config_arg(up)
    up.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="data directory (default ./var)"
    )
    up.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    up.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    up.add_argument(
        "--simulate", action="store_true", help="use simulated devices instead of real ones"
    )
    up.add_argument(
        "--demo",
        action="store_true",
        help="add simulated citizens and staff; the hall clock starts before opening "
        "and runs 10x unless --clock/--speed say otherwise",
    )
    up.add_argument(
        "--clock",
        metavar="ISO-TIME",
        help="start the hall clock at this local time, e.g. 2026-11-23T08:30",
    )
    up.add_argument("--speed", type=float, metavar="X", help="run the hall clock X times faster")
    up.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines on stderr: text, or one JSON object a line (for journald, Loki …)",
    )
    up.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default="INFO",
        help="the least severe log records shown (default INFO)",
    )
    up.set_defaults(run=_up)

    check = sub.add_parser("check-config", help="check a hall config and list every problem")
    check.add_argument("path", type=Path)
    check.set_defaults(run=_check_config)

    sim = sub.add_parser(
        "simulate-day",
        help="simulate a whole day and print its KPIs",
        description="A seeded day of arrivals (morning and afternoon peaks) and "
        "staff behaviour through the real engine and journal.",
    )
    _config_arg(sim)
    sim.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
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
    sim.add_argument("--json", action="store_true", help="print the KPIs as JSON")
    sim.set_defaults(run=_simulate_day)

    _add_flag_audit(sub)

    back = sub.add_parser(
        "backup", help="copy the live journal consistently, even while the hall runs"
    )
    back.add_argument("dest", type=Path, help="backup file to create")
    back.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="data directory (default ./var)"
    )
    back.set_defaults(run=_backup)

    rest = sub.add_parser(
        "restore", help="check a backup and make it the hall's journal (hall stopped)"
    )
    rest.add_argument("source", type=Path, help="backup file made by `hallctl backup`")
    rest.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="data directory (default ./var)"
    )
    rest.add_argument("--check-only", action="store_true", help="only check the file")
    rest.set_defaults(run=_restore)

    replay = sub.add_parser("replay", help="re-run a recorded day's arrivals under another config")
    replay.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="data directory (default ./var)"
    )
    replay.add_argument("--date", type=dt.date.fromisoformat, required=True, help="recorded day")
    _config_arg(replay, help_text="config to try (default: the example hall)")
    replay.add_argument("--seed", type=int, default=1, help="random seed for staff behaviour")
    replay.add_argument("--json", action="store_true", help="print JSON")
    replay.set_defaults(run=_replay)

    add_printer_commands(sub, DEFAULT_CONFIG)
    add_keypad_commands(sub)
    add_mqtt_broker_commands(sub, DEFAULT_CONFIG)
    add_screen_commands(sub)
    add_satisfaction_commands(sub)

    token = sub.add_parser("token-hash", help="print the SHA-256 digest to put in [auth] tokens")
    token.add_argument("token")
    token.set_defaults(run=lambda a: print(token_digest(a.token)) or 0)
    return parser


def _config_arg(parser: argparse.ArgumentParser, help_text: str = "hall config file") -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"{help_text} (default {DEFAULT_CONFIG})",
    )


def _up(args: argparse.Namespace) -> int:
    from controller.logs import configure_logging
    from controller.server import UpOptions, run_hall

    configure_logging(args.log_format, args.log_level)
    run_hall(
        UpOptions(
            args.config,
            args.data,
            args.host,
            args.port,
            args.simulate,
            args.demo,
            args.clock,
            args.speed,
        )
    )
    return 0


def _check_config(args: argparse.Namespace) -> int:
    config = load_config(args.path)
    print(
        f"{args.path}: OK — {config.hall.name}, {len(config.services)} services, "
        f"{len(config.windows)} windows"
    )
    return 0


def _simulate_day(args: argparse.Namespace) -> int:
    from controller.simulate_day import (
        day_arrivals,
        next_working_day,
        simulate_day,
        with_extra_windows,
    )

    base = load_config(args.config)
    day = args.date or next_working_day(base, dt.date.today())
    # What-ifs keep the base hall's citizens; only --arrival-scale changes them.
    arrivals = day_arrivals(base, day, seed=args.seed, scale=args.arrival_scale)
    config = with_extra_windows(base, args.extra_windows)
    report = simulate_day(
        config,
        day,
        seed=args.seed,
        arrivals=arrivals,
        progress=sys.stderr.isatty() and not args.json,
    )
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return 0
    print(
        f"{config.hall.name} 模拟日 / simulated day {day} (seed {args.seed}, "
        f"{report.seconds:.1f} s, {report.events} events journaled)"
    )
    if report.refused:
        print("  拒绝取号 / refused: " + ", ".join(f"{k} {v}" for k, v in report.refused.items()))
    _print_kpis(report.kpis)
    return 0


def _print_kpis(kpis: dict[str, Any], indent: str = "  ") -> None:
    for key, label in KPI_LINES:
        print(f"{indent}{kpi_label(key) + ' ' + label:<28} {_fmt(kpis.get(key))}")
    print(f"{indent}按业务 / by service:")
    for code, row in kpis["by_service"].items():
        print(
            f"{indent}  {code:<5} issued {row['issued']:>4}  served {row['served']:>4}  "
            f"avg wait {_fmt(row['average_wait_minutes']):>6}  max {_fmt(row['max_wait_minutes']):>6}"
        )


def _add_flag_audit(sub: Any) -> None:
    audit = sub.add_parser(
        "flag-audit",
        help="measure the 擅自按键 flags on simulated days: honest, then with planted dishonesty",
    )
    _config_arg(audit)
    audit.add_argument("--seeds", type=int, default=3, help="simulated days (seeds 1..N)")
    audit.set_defaults(run=_flag_audit)


def _flag_audit(args: argparse.Namespace) -> int:
    from controller.flag_audit import DISHONEST, HONEST, audit_day, summarise
    from controller.simulate_day import next_working_day

    config = load_config(args.config)
    day = next_working_day(config, dt.date.today())
    for name, planted in (("honest", HONEST), ("planted", DISHONEST)):
        days = [
            audit_day(config, day, seed=seed, planted=planted) for seed in range(1, args.seeds + 1)
        ]
        print(f"{name}: {json.dumps(summarise(days), ensure_ascii=False)}")
    return 0


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if value < 1 and value != 0 else f"{value:.1f}"
    return str(value)


def _backup(args: argparse.Namespace) -> int:
    checked = backup(args.data, args.dest)
    print(
        f"备份完成 / backup written: {checked.path} ({checked.events} events, {checked.days} days, "
        f"{checked.first_day} … {checked.last_day})"
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    if args.check_only:
        checked = check_journal(args.source)
        print(f"{checked.path}: OK ({checked.events} events, {checked.days} days)")
        return 0
    checked, kept = restore(args.source, args.data)
    print(f"已恢复 / restored {checked.path} into {args.data / DB_NAME} ({checked.events} events)")
    if kept:
        print(f"  原数据已保留 / previous journal kept at {kept}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from controller.simulate_day import recorded_arrivals, simulate_day

    path = args.data / DB_NAME
    if not path.exists():
        raise HallError(f"no hall journal at {path}")
    journal = Journal.at_path(path)
    arrivals = recorded_arrivals(journal, args.date)
    if not arrivals:
        raise HallError(f"no tickets recorded on {args.date} in {path}")
    from controller.engine import Engine
    from controller.kpis import compute_kpis

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
    report = simulate_day(recorded_config, args.date, seed=args.seed, arrivals=arrivals)
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


if __name__ == "__main__":
    raise SystemExit(main())
