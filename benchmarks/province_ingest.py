"""bench_province's pushers: halls posting batches of 100 new ratings at once, timed per batch.

One asyncio loop holds every hall's keep-alive connection and writes pre-encoded HTTP/1.1
requests: 200 halls cost the load generator ~1 ms of CPU a batch, where 200 httpx threads
cost ~16 ms a batch and took that CPU from the API on a 2-core machine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")
PATH = "/api/v1/evaluations"


def ingest_bodies(hall: str, rounds: int, tag: str) -> list[bytes]:
    """`rounds` batches of 100 new ratings of a hall on 2026-12-31 (one 差评 each), JSON-encoded."""
    bodies = []
    for r in range(rounds):
        records = []
        for i in range(100):
            at = dt.datetime(2026, 12, 31, 9, 0, tzinfo=ZONE) + dt.timedelta(seconds=r * 100 + i)
            window = 1 + i % 12
            records.append(
                {"rating_id": f"{tag}-{r:03d}-{i:03d}", "hall_id": hall, "ticket_id": f"{tag}-{r}-{i}",
                 "number": f"A{i:03d}", "window": window, "staff_id": f"S{window:02d}01",
                 "service": "SB", "item_code": "X-SB-0001", "department_code": "D",
                 "region_code": hall[:6], "level": "dissatisfied" if i == 7 else "very_satisfied",
                 "reasons": ["R01"] if i == 7 else [], "reason_table": "2026.1", "channel": "5",
                 "assess_number": 1, "device_id": f"keypad-{window}",
                 "finished_at": (at - dt.timedelta(seconds=20)).isoformat(),
                 "rated_at": at.isoformat(), "system_default": False}
            )  # fmt: skip
        bodies.append(json.dumps({"records": records}).encode())
    return bodies


def push_all(
    base: str, tokens: dict[str, str], rounds: int, tag: str
) -> tuple[float, list[float], list[str]]:
    """Every hall (hall -> token) pushes its batches at once: (ratings/s, sorted latencies, errors)."""
    work = {hall: ingest_bodies(hall, rounds, tag) for hall in tokens}
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    asyncio.run(_push_all(base, tokens, work, latencies, errors))
    elapsed = time.perf_counter() - started
    return len(tokens) * rounds * 100 / elapsed, sorted(latencies), errors


async def _push_all(
    base: str,
    tokens: dict[str, str],
    work: dict[str, list[bytes]],
    latencies: list[float],
    errors: list[str],
) -> None:
    where = urlsplit(base)
    host, port = where.hostname or "127.0.0.1", where.port or 80
    await asyncio.gather(
        *(_push((host, port), tokens[hall], work[hall], latencies, errors) for hall in tokens)
    )


async def _push(
    address: tuple[str, int],
    token: str,
    bodies: list[bytes],
    latencies: list[float],
    errors: list[str],
) -> None:
    """One hall's keep-alive connection posting its batches one after another."""
    host, port = address
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for body in bodies:
            head = (
                f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            begun = time.perf_counter()
            writer.write(head.encode() + body)
            status, reply = await _reply(reader)
            latencies.append(time.perf_counter() - begun)
            if status != 200 or json.loads(reply).get("accepted") != 100:
                errors.append(f"{status} {reply[:200]!r}")
    finally:
        writer.close()


async def _reply(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of one HTTP/1.1 response with a Content-Length."""
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)
