"""The MQTT keypad driver: a `KeypadPort` on a paho-mqtt 2.x client with a persistent session.

Events arrive on `hall/{hall}/window/+/keypad/+/event` (QoS 1); each is decoded, checked against
the configured window, handed to the controller's `KeypadHandler` and answered with an ack
(QoS 1) on the keypad's ack topic. The handler runs on this driver's network thread, one press
at a time; the broker's PUBACK follows only after it returns, so a controller that dies mid-press
gets the event again (persistent session) and the keypad resends anyway until acked.
Protocol: docs/protocols/keypad-mqtt.md; checklist and broker set-up: docs/keypad-mqtt-driver.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devices.keypad.keypad import (
    REFUSAL_MESSAGES,
    KeypadAnswer,
    KeypadHandler,
    KeypadKey,
    KeypadPress,
    RatingKey,
    RefusedPress,
    log_refusal,
)
from devices.keypad.mqtt_config import KeypadLinkError, KeypadMqttConfig
from devices.keypad.mqtt_known_keypads import KeypadSeen, excerpt, payload_text
from devices.mqtt_broker.mosquitto import no_delay
from display.keypad_text import KeypadDisplay
from firmware_protocols.keypad.keypad_codes import REASON_TABLES
from firmware_protocols.keypad.keypad_mqtt import (
    KeypadAck,
    KeypadEvent,
    KeypadScreen,
    KeypadState,
    KeypadTopic,
    TopicKind,
    subscription,
)
from firmware_protocols.keypad.keypad_mqtt_fields import KeypadMqttError

log = logging.getLogger(__name__)

QOS = 1


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MqttKeypadPort:
    """The hall's MQTT keypads as one `KeypadPort`; reconnects by itself, never raises from I/O."""

    def __init__(
        self,
        config: KeypadMqttConfig,
        handler: KeypadHandler,
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        if config.broker is None:
            raise KeypadLinkError("broker", "no MQTT broker configured for the keypads")
        self.config = config
        self.handler = handler
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._connected = False
        self._closed = False
        self._keypads = {
            device: KeypadSeen(device, window) for device, window in config.keypads.items()
        }
        self._client = self._make_client(config)

    def start(self) -> MqttKeypadPort:
        """Start connecting in the background (a broker that is down is retried); returns self."""
        broker = self.config.broker
        assert broker is not None
        connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        connect.SessionExpiryInterval = broker.session_expiry_seconds
        # clean_start False on every connect, the first included: a restarted controller picks
        # up the presses the broker queued for its session while it was away.
        self._client.connect_async(
            broker.host,
            broker.port,
            keepalive=broker.keepalive_seconds,
            clean_start=False,
            properties=connect,
        )
        self._client.loop_start()
        return self

    @property
    def connected(self) -> bool:
        """Whether the broker link is up (CONNACK success received, not since lost)."""
        return self._connected

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Wait until connected and subscribed to events and states; False on timeout."""
        return self._ready.wait(timeout)

    def show(self, display: KeypadDisplay) -> None:
        """Publish the window's state to each of its keypads (QoS 1, retained); queued if offline.

        Raises KeypadMqttError if the display breaks the protocol's limits (a caller's bug).
        """
        screen = KeypadScreen(
            window=display.window,
            state=display.state,
            ticket=display.ticket,
            staff_name=display.staff_name,
            staff_post=display.staff_post,
            staff_photo_id=display.staff_photo_id,
            message=display.message,
            rating_seconds=display.rating_seconds,
            extra=dict(display.extra),
        )
        payload = screen.encode()
        for device in self.config.devices_at(display.window):
            topic = KeypadTopic(self.config.hall_id, display.window, device, TopicKind.DISPLAY)
            self._publish(str(topic), payload, retain=self.config.display_retained)

    def keypads(self) -> list[dict[str, object]]:
        """Every configured keypad: device_id, window, online (None = unknown), last_seen, firmware."""
        with self._lock:
            rows = [vars(keypad).copy() for keypad in self._keypads.values()]
        for row in rows:
            if not self._connected:
                row["online"] = None  # the broker link is down: we cannot know
        return sorted(rows, key=lambda row: (row["window"], row["device_id"]))

    def close(self) -> None:
        """Disconnect cleanly (the broker keeps the session) and stop the network thread."""
        if self._closed:
            return
        self._closed = True
        self._client.disconnect()
        self._client.loop_stop()
        self._connected = False
        self._ready.clear()

    # --- paho callbacks (network thread) ---

    def _make_client(self, config: KeypadMqttConfig) -> mqtt.Client:
        broker = config.broker
        assert broker is not None
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(broker.username, broker.resolved_password())
        client.reconnect_delay_set(1, broker.reconnect_max_seconds)
        client.max_queued_messages_set(1000)
        client.on_socket_open = no_delay
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._note_error(f"broker refused the controller: {reason}")
            return
        self._connected = True
        log.info("keypad broker connected (session present: %s)", flags.session_present)
        hall = self.config.hall_id
        client.subscribe(
            [(subscription(hall, TopicKind.EVENT), QOS), (subscription(hall, TopicKind.STATE), QOS)]
        )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(reason.is_failure for reason in reasons):
            self._note_error(f"broker refused the keypad subscriptions: {reasons}")
            return
        self._ready.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected = False
        self._ready.clear()
        if not self._closed:
            self._note_error(f"keypad broker link lost ({reason}); reconnecting")

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        # The supervisor boundary: nothing a keypad sends may stop the network thread.
        try:
            topic = KeypadTopic.parse(message.topic, self.config.hall_id)
        except KeypadMqttError as err:
            self._reject("bad_topic", f"message on {message.topic!r}: {err}")
            return
        try:
            if topic.kind is TopicKind.EVENT:
                self._on_event(topic, bytes(message.payload))
            elif topic.kind is TopicKind.STATE:
                self._on_state(topic, bytes(message.payload))
        except Exception:
            self.stats["driver_errors"] += 1
            log.exception("keypad %s: failed on a message on %s", topic.device_id, topic)

    # --- events and states ---

    def _on_event(self, topic: KeypadTopic, payload: bytes) -> None:
        self.stats["events"] += 1
        window = self.config.keypads.get(topic.device_id)
        try:
            event = KeypadEvent.decode(payload)
            if event.device_id != topic.device_id:
                raise KeypadMqttError(
                    f"{event.device_id!r} on {topic.device_id}'s topic",
                    field="device_id",
                    boot_id=event.boot_id,
                    seq=event.seq,
                )
        except KeypadMqttError as err:
            refusal = RefusedPress(
                topic.device_id,
                err.code,
                err.boot_id,
                err.seq,
                topic.window,
                raw=payload_text(payload),
            )
            self._refuse(topic, refusal, f"keypad {topic.device_id} on {topic}: {err}")
            return
        if window is None or topic.window != window:
            code = "unknown_device" if window is None else "wrong_window"
            refusal = RefusedPress(
                topic.device_id,
                code,
                event.boot_id,
                event.seq,
                topic.window,
                event.key,
                event.rating,
                payload_text(payload),
            )
            self._refuse(topic, refusal, f"keypad {topic.device_id} (window {window}) on {topic}")
            return
        self._seen(topic.device_id)
        press = KeypadPress(
            device_id=event.device_id,
            boot_id=event.boot_id,
            seq=event.seq,
            window=window,
            key=KeypadKey(event.key),
            rating=RatingKey(event.rating) if event.rating is not None else None,
            reasons=event.reasons,
            argument=event.argument,
            raw=payload.decode("utf-8"),
            reasons_table=event.reasons_table,
            pressed_at=_from_ms(event.pressed_at),
        )
        try:
            answer = self.handler(press)
        except Exception:  # no ack: the keypad resends, and the handler gets another chance
            self.stats["handler_errors"] += 1
            log.exception(
                "keypad %s: the controller failed on press %s", press.device_id, press.seq
            )
            return
        self._ack(topic, event.boot_id, event.seq, answer)

    def _refuse(self, topic: KeypadTopic, press: RefusedPress, text: str) -> None:
        """Log a press refused here (stats, log, the controller's press log) and ack it if we can."""
        self._reject(press.reason, f"{text}; {excerpt(press.raw)}")
        if not log_refusal(self.handler, press):
            self.stats["handler_errors"] += 1
        if press.boot_id is not None and press.seq is not None:
            message = REFUSAL_MESSAGES.get(press.reason, "按键未受理")
            self._ack(topic, press.boot_id, press.seq, KeypadAnswer(False, press.reason, message))

    def _on_state(self, topic: KeypadTopic, payload: bytes) -> None:
        if not payload:  # a retained state being cleared
            return
        try:
            state = KeypadState.decode(payload)
            if state.device_id != topic.device_id:
                raise KeypadMqttError(f"{state.device_id!r} on another's topic", field="device_id")
        except KeypadMqttError as err:
            self._reject(
                "bad_state",
                f"keypad {topic.device_id} state on {topic}: {err}; {excerpt(payload_text(payload))}",
            )
            return
        window = self.config.keypads.get(topic.device_id)
        if window != topic.window:
            self._reject(
                "wrong_window", f"keypad {topic.device_id} state on {topic} (configured: {window})"
            )
            return
        with self._lock:
            keypad = self._keypads[topic.device_id]
            keypad.online = state.online
            keypad.firmware, keypad.boot_id, keypad.model = (
                state.firmware,
                state.boot_id,
                state.model,
            )
            keypad.reasons_table = state.reasons_table
            if state.online:
                keypad.last_seen = self.clock()
        if state.reasons_table is not None and state.reasons_table not in REASON_TABLES:
            self._reject(
                "unknown_reason_table",
                f"keypad {state.device_id} ships reason table {state.reasons_table}; "
                f"this controller knows {sorted(REASON_TABLES)}: its 差评 reasons will be refused",
            )
        log.info(
            "keypad %s at window %s is %s (firmware %s)",
            state.device_id,
            window,
            state.state,
            state.firmware,
        )

    def _ack(self, topic: KeypadTopic, boot_id: str, seq: int, answer: KeypadAnswer) -> None:
        try:
            ack = KeypadAck(
                topic.device_id,
                boot_id,
                seq,
                answer.accepted,
                answer.code,
                answer.message[:100],
                answer.ticket,
                round(answer.time.timestamp() * 1000) if answer.time is not None else None,
            )
        except KeypadMqttError as err:  # the controller's answer breaks the protocol: say less
            log.error(
                "keypad %s: answer %r cannot be sent (%s); sending it bare",
                topic.device_id,
                answer,
                err,
            )
            ack = KeypadAck(topic.device_id, boot_id, seq, answer.accepted, "error")
        reply = KeypadTopic(topic.hall_id, topic.window, topic.device_id, TopicKind.ACK)
        self._publish(str(reply), ack.encode(), retain=False)
        self.stats["acks"] += 1

    def _publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        info = self._client.publish(topic, payload, qos=QOS, retain=retain)
        # NO_CONN still queues a QoS 1 message for the next connection; a full queue does not.
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self._note_error(f"cannot queue a message for {topic}: {mqtt.error_string(info.rc)}")

    def _seen(self, device_id: str) -> None:
        with self._lock:
            self._keypads[device_id].last_seen = self.clock()

    def _reject(self, code: str, text: str) -> None:
        self.stats[code] += 1
        log.warning("%s: %s", code, text)

    def _note_error(self, text: str) -> None:
        if text != self.last_error:  # a broker that stays down is logged once, not every retry
            log.warning("%s", text)
        self.last_error = text


def open_keypad_port(config: KeypadMqttConfig, handler: KeypadHandler) -> MqttKeypadPort:
    """Build the MQTT keypad port from its config and start connecting."""
    return MqttKeypadPort(config, handler).start()


def _from_ms(stamp: int | None) -> dt.datetime | None:
    """A keypad's press time (ms since 1970 UTC) as an aware moment."""
    return dt.datetime.fromtimestamp(stamp / 1000, dt.UTC) if stamp is not None else None
