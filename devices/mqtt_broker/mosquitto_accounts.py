"""One keypad's broker account changed in place: a new password, the ACL, a reloaded broker.

`hallctl mqtt-broker add-keypad` and `rotate-keypad` (docs/keypad-mqtt-driver.md): the password
file gets one hashed line replaced or added (hashed by `mosquitto_passwd -U` on a private
temporary file, so the password never appears on a command line), the ACL is rewritten from the
hall config, and the running broker of that directory is sent SIGHUP: Mosquitto then reads its
password file and ACL again while every other client stays connected.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from devices.mqtt_broker.mosquitto_files import (
    BrokerError,
    acl_for,
    mosquitto_passwd_binary,
    write_private,
)


def broker_users(passwd: Path) -> list[str]:
    """The user names in a Mosquitto password file, in file order."""
    try:
        text = passwd.read_text(encoding="utf-8")
    except OSError as err:
        raise BrokerError(str(passwd), err.strerror or str(err)) from err
    return [line.split(":", 1)[0] for line in text.splitlines() if ":" in line]


def set_password(passwd: Path, user: str, password: str) -> None:
    """Give `user` `password` in the password file (added, or its line replaced); owner kept."""
    hashed = _hashed_line(user, password, passwd.parent)
    text = passwd.read_text(encoding="utf-8")
    kept = [line for line in text.splitlines() if line and line.split(":", 1)[0] != user]
    _write_keeping_owner(passwd, "\n".join([*kept, hashed]) + "\n")


def write_acl(directory: Path, hall: str, controller_user: str, keypads: Mapping[str, int]) -> None:
    """Rewrite DIR/acl for these keypads (device id -> window); owner kept."""
    _write_keeping_owner(directory / "acl", acl_for(hall, controller_user, keypads))


def listeners(conf: Path) -> list[tuple[int, str, bool]]:
    """The listeners of a mosquitto.conf: (port, address, TLS), in file order."""
    found: list[tuple[int, str, bool]] = []
    try:
        lines = conf.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise BrokerError(str(conf), err.strerror or str(err)) from err
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "listener" and words[1].isdigit():
            found.append((int(words[1]), words[2] if len(words) > 2 else "", False))
        elif words and words[0] == "certfile" and found:
            found[-1] = (found[-1][0], found[-1][1], True)
    return found


def reload_broker(conf: Path) -> list[int]:
    """SIGHUP every running mosquitto started with `-c conf`; their process ids (maybe none)."""
    wanted = conf.resolve()
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone, or not ours to read
            continue
        if not args or not os.path.basename(args[0]).startswith(b"mosquitto"):
            continue
        for flag, value in itertools.pairwise(args):
            if flag in (b"-c", b"--config-file") and _path_of(entry, value) == wanted:
                os.kill(int(entry.name), signal.SIGHUP)
                found.append(int(entry.name))
    return found


def _path_of(process: Path, argument: bytes) -> Path | None:
    path = Path(os.fsdecode(argument))
    if not path.is_absolute():  # relative to the broker's own working directory
        try:
            path = Path(os.readlink(process / "cwd")) / path
        except OSError:
            return None
    return path.resolve()


def _hashed_line(user: str, password: str, near: Path) -> str:
    tool = mosquitto_passwd_binary()
    if tool is None:
        raise BrokerError("mosquitto_passwd", "not installed (Debian package mosquitto)")
    if any(ch in user + password for ch in ":\n\r"):
        raise BrokerError("accounts", "a user name or password holds ':' or a newline")
    with tempfile.TemporaryDirectory(dir=near, prefix=".passwd-") as scratch:
        plain = Path(scratch) / "one"
        write_private(plain, f"{user}:{password}\n")
        try:
            done = subprocess.run(
                [tool, "-U", str(plain)], capture_output=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise BrokerError(str(plain), f"mosquitto_passwd failed: {err}") from err
        if done.returncode != 0:
            raise BrokerError(str(plain), done.stderr.decode(errors="replace").strip())
        return plain.read_text(encoding="utf-8").strip()


def _write_keeping_owner(path: Path, text: str) -> None:
    before = path.stat()
    write_private(path, text)
    if os.geteuid() == 0:  # the broker's user must still own what it reads after a reload
        os.chown(path, before.st_uid, before.st_gid, follow_symlinks=False)
