"""`hallctl mqtt-broker write-config DIR`: the Mosquitto files for the hall's Wi-Fi keypads.

Reads `[keypads.mqtt]` of the hall config and writes `mosquitto.conf`, the hashed password file
and the ACL into DIR (docs/keypad-mqtt-driver.md, "A hall's own broker"). Every keypad gets a
fresh random password, printed once: the broker keeps only hashes.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import socket
from pathlib import Path
from typing import Any

from controller.cli.mqtt_keypads import add_keypad_account_commands, write_simulated_password
from controller.domain.errors import HallError
from controller.settings.config_loader import load_config
from devices.keypad.mqtt_config import KeypadMqttConfig
from devices.mqtt_broker.mosquitto import (
    BrokerAccounts,
    TlsListener,
    device_username,
    write_broker_files,
)
from devices.mqtt_broker.mosquitto_files import write_private

CONTROLLER_PASSWORD_FILE = "controller-password"


def add_mqtt_broker_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], default_config: Path
) -> None:
    """Register `hallctl mqtt-broker write-config DIR [--config] [--port] [--bind] ...`."""
    broker = sub.add_parser(
        "mqtt-broker",
        help="set up the Mosquitto broker of the Wi-Fi keypads",
        description="Mosquitto for the hall's Wi-Fi keypads (评价器): config, passwords, ACL.",
    )
    actions = broker.add_subparsers(required=True, metavar="ACTION")
    write = actions.add_parser(
        "write-config",
        help="write mosquitto.conf, the password file and the ACL from the hall config",
        description=(
            "Write DIR/mosquitto.conf, DIR/passwd (hashed with mosquitto_passwd) and DIR/acl "
            "for the keypads of [keypads.mqtt]; print each keypad's user name and new password "
            "once. Run the broker with: mosquitto -c DIR/mosquitto.conf"
        ),
    )
    write.add_argument("directory", type=Path, metavar="DIR", help="where the files go")
    write.add_argument(
        "--config",
        type=Path,
        default=default_config,
        help=f"hall config (default {default_config})",
    )
    write.add_argument(
        "--port", type=int, default=None, help="listener port (default: the config's)"
    )
    write.add_argument(
        "--bind",
        default="127.0.0.1",
        help="plain listener address (default 127.0.0.1: the controller on this host)",
    )
    write.add_argument(
        "--tls-port", type=int, default=8883, help="TLS listener port for the keypads (8883)"
    )
    write.add_argument(
        "--tls-bind",
        default="0.0.0.0",
        help="TLS listener address (default 0.0.0.0: the keypads' Wi-Fi)",
    )
    write.add_argument(
        "--tls-name",
        action="append",
        default=None,
        metavar="NAME",
        help="host name or address keypads connect to, for the broker certificate (repeat; "
        "default: this host's name, localhost, 127.0.0.1)",
    )
    write.add_argument(
        "--no-tls",
        action="store_true",
        help="no TLS listener: keypads use the plain one (give --bind the LAN address); "
        "their passwords then cross the network in clear",
    )
    write.add_argument(
        "--run-as",
        default=None,
        help="the user mosquitto runs as (default: the current user; as root, mosquitto)",
    )
    write.add_argument(
        "--force",
        action="store_true",
        help="overwrite an existing password file: every keypad gets a new password "
        "(one keypad: add-keypad, rotate-keypad)",
    )
    write.add_argument("--json", action="store_true", help="print the result as JSON")
    write.set_defaults(run=write_config)
    add_keypad_account_commands(actions, default_config)


def write_config(args: argparse.Namespace) -> int:
    """Write the broker files for the hall config's MQTT keypads; print the credentials once."""
    config = load_config(args.config).keypads.mqtt
    if config is None or config.broker is None:
        raise HallError(f"{args.config}: no [keypads.mqtt] with a [keypads.mqtt.broker] section")
    directory: Path = args.directory.resolve()
    if (directory / "passwd").exists() and not args.force:
        raise HallError(
            f"{directory / 'passwd'} exists: keypads set up with its passwords would be locked "
            "out; --force gives every keypad a new password"
        )
    port = args.port if args.port is not None else config.broker.port
    if not 1 <= port <= 65535:
        raise HallError(f"--port {port} is not a TCP port")
    accounts = BrokerAccounts.generate(
        config.hall_id, config.keypads, controller_user=config.broker.username
    )
    # The controller keeps the password its config names; only a new one is written for it.
    configured = _configured_password(config)
    written_password = None if configured else directory / CONTROLLER_PASSWORD_FILE
    if configured:
        accounts = dataclasses.replace(accounts, controller_password=configured)
    tls = None if args.no_tls else _tls_listener(args)
    conf = write_broker_files(
        accounts, directory, port=port, bind=args.bind, user=_run_as(args), tls=tls
    )
    if written_password is not None:
        write_private(written_password, accounts.controller_password + "\n")
    simulated = {
        device: write_simulated_password(config, device, accounts.device_passwords[device])
        for device in sorted(config.simulate)
    }
    result = _result(
        config,
        accounts,
        conf=conf,
        port=port,
        bind=args.bind,
        written_password=written_password,
    )
    for row in result["keypads"]:
        path = simulated.get(row["device_id"])
        row["password_written_to"] = str(path) if path else None
    if tls is not None:
        result["tls_listener"] = {"bind": tls.bind, "port": tls.port, "names": list(tls.names)}
        result["ca_certificate"] = str(directory / "tls" / "ca.crt")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print(result)
    return 0


