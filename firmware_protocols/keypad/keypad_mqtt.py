"""Window keypads over MQTT, protocol version 1: topics under a hall prefix and strict JSON payloads.

Spec a vendor builds from: docs/protocols/keypad-mqtt.md; JSON Schema of every payload:
docs/protocols/keypad-mqtt.schema.json. Payloads are UTF-8 JSON objects with `"v": 1`, no
unknown or duplicate fields, at most `MAX_PAYLOAD_BYTES` (the JSON layer, `keypad_mqtt_json`).
Decoders raise only `KeypadMqttError` (defined with the field checks in `keypad_mqtt_fields`).
Key, rating and reason-code names come from `keypad_codes` (shared with the RS-485 keypads).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any, TypeVar

from firmware_protocols.keypad.keypad_codes import (
    ARGUMENT_KEYS,
    BAD_RATINGS,
    KEYS,
    RATINGS,
    REASON_TABLES,
)
from firmware_protocols.keypad.keypad_mqtt_fields import (
    ID_PATTERN,
    KeypadMqttError,
    check_choice,
    check_id,
    check_int,
    check_pattern,
    check_text,
)
from firmware_protocols.keypad.keypad_mqtt_json import (
    PROTOCOL_VERSION,
    check_envelope,
    dump_object,
    load_object,
    parse_object,
)

MAX_TOPIC_BYTES = 160  # 5 + 32 + 8 + 4 + 8 + 32 + 8 bytes for the longest legal topic, with room
MAX_SEQ = 2**31 - 1  # a keypad pressing once a second needs 68 years to run out
MAX_WINDOW = 9999
MAX_REASONS = 5
MAX_REASON_TABLE = 255  # a state's reasons_table: the firmware's, known or not
MAX_EXTRA = 8
MAX_RATING_SECONDS = 3600

DISPLAY_STATES = ("idle", "serving", "paused", "rating_invited", "thanks", "closed")
KEYPAD_STATES = ("online", "offline")

_CODE = re.compile(r"[a-z0-9_]{1,32}")
_PHOTO_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_FIRMWARE = re.compile(r"[A-Za-z0-9_.+-]{1,32}")
_TRANSFER = re.compile(r"service:[A-Za-z0-9_-]{1,16}|window:[1-9][0-9]{0,3}")
_WINDOW_TEXT = re.compile(r"[1-9][0-9]{0,3}")


class TopicKind(StrEnum):
    """The last topic level: who publishes it and what it carries."""

    EVENT = "event"  # keypad -> controller, QoS 1, never retained
    ACK = "ack"  # controller -> keypad, QoS 1
    DISPLAY = "display"  # controller -> keypad, QoS 1, retained
    STATE = "state"  # keypad -> everyone, QoS 1, retained, also the last will


MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: press and ack times


@dataclass(frozen=True)
class KeypadTopic:
    """`hall/{hall_id}/window/{window}/keypad/{device_id}/{kind}`, parsed or to be built."""

    hall_id: str
    window: int
    device_id: str
    kind: TopicKind

    def __post_init__(self) -> None:
        check_id("topic.hall_id", self.hall_id)
        check_int("topic.window", self.window, 1, MAX_WINDOW)
        check_id("topic.device_id", self.device_id)
        if not isinstance(self.kind, TopicKind):
            raise KeypadMqttError(f"unknown kind {self.kind!r}", field="topic.kind")

    def __str__(self) -> str:
        return f"hall/{self.hall_id}/window/{self.window}/keypad/{self.device_id}/{self.kind.value}"

    @classmethod
    def parse(cls, topic: str, hall_id: str | None = None) -> KeypadTopic:
        """Parse a topic string; KeypadMqttError unless it is a v1 keypad topic (of `hall_id`)."""
        if not isinstance(topic, str) or len(topic.encode("utf-8", "replace")) > MAX_TOPIC_BYTES:
            raise KeypadMqttError(f"not a topic of at most {MAX_TOPIC_BYTES} bytes", field="topic")
        parts = topic.split("/")
        if len(parts) != 7 or parts[0] != "hall" or parts[2] != "window" or parts[4] != "keypad":
            raise KeypadMqttError(f"{topic!r} is not hall/H/window/N/keypad/D/kind", field="topic")
        if hall_id is not None and parts[1] != hall_id:
            raise KeypadMqttError(f"hall {parts[1]!r}, expected {hall_id!r}", field="topic.hall_id")
        if not _WINDOW_TEXT.fullmatch(parts[3]):
            raise KeypadMqttError(f"window {parts[3]!r} is not 1-9999", field="topic.window")
        try:
            kind = TopicKind(parts[6])
        except ValueError as err:
            raise KeypadMqttError(f"unknown kind {parts[6]!r}", field="topic.kind") from err
        return cls(parts[1], int(parts[3]), parts[5], kind)


def subscription(hall_id: str, kind: TopicKind) -> str:
    """The wildcard filter for one kind of topic of every keypad in the hall."""
    check_id("hall_id", hall_id)
    return f"hall/{hall_id}/window/+/keypad/+/{kind.value}"


@dataclass(frozen=True)
class KeypadEvent:
    """A key press, keypad -> controller; (device_id, boot_id, seq) identifies it for ever."""

    device_id: str
    boot_id: str
    seq: int
    key: str
    rating: str | None = None
    reasons: tuple[str, ...] = ()
    reasons_table: int | None = None
    argument: str | None = None
    pressed_at: int | None = None  # ms since 1970 UTC, on the clock the acks' `time` gave

    def __post_init__(self) -> None:
        check_id("device_id", self.device_id)
        check_id("boot_id", self.boot_id)
        check_int("seq", self.seq, 1, MAX_SEQ)
        if self.pressed_at is not None:
            check_int("pressed_at", self.pressed_at, 1, MAX_EPOCH_MS)
        if isinstance(self.key, str) and self.key not in KEYS:
            shown = ", ".join(KEYS)
            raise KeypadMqttError(
                f"{self.key!r} is not one of {shown}", field="key", code="unknown_key"
            )
        check_choice("key", self.key, KEYS)
        if self.key == "rate":
            check_choice("rating", self.rating, RATINGS)
        elif self.rating is not None:
            raise KeypadMqttError(
                f"only key 'rate' carries a rating, not {self.key!r}", field="rating"
            )
        _check_reasons(self)
        if self.argument is not None:
            if self.key not in ARGUMENT_KEYS:
                raise KeypadMqttError(f"key {self.key!r} takes no argument", field="argument")
            check_text("argument", self.argument, 64, blank=False)
        if self.key == "transfer" and not _TRANSFER.fullmatch(self.argument or ""):
            raise KeypadMqttError("transfer needs 'service:CODE' or 'window:N'", field="argument")

    def encode(self) -> bytes:
        """The payload bytes (compact UTF-8 JSON, fields in spec order, empty options left out)."""
        return _encode(self)

    @classmethod
    def decode(cls, data: bytes) -> KeypadEvent:
        """Parse an event payload; KeypadMqttError naming the field, with the ids it could read."""
        obj, duplicated = parse_object(data)
        ids = _readable_ids(obj, duplicated)
        try:
            check_envelope(obj, duplicated)
            if "reasons" in obj and (not isinstance(obj["reasons"], list) or not obj["reasons"]):
                raise KeypadMqttError("expected a non-empty list of codes", field="reasons")
            return _decode(cls, obj)
        except KeypadMqttError as err:
            err.device_id, err.boot_id, err.seq = ids
            raise


@dataclass(frozen=True)
class KeypadAck:
    """The controller's answer to one event, controller -> keypad; it ends the event's resends."""

    device_id: str
    boot_id: str
    seq: int
    accepted: bool
    code: str
    message: str = ""
    ticket: str | None = None
    time: int | None = None  # the controller's clock when it answered, ms since 1970 UTC

    def __post_init__(self) -> None:
        check_id("device_id", self.device_id)
        check_id("boot_id", self.boot_id)
        check_int("seq", self.seq, 1, MAX_SEQ)
        if self.time is not None:
            check_int("time", self.time, 1, MAX_EPOCH_MS)
        if not isinstance(self.accepted, bool):
            raise KeypadMqttError("expected true or false", field="accepted")
        check_pattern("code", self.code, _CODE)
        check_text("message", self.message, 100)
        if self.ticket is not None:
            check_text("ticket", self.ticket, 16, blank=False)

    def encode(self) -> bytes:
        """The payload bytes (compact UTF-8 JSON, fields in spec order, empty options left out)."""
        return _encode(self)

    @classmethod
    def decode(cls, data: bytes) -> KeypadAck:
        """Parse an ack payload; KeypadMqttError naming the field."""
        return _decode(cls, load_object(data))


@dataclass(frozen=True)
class KeypadScreen:
    """What one window's keypad shows, controller -> keypad (retained: the latest state wins)."""

    window: int
    state: str
    ticket: str | None = None
    staff_name: str | None = None
    staff_post: str | None = None
    staff_photo_id: str | None = None
    message: str = ""
    rating_seconds: int | None = None
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        check_int("window", self.window, 1, MAX_WINDOW)
        check_choice("state", self.state, DISPLAY_STATES)
        for name in ("ticket", "staff_name", "staff_post"):
            if (value := getattr(self, name)) is not None:
                check_text(name, value, 16 if name == "ticket" else 32, blank=False)
        if self.staff_photo_id is not None:
            check_pattern("staff_photo_id", self.staff_photo_id, _PHOTO_ID)
        check_text("message", self.message, 200)
        if self.rating_seconds is not None:
            if self.state != "rating_invited":
                raise KeypadMqttError("only state 'rating_invited' has it", field="rating_seconds")
            check_int("rating_seconds", self.rating_seconds, 0, MAX_RATING_SECONDS)
        if not isinstance(self.extra, Mapping) or len(self.extra) > MAX_EXTRA:
            raise KeypadMqttError(f"expected at most {MAX_EXTRA} entries", field="extra")
        for key, value in self.extra.items():
            check_pattern("extra", key, ID_PATTERN)
            check_text(f"extra.{key}", value, 64)

    def encode(self) -> bytes:
        """The payload bytes; KeypadMqttError if over MAX_PAYLOAD_BYTES."""
        return _encode(self)

    @classmethod
    def decode(cls, data: bytes) -> KeypadScreen:
        """Parse a display payload; KeypadMqttError naming the field."""
        obj = load_object(data)
        if "extra" in obj and not isinstance(obj["extra"], dict):
            raise KeypadMqttError("expected an object of texts", field="extra")
        return _decode(cls, obj)


