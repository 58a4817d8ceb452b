"""`hallctl up` as a technician starts it: refusals at start-up, and a demo that comes alive."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import EXAMPLE_CONFIG

ROOT = EXAMPLE_CONFIG.parent.parent
TOKEN = "up-test-admin-token-0000001"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _up(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if k != "HALLCTL_ADMIN_TOKEN"}
    return subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "up", *args],
        cwd=ROOT,
        env=base | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_up_without_any_token_refuses_to_start(tmp_path: Path) -> None:
    process = _up("--data", str(tmp_path / "var"), "--port", str(_free_port()))
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
    port = _free_port()
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
