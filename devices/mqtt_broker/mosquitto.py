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
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from devices.mqtt_broker.mosquitto_files import (
    CONTROLLER_USER,
    DEVICE_USER_PREFIX,
    MAX_PACKET_BYTES,
    BrokerAccounts,
    BrokerError,
    TlsListener,
    acl_text,
    config_text,
    device_username,
    mosquitto_passwd_binary,
    write_broker_files,
)

__all__ = [
    "CONTROLLER_USER",
    "DEVICE_USER_PREFIX",
    "MAX_PACKET_BYTES",
    "BrokerAccounts",
    "BrokerError",
    "MosquittoBroker",
    "TlsListener",
    "acl_text",
    "config_text",
    "device_username",
    "free_port",
    "mosquitto_binary",
    "mosquitto_passwd_binary",
    "no_delay",
    "write_broker_files",
]

_BINARIES = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
_STOP_SECONDS = 5.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def mosquitto_binary() -> str | None:
    """Path of the mosquitto broker binary, or None when the package is not installed."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((path for path in _BINARIES if os.access(path, os.X_OK)), None)


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
        tls: TlsListener | None = None,
    ) -> None:
        self.accounts = accounts
        self.tls = tls
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
    def ca_path(self) -> Path:
        """The hall CA certificate keypads are given (with a TLS listener)."""
        return self.data_dir / "tls" / "ca.crt"

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
        if self.port == 0:
            self.port = free_port(self.bind)
        if self.tls is not None and self.tls.port == 0:
            self.tls = dataclasses.replace(self.tls, port=free_port(self.tls.bind))
        return write_broker_files(
            self.accounts,
            self.data_dir,
            port=self.port,
            bind=self.bind,
            autosave_seconds=self.autosave_seconds,
            tls=self.tls,
        )

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
