"""The kit's controller side on the broker: watches one keypad's topics, publishes its acks.

MQTT 5 with "retain as published", so every message shows whether its sender retained it (a
retained event, a will that is not retained). The broker takes the user name as the client id:
connecting as the controller's user takes the controller's place, so run the kit on a bench.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from devices.conformance.serial_probe import ProbeError
from devices.mqtt_broker.mosquitto import no_delay
from firmware_protocols.keypad.keypad_mqtt import KeypadTopic, TopicKind

QOS = 1


@dataclass(frozen=True)
class Seen:
    """One message from the keypad: when, on which of its topics, as sent."""

    at: float
    kind: TopicKind
    payload: bytes
    qos: int
    retained: bool


class MqttWatch:
    """Subscribed to one keypad's `event` and `state` topics; every message kept in order."""

    def __init__(
        self,
        topic: Callable[[TopicKind], KeypadTopic],
        *,
        host: str,
        port: int,
        username: str,
        password: str,
        tls_ca: Path | None = None,
    ) -> None:
        self._topic = topic
        self._seen: list[Seen] = []
        self._changed = threading.Condition()
        self._ready = threading.Event()
        self._refusal = ""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=username,
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=False,
        )
        client.username_pw_set(username, password)
        if tls_ca is not None:
            client.tls_set(ca_certs=str(tls_ca))
        client.on_socket_open = no_delay
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_subscribe = lambda *args: self._ready.set()
        self._client = client
        self._address = (host, port)

    def start(self, timeout: float = 10.0) -> MqttWatch:
        """Connect and subscribe; ProbeError naming the broker's refusal or the timeout."""
        host, port = self._address
        try:
            self._client.connect(host, port, keepalive=30)
        except OSError as err:
            raise ProbeError(f"cannot reach the broker at {host}:{port}: {err}") from err
        self._client.loop_start()
        if not self._ready.wait(timeout):
            self.close()
            why = self._refusal or f"no CONNACK and SUBACK within {timeout:.0f} s"
            raise ProbeError(f"the broker at {host}:{port} refused the kit: {why}")
        return self

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()

    def mark(self) -> int:
        """How many messages were seen so far (for `wait(after=...)`)."""
        with self._changed:
            return len(self._seen)

    def wait(self, check: Callable[[Seen], bool], timeout: float, *, after: int = 0) -> Seen | None:
        """The first message from index `after` on for which `check` holds; None after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((s for s in self._seen[after:] if check(s)), None)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    return found
                self._changed.wait(left)

    def after(self, seen: Seen) -> int:
        """The index just past `seen` (for `wait(after=...)`: what came after it)."""
        with self._changed:
            return self._seen.index(seen) + 1

    def since(self, after: int) -> list[Seen]:
        """Every message from index `after` on."""
        with self._changed:
            return list(self._seen[after:])

    def publish(self, kind: TopicKind, payload: bytes) -> None:
        """Publish to the keypad (QoS 1, not retained) and wait for the broker's PUBACK."""
        info = self._client.publish(str(self._topic(kind)), payload, QOS)
        info.wait_for_publish(5)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if reason.is_failure:
            self._refusal = str(reason)
            return
        options = SubscribeOptions(qos=QOS, retainAsPublished=True)
        client.subscribe(
            [(str(self._topic(kind)), options) for kind in (TopicKind.EVENT, TopicKind.STATE)]
        )

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            kind = KeypadTopic.parse(message.topic).kind
        except ValueError:
            return
        seen = Seen(time.monotonic(), kind, bytes(message.payload), message.qos, message.retain)
        with self._changed:
            self._seen.append(seen)
            self._changed.notify_all()
