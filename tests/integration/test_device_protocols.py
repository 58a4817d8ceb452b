"""The device-protocol slot: a bus's `protocol` names a registry entry (codec, driver, twin)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from controller.app.clock import ManualClock
from controller.app.device_wiring import start_devices
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.app.simulated_families import Simulated
from controller.domain import commands as cmd
from controller.domain.alerts import Alert
from controller.domain.errors import ConfigError, HallError
from controller.settings.config_loader import parse_config
from controller.settings.hall_config import HallConfig
from devices.keypad.keypad import KeypadHandler
from devices.keypad.keypad_protocols import KEYPAD_PROTOCOLS, KeypadProtocol
from devices.keypad.serial_config import KeypadBusConfig
from devices.led.led_bus import LedBus
from devices.led.led_config import LedBusConfig, LedStripConfig
from devices.led.led_display import LedDisplay, LedDisplayHealth, Target
from devices.led.led_protocols import LED_PROTOCOLS, LedProtocol, SimulatedLedLine
from devices.rs485.protocols import HALL_BUS_V1, ProtocolRegistry, UnknownProtocol
from display.keypad_text import KeypadDisplay
from display.led_content import CallShown, LedContent
from firmware_protocols.keypad import keypad_serial
from firmware_protocols.led import led_strip
from tests.conftest import EXAMPLE_CONFIG, hall_time
from tests.led_helpers import wait_until

DUMMY = "dummy-v1"


def _example_with(line_end: str, new: str) -> str:
    """The example config with the one line ending in `line_end` replaced by `new`."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    lines = text.split("\n")
    (index,) = [i for i, line in enumerate(lines) if line.endswith(line_end)]
    lines[index] = new
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("comment", "key", "family"),
    [
        ("(the default; docs/led-strip-driver.md)", "led.buses[0].protocol", "LED bus"),
        (
            "# what the keypads speak (the default)",
            "keypads.serial.buses[0].protocol",
            "keypad bus",
        ),
    ],
)
def test_an_unknown_protocol_is_a_config_error_naming_the_known_ones(
    comment: str, key: str, family: str
) -> None:
    text = _example_with(comment, 'protocol = "vendor-x"')
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file="hall.toml")
    (problem,) = [p for p in caught.value.problems if p.key == key]
    assert problem.message == (
        f"unknown {family} protocol 'vendor-x': the known ones are 'hall-bus-v1'"
    )
    assert problem.line is not None
    assert text.splitlines()[problem.line - 1] == 'protocol = "vendor-x"'


def test_every_bus_speaks_the_hall_bus_unless_told(hall_config: HallConfig) -> None:
    assert [bus.protocol for bus in hall_config.led.buses] == [HALL_BUS_V1]
    assert [bus.protocol for bus in hall_config.keypads.serial.buses] == [HALL_BUS_V1]
    strip = LedStripConfig(address=1, window=1)
    assert LedBusConfig(id="a", url="loop://", strips=[strip]).protocol == HALL_BUS_V1
    assert KeypadBusConfig(id="k", url="loop://", keypads={1: 1}).protocol == HALL_BUS_V1
    led = LED_PROTOCOLS.get(HALL_BUS_V1)
    assert led.codec is led_strip
    assert isinstance(led.driver(LedBusConfig(id="a", url="loop://", strips=[strip]), dict), LedBus)
    assert KEYPAD_PROTOCOLS.get(HALL_BUS_V1).codec is keypad_serial


def test_the_registry_refuses_a_taken_name_and_names_the_known_ones() -> None:
    registry: ProtocolRegistry[str] = ProtocolRegistry("test bus")
    registry.register("a-v1", "first")
    with pytest.raises(ValueError, match="'a-v1' is registered already"):
        registry.register("a-v1", "again")
    with pytest.raises(UnknownProtocol) as caught:
        registry.get("b-v1")
    assert isinstance(caught.value, HallError)
    assert caught.value.known == ("a-v1",) and caught.value.family == "test bus"
    registry.unregister("a-v1")
    assert registry.names() == ()


class _Display:
    """A dummy protocol's display: records the protocol-neutral content it was given."""

    def __init__(self, bus: str, strip: LedStripConfig) -> None:
        self.id = f"{bus}:{strip.address}"
        self.target: Target = strip.window
        self.lines, self.columns = strip.lines, strip.columns
        self.shown: list[LedContent] = []
        self.resyncs = 0

    def show(self, contents: Any) -> None:
        self.shown.extend(contents)

    def resync(self) -> None:
        self.resyncs += 1

    def health(self) -> LedDisplayHealth:
        return LedDisplayHealth(available=True, firmware="dummy 1.0")


class _Driver:
    """A dummy protocol's bus owner."""

    made: list[_Driver] = []

    def __init__(self, config: LedBusConfig, snapshot: Any) -> None:
        self.config = config
        self.own = [_Display(config.id, strip) for strip in config.strips]
        self.running = False
        _Driver.made.append(self)

    @property
    def displays(self) -> list[LedDisplay]:
        return list(self.own)

    def alerts(self) -> list[Alert]:
        return []

    def start(self) -> _Driver:
        self.running = True
        return self

    def stop(self) -> None:
        self.running = False


class _Shown:
    text = "dummy twin"