@dataclass(frozen=True)
class KeypadState:
    """A keypad's presence, retained on its state topic: "online" on connect, "offline" as will."""

    device_id: str
    boot_id: str
    state: str
    firmware: str
    model: str | None = None
    reasons_table: int | None = None

    def __post_init__(self) -> None:
        check_id("device_id", self.device_id)
        check_id("boot_id", self.boot_id)
        check_choice("state", self.state, KEYPAD_STATES)
        check_pattern("firmware", self.firmware, _FIRMWARE)
        if self.model is not None:
            check_text("model", self.model, 32, blank=False)
        if self.reasons_table is not None:
            # Any table: a keypad whose firmware ships a table the controller does not know is
            # still seen online; its events naming that table are refused.
            check_int("reasons_table", self.reasons_table, 1, MAX_REASON_TABLE)

    @property
    def online(self) -> bool:
        """Whether the keypad says it is connected."""
        return self.state == "online"

    def encode(self) -> bytes:
        """The payload bytes (compact UTF-8 JSON, fields in spec order, empty options left out)."""
        return _encode(self)

    @classmethod
    def decode(cls, data: bytes) -> KeypadState:
        """Parse a state payload; KeypadMqttError naming the field."""
        return _decode(cls, load_object(data))


# --- private helpers ---

