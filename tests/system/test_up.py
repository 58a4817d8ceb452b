"""`hallctl up` as a technician starts it: refusals at start-up, and a demo that comes alive."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import EXAMPLE_CONFIG
from tests.servers import free_port

ROOT = EXAMPLE_CONFIG.parent.parent
TOKEN = "up-test-admin-token-0000001"


def _up(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if k != "HALLCTL_ADMIN_TOKEN"}
    return subprocess.Popen(
        [sys.executable, "-m", "controller.cli.main", "up", *args],
        cwd=ROOT,
        env=base | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_up_without_any_token_refuses_to_start(tmp_path: Path) -> None:
    process = _up("--data", str(tmp_path / "var"), "--port", str(free_port()))
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "HALLCTL_ADMIN_TOKEN" in err


def test_up_with_a_broken_config_starts_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        EXAMPLE_CONFIG.read_text(encoding="utf-8").replace('prefix = "B"', 'prefix = "A"'),
        encoding="utf-8",
    )
    process = _up("--config", str(broken), "--data", str(tmp_path / "var"), "--simulate")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "prefix 'A' is already used" in err
    assert not (tmp_path / "var" / "hall.db").exists()


def test_demo_hall_comes_alive_and_prints_its_urls(tmp_path: Path) -> None:
    port = free_port()
    process = _up(
        "--simulate",
        "--demo",
        "--data",
        str(tmp_path / "var"),
        "--port",
        str(port),
        "--clock",
        "2026-11-23T08:50",
        "--speed",
        "120",
        env={"HALLCTL_ADMIN_TOKEN": TOKEN},
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(6)]
        assert any(f"http://127.0.0.1:{port}/docs" in line for line in banner), banner
        headers = {"Authorization": f"Bearer {TOKEN}"}
        deadline = time.monotonic() + 40
        state: dict[str, object] = {}
        while time.monotonic() < deadline:
            try:
                state = httpx.get(
                    f"http://127.0.0.1:{port}/api/state", headers=headers, timeout=5
                ).json()
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            if state.get("recent_calls") and len(state["recent_calls"]) >= 5:  # type: ignore[arg-type]
                break
            time.sleep(0.5)
        assert len(state["recent_calls"]) >= 5, "the demo hall called nobody"  # type: ignore[arg-type]
        staffed = [w for w in state["windows"] if w["staff"]]  # type: ignore[attr-defined]
        assert len(staffed) >= 10
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    # A clean stop: uvicorn re-raises Ctrl-C after shutting down (130) or exits 0 when the
    # signal lands between its handlers; never a crash.
    assert process.returncode in (0, 130)
    assert "Traceback" not in err


def _mosquitto_of(data: Path) -> list[str]:
    """Command lines of running mosquitto processes started for this data directory."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "mosquitto" in cmdline and str(data) in cmdline:
            found.append(cmdline)
    return found


def test_demo_hall_runs_every_device_and_a_sigterm_stops_them(tmp_path: Path) -> None:
    port, data = free_port(), tmp_path / "var"
    process = _up(
        *("--simulate", "--demo", "--data", str(data), "--port", str(port)),
        *("--clock", "2026-11-23T08:50", "--speed", "120"),
        env={"HALLCTL_ADMIN_TOKEN": TOKEN},
    )
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {TOKEN}"}
    devices: dict[str, object] = {}
    ratings: dict[str, object] = {}
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or "HALLCTL_ADMIN_TOKEN" not in lines[-1]:  # the banner's last line
            lines.append(process.stdout.readline())
            assert lines[-1], "".join(lines)
        banner = "".join(lines)
        for shown in ("/dashboard", "/screen", "/satisfaction/docs", "simulated LED line"):
            assert shown in banner, banner
        assert "simulated MQTT keypads (6)" in banner, banner
        assert "simulated RS-485 keypads (6)" in banner, banner
        assert _mosquitto_of(data), "no local broker for the simulated keypads"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                devices = httpx.get(f"{base}/api/devices", headers=headers, timeout=5).json()
                ratings = httpx.get(
                    f"{base}/satisfaction/api/v1/evaluations", headers=headers, timeout=5
                ).json()
            except httpx.TransportError:
                time.sleep(0.3)
                continue
            if int(str(ratings.get("count", 0))) >= 3 and devices["outbox"]["backlog"] == 0:  # type: ignore[index]
                break
            time.sleep(0.5)
        # The ratings came from the simulated keypads, through the broker, the engine's
        # rating rules, the journal and the outbox, into the embedded satisfaction API.
        items = ratings["items"]
        assert isinstance(items, list) and len(items) >= 3, ratings
        wired, wifi = {f"kp-bus-{n}" for n in range(1, 7)}, {f"kp-{n:02d}" for n in range(7, 13)}
        assert {item["device_id"] for item in items} <= wired | wifi
        assert all(item["channel"] == "5" for item in items)
        assert devices["outbox"]["backlog"] == 0, devices  # type: ignore[index]
        _check_led_devices(devices)
        voice = devices["voice"]
        assert isinstance(voice, dict) and voice["announced"] > 0 and voice["missed"] == 0
        keypads = devices["keypads"]
        assert isinstance(keypads, list) and len(keypads) == 12, keypads
        assert all(k["online"] for k in keypads), keypads
        # The journal and the ratings (差评 work orders, appeals) are the owner's alone.
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        for name in ("hall.db", "satisfaction.db"):
            assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert not _mosquitto_of(data), "the broker outlived the hall"


def _check_led_devices(devices: dict[str, object]) -> None:
    """All 13 LED displays answer, and /api/devices says what each simulated one reads."""
    led = devices["led"]
    assert isinstance(led, list) and len(led) == 13
    assert all(display["available"] for display in led), led
    reads = devices["led_shown"]  # what each simulated display reads (--simulate only)
    assert isinstance(reads, dict) and set(reads) == {display["id"] for display in led}, reads
