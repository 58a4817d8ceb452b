"""The Mosquitto broker's files for the hall's keypads: accounts, hashed passwords, ACL, config.

Used by `MosquittoBroker` (tests, `--simulate`) and by `hallctl mqtt-broker write-config` (a real
deployment). Every keypad logs in as `kp-{device_id}` and may publish only its own event and
state topics and read only its own ack and display topics; the controller's user has the hall
prefix; anonymous clients are refused.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from controller.domain.errors import HallError
from firmware_protocols.keypad.keypad_mqtt import KeypadTopic, TopicKind
from firmware_protocols.keypad.keypad_mqtt_fields import ID_PATTERN
from firmware_protocols.keypad.keypad_mqtt_json import MAX_PAYLOAD_BYTES

CONTROLLER_USER = "hall-controller"
DEVICE_USER_PREFIX = "kp-"
MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 1024  # fixed header + a 160-byte topic + v5 properties


class BrokerError(HallError):
    """The broker could not be configured, started or stopped; names the path and the cause."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"mosquitto {path}: {detail}")


def device_username(device_id: str) -> str:
    """The broker user of one keypad: `kp-{device_id}`."""
    return f"{DEVICE_USER_PREFIX}{device_id}"


def mosquitto_passwd_binary() -> str | None:
    """Path of `mosquitto_passwd` (same Debian package), or None."""
    return shutil.which("mosquitto_passwd") or (
        "/usr/bin/mosquitto_passwd" if os.access("/usr/bin/mosquitto_passwd", os.X_OK) else None
    )


@dataclass(frozen=True)
class BrokerAccounts:
    """Who may log in: the controller and one user per keypad (device id -> window, password)."""

    hall_id: str
    keypads: Mapping[str, int]
    controller_password: str = field(repr=False)
    device_passwords: Mapping[str, str] = field(repr=False)
    controller_user: str = CONTROLLER_USER

    def __post_init__(self) -> None:
        if not ID_PATTERN.fullmatch(self.hall_id):
            raise BrokerError("accounts", f"hall id {self.hall_id!r} is not {ID_PATTERN.pattern}")
        for device_id, window in self.keypads.items():
            KeypadTopic(self.hall_id, window, device_id, TopicKind.EVENT)  # validates both
            if device_id not in self.device_passwords:
                raise BrokerError("accounts", f"no password for keypad {device_id}")
        users = [self.controller_user, *map(device_username, self.keypads)]
        for user in users:
            if not user or any(ch in user for ch in ": \n\r\t#"):
                raise BrokerError("accounts", f"user name {user!r} is not allowed")
        for secret in (self.controller_password, *self.device_passwords.values()):
            if not secret or any(ch in secret for ch in ":\n\r"):
                raise BrokerError("accounts", "a password is empty or holds ':' or a newline")

    @classmethod
    def generate(
        cls, hall_id: str, keypads: Mapping[str, int], *, controller_user: str = CONTROLLER_USER
    ) -> BrokerAccounts:
        """Fresh random passwords (24 URL-safe characters each) for the controller and keypads."""
        return cls(
            hall_id=hall_id,
            keypads=dict(keypads),
            controller_password=secrets.token_urlsafe(18),
            device_passwords={device: secrets.token_urlsafe(18) for device in keypads},
            controller_user=controller_user,
        )


def acl_text(accounts: BrokerAccounts) -> str:
    """The acl_file: the controller owns `hall/{hall}/#`; each keypad only its own four topics."""
    return acl_for(accounts.hall_id, accounts.controller_user, accounts.keypads)


