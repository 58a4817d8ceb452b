"""Configuration of a ticket printer (the hall config's `[[printers]]` tables), validated by pydantic."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from controller.domain.strict import StrictModel


class PrinterConfig(StrictModel):
    """A thermal ticket printer at a ticket machine (取号机)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    machine: str = Field(default="entrance", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    url: str = Field(
        min_length=1,
        description="socket://HOST:9100, a serial device or pyserial URL, usb:VID:PID, file:PATH",
    )
    paper_mm: Literal[58, 80] = 80
    chinese_font: bool = Field(default=True, description="false: Chinese lines print as raster")
    status: Literal["query", "none"] = Field(
        default="query", description="none: the printer cannot answer DLE EOT (file printers)"
    )
    baudrate: int = Field(default=9600, ge=1200, le=921600)
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    simulate: bool = Field(
        default=False, description="a simulated twin in its place, also without --simulate"
    )
