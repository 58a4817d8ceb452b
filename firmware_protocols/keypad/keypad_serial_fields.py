"""Fields of the hall bus keypad functions: caps, name tables, ids, reasons, and the press error.

Tables and layouts: "Byte tables" and "Payloads" in docs/protocols/keypad-serial.md; the frames
built from these fields are in firmware_protocols.keypad.keypad_serial.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from firmware_protocols.hall_bus.hall_bus import OVERHEAD_BYTES
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError, PayloadReader, encode_text
from firmware_protocols.keypad.keypad_codes import ARGUMENT_KEYS, BAD_RATINGS, REASON_TABLES

MAX_BOOT_ID: Final = 0xFFFF_FFFF  # 0 is never a boot id
MAX_SEQ: Final = 2**31 - 1  # a press a second for 68 years without a reboot
MAX_QUEUED: Final = 0xFF  # "queued" saturates here
MAX_REASONS: Final = 5
MAX_ARGUMENT_CHARS: Final = 32  # "service:SB", "window:12", "午休", "即办件"
MAX_CODE_CHARS: Final = 32
MAX_TICKET_CHARS: Final = 16
MAX_ANSWER_CHARS: Final = 40  # two lines of a 20-character keypad screen
MAX_NAME_CHARS: Final = 16
MAX_POST_CHARS: Final = 16
MAX_PHOTO_ID_CHARS: Final = 32
MAX_DISPLAY_CHARS: Final = 64
MAX_WINDOW: Final = 9999
MAX_RATING_SECONDS: Final = 3600
NO_RATING_SECONDS: Final = 0xFFFF
KEYPAD_VERSION: Final = 2  # the highest keypad-serial version this codec speaks (spec §11)
PRESS_AGE_VERSION: Final = 2  # from this version on, EVENT ends with the press's age
UNKNOWN_AGE: Final = 0xFFFF_FFFF  # age not known (kept across a power cut), or 49.7 days and more
AGE_BYTES: Final = 4
# The longest EVENT: status 5, queued 1, ids 8, key/rating/table/count 4, then a 32-character
# argument of four-byte GB18030 characters (1 + 128; a press with an argument has no reasons,
# and 5 reasons are shorter), then the age (version 2): 151 payload bytes, 162 on the wire.
MAX_REPLY_BYTES: Final = OVERHEAD_BYTES + 5 + 1 + 8 + 4 + 1 + 4 * MAX_ARGUMENT_CHARS + AGE_BYTES

# Name tables: a byte is only ever read through its name, and codes are never renumbered.
# Rating bytes avoid 1-5 on purpose: a firmware that sends a national number by mistake
# (GB/T 39046 A.8: 1 = 非常满意; the provincial field: 5 = 非常满意) is refused instead of
# being recorded as the opposite level.
KEY_CODES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "next": 0x01,
        "recall": 0x02,
        "no_show": 0x03,
        "pause": 0x04,
        "resume": 0x05,
        "transfer": 0x06,
        "finish": 0x07,
        "invite_rating": 0x08,
        "rate": 0x09,
    }
)
RATING_CODES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "very_satisfied": 0x21,
        "satisfied": 0x22,
        "basically_satisfied": 0x23,
        "dissatisfied": 0x24,
        "very_dissatisfied": 0x25,
    }
)
STATE_CODES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "idle": 0x01,
        "serving": 0x02,
        "paused": 0x03,
        "rating_invited": 0x04,
        "thanks": 0x05,
        "closed": 0x06,
    }
)
KEYS_BY_CODE: Final[Mapping[int, str]] = MappingProxyType({v: k for k, v in KEY_CODES.items()})
RATINGS_BY_CODE: Final[Mapping[int, str]] = MappingProxyType(
    {v: k for k, v in RATING_CODES.items()}
)
STATES_BY_CODE: Final[Mapping[int, str]] = MappingProxyType({v: k for k, v in STATE_CODES.items()})

_CODE = re.compile(r"[a-z0-9_]{1,32}")
_PHOTO_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_REASON = re.compile(r"R(0[1-9]|[1-9][0-9])")
_TRANSFER = re.compile(r"service:[A-Za-z0-9_-]{1,16}|window:[1-9][0-9]{0,3}")


class KeypadEventError(HallBusError):
    """An EVENT whose press breaks the layout or caps, but whose boot id and seq were readable."""

    def __init__(
        self, detail: str, *, boot_id: int, seq: int, field: str = "", offset: int | None = None
    ) -> None:
        super().__init__(detail, field=field, offset=offset)
        self.boot_id = boot_id
        self.seq = seq


def encode_ids(boot_id: int, seq: int) -> bytes:
    """Boot id and seq, 4 bytes each, big-endian; HallBusError outside their ranges."""
    check_boot_id(boot_id)
    _check_seq(seq)
    return boot_id.to_bytes(4, "big") + seq.to_bytes(4, "big")


def read_ids(reader: PayloadReader) -> tuple[int, int]:
    """Boot id and seq at the reader's position."""
    boot_id = int.from_bytes(reader.raw(4, "boot_id"), "big")
    seq = int.from_bytes(reader.raw(4, "seq"), "big")
    check_boot_id(boot_id)
    _check_seq(seq)
    return boot_id, seq


