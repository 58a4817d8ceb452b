"""Payload fields of the hall bus protocols (LED displays, keypads) and the codecs' error root.

Bytes, function codes and length-prefixed GB18030 texts with caps: see "Payload fields" in
docs/protocols/hall-bus.md. Re-exported by firmware_protocols.hall_bus.hall_bus.
"""

from __future__ import annotations


class HallBusError(ValueError):
    """A hall bus frame or payload is malformed; names the field and the byte offset."""

    def __init__(self, detail: str, *, field: str = "", offset: int | None = None) -> None:
        self.detail = detail
        self.field = field
        self.offset = offset
        where = f"{field}: " if field else ""
        at = f" (at byte {offset})" if offset is not None else ""
        super().__init__(f"{where}{detail}{at}")


class PayloadReader:
    """Reads a payload field by field; every shortfall or leftover is a HallBusError."""

    def __init__(self, payload: bytes) -> None:
        self._data = payload
        self._at = 0

    def u8(self, field: str) -> int:
        """One unsigned byte."""
        return self.raw(1, field)[0]

    def function(self, field: str) -> int:
        """A function code byte (1-254)."""
        value = self.u8(field)
        if value in (0x00, 0xFF):
            raise HallBusError(f"function {value:#04x} is never valid", field=field)
        return value

    def raw(self, size: int, field: str) -> bytes:
        """`size` bytes."""
        end = self._at + size
        if end > len(self._data):
            raise HallBusError(f"payload ends before {size} bytes", field=field, offset=self._at)
        chunk = self._data[self._at : end]
        self._at = end
        return bytes(chunk)

    def text(self, field: str, max_chars: int) -> str:
        """A length-prefixed GB18030 text of at most `max_chars` characters, no control characters."""
        size = self.u8(field)
        raw = self.raw(size, field)
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as err:
            raise HallBusError("not valid GB18030", field=field, offset=self._at - size) from err
        check_text(text, field, max_chars)
        return text

    def end(self) -> None:
        """Raise unless every byte was read."""
        if self._at != len(self._data):
            raise HallBusError(
                f"{len(self._data) - self._at} unexpected bytes", field="payload", offset=self._at
            )


def encode_text(text: str, field: str, max_chars: int) -> bytes:
    """A text field: one length byte, then the GB18030 bytes; HallBusError if over the cap."""
    check_text(text, field, max_chars)
    raw = text.encode("gb18030")
    if len(raw) > 0xFF:
        raise HallBusError(f"{len(raw)} bytes, a text field holds 255", field=field)
    return bytes((len(raw),)) + raw


def check_text(text: str, field: str, max_chars: int) -> None:
    """HallBusError if `text` is too long or holds control characters or lone surrogates."""
    if len(text) > max_chars:
        raise HallBusError(f"{len(text)} characters, at most {max_chars}", field=field)
    for char in text:
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
            raise HallBusError(f"character U+{code:04X} not allowed", field=field)


def u8_field(value: int, field: str, low: int = 0, high: int = 0xFF) -> int:
    """`value` if it fits one byte and [low, high]; HallBusError naming the field otherwise."""
    if not low <= value <= high:
        raise HallBusError(f"{value} outside {low}-{high}", field=field)
    return value
