"""docs/commissioning.md followed step by step: its commands, its config blocks, its outputs.

The hall's "real" devices are simulated twins this test runs itself, outside the hall: LED
strips and keypads on real pseudo-terminals, a printer on a TCP port. Every command run here is
first found verbatim in the page; device paths are then swapped for the twins' (and `hallctl
up` gets a free `--port`, and stops when the test has seen what the page promises).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devices.keypad.sim_keypad_serial import SimulatedKeypadLine
from devices.led.sim_led_strip import SimulatedLedBus
from devices.printer.sim_printer import SimulatedPrinter
from tests.conftest import EXAMPLE_CONFIG
from tests.mqtt_helpers import require_mosquitto
from tests.servers import free_port

ROOT = EXAMPLE_CONFIG.parent.parent
PAGE = (ROOT / "docs" / "commissioning.md").read_text(encoding="utf-8")
TOKEN = "commissioning-test-admin-token-01"
CONFIG = "/etc/hall-controller/hall.toml"


def fenced(kind: str) -> list[str]:
    """The page's fenced blocks of `kind` (toml, sh, text), in order."""
    return re.findall(rf"```{kind}\n(.*?)```", PAGE, re.S)


@dataclass
class Site:
    """The hall being commissioned: its config file, data and the twins standing in for hardware."""

    tmp: Path
    swaps: dict[str, str]

    @property
    def config(self) -> Path:
        """The config file the page calls /etc/hall-controller/hall.toml."""
        return Path(self.swaps[CONFIG])

    def local(self, text: str) -> str:
        """`text` with the page's paths swapped for this test's."""
        for page_path in sorted(self.swaps, key=len, reverse=True):
            text = text.replace(page_path, self.swaps[page_path])
        return text

    def append(self, block: str) -> None:
        """Append one of the page's TOML blocks to the config."""
        with self.config.open("a", encoding="utf-8") as out:
            out.write("\n" + self.local(block))

    def hallctl(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run a command of the page (found in it verbatim) on this site."""
        assert any(command in block for block in fenced("sh")), f"not on the page: {command}"
        args = shlex.split(self.local(command))
        assert args[0] == "hallctl"
        return subprocess.run(
            [sys.executable, "-m", "controller.cli.main", *args[1:]],
            cwd=self.tmp,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def expected(self, index: int) -> list[str]:
        """The page's `text` block number `index`, paths swapped, as lines."""
        return self.local(fenced("text")[index]).rstrip("\n").split("\n")


def _env() -> dict[str, str]:
    return os.environ | {"HALLCTL_ADMIN_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}


@dataclass
class Hardware:
    """The twins standing in for the hall's devices."""

    led: SimulatedLedBus
    keypads: SimulatedKeypadLine
    printer: SimulatedPrinter


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Site, Hardware]]:
    """Twins wired as the page's hardware: strips 1, 2 and a board at 40; keypads 1 and 2."""
    with (
        SimulatedLedBus(baudrate=9600, link=tmp_path / "ttyUSB2") as led,
        SimulatedKeypadLine(baudrate=38_400, link=tmp_path / "ttyUSB3") as keypads,
        SimulatedPrinter("tcp") as printer,
    ):
        led.add_strip(1)
        led.add_strip(2)
        led.add_strip(40, board=True, lines=4, columns=32)
        keypads.add_keypad(1, window=1)
        keypads.add_keypad(2, window=2)
        (tmp_path / "etc").mkdir()
        swaps = {
            CONFIG: str(tmp_path / "etc" / "hall.toml"),
            "/etc/hall-controller/mqtt-password": str(tmp_path / "etc" / "mqtt-password"),
            "/var/lib/hall-controller": str(tmp_path / "data"),
            "/dev/ttyUSB2": led.url,
            "/dev/ttyUSB3": keypads.url,
            "socket://192.168.10.31:9100": printer.url,
        }
        yield Site(tmp_path, swaps), Hardware(led, keypads, printer)


