"""The hall's devices as the floor sees them: keypads, LED displays, voice, the rating outbox."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from fastapi import APIRouter, Request

from controller.api.auth import Role, require
from controller.api.deps import CallerDep
from controller.api.shared_reads import SharedReads
from controller.domain.errors import NotFound

router = APIRouter(tags=["devices"])


class DeviceStatus(Protocol):
    """What the running hall's devices report (controller.app.device_wiring.HallDevices)."""

    def keypads(self) -> list[dict[str, object]]:
        """Every keypad: device id, window, online, last seen, firmware version."""
        ...

    def status(self) -> dict[str, Any]:
        """LED displays, voice and outbox figures for the dashboard."""
        ...

    def retry_outbox(self) -> dict[str, int] | None:
        """Retry the rating outbox now and resend its parked records (None: no outbox)."""
        ...


@router.get("/api/keypads")
def keypads(request: Request, caller: CallerDep) -> dict[str, Any]:
    """Every window keypad with its online state, last contact and firmware version."""
    require(caller, Role.FLOOR_MANAGER)
    devices: DeviceStatus | None = request.app.state.devices
    return {"keypads": devices.keypads() if devices is not None else []}


@router.post("/api/outbox/retry")
async def retry_outbox(request: Request, caller: CallerDep) -> dict[str, Any]:
    """Floor manager: retry sending at once (skip the backoff) and resend parked records."""
    require(caller, Role.FLOOR_MANAGER)
    found: DeviceStatus | None = request.app.state.devices
    result = await asyncio.to_thread(found.retry_outbox) if found is not None else None
    if result is None:
        raise NotFound("no_outbox", "本大厅未配置评价数据上报")
    shared: SharedReads = request.app.state.shared_reads
    shared.forget()  # the backlog changed without a hall event: the next read shows it
    return result


@router.get("/api/devices")
def devices(request: Request, caller: CallerDep) -> dict[str, Any]:
    """Keypads, LED displays, voice and the rating outbox's backlog, in one read."""
    require(caller, Role.FLOOR_MANAGER)
    found: DeviceStatus | None = request.app.state.devices
    if found is None:
        return {"keypads": [], "led": [], "voice": None, "outbox": None}
    return {"keypads": found.keypads(), **found.status()}
