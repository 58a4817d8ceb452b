"""A simulated Wi-Fi window keypad: a real MQTT 3.1.1 client with its own broker credentials.

It follows docs/protocols/keypad-mqtt.md from the keypad's side with the real codec: retained
"online" state on connect and "offline" as its last will, QoS 1 events with a per-boot sequence,
every event kept until its ack arrives and resent with the same seq meanwhile (kept across a
reboot, as a keypad with flash would). Fault switches: lose acks, reboot, flood, garbage, offline.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from devices.mqtt_broker.mosquitto import device_username, no_delay
from firmware_protocols.keypad.keypad_codes import REASON_TABLE_VERSION
from firmware_protocols.keypad.keypad_mqtt import (
    KeypadAck,
    KeypadEvent,
    KeypadScreen,
    KeypadState,
    KeypadTopic,
    TopicKind,
)
from firmware_protocols.keypad.keypad_mqtt_fields import KeypadMqttError

QOS = 1
_POWER_UP = random.SystemRandom()  # the keypad's hardware RNG, drawn at each power-on
EventId = tuple[str, int]  # (boot_id, seq)


MIN_KEEPALIVE_SECONDS = 10  # docs/protocols/keypad-mqtt.md, "Connecting"
MAX_KEEPALIVE_SECONDS = 60


@dataclass
class KeypadFaults:
    """Fault switches: acks still to ignore (each forces a resend); no resends at all while paused."""

    lose_acks: int = 0
    resend_paused: bool = False
    no_will: bool = False  # connects without a last will: nobody hears that it went away
    lost_acks: list[KeypadAck] = field(default_factory=list)


class SimulatedMqttKeypad:
    """One window keypad on the broker, with its network thread and a resend thread."""

    def __init__(
        self,
        hall_id: str,
        device_id: str,
        window: int,
        password: str,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        firmware: str = "sim-1.0",
        resend_seconds: float = 2.0,
        keepalive_seconds: int = 10,
        seed: int = 0,
        tls_ca: Path | None = None,
        clock_rate: float = 1.0,
    ) -> None:
        self.hall_id, self.device_id, self.window = hall_id, device_id, window
        self.tls_ca = tls_ca  # the hall CA: connect over TLS, as a keypad on Wi-Fi does
        self.username = device_username(device_id)
        self.password = password
        self.host, self.port = host, port
        self.firmware = firmware
        self.resend_seconds = resend_seconds
        if not MIN_KEEPALIVE_SECONDS <= keepalive_seconds <= MAX_KEEPALIVE_SECONDS:
            raise ValueError(
                f"keep alive {keepalive_seconds} s: keypad-mqtt.md allows "
                f"{MIN_KEEPALIVE_SECONDS}-{MAX_KEEPALIVE_SECONDS} s"
            )
        self.keepalive_seconds = keepalive_seconds
        self.faults = KeypadFaults()
        self._clock: tuple[int, float] | None = None  # (ack time ms, monotonic at receipt)
        self.clock_rate = clock_rate  # hall seconds per real second: a scaled (demo) hall clock
        self.acks: list[KeypadAck] = []  # acks that ended an event, in arrival order
        self.stray_acks: list[KeypadAck] = []  # repeats, or for events no longer kept
        self.displays: list[KeypadScreen] = []
        self.bad_messages: list[tuple[str, bytes, str]] = []  # topic, payload, error
        self.published = 0  # event publishes, resends and garbage included
        self.boots = 0
        self.connect_refusals: list[str] = []
        self._rng = random.Random(f"{seed}/{device_id}")
        self._changed = threading.Condition()
        self._unacked: dict[EventId, tuple[KeypadEvent, float]] = {}  # event, last sent (monotonic)
        self._boot_id = self._new_boot_id()
        self._seq = 0
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._resender = threading.Thread(
            target=self._resend_loop, name=f"kp-{device_id}", daemon=True
        )

    # --- life cycle ---

    def start(self, timeout: float = 5.0) -> SimulatedMqttKeypad:
        """Connect (waits for the CONNACK up to `timeout`) and start resending; returns self."""
        self._resender.start()
        self.go_online(timeout)
        return self

    def stop(self) -> None:
        """Say "offline" (retained), disconnect cleanly and stop the threads; idempotent."""
        self._stop.set()
        client, self._client = self._client, None
        if client is not None:
            if self._connected.is_set():
                info = client.publish(
                    str(self._topic(TopicKind.STATE)), self._state("offline"), QOS, True
                )
                with contextlib.suppress(RuntimeError, ValueError):  # the link went meanwhile
                    info.wait_for_publish(2)
            client.disconnect()
            client.loop_stop()
        self._connected.clear()
        if self._resender.is_alive():
            self._resender.join(timeout=5)

    @property
    def boot_id(self) -> str:
        """The current boot's id (a new one after `reboot`)."""
        return self._boot_id

    @property
    def connected(self) -> bool:
        """Whether the keypad's MQTT connection is up."""
        return self._connected.is_set()

    @property
    def unacked(self) -> list[KeypadEvent]:
        """Events sent and not yet acked, oldest first."""
        with self._changed:
            return [event for event, _ in self._unacked.values()]

    # --- the keypad's keys ---

    def press(
        self,
        key: str,
        *,
        rating: str | None = None,
        reasons: tuple[str, ...] = (),
        argument: str | None = None,
    ) -> KeypadEvent:
        """Press a key: the next seq of this boot, kept until acked, published now if online."""
        with self._changed:
            self._seq += 1
            event = KeypadEvent(
                self.device_id,
                self._boot_id,
                self._seq,
                key,
                rating=rating,
                reasons=reasons,
                reasons_table=REASON_TABLE_VERSION if reasons else None,
                argument=argument,
                pressed_at=self.clock_ms(),
            )
            self._unacked[(event.boot_id, event.seq)] = (event, time.monotonic())
        self._send(event)
        return event

    def clock_ms(self) -> int | None:
        """The controller's time now, by the last ack's `time` and this keypad's own tick (None
        before the first ack with a time since power-up)."""
        if self._clock is None:
            return None
        told, at = self._clock
        return told + round((time.monotonic() - at) * 1000 * self.clock_rate)

    def flood(self, count: int, key: str = "next") -> list[KeypadEvent]:
        """Press `key` `count` times as fast as the client takes them."""
        return [self.press(key) for _ in range(count)]

    def send_garbage(self, payload: bytes | None = None) -> bytes:
        """Publish a malformed event (seeded junk unless given); it is never kept or resent."""
        if payload is None:
            payload = self._garbage()
        self._publish(str(self._topic(TopicKind.EVENT)), payload)
        return payload

    # --- faults ---

    def reboot(self, *, keep_unacked: bool = True, timeout: float = 5.0) -> str:
        """Power cycle: the link drops (the will says offline), a new boot id, seq from 1 again.

        `keep_unacked` False is a keypad without flash: its unacked events are lost with it.
        """
        self.go_offline()
        with self._changed:
            if not keep_unacked:
                self._unacked.clear()
            self._boot_id = self._new_boot_id()
            self._seq = 0
            self._clock = None  # no clock until the next ack tells it
        self.go_online(timeout)
        return self._boot_id

    def go_offline(self) -> None:
        """Drop the connection without DISCONNECT (power or Wi-Fi lost): the broker sends the will."""
        client, self._client = self._client, None
        self._connected.clear()
        if client is None:
            return
        sock = client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        client.disconnect()  # the socket is gone: this only ends paho's loop, nothing is sent
        client.loop_stop()

    def go_online(self, timeout: float = 5.0) -> None:
        """Connect again (a new client, same id and persistent session); waits for the CONNACK."""
        if self._client is not None:
            return
        self.boots += 1
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.username,
            clean_session=False,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        client.username_pw_set(self.username, self.password)
        if self.tls_ca is not None:
            client.tls_set(ca_certs=str(self.tls_ca))
        if not self.faults.no_will:
            will = self._state("offline")
            client.will_set(str(self._topic(TopicKind.STATE)), will, QOS, retain=True)
        client.reconnect_delay_set(1, 2)
        client.on_socket_open = no_delay
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        client.connect_async(self.host, self.port, keepalive=self.keepalive_seconds)
        client.loop_start()
        if not self._connected.wait(timeout):
            raise TimeoutError(
                f"keypad {self.device_id} not connected: {self.connect_refusals[-1:]}"
            )

    # --- waiting for the controller ---

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until `predicate()` (evaluated under the keypad's lock) is true; False on timeout."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def wait_acked(self, event: KeypadEvent, timeout: float = 5.0) -> KeypadAck:
        """The ack that ended `event`; TimeoutError if none within `timeout`."""

        def found() -> KeypadAck | None:
            return next(
                (a for a in self.acks if (a.boot_id, a.seq) == (event.boot_id, event.seq)), None
            )

        if not self.wait_for(lambda: found() is not None, timeout):
            raise TimeoutError(f"keypad {self.device_id}: no ack for seq {event.seq}")
        ack = found()
        assert ack is not None
        return ack

    def wait_all_acked(self, timeout: float = 5.0) -> bool:
        """Wait until no event is left unacked; False on timeout."""
        return self.wait_for(lambda: not self._unacked, timeout)

    # --- network thread ---

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if reason.is_failure:
            self.connect_refusals.append(str(reason))
            return
        client.subscribe(
            [(str(self._topic(TopicKind.ACK)), QOS), (str(self._topic(TopicKind.DISPLAY)), QOS)]
        )
        client.publish(str(self._topic(TopicKind.STATE)), self._state("online"), QOS, retain=True)
        self._connected.set()
        if not self.faults.resend_paused:  # the resend rule: everything unacked, on every connect
            for event in self.unacked:
                self._send(event)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if client is self._client:
            self._connected.clear()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        payload = bytes(message.payload)
        try:
            topic = KeypadTopic.parse(message.topic, self.hall_id)
            if topic.kind is TopicKind.DISPLAY:
                screen = KeypadScreen.decode(payload)
                with self._changed:
                    self.displays.append(screen)
                    self._changed.notify_all()
                return
            ack = KeypadAck.decode(payload)
        except KeypadMqttError as err:
            with self._changed:
                self.bad_messages.append((message.topic, payload, str(err)))
                self._changed.notify_all()
            return
        with self._changed:
            if ack.time is not None:  # keypad-mqtt.md "Press time": the controller's clock
                self._clock = (ack.time, time.monotonic())
            if self.faults.lose_acks > 0:
                self.faults.lose_acks -= 1
                self.faults.lost_acks.append(ack)
            elif self._unacked.pop((ack.boot_id, ack.seq), None) is not None:
                self.acks.append(ack)
            else:
                self.stray_acks.append(ack)
            self._changed.notify_all()

    def _resend_loop(self) -> None:
        while not self._stop.wait(min(0.1, self.resend_seconds / 4)):
            if self.faults.resend_paused or not self._connected.is_set():
                continue
            due = time.monotonic() - self.resend_seconds
            with self._changed:
                stale = [event for event, sent in self._unacked.values() if sent <= due]
            for event in stale:
                self._send(event)

    # --- helpers ---

    def _send(self, event: KeypadEvent) -> None:
        with self._changed:
            key = (event.boot_id, event.seq)
            if key not in self._unacked:
                return
            self._unacked[key] = (event, time.monotonic())
        if self._connected.is_set():
            self._publish(str(self._topic(TopicKind.EVENT)), event.encode())

    def _publish(self, topic: str, payload: bytes) -> None:
        client = self._client
        if client is not None:
            client.publish(topic, payload, QOS)
            self.published += 1

    def _topic(self, kind: TopicKind) -> KeypadTopic:
        return KeypadTopic(self.hall_id, self.window, self.device_id, kind)

    def _state(self, state: str) -> bytes:
        return KeypadState(
            self.device_id,
            self._boot_id,
            state,
            self.firmware,
            model="sim",
            reasons_table=REASON_TABLE_VERSION,
        ).encode()

    def _new_boot_id(self) -> str:
        # Not from the seed: built again from the same seed (a restarted simulated hall) it is
        # a new power-up, whose presses the controller must not take for the last boot's.
        return f"{_POWER_UP.getrandbits(64):016x}"

    def _garbage(self) -> bytes:
        """Seeded junk: random bytes, cut JSON, or JSON that breaks a rule but names boot and seq."""
        rng = self._rng
        choice = rng.randrange(3)
        if choice == 0:
            return rng.randbytes(rng.randrange(1, 200))
        valid = KeypadEvent(self.device_id, self._boot_id, 999_999, "next").encode()
        if choice == 1:
            return valid[: rng.randrange(1, len(valid))]
        obj = json.loads(valid)
        obj["key"] = rng.choice(["launch", 7, None, "rate"])  # "rate" without a rating
        return json.dumps(obj).encode()
