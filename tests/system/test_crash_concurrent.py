"""Crash test with group commit at work: four clients at once, SIGKILL at random moments.

Commands from four clients share journal commits. After every kill the hall restarts from its
journal and each client retries its interrupted request with the same Idempotency-Key. At the
end: no ticket number twice in a day, every acknowledged ticket and call is in the journal, and
the journal holds each service's tickets in number order (decided order = written order).
HALL_CRASH_CONCURRENT_ROUNDS sets the number of kills (default 20).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port
from tests.system.test_crash import (
    HEADERS,
    SERVICES,
    WINDOWS,
    Ledger,
    _roomy_config,
    _send,
    _wait_ready,
    running_hall,
)

pytestmark = pytest.mark.slow  # SIGKILLs the real hall again and again
ROUNDS = int(os.environ.get("HALL_CRASH_CONCURRENT_ROUNDS", "20"))
CLIENTS = 4


def _client(base: str, ledger: Ledger, rng: random.Random) -> None:
    """One client: retry what the last kill interrupted, then issue and call until the hall dies."""
    with httpx.Client(base_url=base, timeout=10) as client:
        try:
            if ledger.pending is not None:
                _send(client, ledger, *ledger.pending)
            while True:
                if rng.random() < 0.6:
                    body = {"service": rng.choice(SERVICES)}
                    _send(client, ledger, uuid.uuid4().hex, "/api/tickets", body)
                else:
                    window = rng.choice(list(WINDOWS))
                    _send(
                        client, ledger, uuid.uuid4().hex, f"/api/windows/{window}/call-next", None
                    )
        except httpx.TransportError:
            return  # the hall was killed mid-request


def test_sigkill_while_four_clients_share_commits_loses_nothing_and_keeps_order(
    tmp_path: Path,
) -> None:
    rng = random.Random(20261207)
    data, port, config = tmp_path / "var", free_port(), _roomy_config(tmp_path)
    base = f"http://127.0.0.1:{port}"
    ledgers = [Ledger() for _ in range(CLIENTS)]
    for _ in range(ROUNDS):
        with running_hall(data, port, config) as process:
            with httpx.Client(base_url=base, timeout=10) as client:
                _wait_ready(client, process)
                for window, staff in WINDOWS.items():
                    client.post(
                        f"/api/windows/{window}/sign-in",
                        json={"staff": staff, "role": "A"},
                        headers=HEADERS,
                    )
            killer = threading.Timer(rng.uniform(0.2, 0.8), process.send_signal, [signal.SIGKILL])
            killer.start()
            clients = [
                threading.Thread(target=_client, args=(base, ledger, random.Random(rng.random())))
                for ledger in ledgers
            ]
            for thread in clients:
                thread.start()
            for thread in clients:
                thread.join(timeout=30)
            killer.join()
            process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL

    with running_hall(data, port, config) as process:
        with httpx.Client(base_url=base, timeout=10) as client:
            _wait_ready(client, process)
            for ledger in ledgers:
                if ledger.pending is not None:
                    _send(client, ledger, *ledger.pending)
            tickets = [t for ledger in ledgers for t in ledger.tickets.values()]
            for ticket in tickets:
                view = client.get(f"/api/tickets/{ticket['id']}", headers=HEADERS)
                assert view.status_code == 200, f"acknowledged ticket {ticket['number']} is gone"
                assert view.json()["number"] == ticket["number"]
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)

    with sqlite3.connect(data / "hall.db") as conn:
        issued = conn.execute(
            "SELECT day, json_extract(payload, '$.service'), json_extract(payload, '$.number') "
            "FROM journal_event WHERE kind = 'TicketIssued' ORDER BY seq"
        ).fetchall()
        calls = set(
            conn.execute(
                "SELECT json_extract(payload, '$.window'), json_extract(payload, '$.ticket_id') "
                "FROM journal_event WHERE kind = 'TicketCalled'"
            )
        )
    keys = [(day, number) for day, _, number in issued]
    assert len(keys) == len(set(keys)), "a ticket number appears twice in the journal"
    by_service: dict[tuple[str, str], list[str]] = {}
    for day, service, number in issued:
        by_service.setdefault((day, service), []).append(number)
    for numbers in by_service.values():
        assert numbers == sorted(numbers), "the journal's order is not the order decided"
    acked_calls = [(w, t) for ledger in ledgers for w, t, _ in ledger.calls]
    lost = [call for call in acked_calls if call not in calls]
    assert not lost, f"acknowledged calls missing from the journal: {lost}"
    assert len(tickets) > ROUNDS * CLIENTS and len(acked_calls) > ROUNDS
    print(f"{ROUNDS} kills: {len(tickets)} tickets, {len(acked_calls)} calls acknowledged")