_Payload = TypeVar("_Payload", "KeypadEvent", "KeypadAck", "KeypadScreen", "KeypadState")


def _encode(payload: KeypadEvent | KeypadAck | KeypadScreen | KeypadState) -> bytes:
    obj: dict[str, Any] = {"v": PROTOCOL_VERSION}
    for item in fields(payload):
        value = getattr(payload, item.name)
        if isinstance(value, tuple | Mapping):
            value = list(value) if isinstance(value, tuple) else dict(value)
        if value is not None and value not in ("", [], {}):
            obj[item.name] = value
    return dump_object(obj)


def _decode(cls: type[_Payload], obj: dict[str, Any]) -> _Payload:
    known = {item.name: item for item in fields(cls)}
    for name in obj:
        if name not in known:
            raise KeypadMqttError("unknown field", field=name)
    for name, item in known.items():
        if name not in obj and item.default is MISSING and item.default_factory is MISSING:
            raise KeypadMqttError("missing", field=name)
    if isinstance(obj.get("reasons"), list):
        obj["reasons"] = tuple(obj["reasons"])
    return cls(**obj)


def _readable_ids(
    obj: dict[str, Any], duplicated: list[str]
) -> tuple[str | None, str | None, int | None]:
    def ident(name: str) -> str | None:
        value = obj.get(name)
        if name in duplicated:
            return None  # two values: neither can be trusted
        return value if isinstance(value, str) and ID_PATTERN.fullmatch(value) else None

    seq = obj.get("seq")
    ok = type(seq) is int and 1 <= seq <= MAX_SEQ and "seq" not in duplicated
    return ident("device_id"), ident("boot_id"), seq if ok else None


def _check_reasons(event: KeypadEvent) -> None:
    reasons = event.reasons
    if not isinstance(reasons, tuple) or len(reasons) > MAX_REASONS:
        raise KeypadMqttError(f"expected at most {MAX_REASONS} reason codes", field="reasons")
    if not reasons:
        if event.reasons_table is not None:
            raise KeypadMqttError("only sent with reasons", field="reasons_table")
        return
    if event.rating not in BAD_RATINGS:
        raise KeypadMqttError(
            f"reasons only with {' or '.join(BAD_RATINGS)}",
            field="reasons",
            code="reasons_for_good_rating",
        )
    check_choice("reasons_table", event.reasons_table, tuple(REASON_TABLES))
    assert event.reasons_table is not None
    table = REASON_TABLES[event.reasons_table]
    for code in reasons:
        if not isinstance(code, str) or code not in table:
            raise KeypadMqttError(
                f"{code!r} is not in reason table {event.reasons_table}", field="reasons"
            )
    if len(set(reasons)) != len(reasons):
        raise KeypadMqttError("a reason code appears twice", field="reasons")
