"""The inside of a simulated RS-485 window keypad: the real codec from the keypad's side.

It behaves as docs/protocols/keypad-serial.md asks of a keypad: a queue of presses offered
oldest first until answered, a random boot id at every power-up, the repeat filter for DISPLAY,
the NEEDS_DISPLAY and QUEUE_FULL flags, NAKs, and (version 2, the default) each press's age by
its own tick counter, which restarts at power-up. It records what it was sent and has the fault
switches the driver tests need. The line and its thread are in devices/rs485/sim_line.py.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from devices.rs485.sim_faults import LineFaults, Refused, faulty_reply, read_request
from firmware_protocols.hall_bus.hall_bus import (
    FN_ACK,
    Ack,
    DeviceClass,
    Frame,
    IdentifyQuery,
    Identity,
    RepeatFilter,
    reply_to,
)
from firmware_protocols.keypad.keypad_codes import REASON_TABLE_VERSION
from firmware_protocols.keypad.keypad_serial import (
    FN_EVENT,
    FN_NO_EVENT,
    REQUEST_FUNCTIONS,
    DisplayState,
    EventReply,
    KeypadStatus,
    NoEventReply,
    Poll,
    PollAnswer,
    Press,
    decode_request,
)
from firmware_protocols.keypad.keypad_serial_fields import (
    KEYPAD_VERSION,
    MAX_QUEUED,
    PRESS_AGE_VERSION,
    UNKNOWN_AGE,
)

QUEUE_CAPACITY = 32  # the spec's minimum
REPLY_SECONDS = 0.001  # a keypad starts its reply 1 ms after the request (the spec allows 20)
CONNECTED_SECONDS = 1.0  # polled this recently: the controller is talking to it
_POWER_UP = random.SystemRandom()  # the keypad's hardware RNG, drawn at each power-up
_KEY_OFFSET = 14  # EVENT payload: status 5, queued 1, boot id 4, seq 4, then the key


class KeypadQueueFull(RuntimeError):
    """The keypad refused a press: its queue of unanswered presses is full (an error tone)."""


@dataclass
class KeypadFaults(LineFaults):
    """Fault switches of one simulated keypad (the line's, and these); all off by default."""

    lose_acks: int = 0  # ignore the next N answers: the press is offered again
    ignore_acks: bool = False  # ignore every answer while set
    broken_presses: int = 0  # the next N presses offered carry an unknown key byte (CRC good)
    reuse_seq: int = 0  # the next N presses take the previous press's seq (forgot to increment)
    lost_acks: list[PollAnswer] = field(default_factory=list)  # the answers ignored


class SimKeypad:
    """A simulated window keypad at one address; `window` is only for finding it by window."""

    def __init__(
        self,
        address: int,
        *,
        window: int | None = None,
        firmware: str = "sim-kp 1.0",
        capacity: int = QUEUE_CAPACITY,
        seed: int = 0,
        version: int = KEYPAD_VERSION,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self.version = version  # the highest keypad-serial version its firmware speaks
        self.ticks = ticks  # its tick counter in seconds (a test may drive it with the hall clock)
        self.versions_heard: Counter[int] = Counter()  # frames addressed to it, by version
        self.window = window
        self.firmware = firmware
        self.capacity = capacity
        self.faults = KeypadFaults()
        self.answers: list[PollAnswer] = []  # answers that ended a press, in arrival order
        self.answered: list[tuple[Press, PollAnswer]] = []  # each with the press it ended
        self.stray_answers: list[PollAnswer] = []  # repeats, or for presses no longer queued
        self.displays: list[DisplayState] = []  # DISPLAY frames executed (repeats not)
        self.repeats = 0
        self.refused = 0  # presses refused with a full queue
        self.boots = 1
        self._rng = random.Random(f"{seed}/{address}")
        self._changed = threading.Condition()
        self._queue: list[Press] = []
        self._pressed: dict[tuple[int, int], float] = {}  # tick of each press of this boot
        self._repeats = RepeatFilter()
        self._boot_id = self._new_boot_id()
        self._seq = 0
        self._needs_display = True
        self._last_polled = -CONNECTED_SECONDS

    @property
    def boot_id(self) -> int:
        """This boot's id (a new one after `reboot`)."""
        return self._boot_id

    @property
    def queued(self) -> list[Press]:
        """Presses not answered yet, oldest first."""
        with self._changed:
            return list(self._queue)

    @property
    def shown(self) -> DisplayState | None:
        """The state shown now (None after power-up until the controller sends one)."""
        with self._changed:
            return None if self._needs_display else self.displays[-1]

    @property
    def connected(self) -> bool:
        """Whether the controller polled it within the last second (and it can hear)."""
        recent = time.monotonic() - self._last_polled < CONNECTED_SECONDS
        return recent and not self.faults.silent

    # --- the keypad's keys ---

    def press(
        self,
        key: str,
        *,
        rating: str | None = None,
        reasons: tuple[str, ...] = (),
        argument: str | None = None,
    ) -> Press:
        """Press a key: the next seq of this boot, queued until answered; KeypadQueueFull if full."""
        with self._changed:
            if len(self._queue) >= self.capacity:
                self.refused += 1
                raise KeypadQueueFull(f"keypad {self.address}: {len(self._queue)} presses queued")
            table = REASON_TABLE_VERSION if reasons else None
            if self.faults.reuse_seq > 0 and self._seq > 0:
                self.faults.reuse_seq -= 1
            else:
                self._seq += 1
            press = Press(self._boot_id, self._seq, key, rating, reasons, table, argument)
            self._queue.append(press)
            self._pressed[(press.boot_id, press.seq)] = self.ticks()
            self._changed.notify_all()
        return press

    def flood(self, count: int, key: str = "next") -> list[Press]:
        """Press `key` `count` times at once; the presses the queue took (the rest are refused)."""
        taken = []
        for _ in range(count):
            with contextlib.suppress(KeypadQueueFull):
                taken.append(self.press(key))
        return taken

    def reboot(self, *, keep_queue: bool = True) -> int:
        """Power cycle: new boot id, seq from 1, nothing shown, repeat memory gone; the new boot id.

        `keep_queue` is a keypad with flash: its unanswered presses survive with their old
        boot id and seq; False loses them, as a keypad without flash would.
        """
        with self._changed:
            if not keep_queue:
                self._queue.clear()
            self._pressed.clear()  # the ticks start again: kept presses have no known age
            self._boot_id = self._new_boot_id()
            self._seq = 0
            self._needs_display = True
            self._repeats.forget()
            self.boots += 1
            self._changed.notify_all()
            return self._boot_id

    # --- waiting for the controller ---

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until `predicate()` (evaluated under the keypad's lock) holds; False on timeout."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def wait_acked(self, press: Press, timeout: float = 5.0) -> PollAnswer:
        """The answer that ended `press`; TimeoutError if none within `timeout`."""

        def found() -> PollAnswer | None:
            return next((a for p, a in self.answered if p == press), None)

        if not self.wait_for(lambda: found() is not None, timeout):
            raise TimeoutError(f"keypad {self.address}: no answer to seq {press.seq}")
        answer = found()
        assert answer is not None
        return answer

    def wait_all_acked(self, timeout: float = 5.0) -> bool:
        """Wait until no press is left unanswered; False on timeout."""
        return self.wait_for(lambda: not self._queue, timeout)

    def wait_display(
        self, check: Callable[[DisplayState], bool], timeout: float = 5.0
    ) -> DisplayState:
        """The state shown once `check(state)` holds; TimeoutError (with the state) after `timeout`."""

        def shows() -> bool:
            return not self._needs_display and check(self.displays[-1])

        if not self.wait_for(shows, timeout):
            raise TimeoutError(f"keypad {self.address} shows {self.shown!r}")
        return self.displays[-1]

    # --- the keypad's firmware (called by the line's thread) ---

    @property
    def reply_delay_seconds(self) -> float:
        """How long after a request's last byte its reply starts."""
        return REPLY_SECONDS + self.faults.delay_seconds

    def handle(self, frame: Frame, at: float = 0.0) -> bytes:
        """React to one frame heard on the line (at `at`); the bytes to send back (maybe none)."""
        faults = self.faults
        # No keypad function is ever broadcast: a keypad ignores address 0 (and others' frames).
        if faults.silent or frame.reply or frame.address != self.address:
            return b""
        with self._changed:
            self.versions_heard[frame.version] += 1
        return faulty_reply(self._execute(frame).encode(), faults, self._rng)

    def _execute(self, frame: Frame) -> Frame:
        request = read_request(frame, decode_request, REQUEST_FUNCTIONS, self.version)
        if isinstance(request, Refused):
            return request.reply
        if isinstance(request, IdentifyQuery):
            identity = Identity(DeviceClass.KEYPAD, self.version, self.firmware)
            return reply_to(frame, frame.function, identity.encode())
        with self._changed:
            try:
                if isinstance(request, Poll):
                    return self._poll(frame, request)
                if self._repeats.is_repeat(frame):
                    self.repeats += 1  # resent because our ACK was lost: answer, do not redo
                else:
                    self.displays.append(request)
                    self._needs_display = False
                return reply_to(frame, FN_ACK, Ack(frame.function).encode())
            finally:
                self._changed.notify_all()

    def _poll(self, frame: Frame, poll: Poll) -> Frame:
        self._last_polled = time.monotonic()
        answer = poll.answer
        if answer is not None:
            self._take_answer(answer)
        status = KeypadStatus(self._boot_id, self._needs_display, len(self._queue) >= self.capacity)
        if not self._queue:
            return reply_to(frame, FN_NO_EVENT, NoEventReply(status).encode())
        queued = min(len(self._queue) - 1, MAX_QUEUED)
        oldest = self._queue[0]
        age = self.age_ms(oldest) if frame.version >= PRESS_AGE_VERSION else None
        payload = bytearray(EventReply(status, oldest, queued, age).encode())
        if self.faults.broken_presses > 0:
            self.faults.broken_presses -= 1
            payload[_KEY_OFFSET] = 0x7F  # a firmware bug: a key outside the table
        return reply_to(frame, FN_EVENT, bytes(payload))

    def age_ms(self, press: Press) -> int:
        """Milliseconds since `press` by this boot's ticks, saturating; UNKNOWN_AGE if not known."""
        pressed = self._pressed.get((press.boot_id, press.seq))
        if pressed is None:
            return UNKNOWN_AGE
        return min(max(round((self.ticks() - pressed) * 1000), 0), UNKNOWN_AGE)

    def _take_answer(self, answer: PollAnswer) -> None:
        ids = (answer.boot_id, answer.seq)
        index = next((i for i, p in enumerate(self._queue) if (p.boot_id, p.seq) == ids), None)
        if index is None:
            self.stray_answers.append(answer)
        elif self.faults.ignore_acks or self.faults.lose_acks > 0:
            self.faults.lose_acks = max(0, self.faults.lose_acks - 1)
            self.faults.lost_acks.append(answer)
        else:
            taken = self._queue.pop(index)
            self._pressed.pop((taken.boot_id, taken.seq), None)
            self.answered.append((taken, answer))
            self.answers.append(answer)

    def _new_boot_id(self) -> int:
        # Not from the seed: a keypad built again from the same seed (a restarted simulated
        # hall) is a new power-up, and the controller must not take its presses for resends.
        return _POWER_UP.randrange(1, 2**32)
