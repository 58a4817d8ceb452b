"""A real Mosquitto broker for the hall's keypads: config, passwords, ACL, and its process.

The broker runs as `mosquitto -c DATA/mosquitto.conf` (the Debian package `mosquitto`; its system
service is not needed). Every keypad logs in as `kp-{device_id}` and may publish only its own
event and state topics and subscribe only to its own ack and display topics; the controller's
user has the whole hall prefix; anonymous clients are refused. Persistence keeps retained
messages, persistent sessions and their queued QoS 1 messages across a restart.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from controller.errors import HallError
from firmware_protocols.keypad_mqtt import ID_PATTERN, MAX_PAYLOAD_BYTES, KeypadTopic, TopicKind

CONTROLLER_USER = "hall-controller"
DEVICE_USER_PREFIX = "kp-"
MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 1024  # fixed header + a 160-byte topic + v5 properties
_BINARIES = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
_STOP_SECONDS = 5.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class BrokerError(HallError):
    """The broker could not be configured, started or stopped; names the path and the cause."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"mosquitto {path}: {detail}")


def device_username(device_id: str) -> str:
    """The broker user of one keypad: `kp-{device_id}`."""
    return f"{DEVICE_USER_PREFIX}{device_id}"


def mosquitto_binary() -> str | None:
    """Path of the mosquitto broker binary, or None when the package is not installed."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((path for path in _BINARIES if os.access(path, os.X_OK)), None)


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
    hall = accounts.hall_id
    lines = [
        "# Written by devices/mosquitto.py; no pattern lines: a keypad's window is not in its name.",
        "# Nothing above the first `user` line, so an anonymous client (refused anyway) gets nothing.",
        f"user {accounts.controller_user}",
        f"topic readwrite hall/{hall}/#",
    ]
    for device_id, window in sorted(accounts.keypads.items()):
        lines += ["", f"user {device_username(device_id)}"]
        for kind, access in (
            (TopicKind.EVENT, "write"),
            (TopicKind.STATE, "write"),
            (TopicKind.ACK, "read"),
            (TopicKind.DISPLAY, "read"),
        ):
            lines.append(f"topic {access} {KeypadTopic(hall, window, device_id, kind)}")
    return "\n".join(lines) + "\n"


def config_text(
    data_dir: Path, *, port: int, bind: str = "127.0.0.1", autosave_seconds: int = 60
) -> str:
    """mosquitto.conf for a broker whose files all live in `data_dir`."""
    # Run as root (tests, CI), mosquitto would drop to user `mosquitto`, which cannot read a
    # private temp dir: stay the user we are (the option is ignored when not root).
    user = pwd.getpwuid(os.geteuid()).pw_name
    return "\n".join(
        [
            "# Written by devices/mosquitto.py",
            f"user {user}",
            "per_listener_settings false",
            f"listener {port} {bind}",
            "allow_anonymous false",
            f"password_file {data_dir / 'passwd'}",
            f"acl_file {data_dir / 'acl'}",
            "persistence true",
            f"persistence_location {data_dir / 'db'}",
            f"autosave_interval {autosave_seconds}",
            "persistent_client_expiration 14d",
            f"max_packet_size {MAX_PACKET_BYTES}",
            "max_queued_messages 1000",
            "set_tcp_nodelay true",  # Nagle + delayed ACK cost ~40 ms per small QoS 1 message
            f"log_dest file {data_dir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "",
        ]
    )


def no_delay(client: object, userdata: object, sock: object) -> None:
    """paho `on_socket_open` hook: TCP_NODELAY, so one small message is not held back ~40 ms."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def free_port(bind: str = "127.0.0.1") -> int:
    """A TCP port that was free on `bind` a moment ago."""
    with socket.socket() as sock:
        sock.bind((bind, 0))
        return int(sock.getsockname()[1])


