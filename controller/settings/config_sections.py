"""Hall config sections for the devices beyond the printers: keypads, TV screen, rating push."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from controller.domain.hall_rules import KeypadRules
from controller.domain.strict import StrictModel
from devices.keypad.mqtt_config import KeypadMqttConfig
from devices.keypad.serial_config import SerialKeypadsConfig

if TYPE_CHECKING:
    from controller.settings.hall_config import HallConfig

Loc = tuple[str | int, ...]
TOKEN_ENV = "HALLCTL_SATISFACTION_TOKEN"


class PressLimitConfig(StrictModel):
    """Per-keypad press rate: more than `max_presses` within `per_seconds` is a stuck key."""

    max_presses: int = Field(
        default=20, ge=2, le=1000, description="presses one keypad may send within per_seconds"
    )
    per_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="the window of the limit; a stuck keypad is calm again this long after it stops",
    )


class KioskConfig(StrictModel):
    """Kiosk tokens (ticket machines): their issuing rate, and the staff step for 绿色通道."""

    max_tickets: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="tickets and check-ins one kiosk token may ask for within per_seconds",
    )
    per_seconds: float = Field(default=60.0, gt=0, le=3600)
    priority_pin_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the staff PIN that confirms a 绿色通道 ticket at a kiosk "
        "(hallctl token-hash PIN); a floor manager's token confirms too",
    )
    confirmation_failures: int = Field(
        default=5, ge=1, le=100, description="wrong confirmations before the lane locks"
    )
    confirmation_lock_seconds: float = Field(
        default=300.0, gt=0, le=86_400, description="the window of those failures and the lock"
    )


class KeypadsConfig(KeypadRules):
    """The window keypads (评价器): Wi-Fi ones on an MQTT broker, wired ones on RS-485 lines."""

    mqtt: KeypadMqttConfig | None = None
    serial: SerialKeypadsConfig = SerialKeypadsConfig()
    press_limit: PressLimitConfig = PressLimitConfig()


class ScreenConfig(StrictModel):
    """The TV calling screen drawn by the controller itself (a TV on the controller's HDMI)."""

    local: bool = Field(default=False, description="draw the screen from the controller process")
    windowed: bool = Field(default=False, description="a 960×540 window instead of full screen")


class SatisfactionPushConfig(StrictModel):
    """好差评 data: where the outbox pushes it, how it retries, this hall's 差评 rectify deadline."""

    enabled: bool = True
    url: str = Field(
        default="",
        pattern=r"^(https?://\S+)?$",
        description="central …/api/v1/evaluations; empty: this controller's /satisfaction API",
    )
    token_file: Path | None = Field(
        default=None, description=f"the hall's ingest token (or set {TOKEN_ENV})"
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    retry_first_seconds: float = Field(
        default=1.0, gt=0, le=600, description="first wait after a failed push; doubles each time"
    )
    retry_max_seconds: float = Field(
        default=300.0, gt=0, le=3600, description="longest wait between retries (the cap)"
    )
    retry_jitter: float = Field(
        default=0.2, ge=0, lt=1, description="each wait is cut by a random share up to this"
    )
    rectify_working_days: int | None = Field(
        default=None,
        ge=1,
        le=60,
        description="差评 rectify deadline in working days on [calendar]; unset: "
        "HALLCTL_SATISFACTION_RECTIFY_WORKING_DAYS or 15",
    )
    live_summary: bool = Field(
        default=True,
        description="with a central url: push the hall's live summary (waiting, windows, alerts) "
        "for the province view, on change and every minute",
    )

    @model_validator(mode="after")
    def _cap_above_first(self) -> SatisfactionPushConfig:
        if self.retry_max_seconds < self.retry_first_seconds:
            raise ValueError(
                f"retry_max_seconds ({self.retry_max_seconds}) is below "
                f"retry_first_seconds ({self.retry_first_seconds})"
            )
        return self


def device_references(config: HallConfig) -> list[tuple[Loc, str]]:
    """Device sections that name windows the hall does not have."""
    numbers = {w.number for w in config.windows}
    found: list[tuple[Loc, str]] = []
    for b_index, bus in enumerate(config.led.buses):
        for s_index, strip in enumerate(bus.strips):
            if isinstance(strip.window, int) and strip.window not in numbers:
                found.append(
                    (
                        ("led", "buses", b_index, "strips", s_index, "window"),
                        f"LED strip {bus.id}/{strip.address} hangs above unknown window {strip.window}",
                    )
                )
    if config.keypads.mqtt is not None:
        for device, window in config.keypads.mqtt.keypads.items():
            if window not in numbers:
                found.append(
                    (
                        ("keypads", "mqtt", "keypads", device),
                        f"keypad {device} is at unknown window {window}",
                    )
                )
    for b_index, line in enumerate(config.keypads.serial.buses):
        for address, window in line.keypads.items():
            if window not in numbers:
                found.append(
                    (
                        ("keypads", "serial", "buses", b_index, "keypads", str(address)),
                        f"keypad {line.device_id(address)} is at unknown window {window}",
                    )
                )
        if line.url in {led.url for led in config.led.buses}:
            found.append(
                (
                    ("keypads", "serial", "buses", b_index, "url"),
                    f"keypad bus {line.id} shares port {line.url} with an LED bus: one owner per port",
                )
            )
    return found