def acl_for(hall: str, controller_user: str, keypads: Mapping[str, int]) -> str:
    """The acl_file for hall `hall`'s controller user and keypads (device id -> window)."""
    lines = [
        "# Written by devices/mqtt_broker/mosquitto_files.py; no pattern lines: a keypad's window is not in its name.",
        "# Nothing above the first `user` line, so an anonymous client (refused anyway) gets nothing.",
        f"user {controller_user}",
        f"topic readwrite hall/{hall}/#",
    ]
    for device_id, window in sorted(keypads.items()):
        lines += ["", f"user {device_username(device_id)}"]
        for kind, access in (
            (TopicKind.EVENT, "write"),
            (TopicKind.STATE, "write"),
            (TopicKind.ACK, "read"),
            (TopicKind.DISPLAY, "read"),
        ):
            lines.append(f"topic {access} {KeypadTopic(hall, window, device_id, kind)}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class TlsListener:
    """A TLS listener for keypads on the hall's Wi-Fi: address, port and the names in its cert."""

    port: int = 8883
    bind: str = "0.0.0.0"
    names: tuple[str, ...] = ("localhost", "127.0.0.1")


def config_text(
    data_dir: Path,
    *,
    port: int,
    bind: str = "127.0.0.1",
    autosave_seconds: int = 60,
    user: str | None = None,
    tls: TlsListener | None = None,
) -> str:
    """mosquitto.conf for a broker whose files all live in `data_dir`, run as `user`.

    The plain listener is for the controller on its own host (127.0.0.1 by default); keypads
    on the hall network use the TLS listener, so their passwords never cross Wi-Fi in clear.
    """
    # Run as root (tests, CI), mosquitto would drop to user `mosquitto`, which cannot read a
    # private temp dir: stay the user we are (the option is ignored when not root).
    user = user or pwd.getpwuid(os.geteuid()).pw_name
    return "\n".join(
        [
            "# Written by devices/mqtt_broker/mosquitto_files.py",
            f"user {user}",
            "per_listener_settings false",
            f"listener {port} {bind}",
            "allow_anonymous false",
            # The broker takes each client's id from its user name: a keypad's password can
            # neither kick another keypad off (its will would fire) nor take the controller's
            # persistent session, the queue of presses made while it restarts.
            "use_username_as_clientid true",
            f"password_file {data_dir / 'passwd'}",
            f"acl_file {data_dir / 'acl'}",
            "persistence true",
            f"persistence_location {data_dir / 'db'}",
            f"autosave_interval {autosave_seconds}",
            "persistent_client_expiration 14d",
            f"max_packet_size {MAX_PACKET_BYTES}",
            "max_queued_messages 1000",
            "set_tcp_nodelay true",  # Nagle + delayed ACK cost ~40 ms per small QoS 1 message
            *_tls_lines(data_dir, tls),
            f"log_dest file {data_dir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "",
        ]
    )


def _tls_lines(data_dir: Path, tls: TlsListener | None) -> list[str]:
    if tls is None:
        return []
    folder = data_dir / "tls"
    return [
        f"listener {tls.port} {tls.bind}",
        f"cafile {folder / 'ca.crt'}",
        f"certfile {folder / 'server.crt'}",
        f"keyfile {folder / 'server.key'}",
        "tls_version tlsv1.2",
    ]


def write_broker_files(
    accounts: BrokerAccounts,
    directory: Path,
    *,
    port: int,
    bind: str = "127.0.0.1",
    autosave_seconds: int = 60,
    user: str | None = None,
    tls: TlsListener | None = None,
) -> Path:
    """Write mosquitto.conf, the hashed password file and the ACL into `directory`; the conf path.

    Every file is mode 0600 (the password file holds hashes, the others name the users).
    """
    passwd_tool = mosquitto_passwd_binary()
    if passwd_tool is None:
        raise BrokerError("mosquitto_passwd", "not installed (Debian package mosquitto)")
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "db").mkdir(exist_ok=True)
    plain = [f"{accounts.controller_user}:{accounts.controller_password}"]
    plain += [
        f"{device_username(device)}:{accounts.device_passwords[device]}"
        for device in sorted(accounts.keypads)
    ]
    passwd = directory / "passwd"
    write_private(passwd, "\n".join(plain) + "\n")
    # -U hashes every plain-text line in place (PBKDF2-SHA512 in mosquitto 2.0).
    try:
        done = subprocess.run(
            [passwd_tool, "-U", str(passwd)], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        passwd.unlink(missing_ok=True)  # never leave the plain passwords behind
        raise BrokerError(str(passwd), f"mosquitto_passwd failed: {err}") from err
    if done.returncode != 0:
        passwd.unlink(missing_ok=True)
        raise BrokerError(str(passwd), done.stderr.decode(errors="replace").strip())
    write_private(directory / "acl", acl_text(accounts))
    owned = [directory, directory / "db", passwd, directory / "acl"]
    if tls is not None:
        from devices.mqtt_broker.mosquitto_tls import ensure_broker_tls

        files = ensure_broker_tls(directory / "tls", accounts.hall_id, tls.names)
        owned += [directory / "tls", files.server_cert, files.server_key]
    conf = directory / "mosquitto.conf"
    text = config_text(
        directory, port=port, bind=bind, autosave_seconds=autosave_seconds, user=user, tls=tls
    )
    write_private(conf, text)
    if user is not None and os.geteuid() == 0:
        # mosquitto 2 reads the password file, ACL and TLS key after dropping to `user`, and
        # writes its persistence there: that user must own them.
        _give_to(user, [*owned, conf])
    return conf


def _give_to(user: str, paths: list[Path]) -> None:
    try:
        entry = pwd.getpwnam(user)
    except KeyError as err:
        raise BrokerError(str(paths[0]), f"no system user {user!r} to run mosquitto as") from err
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by the owner only (it may hold secrets).

    Written to a new file beside it, then renamed over it: a symlink planted at `path` (by the
    broker's user, who owns the folder) is replaced, never followed.
    """
    fresh = path.with_name(f".{path.name}.{os.getpid()}.new")
    fresh.unlink(missing_ok=True)
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(fresh, path)
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise
