"""The hall's devices beyond the printers, built from the config: real ones, or their twins.

`--simulate` replaces the devices of the families it names (all by default; a device whose config
says `simulate = true` too) with simulated twins speaking the same protocol: LED lines on
pseudo-terminals, a local Mosquitto with simulated Wi-Fi keypads, an audio sink that records.
Each device is a hub subscriber that fails alone and reports its own floor alerts.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.app.hall_summary_push import start_summary_push
from controller.app.keypad_intake import KeypadDispatcher
from controller.app.outbox import SENT_KINDS, RatingOutbox, RetryPolicy, Send, http_sender
from controller.app.runtime import HallRuntime
from controller.app.simulated_families import Simulated
from controller.app.subscribers.keypad_screens import KeypadLink
from controller.app.subscribers.latest_state import LatestState
from controller.app.subscribers.led_strips import LedStripSubscriber
from controller.domain.alerts import Alert, AlertKind
from controller.domain.errors import ConfigError, ConfigProblem
from controller.settings.config_sections import TOKEN_ENV
from devices.keypad.keypad import KeypadPort
from devices.keypad.keypad_mqtt import MqttKeypadPort, open_keypad_port
from devices.keypad.keypad_mqtt_local import (
    LocalKeypadHall,
    start_local_keypad_hall,
    start_simulated_keypads,
)
from devices.keypad.keypad_protocols import KEYPAD_PROTOCOLS, KeypadBusDriver, SimulatedKeypads
from devices.keypad.keypad_twin import KeypadTwin
from devices.keypad.mqtt_config import KeypadLinkError, KeypadMqttConfig
from devices.keypad.sim_keypad_mqtt import SimulatedMqttKeypad
from devices.led.led_display import LedDriver
from devices.led.led_protocols import LED_PROTOCOLS, ShownText, SimulatedLedLine
from devices.voice.announcer import Announcer
from devices.voice.audio_sink import SimulatedAudioSink

log = logging.getLogger(__name__)


@dataclass
class HallDevices:
    """Every device of the running hall; `notes` are lines for the start-up banner."""

    runtime: HallRuntime
    led_buses: list[LedDriver] = field(default_factory=list)
    led_lines: list[SimulatedLedLine] = field(default_factory=list)
    led_twins: dict[str, ShownText] = field(default_factory=dict)  # display id -> its twin
    announcer: Announcer | None = None
    audio: SimulatedAudioSink | None = None
    mqtt_port: MqttKeypadPort | None = None
    keypad_buses: list[KeypadBusDriver] = field(default_factory=list)
    keypad_lines: list[SimulatedKeypads] = field(default_factory=list)
    local_keypads: LocalKeypadHall | None = None
    mqtt_twins: dict[str, SimulatedMqttKeypad] = field(default_factory=dict)  # on the real broker
    outbox: RatingOutbox | None = None
    notes: list[str] = field(default_factory=list)
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def attach_outbox(self, outbox: RatingOutbox) -> None:
        """Make `outbox` the hall's: woken by journaled batches (if healthy), alerts on the floor."""
        self.outbox = outbox
        # Only what it sends wakes it: an issued ticket costs the outbox nothing.
        self.runtime.hub.subscribe("outbox", outbox.wake, kinds=SENT_KINDS)
        self.runtime.add_alert_source(outbox.alerts)

    @property
    def keypad_ports(self) -> list[KeypadPort]:
        """The MQTT port and every RS-485 keypad bus."""
        ports: list[KeypadPort] = [self.mqtt_port] if self.mqtt_port is not None else []
        return ports + list(self.keypad_buses)

    def simulated_keypad(self, window: int) -> KeypadTwin | None:
        """The simulated keypad at `window` (Wi-Fi or wired), when simulating."""
        if self.local_keypads is not None:
            for keypad in self.local_keypads.keypads.values():
                if keypad.window == window:
                    return keypad
        for twin in self.mqtt_twins.values():
            if twin.window == window:
                return twin
        for line in self.keypad_lines:
            if (wired := line.at_window(window)) is not None:
                return wired
        return None

    def retry_outbox(self) -> dict[str, int] | None:
        """Retry the rating outbox now and resend its parked records (None: no outbox)."""
        if self.outbox is None:
            return None
        self.outbox.retry_now()
        return self.outbox.resend_parked()

    def keypads(self) -> list[dict[str, object]]:
        """Every keypad on every port: device id, window, online, last seen, firmware."""
        rows = [row for port in self.keypad_ports for row in port.keypads()]
        return sorted(rows, key=lambda row: (int(str(row["window"])), str(row["device_id"])))

    def keypad_alerts(self) -> list[Alert]:
        """Floor alerts for MQTT keypads gone offline or a broker link that is down."""
        found: list[Alert] = []
        rows = self.mqtt_port.keypads() if self.mqtt_port is not None else []
        unknown = [r for r in rows if r.get("online") is None and r.get("last_seen")]
        if unknown or (rows and all(r.get("online") is None for r in rows)):
            found.append(Alert(AlertKind.KEYPAD_LINK_DOWN, "评价器服务器连接中断，正在自动重连"))
        for row in rows:
            if row.get("online") is False:
                found.append(
                    Alert(
                        AlertKind.KEYPAD_OFFLINE,
                        f"{row['window']}号窗口评价器离线（{row['device_id']}）",
                        window=int(str(row["window"])),
                        device=str(row["device_id"]),
                    )
                )
        return found

    def status(self) -> dict[str, Any]:
        """LED displays, voice and outbox figures for the dashboard and /api/devices."""
        led = []
        for bus in self.led_buses:
            for display in bus.displays:
                health = display.health()
                led.append(
                    {
                        "id": display.id,
                        "target": str(display.target),
                        "available": health.available,
                        "detail": health.detail,
                        "firmware": health.firmware,
                    }
                )
        voice = None
        if self.announcer is not None:
            voiced = self.announcer.health()
            voice = {
                "available": voiced.available,
                "detail": voiced.detail,
                "announced": voiced.announced,
                "pending": voiced.pending,
                "missed": voiced.missed,
            }
        outbox = self.outbox.status() if self.outbox is not None else None
        found: dict[str, Any] = {"led": led, "voice": voice, "outbox": outbox}
        if self.led_twins:
            # --simulate: what each simulated display shows, as a person under it would read it.
            found["led_shown"] = {display: twin.text for display, twin in self.led_twins.items()}
        return found

    def gauges(self) -> dict[str, float]:
        """Device figures for /metrics."""
        figures: dict[str, float] = {}
        if self.outbox is not None:
            figures["hall_outbox_backlog"] = float(self.outbox.backlog())
            figures["hall_outbox_parked"] = float(len(self.outbox.parked()))
        rows = self.keypads()
        if rows:
            figures["hall_keypads_online"] = float(sum(1 for r in rows if r.get("online")))
        return figures

    def stop(self) -> None:
        """Stop every device, the last started first."""
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception:  # one device failing to stop must not keep the others running
                log.exception("stopping a device failed")