def run_up_until(site: Site, command: str, seen: str) -> dict[str, object]:
    """Start the page's `hallctl up` command; once /api/`seen` holds what the step promises
    (checked by the caller on the returned JSON), stop it with SIGTERM."""
    assert command in PAGE
    port = free_port()
    args = [*shlex.split(site.local(command))[1:], "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "controller.cli.main", *args],
        cwd=site.tmp,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    found: dict[str, object] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/{seen}", headers=headers)
                if answer.status_code == 200:
                    found = answer.json()
                    if _step_done(seen, found):
                        break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    found["_banner"] = out
    return found


def _step_done(seen: str, found: dict[str, object]) -> bool:
    rows = found.get("led" if seen == "devices" else "keypads")
    return (
        isinstance(rows, list)
        and bool(rows)
        and all(r.get("available" if seen == "devices" else "online") for r in rows)
    )


def test_commissioning_walk_through(site: tuple[Site, Hardware]) -> None:
    hall, hardware = site
    base, led, wired, mqtt, printers = fenced("toml")

    # Step 0: the smallest hall checks; nothing simulated, nothing missing.
    hall.append(base)
    check = hall.hallctl(f"hallctl check-config {CONFIG}")
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip().endswith(
        "OK — 青山县政务服务中心, 1 services, 2 windows; simulated: none"
    )

    # Step 1: the LED line is scanned (the board at 40), configured, checked, run for real.
    scanned = hall.hallctl("hallctl led scan --port /dev/ttyUSB2 --last 48")
    assert scanned.returncode == 0 and scanned.stdout.rstrip("\n").split("\n") == hall.expected(0)
    hall.append(led)
    compared = hall.hallctl(f"hallctl led scan --port /dev/ttyUSB2 --last 48 --config {CONFIG}")
    assert compared.returncode == 0, compared.stdout
    assert (
        hall.hallctl(f"hallctl check-config {CONFIG} --simulate printers,voice,keypads").returncode
        == 0
    )
    up_led = (
        f"hallctl up --config {CONFIG} --data /var/lib/hall-controller "
        "--simulate printers,voice,keypads"
    )
    devices = run_up_until(hall, up_led, "devices")
    assert _step_done("devices", devices), devices
    banner = str(devices["_banner"])
    assert "simulated families: printers,voice,keypads" in banner
    assert "模拟语音" in banner and "模拟LED屏" not in banner
    assert {s.address for s in hardware.led.strips if s.text} == {1, 2, 40}

    # Step 2: the wired keypads, real beside simulated printers and voice.
    scanned = hall.hallctl("hallctl keypads scan --port /dev/ttyUSB3 --last 8")
    assert scanned.returncode == 0 and scanned.stdout.rstrip("\n").split("\n") == hall.expected(1)
    hall.append(wired)
    up_keypads = (
        f"hallctl up --config {CONFIG} --data /var/lib/hall-controller --simulate printers,voice"
    )
    keypads = run_up_until(hall, up_keypads, "keypads")
    assert _step_done("keypads", keypads), keypads
    rows = keypads["keypads"]
    assert isinstance(rows, list)
    assert sorted(r["device_id"] for r in rows) == ["kp-bus-1", "kp-bus-2"]
    assert all(r["firmware"] == "sim-kp 1.0" for r in rows)
    assert hardware.keypads.keypad(1).displays  # it was sent its window's state

    # Step 3: the Wi-Fi keypads: the missing password file named, then the broker's files.
    hall.append(mqtt)
    missing = hall.hallctl(f"hallctl check-config {CONFIG} --simulate printers,voice")
    assert missing.returncode == 2
    assert missing.stderr.rstrip("\n").split("\n") == hall.expected(2)
    require_mosquitto()
    written = hall.hallctl(
        f"hallctl mqtt-broker write-config /var/lib/hall-controller/mqtt --config {CONFIG}"
    )
    assert written.returncode == 0, written.stderr
    shutil.copy(
        Path(hall.local("/var/lib/hall-controller/mqtt")) / "controller-password",
        hall.local("/etc/hall-controller/mqtt-password"),
    )
    passes = hall.hallctl(f"hallctl check-config {CONFIG} --simulate printers,voice")
    assert passes.returncode == 0, passes.stderr
    # The simulated kp-w2's password went where [keypads.mqtt.simulate] says, for its twin.
    twin_password = Path(hall.local("/etc/hall-controller/mqtt-password-kp-w2"))
    assert twin_password.stat().st_mode & 0o777 == 0o600 and twin_password.read_text().strip()

    # Step 4: the printer prints its test ticket.
    hall.append(printers)
    test_ticket = hall.hallctl(f"hallctl printer test --config {CONFIG} --id entrance-1")
    assert test_ticket.returncode == 0, test_ticket.stderr + test_ticket.stdout
    assert len(hardware.printer.wait_for_tickets(1)) == 1

    # Step 5: nothing simulated any more, and nothing missing.
    final = hall.hallctl(f"hallctl check-config {CONFIG}")
    assert final.returncode == 0, final.stderr
    assert final.stdout.strip().endswith(
        "OK — 青山县政务服务中心, 1 services, 2 windows; simulated: none"
    )
