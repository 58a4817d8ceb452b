"""The hall's vocabulary of values: staff ids, names, free text and codes, defined once for every edge.

Text is NFC-normalised and trimmed; lone surrogates, control characters (category Cc: NUL, ESC,
tab, line breaks, C1) and bidirectional overrides are refused; every kind has a bounded length.
Each bound fits the narrowest wire that carries the value (a staff name on the RS-485 keypad:
16 characters; a staff id as the keypad's photo id and the satisfaction API's proManager), so
whatever one edge accepts (hall API, config, keypad codecs, satisfaction API) every other accepts.
Pure: stdlib, pydantic and the keypad codec's caps. Checks raise ValueError with a Chinese
text naming the problem.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field

from controller.domain.errors import InvalidRequest
from firmware_protocols.keypad import keypad_serial_fields

# The narrowest wire sets each cap: the RS-485 keypad's (MQTT allows 32-character names).
MAX_STAFF_ID = keypad_serial_fields.MAX_PHOTO_ID_CHARS  # 32: the keypad shows the photo by id
# Also the keypads' photo id (A-Z a-z 0-9 _ . -) and the rating exchange's proManager.
STAFF_ID_PATTERN = rf"^[A-Za-z0-9_-]{{1,{MAX_STAFF_ID}}}$"
SERVICE_CODE_PATTERN = r"^[A-Z0-9_]{1,16}$"
MAX_STAFF_NAME = keypad_serial_fields.MAX_NAME_CHARS  # 16
MAX_STAFF_POST = keypad_serial_fields.MAX_POST_CHARS  # 16
MAX_REASON = 50  # pause and void reasons; the keypad display adds "暂停服务（…）"
MAX_NOTICE = 200
MAX_LEADER_NAME = 20
MAX_LEADER_TITLE = 30
MAX_CITIZEN_TEXT = 32  # an appointment's name or phone, masked before it is stored
_STAFF_ID = re.compile(STAFF_ID_PATTERN)
# Bidirectional embeddings, overrides and isolates (Unicode 15, UAX #9): they reorder what a
# screen shows ("\u202e" turns a text around) and carry nothing a hall needs.
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_text(value: str, *, max_chars: int, min_chars: int = 1) -> str:
    """`value` NFC-normalised and trimmed, if it is safe text of `min_chars`..`max_chars`."""
    if not isinstance(value, str):
        raise ValueError("应为文字")
    for char in value:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"含有无法编码的代理字符 U+{code:04X}")
        if unicodedata.category(char) == "Cc":
            raise ValueError(f"含有控制字符 U+{code:04X}（如 NUL、ESC、制表符、换行）")
        if char in BIDI_CONTROLS:
            raise ValueError(f"含有文字方向控制字符 U+{code:04X}")
    text = unicodedata.normalize("NFC", value).strip()
    if not min_chars <= len(text) <= max_chars:
        if min_chars == 0:
            raise ValueError(f"不能超过 {max_chars} 个字")
        raise ValueError(f"应为 {min_chars}-{max_chars} 个字（不含首尾空格）")
    return text


def require(check: Callable[[str], str], value: str, *, code: str, label: str) -> str:
    """`check(value)` for the engine's own edge: InvalidRequest(`code`) naming `label` if refused."""
    try:
        return check(value)
    except ValueError as err:
        raise InvalidRequest(code, f"{label}{err}") from err


def staff_id(value: str) -> str:
    """A staff id (工号): 1-32 of A-Z a-z 0-9 _ -, unchanged."""
    if not isinstance(value, str) or not _STAFF_ID.fullmatch(value):
        raise ValueError("应为 1-32 位英文字母、数字、下划线或连字符")
    return value


def staff_name(value: str) -> str:
    """A staff member's public name (亮牌上岗): 1-16 characters of safe text."""
    return clean_text(value, max_chars=MAX_STAFF_NAME)


def staff_post(value: str) -> str:
    """A staff member's post (岗位), may be empty: at most 16 characters of safe text."""
    return clean_text(value, max_chars=MAX_STAFF_POST, min_chars=0)


def reason(value: str) -> str:
    """A pause or void reason: 1-50 characters of safe text."""
    return clean_text(value, max_chars=MAX_REASON)


def notice_text(value: str) -> str:
    """A notice on every screen: 1-200 characters of safe text."""
    return clean_text(value, max_chars=MAX_NOTICE)


def leader_name(value: str) -> str:
    """The duty leader's name (值班领导); empty clears it: at most 20 characters of safe text."""
    return clean_text(value, max_chars=MAX_LEADER_NAME, min_chars=0)


def leader_title(value: str) -> str:
    """The duty leader's title, may be empty: at most 30 characters of safe text."""
    return clean_text(value, max_chars=MAX_LEADER_TITLE, min_chars=0)


def citizen_text(value: str) -> str:
    """An appointment's name or phone before masking, may be empty: at most 32 characters."""
    return clean_text(value, max_chars=MAX_CITIZEN_TEXT, min_chars=0)


StaffId = Annotated[
    str,
    # The pattern is checked by staff_id (a Chinese message); the schema still shows it.
    Field(
        max_length=MAX_STAFF_ID * 2,
        description="工号: 1-32 of A-Z a-z 0-9 _ -",
        json_schema_extra={"pattern": STAFF_ID_PATTERN, "maxLength": MAX_STAFF_ID},
    ),
    AfterValidator(staff_id),
]
StaffName = Annotated[
    str,
    Field(max_length=MAX_STAFF_NAME * 2 + 16, description="name, 1-16 characters, no controls"),
    AfterValidator(staff_name),
]
StaffPost = Annotated[
    str,
    Field(max_length=MAX_STAFF_POST * 2 + 16, description="post, 0-16 characters, no controls"),
    AfterValidator(staff_post),
]
Reason = Annotated[
    str,
    Field(max_length=MAX_REASON * 2 + 16, description="1-50 characters, no control characters"),
    AfterValidator(reason),
]
NoticeText = Annotated[
    str,
    Field(max_length=MAX_NOTICE * 2 + 16, description="1-200 characters, no control characters"),
    AfterValidator(notice_text),
]
LeaderName = Annotated[
    str,
    Field(max_length=MAX_LEADER_NAME * 2 + 16, description="0-20 characters; empty clears"),
    AfterValidator(leader_name),
]
LeaderTitle = Annotated[
    str,
    Field(max_length=MAX_LEADER_TITLE * 2 + 16, description="0-30 characters"),
    AfterValidator(leader_title),
]
CitizenText = Annotated[
    str,
    Field(max_length=MAX_CITIZEN_TEXT * 2 + 16, description="0-32 characters; stored masked"),
    AfterValidator(citizen_text),
]
ServiceCode = Annotated[str, Field(pattern=SERVICE_CODE_PATTERN, description="e.g. SB")]
