"""Live routes: the state snapshot and the server-sent event stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from controller.api import fast_json
from controller.api.auth import Caller
from controller.api.deps import CallerDep, RuntimeDep
from controller.api.exposure import is_public, public_snapshot, snapshot_for, stream_event
from controller.api.shared_reads import SharedReads
from controller.api.stream_slots import SlotStreamingResponse, StreamSlots
from controller.app.runtime import HallRuntime

router = APIRouter(prefix="/api", tags=["live"])
KEEPALIVE_SECONDS = 15.0


@router.get("/state", response_model=dict[str, Any])
async def state(request: Request, runtime: RuntimeDep, caller: CallerDep) -> Response:
    """Snapshot: services, windows, recent calls, notices, duty leader, alerts; no personal data.

    A display or kiosk token (a public screen) gets it without the floor alerts, staff ids,
    pause reasons and ticket ids.
    """
    reads: SharedReads = request.app.state.shared_reads
    key, build = _state_read(runtime, caller)
    return await reads.answer_async(key, build)


@router.get("/events")
async def events(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    with_state: Annotated[
        bool,
        Query(description="after each burst of events, also send a `state` event: the snapshot"),
    ] = False,
) -> SlotStreamingResponse:
    """Server-sent events: first a `snapshot`, then every event; `resync` after an overflow.

    A display or kiosk token gets only what its screen shows: calls, windows, tickets issued,
    notices, in their public form (number, window, service; no staff ids, no ratings, no key
    presses, no rating flags), and snapshots without floor alerts (docs/operations.md).

    With `with_state`, every burst of events (all those queued when the stream wakes) is
    followed by one `state` event carrying the same body as GET /api/state, so a page need
    not read it back after each event. A token holds at most [server] streams_per_token
    streams at once: 429 past that.
    """
    slots: StreamSlots = request.app.state.stream_slots
    release = slots.take(caller)
    loop = asyncio.get_running_loop()
    stream = runtime.hub.open_stream(loop)

    def close() -> None:
        runtime.hub.close_stream(stream)  # also when the body never started
        release()

    try:
        first = snapshot_for(caller, await asyncio.to_thread(runtime.snapshot))
    except BaseException:
        close()
        raise
    reads: SharedReads = request.app.state.shared_reads
    state_key, build_state = _state_read(runtime, caller)

    async def body() -> AsyncIterator[str]:
        try:
            yield _sse("snapshot", first)
            while True:
                try:
                    batch = await asyncio.wait_for(stream.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keepalive\n\n"
                    continue
                batches = [batch]
                while batches[-1] is not None and not stream.queue.empty():
                    batches.append(stream.queue.get_nowait())
                for queued in batches:
                    if queued is None:
                        return
                    for event in queued:
                        shown = stream_event(caller, event)
                        if shown is not None:
                            yield _sse(event.kind, shown)
                if stream.overflowed:
                    stream.overflowed = False
                    resync = snapshot_for(caller, await asyncio.to_thread(runtime.snapshot))
                    yield _sse("resync", resync)
                elif with_state:
                    encoded = await reads.encoded_async(state_key, build_state)
                    yield f"event: state\ndata: {encoded.decode()}\n\n"
        finally:
            runtime.hub.close_stream(stream)

    return SlotStreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        release=close,
    )


def _state_read(runtime: HallRuntime, caller: Caller) -> tuple[str, Callable[[], Any]]:
    """The shared-read key and builder of the state `caller` may see."""
    if is_public(caller):
        return "state-public", lambda: public_snapshot(runtime.snapshot())
    return "state", runtime.snapshot


def _sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {fast_json.encode(data).decode()}\n\n"
