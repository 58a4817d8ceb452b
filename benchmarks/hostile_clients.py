"""The hostile client of bench_hostile_load: half-open requests and live streams, one process.

It runs as a process of its own so that its bursts (hundreds of sockets re-opened at once) do
not hold the bench's GIL while the kiosk's taps are being timed.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

ATTACKER, STREAMER = "127.0.0.2", "127.0.0.3"


class EventLike(Protocol):
    """A multiprocessing Event."""

    def set(self) -> None: ...
    def is_set(self) -> bool: ...


class QueueLike(Protocol):
    """A multiprocessing Queue."""

    def put(self, item: object) -> None: ...


@dataclass
class Attack:
    """What the hostile client saw; `stop` ends it."""

    half_open: Counter[str] = field(default_factory=Counter)
    streams: Counter[str] = field(default_factory=Counter)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    retry_seconds: float = 5.0
    held_now: int = 0
    held_peak: int = 0
    streams_done: int = 0


async def half_open_slot(port: int, attack: Attack) -> None:
    """Keep one half-sent request open; re-open it whenever the hall closes it."""
    while not attack.stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(ATTACKER, 0)
            )
        except OSError:
            attack.half_open["connect failed"] += 1
            await asyncio.sleep(0.5)
            continue
        writer.write(b"GET /api/state HTTP/1.1\r\nHost: hall\r\nX-Slow: ")
        attack.held_now += 1
        attack.held_peak = max(attack.held_peak, attack.held_now)
        opened = time.monotonic()
        try:
            data = await _read_until_closed(reader, attack.stop)
        finally:
            attack.held_now -= 1
            writer.close()
        if data is None:
            return  # the attack ended while this one was still open
        if data.startswith(b"HTTP/1.1 408"):
            attack.half_open["408 after the header timeout"] += 1
        elif not data and time.monotonic() - opened < 1.0:
            attack.half_open["closed at once, no answer"] += 1
            await asyncio.sleep(attack.retry_seconds)  # as slowloris: re-open dead sockets later
        else:
            attack.half_open["closed otherwise"] += 1


async def _read_until_closed(reader: asyncio.StreamReader, stop: asyncio.Event) -> bytes | None:
    read = asyncio.ensure_future(reader.read())
    stopped = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if read in done:
        stopped.cancel()
        try:
            return read.result()
        except OSError:
            return b""
    read.cancel()
    return None


async def stream_attempt(port: int, token: str, attack: Attack) -> None:
    """One /api/events attempt with the shared token; held and read while accepted."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(STREAMER, 0))
    except OSError:
        attack.streams["connect failed"] += 1
        attack.streams_done += 1
        return
    writer.write(
        f"GET /api/events HTTP/1.1\r\nHost: hall\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    try:
        status = await asyncio.wait_for(reader.readline(), 30)
    except (TimeoutError, OSError):
        status = b""
    code = status.split(b" ")[1].decode() if status.count(b" ") >= 2 else "closed"
    attack.streams[code] += 1
    attack.streams_done += 1
    if code == "200":
        while not attack.stop.is_set():
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 1.0)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
    writer.close()


def attacker_main(  # noqa: PLR0917  (a process target's arguments)
    port: int,
    token: str,
    half_open: int,
    streams: int,
    retry: float,
    ready: EventLike,
    stop: EventLike,
    results: QueueLike,
) -> None:
    """The attacker process: attack until `stop`, set `ready` at full strength, report.

    `results` gets (half-open outcomes, stream outcomes, most half-open held at once).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = half_open + streams + 256
    if soft < need:  # the attacker's own sockets
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))

    async def main() -> Attack:
        attack = Attack(retry_seconds=retry)
        running = asyncio.ensure_future(run_attack(port, token, half_open, streams, attack))
        while attack.streams_done < streams:
            await asyncio.sleep(0.1)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.1)
        attack.stop.set()
        await running
        return attack

    attack = asyncio.run(main())
    results.put((dict(attack.half_open), dict(attack.streams), attack.held_peak))


async def run_attack(port: int, token: str, half_open: int, streams: int, attack: Attack) -> None:
    """The whole attack until `attack.stop` is set."""
    tasks = [asyncio.ensure_future(half_open_slot(port, attack)) for _ in range(half_open)]
    for _ in range(streams):
        tasks.append(asyncio.ensure_future(stream_attempt(port, token, attack)))
        await asyncio.sleep(0)  # attempts as fast as the loop goes, not all in one tick
    await attack.stop.wait()
    await asyncio.wait(tasks, timeout=10)
