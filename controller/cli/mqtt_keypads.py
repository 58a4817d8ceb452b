"""`hallctl mqtt-broker add-keypad` and `rotate-keypad`: one keypad's credentials, others untouched.

Adding a Wi-Fi keypad no longer needs `write-config --force` (which gives every keypad a new
password): the keypad must be in the hall config's `[keypads.mqtt.keypads]`; it gets a fresh
password, the ACL follows the config, and the running broker reloads (SIGHUP) while every other
keypad and the controller stay connected (docs/keypad-mqtt-driver.md).
"""

from __future__ import annotations

import argparse
import json
import secrets
from pathlib import Path
from typing import Any

from controller.domain.errors import HallError
from controller.settings.config_loader import load_config
from devices.keypad.mqtt_config import KeypadMqttConfig
from devices.mqtt_broker.mosquitto_accounts import (
    broker_users,
    listeners,
    reload_broker,
    set_password,
    write_acl,
)
from devices.mqtt_broker.mosquitto_files import BrokerError, device_username, write_private
from firmware_protocols.keypad.keypad_mqtt import KeypadTopic, TopicKind


def add_keypad_account_commands(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], default_config: Path
) -> None:
    """Register `mqtt-broker add-keypad DIR DEVICE` and `mqtt-broker rotate-keypad DIR DEVICE`."""
    for name, helps in (
        ("add-keypad", "give a keypad new to the hall config its broker account"),
        ("rotate-keypad", "give one keypad a new password (a lost or leaked one)"),
    ):
        action = actions.add_parser(
            name,
            help=helps,
            description=f"{helps[0].upper()}{helps[1:]}; the other keypads keep theirs and stay "
            "connected. Prints the keypad's new password once; reloads the broker started "
            "with -c DIR/mosquitto.conf (SIGHUP).",
        )
        action.add_argument("directory", type=Path, metavar="DIR", help="the broker's files")
        action.add_argument("device", metavar="DEVICE", help="the keypad's device id, e.g. kp-13")
        action.add_argument(
            "--config",
            type=Path,
            default=default_config,
            help=f"hall config (default {default_config})",
        )
        action.add_argument(
            "--no-reload", action="store_true", help="do not signal the running broker"
        )
        action.add_argument("--json", action="store_true", help="print the result as JSON")
        action.set_defaults(run=_run, adding=name == "add-keypad")


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config).keypads.mqtt
    if config is None or config.broker is None:
        raise HallError(f"{args.config}: no [keypads.mqtt] with a [keypads.mqtt.broker] section")
    directory: Path = args.directory.resolve()
    device: str = args.device
    if device not in config.keypads:
        raise HallError(
            f"keypad {device} is not in [keypads.mqtt.keypads] of {args.config}: add it there "
            "(device id = window number) first"
        )
    passwd = directory / "passwd"
    try:
        users = broker_users(passwd)
    except BrokerError as err:
        raise HallError(f"{err}; run `hallctl mqtt-broker write-config {directory}` first") from err
    user = device_username(device)
    if args.adding and user in users:
        raise HallError(f"keypad {device} already has an account: rotate-keypad gives a new one")
    if not args.adding and user not in users:
        raise HallError(f"keypad {device} has no account yet: add-keypad gives it one")
    password = secrets.token_urlsafe(18)
    set_password(passwd, user, password)
    written = write_simulated_password(config, device, password)
    write_acl(directory, config.hall_id, config.broker.username, config.keypads)
    reloaded = [] if args.no_reload else reload_broker(directory / "mosquitto.conf")
    result = _result(
        config,
        device=device,
        password=password,
        directory=directory,
        reloaded=reloaded,
        skipped=args.no_reload,
        written=written,
    )
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print(result)
    return 0


def _result(
    config: KeypadMqttConfig,
    *,
    device: str,
    password: str,
    directory: Path,
    reloaded: list[int],
    skipped: bool,
    written: Path | None = None,
) -> dict[str, Any]:
    return {
        "device_id": device,
        "window": config.keypads[device],
        "username": device_username(device),
        "password": password,
        "password_file": str(directory / "passwd"),
        "acl_file": str(directory / "acl"),
        "reloaded_pids": reloaded,
        "reload": "skipped" if skipped else ("sent" if reloaded else "no running broker found"),
        "password_written_to": str(written) if written else None,
        "provisioning": _provisioning(config, device, directory),
    }


def write_simulated_password(config: KeypadMqttConfig, device: str, password: str) -> Path | None:
    """Write a simulated keypad's new password to the file `[keypads.mqtt.simulate]` names for it
    (mode 600, the invoking user's); None for a real keypad. HallError naming the file if it fails."""
    path = config.simulate.get(device)
    if path is None:
        return None
    try:
        write_private(path, password + "\n")
    except OSError as err:
        raise HallError(
            f"cannot write the password file of simulated keypad {device}, {path}: "
            f"{err.strerror or err}"
        ) from err
    return path


def _provisioning(config: KeypadMqttConfig, device: str, directory: Path) -> dict[str, Any]:
    """What the keypad's set-up needs besides its password: hall, window, broker, CA, topics."""
    window = config.keypads[device]
    found = listeners(directory / "mosquitto.conf")
    tls = [port for port, _, secure in found if secure]
    ca = directory / "tls" / "ca.crt"
    return {
        "hall_id": config.hall_id,
        "window": window,
        "device_id": device,
        "broker_port": tls[0] if tls else (found[0][0] if found else None),
        "tls": bool(tls),
        "ca_certificate": str(ca) if tls and ca.exists() else None,
        "topics": {
            kind.value: str(KeypadTopic(config.hall_id, window, device, kind)) for kind in TopicKind
        },
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"{result['window']}号窗口 {result['device_id']}: 用户名 / user {result['username']}  "
        f"新密码（仅显示这一次）/ new password, shown once: {result['password']}"
    )
    if result["password_written_to"]:
        print(
            f"模拟评价器密码已写入 / simulated keypad's password written to {result['password_written_to']}"
        )
    setup = result["provisioning"]
    print(
        f"设置评价器 / keypad set-up: hall {setup['hall_id']}, window {setup['window']}, "
        f"broker port {setup['broker_port']} ({'TLS' if setup['tls'] else 'plain'})"
        + (f", CA {setup['ca_certificate']}" if setup["ca_certificate"] else "")
    )
    if result["reloaded_pids"]:
        pids = ", ".join(map(str, result["reloaded_pids"]))
        print(f"代理已重新加载 / broker reloaded (SIGHUP to {pids}); other keypads stay connected")
    elif result["reload"] == "skipped":
        print("未通知代理 / broker not signalled (--no-reload): reload it to take effect")
    else:
        print(
            "未找到运行中的代理 / no running broker started with this DIR's mosquitto.conf: "
            "the change takes effect at its next start (or: systemctl reload hall-mosquitto)"
        )