def check_boot_id(boot_id: int) -> None:
    """HallBusError unless 1-0xFFFFFFFF."""
    if type(boot_id) is not int or not 1 <= boot_id <= MAX_BOOT_ID:
        raise HallBusError(f"boot id {boot_id!r} outside 1-0xFFFFFFFF", field="boot_id")


def check_code(code: str) -> None:
    """HallBusError unless an answer code: 1-32 of a-z 0-9 _."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise HallBusError(f"{code!r} is not 1-32 of a-z 0-9 _", field="code")


def check_photo_id(photo_id: str | None) -> None:
    """HallBusError unless None or 1-32 of A-Z a-z 0-9 _ . -."""
    if photo_id is not None and not _PHOTO_ID.fullmatch(photo_id):
        raise HallBusError(f"{photo_id!r} is not 1-32 of A-Z a-z 0-9 _ . -", field="photo_id")


def flag_bit(value: object, field: str) -> int:
    """1 or 0 for a bool; HallBusError for anything else."""
    if not isinstance(value, bool):
        raise HallBusError(f"{value!r} is not true or false", field=field)
    return int(value)


def lookup(table: Mapping[int, str], code: int, field: str) -> str:
    """The name of `code` in a name table; HallBusError if it has none."""
    name = table.get(code)
    if name is None:
        raise HallBusError(f"{code:#04x} is not in the {field} table", field=field)
    return name


def optional_text(text: str | None, field: str, max_chars: int) -> bytes:
    """A text field where length 0 means "none"; a blank text must be None instead."""
    if text is not None and not text.strip():
        raise HallBusError("blank: leave it out (None) instead", field=field)
    return encode_text(text or "", field, max_chars)


def encode_reasons(rating: str | None, reasons: tuple[str, ...], table: int | None) -> bytes:
    """Reasons table, count, one byte nn per code Rnn; HallBusError unless valid for `rating`."""
    if not isinstance(reasons, tuple) or len(reasons) > MAX_REASONS:
        raise HallBusError(f"at most {MAX_REASONS} reason codes", field="reasons")
    if not reasons:
        if table is not None:
            raise HallBusError("only sent with reasons", field="reasons_table")
        return b"\x00\x00"
    if rating not in BAD_RATINGS:
        raise HallBusError(f"reasons only with {' or '.join(BAD_RATINGS)}", field="reasons")
    if table is None or table not in REASON_TABLES:
        raise HallBusError(f"unknown reason table {table!r}", field="reasons_table")
    if len(set(reasons)) != len(reasons):
        raise HallBusError("a reason code appears twice", field="reasons")
    numbers = []
    for code in reasons:
        match = _REASON.fullmatch(code) if isinstance(code, str) else None
        if match is None or code not in REASON_TABLES[table]:
            raise HallBusError(f"{code!r} is not in reason table {table}", field="reasons")
        numbers.append(int(match[1]))
    return bytes((table, len(numbers), *numbers))


def encode_argument(key: str, argument: str | None) -> bytes:
    """The argument text (length 0: none); HallBusError unless `key` takes it in that form."""
    if argument is None:
        if key == "transfer":
            raise HallBusError("transfer needs 'service:CODE' or 'window:N'", field="argument")
        return b"\x00"
    if key not in ARGUMENT_KEYS:
        raise HallBusError(f"key {key!r} takes no argument", field="argument")
    if key == "transfer" and not _TRANSFER.fullmatch(argument):
        raise HallBusError("transfer needs 'service:CODE' or 'window:N'", field="argument")
    return optional_text(argument, "argument", MAX_ARGUMENT_CHARS)


def check_age(age_ms: int | None) -> None:
    """HallBusError unless None (version 1) or 0-0xFFFFFFFF milliseconds."""
    if age_ms is not None and (type(age_ms) is not int or not 0 <= age_ms <= UNKNOWN_AGE):
        raise HallBusError(f"age {age_ms!r} outside 0-0xFFFFFFFF ms", field="age")


def check_version(version: int) -> None:
    """HallBusError unless a keypad-serial version this codec speaks (1-KEYPAD_VERSION)."""
    if type(version) is not int or not 1 <= version <= KEYPAD_VERSION:
        raise HallBusError(
            f"version {version!r} is not spoken here (1-{KEYPAD_VERSION})", field="version"
        )


def _check_seq(seq: int) -> None:
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        raise HallBusError(f"seq {seq!r} outside 1-{MAX_SEQ}", field="seq")
