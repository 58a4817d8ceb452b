"""The `--simulate [FAMILIES]` option of `hallctl up` and `hallctl check-config`."""

from __future__ import annotations

import argparse

from controller.app.simulated_families import ALL, FAMILIES, Simulated, parse_families


def add_simulate_option(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    """`--simulate` alone: every family; `--simulate led,keypads`: only those (None: none)."""
    parser.add_argument(
        "--simulate",
        nargs="?",
        const=ALL,
        default=None,
        type=_families,
        metavar="FAMILIES",
        help=help_text
        or f"use simulated twins instead of real devices: all (the default), or some of "
        f"{','.join(FAMILIES)}, comma-separated",
    )


def _families(text: str) -> Simulated:
    try:
        return parse_families(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
