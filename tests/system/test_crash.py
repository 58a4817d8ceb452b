"""Crash test: SIGKILL the real `hallctl up` at random moments while tickets are issued and called.

After every kill the hall restarts from its journal; retried requests reuse their
Idempotency-Key. At the end: no ticket number was handed out twice in a day, every ticket
acknowledged to a client still exists with its state, and no acknowledged call was lost.
HALL_CRASH_ROUNDS sets the number of kills (default 50).
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLE_CONFIG
from tests.servers import free_port

pytestmark = pytest.mark.slow  # SIGKILLs the real hall again and again

ROOT = EXAMPLE_CONFIG.parent.parent
TOKEN = "crash-test-admin-token-000001"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
ROUNDS = int(os.environ.get("HALL_CRASH_ROUNDS", "50"))
WINDOWS = {1: "S0101", 3: "S0301", 6: "S0601", 10: "S1001", 12: "S1201"}
SERVICES = ["SB", "YB", "GJJ", "HJ", "QYKB", "SW", "CRJ", "ZH"]


@dataclass
class Ledger:
    """What clients were told, and the request in flight when the hall died."""

    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> ticket
    calls: list[tuple[int, str, str]] = field(default_factory=list)  # window, ticket id, number
    pending: tuple[str, str, dict[str, Any] | None] | None = None  # key, path, body


def _roomy_config(tmp_path: Path) -> Path:
    """The example hall with every daily quota at the 999 maximum (thousands of tickets)."""
    text = re.sub(
        r"daily_quota = \d+", "daily_quota = 999", EXAMPLE_CONFIG.read_text(encoding="utf-8")
    )
    path = tmp_path / "hall.crash.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _start(data: Path, port: int, config: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {"HALLCTL_ADMIN_TOKEN": TOKEN}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller.cli.main",
            "up",
            "--simulate",
            "--data",
            str(data),
            "--port",
            str(port),
            "--clock",
            "2026-11-23T09:00",
            "--config",
            str(config),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@contextmanager
def running_hall(data: Path, port: int, config: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`hallctl up` on the crash config for the block; killed on the way out if still running.

    A failed assertion inside the block must not leave a hall behind (one once ran 90 minutes).
    """
    process = _start(data, port, config)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _wait_ready(client: httpx.Client, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            if client.get("/api/state", headers=HEADERS).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("hallctl up did not answer within 30 s")


def _send(
    client: httpx.Client, ledger: Ledger, key: str, path: str, body: dict[str, Any] | None
) -> None:
    ledger.pending = (key, path, body)
    response = client.post(path, json=body, headers=HEADERS | {"Idempotency-Key": key})
    ledger.pending = None
    assert response.status_code < 500, response.text
    data = response.json()
    if path == "/api/tickets":
        assert response.status_code == 201, data
        ledger.tickets[key] = data
    elif path.endswith("/call-next") and response.status_code == 200:
        ledger.calls.append((int(path.split("/")[3]), data["id"], data["number"]))


def _traffic(client: httpx.Client, ledger: Ledger, rng: random.Random) -> None:
    """Issue and call until the hall dies under us."""
    if ledger.pending is not None:  # the request the last kill interrupted: retry it, same key
        _send(client, ledger, *ledger.pending)
    for window, staff in WINDOWS.items():
        client.post(
            f"/api/windows/{window}/sign-in", json={"staff": staff, "role": "A"}, headers=HEADERS
        )
    while True:
        if rng.random() < 0.6:
            body = {"service": rng.choice(SERVICES)}
            _send(client, ledger, uuid.uuid4().hex, "/api/tickets", body)
        else:
            _send(
                client,
                ledger,
                uuid.uuid4().hex,
                f"/api/windows/{rng.choice(list(WINDOWS))}/call-next",
                None,
            )


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    data, port, config = tmp_path / "var", free_port(), _roomy_config(tmp_path)
    ledger = Ledger()
    for _ in range(ROUNDS):
        with (
            running_hall(data, port, config) as process,
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
        ):
            _wait_ready(client, process)
            killer = threading.Timer(rng.uniform(0.05, 0.6), process.send_signal, [signal.SIGKILL])
            killer.start()
            try:
                _traffic(client, ledger, rng)
            except httpx.TransportError:
                pass  # the hall was killed mid-request
            finally:
                killer.join()
                process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL

    with running_hall(data, port, config) as process:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            _wait_ready(client, process)
            if ledger.pending is not None:
                _send(client, ledger, *ledger.pending)
            ids = [ticket["id"] for ticket in ledger.tickets.values()]
            assert len(ids) == len(set(ids)), "a ticket number was handed out twice"
            for ticket in ledger.tickets.values():
                view = client.get(f"/api/tickets/{ticket['id']}", headers=HEADERS)
                assert view.status_code == 200, f"acknowledged ticket {ticket['number']} is gone"
                assert view.json()["number"] == ticket["number"]
            called = {ticket_id for _, ticket_id, _ in ledger.calls}
            for ticket_id in called:
                status = client.get(f"/api/tickets/{ticket_id}", headers=HEADERS).json()["status"]
                assert status in ("called", "finished"), f"{ticket_id} was called, now {status}"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)

    with sqlite3.connect(data / "hall.db") as conn:
        issued = Counter(
            (day, number)
            for day, number in conn.execute(
                "SELECT day, json_extract(payload, '$.number') FROM journal_event WHERE kind='TicketIssued'"
            )
        )
        journaled_calls = set(
            conn.execute(
                "SELECT json_extract(payload, '$.window'), json_extract(payload, '$.ticket_id') "
                "FROM journal_event WHERE kind='TicketCalled'"
            )
        )
    assert max(issued.values()) == 1, "a ticket number appears twice in the journal"
    lost = [(w, t) for w, t, _ in ledger.calls if (w, t) not in journaled_calls]
    assert not lost, f"acknowledged calls missing from the journal: {lost}"
    assert len(ledger.tickets) > ROUNDS and len(ledger.calls) > ROUNDS // 2
    print(
        f"{ROUNDS} kills: {len(ledger.tickets)} tickets and {len(ledger.calls)} calls acknowledged, "
        f"{sum(issued.values())} tickets journaled"
    )
