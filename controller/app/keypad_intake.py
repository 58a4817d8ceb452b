"""Keypad presses into the hall: one durable, de-duplicated command per (device, boot, seq).

Every press reaches the journaled press log (KeyPressed): the ones the rules refuse, the ones a
driver refused before the rules (`refused`), and a sequence number reused for a different press.
Except a stuck key's: past the per-device press rate ([keypads.press_limit]) presses are
answered `press_rate_limited` before the journal; only the first of each burst is journaled,
the floor sees a `keypad_stuck` alert until the keypad calms, and the log says so once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable

from controller.app.press_limiter import PressLimiter
from controller.app.runtime import HallRuntime, IdempotencyKey, Outcome
from controller.domain import commands as cmd
from controller.domain.errors import HallError, InvalidRequest
from devices.keypad.keypad import REFUSAL_MESSAGES, KeypadAnswer, KeypadPress, RefusedPress

log = logging.getLogger(__name__)
SEQ_REUSED = "seq_reused"
PRESS_RATE_LIMITED = "press_rate_limited"


class KeypadDispatcher:
    """The controller's KeypadHandler: a resent press gets the first answer, never a second effect.

    It reports its stuck keypads on the floor (the runtime's alerts) from its creation.
    """

    def __init__(
        self, runtime: HallRuntime, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.runtime = runtime
        self.limiter = PressLimiter(runtime.config.keypads.press_limit, clock)
        runtime.add_alert_source(self.limiter.alerts)

    def __call__(self, press: KeypadPress) -> KeypadAnswer:
        """Run the press once (journaled with its answer) and answer the keypad."""
        admitted, first_dropped = self.limiter.admit(press.device_id, press.window)
        if not admitted:
            if first_dropped:
                self._log_refused(as_refused(press, PRESS_RATE_LIMITED))
            return KeypadAnswer(False, PRESS_RATE_LIMITED, REFUSAL_MESSAGES[PRESS_RATE_LIMITED])
        command = cmd.PressKey(
            device_id=press.device_id,
            boot_id=press.boot_id,
            seq=press.seq,
            window=press.window,
            key=press.key.value,
            rating=press.rating.value if press.rating else None,
            reasons=press.reasons,
            argument=press.argument,
            raw=press.raw,
            reasons_table=press.reasons_table,
            pressed_at=pressed_at(press, self.runtime.clock.now()),
        )
        try:
            outcome = self.runtime.execute(command, idempotency=press_key(press))
        except InvalidRequest as err:  # the same triple reused for a different press
            log.warning("keypad %s press %s refused: %s", press.device_id, press.seq, err)
            self._log_refused(as_refused(press, SEQ_REUSED))
            return KeypadAnswer(False, SEQ_REUSED, REFUSAL_MESSAGES[SEQ_REUSED])
        # Every answer tells the keypad the controller's time: it stamps its presses with it.
        return dataclasses.replace(_answer(outcome), time=self.runtime.clock.now())

    def refused(self, press: RefusedPress) -> None:
        """Journal a press refused before the rules, once per (device, boot, seq) and reason.

        Within the device's press rate: a flood of broken messages is dropped like a stuck key.
        """
        admitted, first_dropped = self.limiter.admit(press.device_id, press.window)
        if admitted:
            self._log_refused(press)
        elif first_dropped:
            self._log_refused(dataclasses.replace(press, reason=PRESS_RATE_LIMITED))

    def _log_refused(self, press: RefusedPress) -> None:
        command = cmd.PressKey(
            device_id=press.device_id,
            boot_id=press.boot_id or "",
            seq=press.seq if press.seq is not None else 0,
            window=press.window if press.window is not None else 0,
            key=press.key or "",
            rating=press.rating,
            raw=press.raw,
            refused=press.reason,
        )
        # Once per (device, boot, seq) and reason: a resend may differ in bytes that are not the
        # press (the RS-485 frame's bus seq, the keypad's status flags). Without readable ids,
        # only the same bytes again count as the same message.
        if press.boot_id is not None and press.seq is not None:
            ids = f"{press.boot_id}:{press.seq}"
        else:
            ids = "raw-" + hashlib.sha256(press.raw.encode()).hexdigest()[:32]
        key = IdempotencyKey(f"keypad-refused:{press.device_id}:{ids}:{press.reason}", press.reason)
        try:
            self.runtime.execute(command, idempotency=key)
        except HallError as err:  # the log must not fail the driver; say why once
            log.error("keypad %s: refused press not logged: %s", press.device_id, err)


def press_key(press: KeypadPress) -> IdempotencyKey:
    """The durable de-duplication key of a press: its device, boot and sequence number."""
    # Not the reason table: a code means the same in every table that has it, and a press
    # journaled before the table was passed on must still match its resend.
    content: dict[str, object] = {
        "window": press.window,
        "key": press.key.value,
        "rating": press.rating.value if press.rating else None,
        "reasons": list(press.reasons),
        "argument": press.argument,
    }
    fingerprint = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return IdempotencyKey(f"keypad:{press.device_id}:{press.boot_id}:{press.seq}", fingerprint)


def pressed_at(press: KeypadPress, arrived: dt.datetime) -> dt.datetime | None:
    """The press's moment on the controller's clock: its stamp, or its arrival minus its age."""
    if press.pressed_at is not None or press.pressed_ago is None:
        return press.pressed_at
    return arrived - press.pressed_ago


def as_refused(press: KeypadPress, reason: str) -> RefusedPress:
    """A press as a refused one, for the press log."""
    return RefusedPress(
        device_id=press.device_id,
        reason=reason,
        boot_id=press.boot_id,
        seq=press.seq,
        window=press.window,
        key=press.key.value,
        rating=press.rating.value if press.rating else None,
        raw=press.raw,
    )


def _answer(outcome: Outcome) -> KeypadAnswer:
    refusal = outcome.refusal
    if refusal is None:
        body = outcome.result
        return KeypadAnswer(True, "ok", str(body.get("label", "")), body.get("number"))
    return KeypadAnswer(False, *refusal)