def _dummy_twin(config: LedBusConfig, link: Path) -> SimulatedLedLine:
    shown = {s.address: _Shown() for s in config.strips}
    return SimulatedLedLine(f"dummy://{link.name}", shown, lambda: None)


@pytest.fixture
def dummy_led_protocol() -> Any:
    _Driver.made.clear()
    LED_PROTOCOLS.register(DUMMY, LedProtocol(ModuleType("dummy_codec"), _Driver, _dummy_twin))
    yield
    LED_PROTOCOLS.unregister(DUMMY)


def _hall(hall_config: HallConfig, tmp_path: Path, **changes: Any) -> HallRuntime:
    raw = tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    raw["voice"]["enabled"] = False
    raw["satisfaction"]["enabled"] = False
    raw["keypads"] = {"serial": {"buses": []}}
    for section, change in changes.items():
        change(raw[section])
    config = HallConfig.model_validate(raw)
    journal = Journal.at_path(tmp_path / "hall.db", durable=False)
    return HallRuntime(config, journal, ManualClock(hall_time("09:00")))


def test_a_registered_protocol_is_picked_by_config_and_gets_neutral_content(
    hall_config: HallConfig, tmp_path: Path, dummy_led_protocol: None
) -> None:
    def dummy(led: dict[str, Any]) -> None:
        led["buses"][0]["protocol"] = DUMMY

    runtime = _hall(hall_config, tmp_path, led=dummy)
    devices = start_devices(
        runtime,
        simulate=Simulated.every(),
        data_dir=tmp_path,
        base_url="http://127.0.0.1:9",
        outbox_token="",
    )
    try:
        (driver,) = _Driver.made
        assert devices.led_buses == [driver] and driver.running
        assert driver.config.url == "dummy://led-led-1"  # the twin's line, not /dev/ttyUSB2
        assert devices.status()["led_shown"]["led-1:3"] == "dummy twin"
        runtime.execute(cmd.SignIn(1, "S0101", "A"))
        runtime.execute(cmd.IssueTicket("SB"))
        runtime.execute(cmd.CallNext(1))
        window_1 = driver.own[0]
        wait_until(lambda: CallShown("A001", "1号窗口", 5) in window_1.shown, what="the call")
    finally:
        devices.stop()
        runtime.hub.stop()
        runtime.journal.close()
    assert not driver.running


class _KeypadDriver:
    """A dummy protocol's keypad bus owner."""

    made: list[_KeypadDriver] = []

    def __init__(self, config: KeypadBusConfig, handler: KeypadHandler) -> None:
        self.config, self.handler = config, handler
        self.started = self.closed = False
        self.shown: list[KeypadDisplay] = []
        _KeypadDriver.made.append(self)

    def start(self) -> None:
        self.started = True

    def show(self, display: KeypadDisplay) -> None:
        self.shown.append(display)

    def keypads(self) -> list[dict[str, object]]:
        return [{"device_id": "dummy-1", "window": 1, "online": True}]

    def alerts(self) -> list[Alert]:
        return []

    def close(self) -> None:
        self.closed = True


def test_a_registered_keypad_protocol_is_picked_by_config(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    def no_twin(config: KeypadBusConfig, link: Path) -> Any:
        raise AssertionError("not simulating")

    _KeypadDriver.made.clear()
    KEYPAD_PROTOCOLS.register(DUMMY, KeypadProtocol(keypad_serial, _KeypadDriver, no_twin))
    runtime = None
    try:

        def dummy(keypads: dict[str, Any]) -> None:
            keypads["serial"]["buses"] = [
                {"id": "kp", "url": "dummy://kp", "protocol": DUMMY, "keypads": {1: 1}}
            ]

        runtime = _hall(hall_config, tmp_path, keypads=dummy, led=lambda led: led.clear())
        devices = start_devices(
            runtime,
            simulate=Simulated(),
            data_dir=tmp_path,
            base_url="http://127.0.0.1:9",
            outbox_token="",
        )
        try:
            (driver,) = _KeypadDriver.made
            assert devices.keypad_buses == [driver] and driver.started
            assert devices.keypads() == driver.keypads()
        finally:
            devices.stop()
        assert driver.closed
    finally:
        KEYPAD_PROTOCOLS.unregister(DUMMY)
        if runtime is not None:
            runtime.hub.stop()
            runtime.journal.close()


def test_the_driver_doc_names_the_files_and_the_registry_line_of_a_second_protocol() -> None:
    root = EXAMPLE_CONFIG.parents[1]
    doc = (root / "docs" / "led-strip-driver.md").read_text(encoding="utf-8")
    section = doc.split("## A second protocol", 1)[1].split("\n## ", 1)[0]
    named = {
        "devices/led/led_protocols.py",
        "display/led_content.py",
        "devices/led/hall_bus_content.py",
        "devices/rs485/master_line.py",
        "devices/keypad/keypad_protocols.py",
    }
    for path in named:
        assert f"`{path}`" in section and (root / path).is_file(), path
    registry = (root / "devices" / "led" / "led_protocols.py").read_text(encoding="utf-8")
    assert "LED_PROTOCOLS.register(HALL_BUS_V1, LedProtocol(" in registry
    assert 'LED_PROTOCOLS.register("VENDOR-v1", LedProtocol(' in section
