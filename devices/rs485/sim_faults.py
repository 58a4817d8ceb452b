"""What every simulated hall bus device shares: fault switches, faulty replies, refusing a request."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from firmware_protocols.hall_bus.hall_bus import (
    FN_NAK,
    PROTOCOL_VERSION,
    Frame,
    Nak,
    NakReason,
    reply_to,
)
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError

RequestT = TypeVar("RequestT")


@dataclass
class LineFaults:
    """Fault switches of one simulated device on a line; all off by default."""

    silent: bool = False  # unplugged from the line: hears nothing, answers nothing
    drop_replies: int = 0  # the next N replies are lost (the frames are still executed)
    delay_seconds: float = 0.0  # every reply this much later
    garbage_replies: bool = False  # noise and a corrupted copy before every reply (seeded)


def faulty_reply(data: bytes, faults: LineFaults, rng: random.Random) -> bytes:
    """The bytes a reply puts on the line under `faults` (b"" while replies are dropped)."""
    if faults.drop_replies > 0:
        faults.drop_replies -= 1
        return b""
    if faults.garbage_replies:
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 24)))
        broken = bytearray(data)
        broken[rng.randrange(len(broken))] ^= 1 << rng.randrange(8)
        return noise + bytes(broken) + data
    return data


@dataclass(frozen=True)
class Refused:
    """A request a simulated device cannot take, and the NAK it answers with."""

    reply: Frame
    reason: NakReason


def read_request(
    frame: Frame,
    decode: Callable[[Frame], RequestT],
    functions: Collection[int],
    max_version: int = PROTOCOL_VERSION,
) -> RequestT | Refused:
    """`frame` decoded as a request, or the NAK every hall bus device answers (hall-bus.md §8)."""
    if frame.version > max_version:
        nak = Nak(frame.function, NakReason.UNSUPPORTED_VERSION, max_version)
        # Answered in version 1, which every master reads (hall-bus.md section 10).
        reply = Frame(frame.address, FN_NAK, frame.seq, nak.encode(), reply=True)
        return Refused(reply, NakReason.UNSUPPORTED_VERSION)
    try:
        return decode(frame)
    except HallBusError:
        reason = (
            NakReason.BAD_PAYLOAD if frame.function in functions else NakReason.UNKNOWN_FUNCTION
        )
        return Refused(reply_to(frame, FN_NAK, Nak(frame.function, reason).encode()), reason)
