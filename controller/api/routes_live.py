"""Live routes: the state snapshot and the server-sent event stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from controller.api.deps import CallerDep, RuntimeDep
from controller.api.shared_reads import SharedReads
from controller.api.stream_slots import SlotStreamingResponse, StreamSlots
from controller.event_codec import event_to_dict

router = APIRouter(prefix="/api", tags=["live"])
KEEPALIVE_SECONDS = 15.0
# Events with personal data (even masked) stay off the public stream.
PRIVATE_KINDS = frozenset({"AppointmentBooked"})


@router.get("/state", response_model=dict[str, Any])
async def state(request: Request, runtime: RuntimeDep, caller: CallerDep) -> Response:
    """Snapshot: services, windows, recent calls, notices, duty leader, alerts; no personal data."""
    reads: SharedReads = request.app.state.shared_reads
    return await reads.answer_async("state", runtime.snapshot)


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
        first = await asyncio.to_thread(runtime.snapshot)
    except BaseException:
        close()
        raise
    reads: SharedReads = request.app.state.shared_reads

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
                        if event.kind not in PRIVATE_KINDS:
                            yield _sse(event.kind, event_to_dict(event))
                if stream.overflowed:
                    stream.overflowed = False
                    yield _sse("resync", await asyncio.to_thread(runtime.snapshot))
                elif with_state:
                    encoded = await reads.encoded_async("state", runtime.snapshot)
                    yield f"event: state\ndata: {encoded.decode()}\n\n"
        finally:
            runtime.hub.close_stream(stream)

    return SlotStreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        release=close,
    )


def _sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
