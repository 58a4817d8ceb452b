"""The example frames and tables in docs/protocols/keypad-serial.md say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from firmware_protocols.hall_bus.hall_bus import Frame
from firmware_protocols.keypad.keypad_codes import REASON_TABLES
from firmware_protocols.keypad.keypad_serial import decode_reply, decode_request, request_frame
from firmware_protocols.keypad.keypad_serial_fields import KEY_CODES, RATING_CODES, STATE_CODES
from tests.unit.test_hall_bus import bitwise_crc

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocols" / "keypad-serial.md"
TEXT = DOC.read_text(encoding="utf-8")
# A ```hex block, then a line "→ `request to 3, seq 0x2a: Poll(answer=None)`".
EXAMPLE = re.compile(r"```hex\n(?P<hex>[0-9A-F ]+)\n```\n→ `(?P<says>[^`]+)`")
EXAMPLES = [(m["hex"], m["says"]) for m in EXAMPLE.finditer(TEXT)]


def test_every_hex_block_has_its_decoding() -> None:
    assert TEXT.count("```hex") == len(EXAMPLES) >= 12


@pytest.mark.parametrize(("hex_text", "says"), EXAMPLES)
def test_doc_frame_decodes_as_stated(hex_text: str, says: str) -> None:
    data = bytes.fromhex(hex_text)
    assert bitwise_crc(data) == 0  # the CRC was worked out, not copied from the encoder
    frame = Frame.decode(data)
    if frame.reply:
        decoded = f"reply from {frame.address}, seq {frame.seq:#04x}: {decode_reply(frame)!r}"
        again = Frame(frame.address, frame.function, frame.seq, frame.payload, True, frame.version)
        assert again.encode() == data
    else:
        request = decode_request(frame)
        decoded = f"request to {frame.address}, seq {frame.seq:#04x}: {request!r}"
        assert request_frame(request, frame.address, frame.seq, frame.version).encode() == data
    assert decoded == says


def _table(heading: str) -> list[tuple[int, str]]:
    section = TEXT.split(heading, 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| `([0-9A-F]{2})` \| `(\w+)` \|", section, flags=re.MULTILINE)
    return [(int(byte, 16), name) for byte, name in rows]


def test_the_byte_tables_are_the_codes() -> None:
    assert _table("Keys (`key`):") == [(v, k) for k, v in KEY_CODES.items()]
    assert _table("Ratings (`rating`).") == [(v, k) for k, v in RATING_CODES.items()]
    assert _table("Display states (`state`):") == [(v, k) for k, v in STATE_CODES.items()]
    reasons = _table("Reason codes (`reasons`), table `01`")
    assert reasons == [(int(code[1:]), code) for code in REASON_TABLES[1]]