class MosquittoBroker:
    """One mosquitto process with its config, password file, ACL and persistence in `data_dir`."""

    def __init__(
        self,
        accounts: BrokerAccounts,
        data_dir: str | Path,
        *,
        port: int = 0,
        bind: str = "127.0.0.1",
        autosave_seconds: int = 60,
        binary: str | None = None,
    ) -> None:
        self.accounts = accounts
        self.data_dir = Path(data_dir).resolve()
        self.bind = bind
        self.port = port
        self.autosave_seconds = autosave_seconds
        self.binary = binary or mosquitto_binary()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """The address clients connect to."""
        return "127.0.0.1" if self.bind in ("0.0.0.0", "") else self.bind

    @property
    def log_path(self) -> Path:
        """The broker's own log file."""
        return self.data_dir / "mosquitto.log"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def write_files(self) -> Path:
        """Write mosquitto.conf, the hashed password file and the ACL; returns the config path."""
        passwd_tool = mosquitto_passwd_binary()
        if passwd_tool is None:
            raise BrokerError("mosquitto_passwd", "not installed (Debian package mosquitto)")
        if self.port == 0:
            self.port = free_port(self.bind)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "db").mkdir(exist_ok=True)
        accounts = self.accounts
        plain = [f"{accounts.controller_user}:{accounts.controller_password}"]
        plain += [
            f"{device_username(device)}:{accounts.device_passwords[device]}"
            for device in sorted(accounts.keypads)
        ]
        passwd = self.data_dir / "passwd"
        _write_private(passwd, "\n".join(plain) + "\n")
        # -U hashes every plain-text line in place (PBKDF2-SHA512 in mosquitto 2.0).
        done = subprocess.run(
            [passwd_tool, "-U", str(passwd)], capture_output=True, timeout=30, check=False
        )
        if done.returncode != 0:
            raise BrokerError(str(passwd), done.stderr.decode(errors="replace").strip())
        _write_private(self.data_dir / "acl", acl_text(accounts))
        conf = self.data_dir / "mosquitto.conf"
        _write_private(
            conf,
            config_text(
                self.data_dir,
                port=self.port,
                bind=self.bind,
                autosave_seconds=self.autosave_seconds,
            ),
        )
        return conf

    def start(self, timeout: float = 10.0) -> MosquittoBroker:
        """Write the files, start mosquitto and wait until it accepts TCP connections; self."""
        if self.running:
            return self
        if self.binary is None:
            raise BrokerError("mosquitto", "not installed (Debian package mosquitto)")
        conf = self.write_files()
        self._process = subprocess.Popen(
            [self.binary, "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C at the terminal reaches us, and we stop it in order
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (only prctl, async-signal-safe)
        )
        self._wait_listening(timeout)
        return self

    def stop(self) -> None:
        """SIGTERM (mosquitto saves its persistence database), SIGKILL after 5 s; idempotent."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(_STOP_SECONDS)
        if process.stderr is not None:
            process.stderr.close()

    def kill(self) -> None:
        """SIGKILL: a crash; only what the last autosave wrote survives."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(_STOP_SECONDS)
        if process is not None and process.stderr is not None:
            process.stderr.close()

    def restart(self, timeout: float = 10.0) -> MosquittoBroker:
        """Stop cleanly and start again on the same port and data dir; self."""
        self.stop()
        return self.start(timeout)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the broker's log (empty if none yet)."""
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            process = self._process
            assert process is not None
            if process.poll() is not None:
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                self._process = None
                detail = (stderr.strip() or self.log_tail()).splitlines()[-3:]
                raise BrokerError(str(self.data_dir), f"exited at start: {' | '.join(detail)}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.2),
            ):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(str(self.data_dir), f"not listening on port {self.port}")
            time.sleep(0.02)


def _die_with_parent() -> None:
    # A controller killed with SIGKILL cannot stop its broker: Linux sends it SIGTERM instead.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by the owner only (it may hold secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)
