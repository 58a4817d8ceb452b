"""The example frames in docs/protocols/hall-bus.md and led-strip.md decode to what the doc says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from firmware_protocols.hall_bus import Frame, crc16_modbus
from firmware_protocols.led_strip import decode_reply, decode_request, request_frame

DOCS = Path(__file__).resolve().parents[1] / "docs" / "protocols"
# A ```hex block, then a line "→ `request to 3, seq 0x17: ShowCall(...)`".
EXAMPLE = re.compile(r"```hex\n(?P<hex>[0-9A-F ]+)\n```\n→ `(?P<says>[^`]+)`")


def _examples(name: str) -> list[tuple[str, str]]:
    text = (DOCS / name).read_text(encoding="utf-8")
    found = [(m["hex"], m["says"]) for m in EXAMPLE.finditer(text)]
    assert text.count("```hex") == len(found), f"{name}: a hex block without its decoding"
    return found


ALL = [(name, *example) for name in ("hall-bus.md", "led-strip.md") for example in _examples(name)]


def test_both_docs_have_examples() -> None:
    assert len(_examples("hall-bus.md")) >= 5
    assert len(_examples("led-strip.md")) >= 5


@pytest.mark.parametrize(("doc", "hex_text", "says"), ALL)
def test_doc_frame_decodes_as_stated(doc: str, hex_text: str, says: str) -> None:
    data = bytes.fromhex(hex_text)
    frame = Frame.decode(data)
    if frame.reply:
        message = decode_reply(frame)
        decoded = f"reply from {frame.address}, seq {frame.seq:#04x}: {message!r}"
    else:
        request = decode_request(frame)
        decoded = f"request to {frame.address}, seq {frame.seq:#04x}: {request!r}"
        assert request_frame(request, frame.address, frame.seq).encode() == data
    assert decoded == says, doc


def test_doc_crc_walkthrough_matches() -> None:
    text = (DOCS / "hall-bus.md").read_text(encoding="utf-8")
    section = text.split("### Worked example", 1)[1].split("```hex", 1)[0]
    rows = re.findall(r"^\| `([0-9A-F]{2})` \| `([0-9A-F]{4})` \|$", section, flags=re.MULTILINE)
    assert len(rows) == 9
    data = b""
    for byte, register in rows:
        data += bytes.fromhex(byte)
        assert crc16_modbus(data) == int(register, 16)
