"""Schema of a hall configuration file (config/*.toml): the hall's rules plus every device section."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field, model_validator

from controller.domain.hall_rules import HallRules
from controller.domain.strict import StrictModel
from controller.settings.config_sections import (
    KeypadsConfig,
    KioskConfig,
    SatisfactionPushConfig,
    ScreenConfig,
)
from controller.settings.server_limits import ServerLimits
from controller.settings.simulation_habits import Behaviour
from devices.led.led_config import LedDisplaysConfig
from devices.printer.printer_config import PrinterConfig
from devices.voice.voice_config import VoiceConfig


class TicketText(StrictModel):
    """What a printed ticket says besides the number."""

    footer: str = "请妥善保管本票，过号请重新取号"
    status_url: str = Field(
        default="", description="base URL of the ticket status page for the QR code; empty: no QR"
    )
    print_materials: bool = True


def token_digest(token: str) -> str:
    """SHA-256 hex digest of a token, as stored in the config."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenConfig(StrictModel):
    """An API bearer token, stored as its SHA-256 hex digest, never in clear."""

    name: str = Field(min_length=1)
    role: Literal["admin", "floor_manager", "window_staff", "kiosk", "display"]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    window: int | None = None

    @model_validator(mode="after")
    def _window_for_staff(self) -> TokenConfig:
        if self.role == "window_staff" and self.window is None:
            raise ValueError("a window_staff token must name its window")
        if self.role != "window_staff" and self.window is not None:
            raise ValueError("only a window_staff token may name a window")
        return self


class AuthConfig(StrictModel):
    """API tokens; an admin token may also come from HALLCTL_ADMIN_TOKEN."""

    tokens: list[TokenConfig] = []


class HallConfig(HallRules):
    """A whole hall configuration file: the rules the engine runs by, and the hall's devices."""

    auth: AuthConfig = AuthConfig()
    printers: list[PrinterConfig] = []
    tickets: TicketText = TicketText()
    kiosk: KioskConfig = KioskConfig()
    led: LedDisplaysConfig = LedDisplaysConfig()
    voice: VoiceConfig = VoiceConfig()
    keypads: KeypadsConfig = KeypadsConfig()
    screen: ScreenConfig = ScreenConfig()
    satisfaction: SatisfactionPushConfig = SatisfactionPushConfig()
    server: ServerLimits = ServerLimits()
    simulation: Behaviour = Behaviour()