def _tls_listener(args: argparse.Namespace) -> TlsListener:
    if not 1 <= args.tls_port <= 65535:
        raise HallError(f"--tls-port {args.tls_port} is not a TCP port")
    names = tuple(args.tls_name or (socket.gethostname(), "localhost", "127.0.0.1"))
    return TlsListener(port=args.tls_port, bind=args.tls_bind, names=names)


def _run_as(args: argparse.Namespace) -> str:
    """--run-as, else: as root (sudo) the Debian package's own `mosquitto` user, never root."""
    if args.run_as:
        return str(args.run_as)
    return "mosquitto" if os.geteuid() == 0 else getpass.getuser()


def _configured_password(config: KeypadMqttConfig) -> str | None:
    """The controller's password from its config (inline or a readable file), or None."""
    broker = config.broker
    assert broker is not None
    if broker.password is not None:
        return broker.password.get_secret_value()
    if broker.password_file is not None and broker.password_file.is_file():
        return broker.resolved_password()
    return None


def _result(
    config: KeypadMqttConfig,
    accounts: BrokerAccounts,
    *,
    conf: Path,
    port: int,
    bind: str,
    written_password: Path | None,
) -> dict[str, Any]:
    broker = config.broker
    assert broker is not None
    return {
        "config": str(conf),
        "password_file": str(conf.parent / "passwd"),
        "acl_file": str(conf.parent / "acl"),
        "listener": {"bind": bind, "port": port},
        "hall_id": config.hall_id,
        "controller": {
            "username": accounts.controller_user,
            "password_written_to": str(written_password) if written_password else None,
            "password_expected_at": str(broker.password_file) if broker.password_file else None,
        },
        "keypads": [
            {
                "window": window,
                "device_id": device,
                "username": device_username(device),
                "password": accounts.device_passwords[device],
            }
            for device, window in sorted(config.keypads.items(), key=lambda kv: (kv[1], kv[0]))
        ],
    }


def _print(result: dict[str, Any]) -> None:
    listener = result["listener"]
    print(f"已写入 / written: {result['config']}, {result['password_file']}, {result['acl_file']}")
    print(
        f"监听 / listener: {listener['bind']}:{listener['port']}  前缀 / topics: hall/{result['hall_id']}/"
    )
    if "tls_listener" in result:
        tls = result["tls_listener"]
        print(
            f"评价器 TLS / keypads over TLS: {tls['bind']}:{tls['port']}  "
            f"证书名 / names: {', '.join(tls['names'])}"
        )
        print(f"大厅根证书（装入每台评价器）/ hall CA for every keypad: {result['ca_certificate']}")
    else:
        print("警告 / warning: no TLS listener; keypad passwords cross the network in clear")
    print(f"启动 / run: mosquitto -c {result['config']}")
    controller = result["controller"]
    if controller["password_written_to"]:
        target = controller["password_expected_at"] or "broker.password_file"
        print(
            f"控制器密码 / controller password ({controller['username']}): "
            f"{controller['password_written_to']} → 复制到 / copy to {target}"
        )
    else:
        print(
            f"控制器 / controller ({controller['username']}): 沿用配置中的密码 / configured password kept"
        )
    print("评价器账号（仅显示这一次，代理只保存散列）/ keypad credentials, shown once:")
    print(f"{'窗口':<4} {'设备':<12} {'用户名':<16} 密码")
    for row in result["keypads"]:
        written = row["password_written_to"]
        note = f"  (模拟 / simulated → {written})" if written else ""
        print(
            f"{row['window']!s:<6} {row['device_id']:<14} {row['username']:<19} {row['password']}"
            + note
        )
