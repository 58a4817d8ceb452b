"""The hall's devices as the floor sees them: keypads, LED displays, voice, the rating outbox."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Request

from controller.api.auth import Role, require
from controller.api.deps import CallerDep

router = APIRouter(tags=["devices"])


class DeviceStatus(Protocol):
    """What the running hall's devices report (controller.hall_devices.HallDevices)."""

    def keypads(self) -> list[dict[str, object]]:
        """Every keypad: device id, window, online, last seen, firmware version."""
        ...

    def status(self) -> dict[str, Any]:
        """LED displays, voice and outbox figures for the dashboard."""
        ...


@router.get("/api/keypads")
def keypads(request: Request, caller: CallerDep) -> dict[str, Any]:
    """Every window keypad with its online state, last contact and firmware version."""
    require(caller, Role.FLOOR_MANAGER)
    devices: DeviceStatus | None = request.app.state.devices
    return {"keypads": devices.keypads() if devices is not None else []}


@router.get("/api/devices")
def devices(request: Request, caller: CallerDep) -> dict[str, Any]:
    """Keypads, LED displays, voice and the rating outbox's backlog, in one read."""
    require(caller, Role.FLOOR_MANAGER)
    found: DeviceStatus | None = request.app.state.devices
    if found is None:
        return {"keypads": [], "led": [], "voice": None, "outbox": None}
    return {"keypads": found.keypads(), **found.status()}