def start_devices(
    runtime: HallRuntime,
    *,
    simulate: Simulated,
    data_dir: Path,
    base_url: str,
    outbox_token: str,
    speed: float = 1.0,
    embedded_send: Send | None = None,
) -> HallDevices:
    """Build and start the LED displays, voice, keypads and rating outbox of `runtime`'s config.

    `embedded_send` stores into this process's own satisfaction API (no HTTP); it is used
    when [satisfaction] names no central url.
    """
    devices = HallDevices(runtime)
    try:
        _start_led(devices, simulate=simulate, data_dir=data_dir)
        _start_voice(devices, simulate=simulate, speed=speed, data_dir=data_dir)
        _start_keypads(devices, simulate=simulate, data_dir=data_dir, speed=speed)
        _start_outbox(
            devices, base_url=base_url, outbox_token=outbox_token, embedded_send=embedded_send
        )
    except BaseException:
        devices.stop()
        raise
    runtime.add_gauge_source(devices.gauges)
    return devices


def _start_led(devices: HallDevices, *, simulate: Simulated, data_dir: Path) -> None:
    runtime = devices.runtime
    config = runtime.config.led
    latest = LatestState(runtime.state_snapshot())  # then fed by the hub with every batch
    for bus_config in config.buses:
        chosen = bus_config
        protocol = LED_PROTOCOLS.get(bus_config.protocol)
        if "led" in simulate or bus_config.simulate:
            line = protocol.twin(bus_config, data_dir / f"led-{bus_config.id}")
            devices._stops.append(line.stop)
            for address, twin in line.displays.items():
                devices.led_twins[f"{bus_config.id}:{address}"] = twin
            devices.led_lines.append(line)
            chosen = bus_config.model_copy(update={"url": line.url})
            devices.notes.append(
                f"模拟LED屏 / simulated LED line {bus_config.id} ({len(bus_config.strips)} displays, "
                f"{bus_config.protocol}) at {line.url}"
            )
        bus = protocol.driver(chosen, latest)
        devices.led_buses.append(bus)
        runtime.add_alert_source(bus.alerts)
    if not devices.led_buses:
        return
    displays = [display for bus in devices.led_buses for display in bus.displays]
    subscriber = LedStripSubscriber(displays, latest, blink_seconds=config.blink_seconds)
    subscriber.watch(runtime.hub.subscribe_with_state("led", subscriber.handle))
    for bus in devices.led_buses:
        bus.start()
        devices._stops.append(bus.stop)


