"""Which device families run as simulated twins: `--simulate [FAMILIES]` and per-device `simulate`.

Bringing a real hall in one family at a time (docs/commissioning.md): plain `--simulate` means
every family; `--simulate led,keypads` only those; a device whose config says `simulate = true`
is a twin whatever the command line says, and so is a Wi-Fi keypad named in
`[keypads.mqtt.simulate]` (a twin on the hall's real broker). What a real run needs from outside
the config (a broker password file, a simulated keypad's password file, the central token file)
is checked only for the families that are real.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from controller.domain.errors import ConfigError, ConfigProblem
from controller.settings.config_loader import locate_keys
from controller.settings.hall_config import HallConfig

Loc = tuple[str | int, ...]

FAMILIES = ("printers", "led", "voice", "keypads")
ALL = "all"


@dataclass(frozen=True)
class Simulated:
    """The families replaced by twins for this run (empty: every device real)."""

    families: frozenset[str] = frozenset()

    @classmethod
    def every(cls) -> Simulated:
        """Every family simulated (plain `--simulate`, `--demo`)."""
        return cls(frozenset(FAMILIES))

    def __contains__(self, family: object) -> bool:
        return family in self.families

    def __bool__(self) -> bool:
        return bool(self.families)

    def describe(self) -> str:
        """The families, comma-separated, in the documented order ("none" when empty)."""
        return ",".join(f for f in FAMILIES if f in self.families) or "none"


def parse_families(text: str) -> Simulated:
    """`all` or a comma-separated list of FAMILIES; ValueError naming an unknown family."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError(f"name at least one device family: {', '.join(FAMILIES)} or {ALL}")
    if ALL in names:
        return Simulated.every()
    unknown = [name for name in names if name not in FAMILIES]
    if unknown:
        raise ValueError(
            f"unknown device family {', '.join(unknown)}: choose from {', '.join(FAMILIES)} or {ALL}"
        )
    return Simulated(frozenset(names))


def check_real_devices(path: Path, config: HallConfig, simulated: Simulated) -> None:
    """Raise ConfigError (file, line, key) for what a run with the real families would stop on."""
    problems = real_device_problems(config, simulated)
    if not problems:
        return
    try:
        lines = locate_keys(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        lines = {}
    raise ConfigError(
        [
            ConfigProblem(str(path), lines.get(loc), ".".join(map(str, loc)), m)
            for loc, m in problems
        ]
    )


def real_device_problems(config: HallConfig, simulated: Simulated) -> list[tuple[Loc, str]]:
    """What a run with these families real would stop on: a missing broker, unreadable files."""
    found: list[tuple[Loc, str]] = []
    mqtt = config.keypads.mqtt
    if "keypads" not in simulated and mqtt is not None and mqtt.keypads:
        if mqtt.broker is None:
            found.append(
                (
                    ("keypads", "mqtt"),
                    "MQTT keypads are configured but no broker: add [keypads.mqtt.broker] "
                    "(or simulate the keypads: --simulate keypads)",
                )
            )
        elif mqtt.broker.password_file is not None:
            loc: Loc = ("keypads", "mqtt", "broker", "password_file")
            found += _secret_file(loc, mqtt.broker.password_file, "the broker password file")
        for device, path in sorted(mqtt.simulate.items()):
            what = f"the broker password file of simulated keypad {device}"
            hint = (
                f" (`hallctl mqtt-broker write-config` or `rotate-keypad DIR {device}` writes it)"
            )
            problems = _secret_file(("keypads", "mqtt", "simulate", device), path, what)
            found += [(loc, message + hint) for loc, message in problems]
    push = config.satisfaction
    if push.enabled and push.url and push.token_file is not None:
        found += _secret_file(("satisfaction", "token_file"), push.token_file, "the token file")
    return found


def _secret_file(loc: Loc, path: Path, what: str) -> list[tuple[Loc, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [(loc, f"{what} {path} does not exist")]
    except (OSError, UnicodeDecodeError) as err:
        return [(loc, f"cannot read {what} {path}: {err}")]
    if not text.strip():
        return [(loc, f"{what} {path} is empty")]
    return []
