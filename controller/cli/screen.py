"""`hallctl screen …`: run the TV calling screen against a hall, or save its current screen as PNG."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path

from controller.domain.errors import HallError

DEFAULT_CONTROLLER = "http://127.0.0.1:8000"
TOKEN_ENVS = ("HALLCTL_SCREEN_TOKEN", "HALLCTL_ADMIN_TOKEN")


def add_screen_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `hallctl screen [--controller URL --token T --windowed]` and `screen snapshot`."""
    screen = sub.add_parser(
        "screen",
        help="run the TV calling screen (叫号屏) against a running hall",
        description="Show the hall's calling screen full screen, following the hall's live "
        "stream; it reconnects by itself after a network drop. Esc or Q closes it.",
    )
    _link_args(screen, argparse.SUPPRESS)
    screen.add_argument(
        "--windowed", action="store_true", help="a 1280×720 window, not full screen"
    )
    screen.set_defaults(run=_run_screen, controller=DEFAULT_CONTROLLER, token=None)
    screen.set_defaults(font=None, font_index=None)
    actions = screen.add_subparsers(metavar="[snapshot]")
    snapshot = actions.add_parser(
        "snapshot", help="save the hall's current TV screen as a PNG (no display needed)"
    )
    snapshot.add_argument("out", type=Path, help="PNG file to write")
    _link_args(snapshot, argparse.SUPPRESS)
    snapshot.add_argument(
        "--size",
        default="1920x1080",
        metavar="WxH",
        help="screen size in pixels (default 1920x1080)",
    )
    snapshot.set_defaults(run=_snapshot)


def _link_args(parser: argparse.ArgumentParser, default: object) -> None:
    # SUPPRESS: options may be given before or after `snapshot` without overwriting each other.
    parser.add_argument(
        "--controller",
        default=default,
        help=f"the hall's URL (default {DEFAULT_CONTROLLER})",
    )
    parser.add_argument(
        "--token",
        default=default,
        help="a display-role token (default: $HALLCTL_SCREEN_TOKEN, then $HALLCTL_ADMIN_TOKEN)",
    )
    parser.add_argument(
        "--font",
        type=Path,
        default=default,
        help="CJK font file (default: $HALLCTL_SCREEN_FONT or wqy-zenhei)",
    )
    parser.add_argument(
        "--font-index", type=int, default=default, help="face index inside a .ttc font file"
    )


def _token(args: argparse.Namespace) -> str:
    token = args.token or next((os.environ[k] for k in TOKEN_ENVS if os.environ.get(k)), "")
    if not token:
        raise HallError(
            "the screen needs an API token: pass --token or set HALLCTL_SCREEN_TOKEN "
            "(a token with role display, see [auth] tokens in the hall config)"
        )
    return str(token)


def _run_screen(args: argparse.Namespace) -> int:
    from controller.app.screen_client import HallStream
    from controller.app.screen_runner import run_screen
    from devices.screen.pygame_screen import SceneDrawer, font_choice

    font = font_choice(args.font, args.font_index)
    SceneDrawer(font)  # a missing font is reported before anything connects
    stream = HallStream(args.controller, _token(args)).start()
    try:
        run_screen(stream, windowed=args.windowed, font=font)
    finally:
        stream.stop()
    return 0


def _snapshot(args: argparse.Namespace) -> int:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from controller.app.screen_client import fetch_snapshot
    from devices.screen.pygame_screen import font_choice, save_png
    from display.tv_layout import render_scene

    size = _size(args.size)
    font = font_choice(args.font, args.font_index)
    snapshot = fetch_snapshot(args.controller, _token(args))
    now = dt.datetime.fromisoformat(snapshot["hall"]["now"])
    save_png(render_scene(snapshot, now, size), args.out, font=font)
    print(
        f"{args.out}: {size[0]}×{size[1]} 叫号屏 of {snapshot['hall']['name']} "
        f"at hall time {now:%Y-%m-%d %H:%M:%S}"
    )
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError as err:
        raise HallError(f"--size must look like 1920x1080, got {text!r}") from err
    if not (320 <= width <= 7680 and 240 <= height <= 4320):
        raise HallError(f"--size {text} is outside 320x240 … 7680x4320")
    return width, height