def _start_voice(
    devices: HallDevices, *, simulate: Simulated, speed: float, data_dir: Path
) -> None:
    config = devices.runtime.config.voice
    if not config.enabled:
        return
    base = data_dir  # relative clip directories live in the data directory, not the cwd
    clips = config.directories(base)[0]
    if not clips.is_dir() and shutil.which("espeak-ng"):
        from devices.voice.voice_clip_synth import generate_clip_set

        log.info("generating the default voice clips in %s", clips)
        generate_clip_set(clips)
    sink = None
    if "voice" in simulate:
        # Announcements take their real length in hall time: at --speed 10 a call lasts 1/10.
        sink = devices.audio = SimulatedAudioSink(time_scale=1.0 / max(speed, 1.0))
        devices.notes.append("模拟语音 / simulated audio sink (records what would be played)")
    announcer = Announcer.from_config(config, base=base, sink=sink)
    devices.announcer = announcer
    devices.runtime.hub.subscribe("voice", announcer.on_events)
    devices.runtime.add_alert_source(announcer.alerts)
    announcer.start()
    devices._stops.append(announcer.stop)


def _start_keypads(
    devices: HallDevices, *, simulate: Simulated, data_dir: Path, speed: float = 1.0
) -> None:
    runtime = devices.runtime
    mqtt = runtime.config.keypads.mqtt
    dispatcher = KeypadDispatcher(runtime)
    if mqtt is not None and mqtt.keypads:
        if "keypads" in simulate:
            local = start_local_keypad_hall(
                mqtt.hall_id, mqtt.keypads, data_dir / "mosquitto", clock_rate=speed
            )
            devices.local_keypads = local
            devices._stops.append(local.stop)
            link = local.config
            devices.notes.append(
                f"模拟评价器 / simulated MQTT keypads ({len(local.keypads)}) on a local Mosquitto "
                f"at {local.broker.host}:{local.broker.port}"
            )
        elif mqtt.broker is None:
            raise _problem(
                "keypads.mqtt.broker",
                "MQTT keypads are configured but no broker: add [keypads.mqtt.broker] "
                "(or run with --simulate for a local one)",
            )
        else:
            link = mqtt
        devices.mqtt_port = open_keypad_port(link, dispatcher)
        devices._stops.append(devices.mqtt_port.close)
        runtime.add_alert_source(devices.keypad_alerts)
        if "keypads" not in simulate and mqtt.simulate:
            _start_mqtt_twins(devices, mqtt, speed)
    _start_serial_keypads(devices, dispatcher, simulate=simulate, data_dir=data_dir)
    if devices.keypad_ports:
        start_keypad_link(runtime, devices.keypad_ports)


