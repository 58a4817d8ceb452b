"""Memory of the real hall process: `hallctl up --simulate --demo` for N real seconds.

Starts the controller as a subprocess on a free port with a temporary --data directory,
the hall clock at 2026-11-23T08:20 (a Monday) running 60x (one simulated hour per real
minute), waits until /api/state answers, then samples VmRSS from /proc/PID/status every
few seconds. Prints start, max and final RSS and the tickets issued; stops the process
with SIGINT (SIGKILL if it lingers) and checks it is gone. Target <= 200 MB.

    .venv/bin/python -m benchmarks.bench_rss [--seconds 60] [--interval 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import EXAMPLE_CONFIG, ROOT

TARGET_MB = 200.0
CLOCK = "2026-11-23T08:20"
SPEED = "60"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_mb(pid: int) -> float | None:
    """The process's resident set size in MB (VmRSS), or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def wait_ready(client: httpx.Client, proc: subprocess.Popen[bytes], timeout: float) -> float:
    """Poll /api/state until it answers 200; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"hallctl exited early with code {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if client.get("/api/state").status_code == 200:
                return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit(f"/api/state did not answer within {timeout:.0f} s")


def issued(client: httpx.Client) -> tuple[int | None, str]:
    """Tickets issued today (from /api/kpis, else /api/state) and the hall time."""
    state: dict[str, Any] = client.get("/api/state").json()
    now = str(state["hall"]["now"])[:16]
    with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
        response = client.get("/api/kpis")
        if response.status_code == 200:
            return int(response.json()["issued"]), now
    return sum(int(s["issued_today"]) for s in state["services"]), now


def stop(proc: subprocess.Popen[bytes]) -> str:
    """SIGINT, then SIGKILL after 15 s; returns how it ended."""
    if proc.poll() is not None:
        return f"already exited ({proc.returncode})"
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
        how = f"stopped by SIGINT (exit {proc.returncode})"
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
        how = "did not stop on SIGINT; killed"
    gone = not Path(f"/proc/{proc.pid}").exists()
    return f"{how}; process {'gone' if gone else 'STILL PRESENT'}"


def main() -> None:
    """Run the hall, sample its memory, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="real seconds (default 60)")
    parser.add_argument("--interval", type=float, default=2.0, help="sampling interval (s)")
    args = parser.parse_args()
    token = secrets.token_urlsafe(24)
    port = free_port()
    env = {**os.environ, "HALLCTL_ADMIN_TOKEN": token}
    with tempfile.TemporaryDirectory(prefix="hall-bench-") as data:
        command = [
            sys.executable,
            "-m",
            "controller.cli.main",
            "up",
            "--config",
            str(EXAMPLE_CONFIG),
            "--simulate",
            "--demo",
            "--data",
            data,
            "--port",
            str(port),
            "--clock",
            CLOCK,
            "--speed",
            SPEED,
        ]
        log = Path(data) / "hallctl.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        headers = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
                ready = wait_ready(client, proc, timeout=60)
                start = rss_mb(proc.pid) or 0.0
                samples = [start]
                print(f"rss: hallctl up --demo pid {proc.pid} on :{port}, ready in {ready:.1f} s")
                print(f"  t=  0 s  RSS {start:6.1f} MB  hall {issued(client)[1]}")
                began = time.monotonic()
                while (elapsed := time.monotonic() - began) < args.seconds:
                    time.sleep(min(args.interval, args.seconds - elapsed))
                    value = rss_mb(proc.pid)
                    if value is None:
                        raise SystemExit("hallctl died during the run")
                    samples.append(value)
                count, hall_now = issued(client)
                elapsed = time.monotonic() - began
                print(f"  t={elapsed:3.0f} s  RSS {samples[-1]:6.1f} MB  hall {hall_now}")
        finally:
            ended = stop(proc)
        tail = log.read_text(errors="replace").strip().splitlines()
    peak = max(samples)
    verdict = "met" if peak <= TARGET_MB else "MISSED"
    print(f"\nstart RSS  {start:7.1f} MB")
    print(f"max RSS    {peak:7.1f} MB   ({len(samples)} samples every {args.interval:g} s)")
    print(f"final RSS  {samples[-1]:7.1f} MB   growth {samples[-1] - start:+.1f} MB")
    print(f"tickets issued: {count}")
    print(f"ratio to target {TARGET_MB:.0f} MB: {peak / TARGET_MB:.2f} ({verdict})")
    print(f"hallctl {ended}")
    if tail:
        print("hallctl output (last lines):\n  " + "\n  ".join(tail[-4:]))


if __name__ == "__main__":
    main()
