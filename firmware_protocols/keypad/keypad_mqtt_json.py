"""The JSON layer of the keypad MQTT payloads (protocol v1): size cap, UTF-8, one object with
no name twice, and the version field `v`.

Pure and stdlib only. An event is parsed before its envelope is checked, so that the ids of an
event with a wrong version or a duplicated field can still be read and the keypad answered.
"""

from __future__ import annotations

import json
from typing import Any

from firmware_protocols.keypad.keypad_mqtt_fields import KeypadMqttError

PROTOCOL_VERSION = 1
MAX_PAYLOAD_BYTES = 4096  # the largest legal display is 2,899 B; an event at most 336 B


def dump_object(obj: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON; KeypadMqttError past the size cap."""
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise KeypadMqttError(f"{len(data)} bytes, more than {MAX_PAYLOAD_BYTES}", field="payload")
    return data


def parse_object(data: bytes) -> tuple[dict[str, Any], list[str]]:
    """A JSON object and its duplicated top-level names; refusals that leave no ids readable.

    A wrong version or a duplicated field is refused only after the ids are read, so that the
    keypad is answered `bad_payload` instead of resending for ever.
    """
    if not isinstance(data, bytes | bytearray):
        raise KeypadMqttError("expected bytes", field="payload")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise KeypadMqttError(f"{len(data)} bytes, more than {MAX_PAYLOAD_BYTES}", field="payload")
    top: list[list[str]] = []

    def keep_first(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        twice: list[str] = []
        for key, value in pairs:
            if key in obj:
                twice.append(key)
            else:
                obj[key] = value
        top.append(twice)  # the outermost object is decoded last
        return obj

    try:
        text = bytes(data).decode("utf-8")
        obj = json.loads(text, object_pairs_hook=keep_first, parse_constant=_no_constant)
    except UnicodeDecodeError as err:
        raise KeypadMqttError(f"not UTF-8 at byte {err.start}", field="payload") from err
    except json.JSONDecodeError as err:
        raise KeypadMqttError(f"not JSON: {err.msg} at {err.pos}", field="payload") from err
    except RecursionError as err:  # 4 KB of "[[[[" nests deeper than the parser's stack
        raise KeypadMqttError("nested too deeply", field="payload") from err
    if not isinstance(obj, dict):
        raise KeypadMqttError("expected a JSON object", field="payload")
    nested = [name for twice in top[:-1] for name in twice]
    if nested:
        raise KeypadMqttError("appears twice", field=nested[0])
    return obj, top[-1] if top else []


def check_envelope(obj: dict[str, Any], duplicated: list[str]) -> None:
    """Refuse a duplicated field, then a missing or wrong `v`; removes `v` from `obj`."""
    if duplicated:
        raise KeypadMqttError("appears twice", field=duplicated[0])
    if "v" not in obj:
        raise KeypadMqttError("missing", field="v")
    if type(obj["v"]) is not int or obj["v"] != PROTOCOL_VERSION:
        raise KeypadMqttError(f"version {obj['v']!r}, expected {PROTOCOL_VERSION}", field="v")
    del obj["v"]


def _no_constant(name: str) -> None:
    raise KeypadMqttError(f"{name} is not JSON", field="payload")


def load_object(data: bytes) -> dict[str, Any]:
    """The payload's object with its envelope checked and `v` removed."""
    obj, duplicated = parse_object(data)
    check_envelope(obj, duplicated)
    return obj
