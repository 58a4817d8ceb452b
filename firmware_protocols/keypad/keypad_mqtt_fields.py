"""Field checks of the keypad MQTT payloads (protocol v1) and the one error they raise.

Pure and stdlib only, like the codec in `keypad_mqtt`, which re-exports `KeypadMqttError`.
"""

from __future__ import annotations

import re

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")


class KeypadMqttError(ValueError):
    """A keypad topic or payload breaks protocol v1; names the field and, if readable, the event."""

    def __init__(
        self,
        detail: str,
        *,
        field: str = "",
        device_id: str | None = None,
        boot_id: str | None = None,
        seq: int | None = None,
        code: str = "",
    ) -> None:
        self.detail = detail
        self.field = field
        # The ack's answer code (keypad-mqtt.md "Answer codes"); bad_payload unless named.
        self.code = code or ("unknown_reason_table" if field == "reasons_table" else "bad_payload")
        self.device_id = device_id
        self.boot_id = boot_id
        self.seq = seq
        super().__init__(f"{field}: {detail}" if field else detail)


def check_id(name: str, value: object) -> None:
    """A device, boot or hall id: 1-32 of A-Z a-z 0-9 _ -."""
    check_pattern(name, value, ID_PATTERN)


def check_pattern(name: str, value: object, pattern: re.Pattern[str]) -> None:
    """Text matching `pattern` in full."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise KeypadMqttError(f"{value!r} does not match {pattern.pattern}", field=name)


def check_int(name: str, value: object, low: int, high: int) -> None:
    """An integer (not a bool) in low..high."""
    if type(value) is not int or not low <= value <= high:
        raise KeypadMqttError(f"{value!r} is not an integer in {low}..{high}", field=name)


def check_choice(name: str, value: object, choices: tuple[object, ...]) -> None:
    """One of `choices` (text or integer)."""
    if type(value) not in (str, int) or value not in choices:
        shown = ", ".join(str(choice) for choice in choices)
        raise KeypadMqttError(f"{value!r} is not one of {shown}", field=name)


def check_text(name: str, value: object, max_chars: int, *, blank: bool = True) -> None:
    """Encodable text of at most `max_chars`, without control characters (non-blank)."""
    if not isinstance(value, str) or len(value) > max_chars:
        raise KeypadMqttError(f"expected text of at most {max_chars} characters", field=name)
    if not blank and not value.strip():
        raise KeypadMqttError("must not be blank", field=name)
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        raise KeypadMqttError("control characters are not allowed", field=name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:  # a lone surrogate from a "\ud800" escape
        raise KeypadMqttError(f"cannot encode {value[err.start]!r} as UTF-8", field=name) from err
