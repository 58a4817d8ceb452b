"""Configuration of the MQTT keypads: the broker to use, the hall prefix, which keypad is at which window."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, StringConstraints, model_validator

from controller.domain.errors import HallError
from controller.domain.strict import StrictModel

_ID = r"^[A-Za-z0-9_-]{1,32}$"  # firmware_protocols.keypad.keypad_mqtt.ID_PATTERN
DeviceId = Annotated[str, StringConstraints(pattern=_ID)]


class KeypadLinkError(HallError):
    """The keypad broker link cannot be set up (no broker, unreadable password file); names what."""

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        self.detail = detail
        super().__init__(f"keypad broker {what}: {detail}")


class MqttBrokerConfig(StrictModel):
    """Where the controller's MQTT client connects and as whom (a password or a file holding it)."""

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(1883, ge=1, le=65535)
    username: str = Field("hall-controller", min_length=1, max_length=64)
    password: SecretStr | None = None
    password_file: Path | None = None
    client_id: str | None = Field(None, pattern=_ID)  # default: hall-{hall_id}-controller
    keepalive_seconds: int = Field(30, ge=5, le=600)
    session_expiry_seconds: int = Field(7 * 86_400, ge=60, le=30 * 86_400)
    reconnect_max_seconds: int = Field(5, ge=1, le=300)

    @model_validator(mode="after")
    def _one_password(self) -> MqttBrokerConfig:
        if (self.password is None) == (self.password_file is None):
            raise ValueError("give exactly one of password and password_file")
        return self

    def resolved_password(self) -> str:
        """The password itself: `password`, or the first line of `password_file`."""
        if self.password is not None:
            return self.password.get_secret_value()
        assert self.password_file is not None
        return read_password_file(self.password_file)


def read_password_file(path: Path) -> str:
    """The first line of `path`, stripped; KeypadLinkError naming the file if unreadable or empty."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        detail = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise KeypadLinkError(str(path), detail) from err
    if not lines or not lines[0].strip():
        raise KeypadLinkError(str(path), "the file is empty")
    return lines[0].strip()


class KeypadMqttConfig(StrictModel):
    """The hall's MQTT keypads; `broker` None means none configured (simulate starts a local one)."""

    hall_id: str = Field(pattern=_ID)
    broker: MqttBrokerConfig | None = None
    keypads: dict[DeviceId, Annotated[int, Field(ge=1, le=9999)]] = {}
    display_retained: bool = True  # a keypad that (re)connects gets its window's current state
    # One real keypad beside simulated others (docs/commissioning.md, step 3): these keypads
    # run as simulated twins inside the controller and log in to the hall's broker with their
    # own accounts; the value is the file holding that keypad's broker password.
    simulate: dict[DeviceId, Path] = Field(
        default_factory=dict,
        description="device id -> its broker password file: a simulated twin on the hall's "
        "broker in its place (`hallctl mqtt-broker write-config` / `rotate-keypad` write the file)",
    )

    @model_validator(mode="after")
    def _simulated_keypads_are_configured(self) -> KeypadMqttConfig:
        unknown = sorted(set(self.simulate) - set(self.keypads))
        if unknown:
            raise ValueError(
                f"simulate names {', '.join(unknown)}, not in [keypads.mqtt.keypads]: a simulated "
                "keypad needs its window there (device id = window number)"
            )
        return self

    @property
    def client_id(self) -> str:
        """The controller's fixed MQTT client id: its persistent session is found by it."""
        configured = self.broker.client_id if self.broker is not None else None
        return configured or f"hall-{self.hall_id}-controller"

    def devices_at(self, window: int) -> list[str]:
        """The device ids of the keypads at `window`, sorted."""
        return sorted(device for device, at in self.keypads.items() if at == window)
