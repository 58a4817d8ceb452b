"""`hallctl keypads`: every window keypad of a running hall, online or not, with its firmware."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os

import httpx

from controller.cli.scan import add_scan_command
from controller.domain.errors import HallError

DEFAULT_CONTROLLER = "http://127.0.0.1:8000"


def add_keypad_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `hallctl keypads [--controller URL] [--token T] [--json]`."""
    keypads = sub.add_parser(
        "keypads",
        help="list the window keypads (评价器) of a running hall",
        description="Ask a running hall for its keypads: window, device, online, last seen, firmware.",
    )
    keypads.add_argument("--controller", default=DEFAULT_CONTROLLER, help="the hall's URL")
    keypads.add_argument(
        "--token",
        default=None,
        help="a floor manager or admin token (default $HALLCTL_ADMIN_TOKEN)",
    )
    keypads.add_argument("--json", action="store_true", help="print the hall's answer as JSON")
    keypads.set_defaults(run=list_keypads)
    add_scan_command(keypads.add_subparsers(required=False, metavar="[scan]"), "keypads")


def list_keypads(args: argparse.Namespace) -> int:
    """Print one line per keypad; 0 when every keypad is online, 3 when one is not."""
    token = args.token or os.environ.get("HALLCTL_ADMIN_TOKEN", "")
    if not token:
        raise HallError("hallctl keypads needs a token: --token or HALLCTL_ADMIN_TOKEN")
    url = f"{args.controller.rstrip('/')}/api/keypads"
    try:
        reply = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    except httpx.HTTPError as err:
        raise HallError(f"cannot reach the hall at {args.controller}: {err}") from err
    if reply.status_code != 200:
        raise HallError(f"{url} answered HTTP {reply.status_code}: {reply.text[:200]}")
    rows: list[dict[str, object]] = reply.json()["keypads"]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        print("没有配置评价器 / no keypads configured")
    else:
        print(f"{'窗口':<4} {'设备':<16} {'状态':<4} {'最后联系':<20} 固件")
        for row in rows:
            print(
                f"{row['window']!s:<6} {row['device_id']!s:<16} {_state(row.get('online')):<4}"
                f" {_seen(row.get('last_seen')):<24} {row.get('firmware') or '-'}"
            )
    return 0 if all(row.get("online") for row in rows) else 3


def _state(online: object) -> str:
    return "在线" if online is True else "离线" if online is False else "未知"


def _seen(value: object) -> str:
    if not value:
        return "从未 / never"
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
