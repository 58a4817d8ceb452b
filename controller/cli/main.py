"""`hallctl`: run, check, simulate, back up and restore a hall."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from controller.app.backup import DB_NAME, BackupCheck, backup, check_backup, restore
from controller.app.simulated_families import Simulated, check_real_devices
from controller.cli.conformance import add_conformance_commands
from controller.cli.families import add_simulate_option
from controller.cli.keypads import add_keypad_commands
from controller.cli.mqtt_broker import add_mqtt_broker_commands
from controller.cli.printer import add_printer_commands
from controller.cli.satisfaction import add_satisfaction_commands
from controller.cli.scan import add_led_commands
from controller.cli.screen import add_screen_commands
from controller.cli.simulate import add_simulate_commands
from controller.domain.errors import ConfigError, HallError
from controller.settings.config_loader import load_config
from controller.settings.hall_config import token_digest
from firmware_protocols.escpos.escpos_ticket import EscPosError

DEFAULT_CONFIG = Path("config/hall.example.toml")
DEFAULT_DATA = Path("var")


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
    add_simulate_option(up)
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
    add_simulate_option(
        check,
        "skip the files a real run needs for these families (what `up --simulate` would not read)",
    )
    check.set_defaults(run=_check_config)

    back = sub.add_parser(
        "backup",
        help="copy the journal and the satisfaction database consistently, even while the hall runs",
    )
    back.add_argument("dest", type=Path, help="backup directory to create")
    back.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="data directory (default ./var)"
    )
    back.set_defaults(run=_backup)

    rest = sub.add_parser(
        "restore", help="check a backup and make its stores the hall's (hall stopped)"
    )
    rest.add_argument("source", type=Path, help="backup directory made by `hallctl backup`")
    rest.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="data directory (default ./var)"
    )
    rest.add_argument("--check-only", action="store_true", help="only check every file")
    rest.set_defaults(run=_restore)

    add_simulate_commands(sub, DEFAULT_CONFIG, DEFAULT_DATA)
    add_printer_commands(sub, DEFAULT_CONFIG)
    add_keypad_commands(sub)
    add_led_commands(sub)
    add_mqtt_broker_commands(sub, DEFAULT_CONFIG)
    add_screen_commands(sub)
    add_satisfaction_commands(sub)
    add_conformance_commands(sub)

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
    from controller.app.logs import configure_logging
    from controller.cli.hall_process import UpOptions, run_hall

    configure_logging(args.log_format, args.log_level)
    run_hall(
        UpOptions(
            args.config,
            args.data,
            args.host,
            args.port,
            args.simulate or Simulated(),
            args.demo,
            args.clock,
            args.speed,
        )
    )
    return 0


def _check_config(args: argparse.Namespace) -> int:
    config = load_config(args.path)
    simulated = args.simulate or Simulated()
    check_real_devices(args.path, config, simulated)
    print(
        f"{args.path}: OK — {config.hall.name}, {len(config.services)} services, "
        f"{len(config.windows)} windows; simulated: {simulated.describe()}"
    )
    return 0


def _backup(args: argparse.Namespace) -> int:
    checked = backup(args.data, args.dest)
    print(f"备份完成 / backup written: {checked.path}")
    _print_backup(checked)
    return 0


def _restore(args: argparse.Namespace) -> int:
    if args.check_only:
        checked = check_backup(args.source)
        print(f"{checked.path}: OK")
        _print_backup(checked)
        return 0
    checked, kept = restore(args.source, args.data)
    print(f"已恢复 / restored {checked.path} into {args.data}")
    _print_backup(checked)
    if checked.satisfaction is None:
        print(
            "  此备份不含评价数据库，现有的保持不变 / no satisfaction.db in it: the current one is kept"
        )
    for aside in kept:
        print(f"  原数据已保留 / previous file kept at {aside}")
    return 0


def _print_backup(checked: BackupCheck) -> None:
    journal = checked.journal
    print(
        f"  {DB_NAME}: {journal.events} events, {journal.days} days, "
        f"{journal.first_day} … {journal.last_day}"
    )
    if checked.satisfaction is not None:
        found = checked.satisfaction
        print(f"  satisfaction.db: {found.ratings} ratings, {found.work_orders} work orders")


if __name__ == "__main__":
    raise SystemExit(main())
