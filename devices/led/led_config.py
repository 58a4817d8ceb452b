"""Configuration of the LED window strips and boards: buses (serial ports) and the displays on them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from controller.domain.strict import StrictModel
from devices.led.led_protocols import LED_PROTOCOLS
from devices.rs485.protocols import HALL_BUS_V1
from firmware_protocols.hall_bus.hall_bus import MAX_ADDRESS
from firmware_protocols.led.led_strip import MAX_BLINK_SECONDS, MAX_BOARD_LINES, MAX_BRIGHTNESS

BOARD = "board"


class LedStripConfig(StrictModel):
    """One display on a bus: its address and what it shows (a window's strip, or the board)."""

    address: int = Field(ge=1, le=MAX_ADDRESS, description="hall bus address, 1-247")
    window: int | Literal["board"] = Field(
        description='the window number above which the strip hangs, or "board" (综合屏)'
    )
    lines: int = Field(default=1, ge=1, le=MAX_BOARD_LINES, description="text lines it shows")
    columns: int = Field(
        default=16, ge=4, le=255, description="half-width (ASCII) columns; a Chinese character is 2"
    )
    brightness: int | None = Field(
        default=None, ge=0, le=MAX_BRIGHTNESS, description="percent, sent on every resync"
    )

    @model_validator(mode="after")
    def _window_number(self) -> LedStripConfig:
        if isinstance(self.window, int) and self.window < 1:
            raise ValueError(f"window must be a window number (1 or more), got {self.window}")
        return self


class LedBusConfig(StrictModel):
    """One RS-485 line (one serial port) and the displays on it."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    url: str = Field(
        min_length=1, description="serial device or pyserial URL: /dev/ttyUSB0, socket://, loop://"
    )
    protocol: str = Field(
        default=HALL_BUS_V1,
        description="what its displays speak: a name in devices/led/led_protocols.py",
    )
    baudrate: int = Field(default=9600, ge=1200, le=921600)
    reply_timeout_seconds: float = Field(
        default=0.1, gt=0, le=5, description="wait for a reply after the request's last byte"
    )
    retries: int = Field(default=2, ge=0, le=10, description="resends of an unanswered frame")
    probe_seconds: float = Field(
        default=5.0,
        ge=0.05,
        le=600,
        description="STATUS query to a display not answering this often; the shortest period for one that does",
    )
    probe_line_share: float = Field(
        default=0.005,
        gt=0,
        le=1,
        description="most of the line's time spent probing displays that answer (a call waits behind a probe)",
    )
    strips: list[LedStripConfig] = Field(min_length=1, max_length=MAX_ADDRESS)
    simulate: bool = Field(
        default=False, description="a simulated twin in its place, also without --simulate"
    )

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, name: str) -> str:
        return LED_PROTOCOLS.check(name)

    @model_validator(mode="after")
    def _unique_addresses(self) -> LedBusConfig:
        seen: set[int] = set()
        for strip in self.strips:
            if strip.address in seen:
                raise ValueError(f"address {strip.address} is used twice on bus {self.id}")
            seen.add(strip.address)
        return self


class LedDisplaysConfig(StrictModel):
    """Every LED bus of the hall, and how long a call blinks."""

    buses: list[LedBusConfig] = Field(default_factory=list)
    blink_seconds: int = Field(default=5, ge=0, le=MAX_BLINK_SECONDS)

    @model_validator(mode="after")
    def _unique_buses(self) -> LedDisplaysConfig:
        ids = [bus.id for bus in self.buses]
        urls = [bus.url for bus in self.buses]
        if len(set(ids)) != len(ids):
            raise ValueError("two LED buses share an id")
        if len(set(urls)) != len(urls):
            raise ValueError("two LED buses share a port URL: one bus owner per port")
        return self
