"""Configuration of the RS-485 window keypads: buses (serial ports) and which address is which window."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from controller.domain.errors import HallError
from controller.domain.strict import StrictModel
from devices.keypad.keypad_protocols import KEYPAD_PROTOCOLS
from devices.rs485.protocols import HALL_BUS_V1
from firmware_protocols.hall_bus.hall_bus import MAX_ADDRESS

Address = Annotated[int, Field(ge=1, le=MAX_ADDRESS)]
Window = Annotated[int, Field(ge=1, le=9999)]


class KeypadBusError(HallError):
    """A keypad bus cannot be used (bad port URL); `bus` names it."""

    def __init__(self, bus: str, reason: str) -> None:
        self.bus = bus
        self.reason = reason
        super().__init__(f"keypad bus {bus}: {reason}")


class KeypadBusConfig(StrictModel):
    """One RS-485 line (one serial port) of keypads, polled in turn by the controller."""

    # 24 characters leave room for "-247" in a device id of at most 32 (the MQTT id rule).
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,24}$")
    url: str = Field(
        min_length=1, description="serial device or pyserial URL: /dev/ttyUSB1, socket://, loop://"
    )
    protocol: str = Field(
        default=HALL_BUS_V1,
        description="what its keypads speak: a name in devices/keypad/keypad_protocols.py",
    )
    # 38400 rather than the hall bus default 9600: 32 keypads are polled in about 0.3 s instead
    # of 1.1 s (every hall bus device must offer 38400, docs/protocols/hall-bus.md section 1).
    baudrate: int = Field(default=38_400, ge=1200, le=921_600)
    poll_interval_seconds: float = Field(
        default=0.05, ge=0.0, le=5, description="no keypad is polled more often than this"
    )
    reply_timeout_seconds: float = Field(
        default=0.1, gt=0, le=5, description="wait for a reply after the request's last byte"
    )
    retries: int = Field(default=2, ge=0, le=10, description="resends of an unanswered frame")
    offline_probe_seconds: float = Field(
        default=2.0, ge=0.05, le=600, description="an offline keypad gets one poll this often"
    )
    keypads: dict[Address, Window] = Field(
        min_length=1, max_length=MAX_ADDRESS, description="bus address -> window number"
    )
    simulate: bool = Field(
        default=False, description="a simulated twin in its place, also without --simulate"
    )

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, name: str) -> str:
        return KEYPAD_PROTOCOLS.check(name)

    def device_id(self, address: int) -> str:
        """The hall-wide id of the keypad at `address`: "BUS-ADDRESS", fixed by configuration."""
        return f"{self.id}-{address}"


class SerialKeypadsConfig(StrictModel):
    """Every RS-485 keypad bus of the hall."""

    buses: list[KeypadBusConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_owner_per_port(self) -> SerialKeypadsConfig:
        ids = [bus.id for bus in self.buses]
        urls = [bus.url for bus in self.buses]
        if len(set(ids)) != len(ids):
            raise ValueError("two keypad buses share an id")
        if len(set(urls)) != len(urls):
            raise ValueError("two keypad buses share a port URL: one bus owner per port")
        return self
