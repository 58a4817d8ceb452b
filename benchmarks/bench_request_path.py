"""The request path in process: the hall app as `hallctl up` builds it, its ASGI callable called directly.

No network, no uvicorn, no client processes: what is left is the hall's own work per command
(middleware, FastAPI, the engine, the journal hand-off; the journal's fsync and the outbox
run on their threads as in the real process). The bench hall of bench_http_api (voice off,
no devices, the embedded satisfaction API on unless --no-satisfaction), `--waiting` tickets
issued first, every window signed in, then `--issue` issues and `--calls` call-nexts, each
with a fresh Idempotency-Key. Printed per command: CPU per request of the whole process
(every thread: the outbox's store of each finished ticket included) and of the event-loop
thread alone, the median and the minimum over chunks of 100 requests (the minimum is the
figure least moved by other work on the machine). `--profile FILE` writes a cProfile of the
event-loop thread (thread CPU time) for `python -m pstats`.

    .venv/bin/python -m benchmarks.bench_request_path [--waiting 3000] [--issue 1500]
        [--calls 1500] [--no-satisfaction] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import secrets
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from benchmarks.common import bench_config_text
from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.app.backup import DB_NAME
from controller.app.clock import ScaledClock, parse_clock_start
from controller.app.device_wiring import HallDevices, start_devices
from controller.app.journal import Journal
from controller.app.outbox_local import embedded_sender
from controller.app.runtime import HallRuntime
from controller.app.simulated_families import Simulated
from controller.satisfaction.embedded import embedded_satisfaction_app
from controller.settings.config_loader import load_config

TOKEN = "bench-request-path-admin-token-01"
CHUNK = 100
Request = Callable[[int], tuple[str, bytes]]


def build(tmp: Path, *, satisfaction: bool) -> tuple[FastAPI, HallRuntime, HallDevices]:
    """The app, runtime and devices as `hallctl up --clock 2026-11-23T09:00` wires them."""
    text = bench_config_text().replace("outcome_required = true", "outcome_required = false")
    text += "\n[voice]\nenabled = false\n"
    if not satisfaction:
        text += "\n[satisfaction]\nenabled = false\n"
    path = tmp / "hall.toml"
    path.write_text(text, encoding="utf-8")
    data = tmp / "data"
    data.mkdir()
    config = load_config(path)
    tokens = TokenRegistry(config.auth.tokens)
    tokens.add(TOKEN, Caller("bench-admin", Role.ADMIN))
    clock = ScaledClock(parse_clock_start("2026-11-23T09:00", config.zone), 1.0)
    runtime = HallRuntime(config, Journal.at_path(data / DB_NAME), clock)
    outbox_token = secrets.token_urlsafe(24)
    embedded = embedded_satisfaction_app(
        config, data, outbox_token=outbox_token, admin_token=TOKEN, clock=clock.now
    )
    devices = start_devices(
        runtime,
        simulate=Simulated(),
        data_dir=data,
        base_url="http://127.0.0.1:9",
        outbox_token=outbox_token,
        speed=1.0,
        embedded_send=embedded_sender(embedded.state.satisfaction, outbox_token),
    )
    app = create_app(runtime, tokens, [], devices=devices)
    app.state.token_checks.extend(embedded.state.token_checks)
    app.mount("/satisfaction", embedded)
    return app, runtime, devices


async def post(app: FastAPI, path: str, body: bytes) -> int:
    """One POST through the app's ASGI callable, as uvicorn would hand it over; its status."""
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", f"Bearer {TOKEN}".encode()),
        (b"idempotency-key", uuid.uuid4().hex.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if body:
        headers.append((b"content-type", b"application/json"))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # the body was given: the client stays connected
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def issue(index: int) -> tuple[str, bytes]:
    """Issue a ticket, services SA-SZ round robin."""
    return "/api/tickets", f'{{"service": "S{chr(ord("A") + index % 26)}"}}'.encode()


def call_next(index: int) -> tuple[str, bytes]:
    """Call the next ticket, windows 1-26 round robin."""
    return f"/api/windows/{index % 26 + 1}/call-next", b""


async def measure(
    app: FastAPI, kind: str, make: Request, count: int, profiler: cProfile.Profile | None
) -> None:
    """`count` requests; CPU per request over chunks of CHUNK, whole process and loop thread."""
    process: list[float] = []
    loop_thread: list[float] = []
    statuses: Counter[int] = Counter()
    began_process = began_thread = 0.0
    for index in range(count):
        if index % CHUNK == 0:
            began_process, began_thread = time.process_time(), time.thread_time()
        if profiler is not None:
            profiler.enable()
        statuses[await post(app, *make(index))] += 1
        if profiler is not None:
            profiler.disable()
        if index % CHUNK == CHUNK - 1:
            process.append((time.process_time() - began_process) / CHUNK * 1000)
            loop_thread.append((time.thread_time() - began_thread) / CHUNK * 1000)
    process.sort()
    loop_thread.sort()
    if not process:
        print(f"{kind}: fewer than {CHUNK} requests, nothing to report")
        return
    print(
        f"{kind:<10} CPU per request: process median {process[len(process) // 2]:.3f} ms, "
        f"min {process[0]:.3f} ms; event-loop thread median "
        f"{loop_thread[len(loop_thread) // 2]:.3f} ms, min {loop_thread[0]:.3f} ms  "
        f"[{', '.join(f'{k}×{v}' for k, v in sorted(statuses.items()))}]"
    )


async def run(args: argparse.Namespace) -> None:
    """Fill the queue, sign every window in, then measure issue and call-next."""
    with tempfile.TemporaryDirectory() as tmp:
        app, runtime, devices = build(Path(tmp), satisfaction=not args.no_satisfaction)
        try:
            for index in range(args.waiting):
                await post(app, *issue(index))
            for number in range(1, 27):
                body = f'{{"staff": "W{number:02d}A", "role": "A"}}'.encode()
                await post(app, f"/api/windows/{number}/sign-in", body)
            profiler = cProfile.Profile(time.thread_time) if args.profile else None
            await measure(app, "issue", issue, args.issue, profiler)
            await asyncio.sleep(1.0)  # the outbox's linger and flush land in neither figure
            await measure(app, "call-next", call_next, args.calls, profiler)
            if profiler is not None:
                profiler.dump_stats(args.profile)
        finally:
            devices.stop()
            runtime.committer.stop()
            runtime.hub.stop()
            runtime.journal.close()


def main() -> None:
    """Command line: --waiting, --issue, --calls, --no-satisfaction, --profile."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--waiting", type=int, default=3000, help="tickets issued first")
    parser.add_argument("--issue", type=int, default=1500, help="issues measured")
    parser.add_argument("--calls", type=int, default=1500, help="call-nexts measured")
    parser.add_argument("--no-satisfaction", action="store_true", help="[satisfaction] off")
    parser.add_argument("--profile", help="write a cProfile of the event-loop thread here")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