def _start_mqtt_twins(devices: HallDevices, mqtt: KeypadMqttConfig, speed: float) -> None:
    try:
        twins = start_simulated_keypads(mqtt, clock_rate=speed)
    except KeypadLinkError as err:
        raise _problem("keypads.mqtt.simulate", str(err)) from err
    devices.mqtt_twins.update(twins)
    for twin in twins.values():
        devices._stops.append(twin.stop)  # before the controller's port (stops run last first)
    broker = mqtt.broker
    assert broker is not None
    devices.notes.append(
        f"模拟评价器 / simulated MQTT keypads {', '.join(twins)} on the hall's broker at "
        f"{broker.host}:{broker.port}, beside the real ones"
    )


def _start_serial_keypads(
    devices: HallDevices, dispatcher: KeypadDispatcher, *, simulate: Simulated, data_dir: Path
) -> None:
    configs = []
    for configured in devices.runtime.config.keypads.serial.buses:
        config = configured
        if "keypads" in simulate or configured.simulate:
            twin = KEYPAD_PROTOCOLS.get(configured.protocol).twin
            line, config = twin(configured, data_dir / f"keypads-{configured.id}")
            devices.keypad_lines.append(line)
            devices._stops.append(line.stop)
            devices.notes.append(
                f"模拟评价器 / simulated RS-485 keypads ({len(config.keypads)}) on line "
                f"{config.id} at {line.url}"
            )
        configs.append(config)
    # Every bus is made before any starts: a bad port URL stops the hall before it polls.
    buses = [KEYPAD_PROTOCOLS.get(c.protocol).driver(c, dispatcher) for c in configs]
    for bus in buses:
        bus.start()
        devices.keypad_buses.append(bus)
        devices._stops.append(bus.close)  # before its simulated line (stops run last first)
        devices.runtime.add_alert_source(bus.alerts)


def _start_outbox(
    devices: HallDevices, *, base_url: str, outbox_token: str, embedded_send: Send | None
) -> None:
    runtime = devices.runtime
    push = runtime.config.satisfaction
    if not push.enabled:
        return
    url = push.url or f"{base_url}/satisfaction/api/v1/evaluations"
    token = outbox_token
    if push.url:
        token = _central_token(push.token_file)
    retry = RetryPolicy(push.retry_first_seconds, push.retry_max_seconds, push.retry_jitter)
    send = http_sender(url, token, push.timeout_seconds)
    if not push.url and embedded_send is not None:
        send, url = embedded_send, "/satisfaction (in process)"
    outbox = RatingOutbox(runtime.journal, runtime.config, send, retry=retry)
    devices.attach_outbox(outbox)
    outbox.start()
    devices._stops.append(outbox.stop)
    devices.notes.append(f"评价上报 / outbox (finished tickets, ratings) → {url}")
    if push.url and push.live_summary:
        start_summary_push(devices, url, token, push.timeout_seconds)


def _central_token(token_file: Path | None) -> str:
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise _problem("satisfaction.token_file", f"cannot read {token_file}: {err}") from err
        if token:
            return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise _problem(
            "satisfaction.url",
            f"a central satisfaction API needs the hall's token: token_file or {TOKEN_ENV}",
        )
    return token


def _problem(key: str, message: str) -> ConfigError:
    return ConfigError([ConfigProblem("hall config", None, key, message)])


def start_keypad_link(runtime: HallRuntime, ports: Sequence[KeypadPort]) -> KeypadLink:
    """Wire keypad screens to a hall: its alerts, every window's state now, then the hub."""
    link = KeypadLink(ports)
    runtime.add_alert_source(link.alerts)
    link.resync(runtime.state_snapshot())
    runtime.hub.subscribe_with_state("keypads", link.on_events)
    return link
