"""`hallctl keypads` against a running hall (`hallctl up --simulate`), and with no hall to ask."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_CONFIG
from tests.mqtt_helpers import require_mosquitto
from tests.servers import free_port

ROOT = EXAMPLE_CONFIG.parent.parent
TOKEN = "keypad-cli-admin-token-0001"
KEYPADS = 12  # the example hall: 6 wired (kp-bus-1..6), 6 Wi-Fi (kp-07..12)
SEEN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def hallctl(*args: str, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
    """Run `hallctl ARGS` as a technician would (the token from the environment)."""
    env = {k: v for k, v in os.environ.items() if k != "HALLCTL_ADMIN_TOKEN"}
    if token is not None:
        env["HALLCTL_ADMIN_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "controller.cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def running_hall(tmp_path: Path) -> Iterator[str]:
    """`hallctl up --simulate` on a free port (simulated keypads, local Mosquitto); its URL."""
    require_mosquitto()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "HALLCTL_ADMIN_TOKEN"}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "controller.cli.main", "up", "--simulate"),
            *("--data", str(tmp_path / "var"), "--port", str(port)),
        ],
        cwd=ROOT,
        env=env | {"HALLCTL_ADMIN_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        assert "Traceback" not in err


def _all_online(url: str, timeout: float = 60) -> list[dict[str, object]]:
    """`hallctl keypads --json` until every keypad is online; the last rows seen."""
    deadline = time.monotonic() + timeout
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        done = hallctl("keypads", "--controller", url, "--json")
        if done.returncode in (0, 3):
            rows = json.loads(done.stdout)
            if done.returncode == 0 and len(rows) == KEYPADS:
                return rows
        time.sleep(0.5)
    raise AssertionError(f"keypads not all online within {timeout} s: {rows}")


def test_hallctl_keypads_lists_every_keypad_online_with_last_seen_and_firmware(
    running_hall: str,
) -> None:
    rows = _all_online(running_hall)
    assert {str(r["device_id"]) for r in rows} == {f"kp-bus-{n}" for n in range(1, 7)} | {
        f"kp-{n:02d}" for n in range(7, 13)
    }
    assert [r["window"] for r in rows] == sorted(r["window"] for r in rows)  # type: ignore[type-var]
    assert {r["firmware"] for r in rows} == {"sim-kp 1.0", "sim-1.0"}  # wired, Wi-Fi

    done = hallctl("keypads", "--controller", running_hall)
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.split()[:3] == ["窗口", "设备", "状态"] and "固件" in header
    assert len(lines) == KEYPADS
    for line in lines:
        window, device, state = line.split()[:3]
        assert window.isdigit() and device.startswith("kp-") and state == "在线", line
        assert SEEN.search(line), line  # last seen, in local time
        assert line.endswith(("sim-kp 1.0", "sim-1.0")), line


def test_hallctl_keypads_says_when_it_cannot_reach_the_hall_or_has_no_token() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    done = hallctl("keypads", "--controller", nobody)
    assert done.returncode == 1 and done.stdout == ""
    assert f"cannot reach the hall at {nobody}" in done.stderr
    done = hallctl("keypads", "--controller", nobody, token=None)
    assert done.returncode == 1 and "needs a token" in done.stderr


def test_hallctl_keypads_refuses_a_wrong_token(running_hall: str) -> None:
    _all_online(running_hall)
    done = hallctl("keypads", "--controller", running_hall, token="not-the-token-0000000000")
    assert done.returncode == 1 and "answered HTTP 401" in done.stderr
