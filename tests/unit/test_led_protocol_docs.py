"""The example frames in docs/protocols/hall-bus.md and led-strip.md decode to what the doc says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devices.led.sim_led_model import SimLedStrip
from firmware_protocols.hall_bus.hall_bus import BROADCAST, Frame, Nak, NakReason, crc16_modbus
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.led.led_strip import (
    SetBrightness,
    decode_reply,
    decode_request,
    request_frame,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocols"
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


def test_led_doc_shows_every_led_function_and_a_refusal() -> None:
    frames = [Frame.decode(bytes.fromhex(h)) for h, _ in _examples("led-strip.md")]
    requests = [(f.address, decode_request(f)) for f in frames if not f.reply]
    replies = [decode_reply(f) for f in frames if f.reply]
    assert {type(r).function for _, r in requests} == set(range(0x40, 0x49))  # 40-48
    assert any(isinstance(r, SetBrightness) and a != BROADCAST for a, r in requests)
    assert Nak(0x40, NakReason.BAD_PAYLOAD, 0) in replies


def test_led_doc_crc_walkthrough_matches() -> None:
    text = (DOCS / "led-strip.md").read_text(encoding="utf-8")
    section = text.split("Its CRC by hand", 1)[1].split("A strip refusing", 1)[0]
    rows = re.findall(r"^\| `([0-9A-F]{2})` \| `([0-9A-F]{4})` \|$", section, flags=re.MULTILINE)
    assert len(rows) == 4
    data = bytes.fromhex("FF A5 01 03 00")
    assert crc16_modbus(data) == 0xE843
    for byte, register in rows:
        data += bytes.fromhex(byte)
        assert crc16_modbus(data) == int(register, 16)
    refusal = text.split("A strip refusing", 1)[1]
    refused = bytes.fromhex(re.findall(r"`((?:[0-9A-F]{2} ){10,}[0-9A-F]{2})`", refusal)[0])
    frame = Frame.decode(refused)  # well framed, CRC good
    with pytest.raises(HallBusError):
        decode_request(frame)  # but a blink of 61 s: what a display NAKs BAD_PAYLOAD
    nak = refusal.split("```hex\n", 1)[1].split("\n", 1)[0]
    assert SimLedStrip(3).handle(frame, 0.0) == bytes.fromhex(nak)  # the doc's NAK, byte for byte


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
