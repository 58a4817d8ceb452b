"""Keypad presses into the hall: one durable, de-duplicated command per (device, boot, seq)."""

from __future__ import annotations

import hashlib
import json
import logging

from controller import commands as cmd
from controller.errors import HallError
from controller.runtime import HallRuntime, IdempotencyKey
from devices.keypad import KeypadAnswer, KeypadPress

log = logging.getLogger(__name__)


class KeypadDispatcher:
    """The controller's KeypadHandler: a resent press gets the first answer, never a second effect."""

    def __init__(self, runtime: HallRuntime) -> None:
        self.runtime = runtime

    def __call__(self, press: KeypadPress) -> KeypadAnswer:
        """Run the press once (journaled with its answer) and answer the keypad."""
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
        )
        try:
            reply = self.runtime.execute(command, idempotency=press_key(press))
        except HallError as err:  # e.g. the same triple reused for a different press
            log.warning("keypad %s press %s refused: %s", press.device_id, press.seq, err)
            return KeypadAnswer(False, getattr(err, "reason", "refused"), str(err))
        body = reply.body
        if reply.status == 200:
            return KeypadAnswer(True, "ok", str(body.get("label", "")), body.get("number"))
        return KeypadAnswer(False, str(body.get("error", "refused")), str(body.get("message", "")))


def press_key(press: KeypadPress) -> IdempotencyKey:
    """The durable de-duplication key of a press: its device, boot and sequence number."""
    content = {
        "window": press.window,
        "key": press.key.value,
        "rating": press.rating.value if press.rating else None,
        "reasons": list(press.reasons),
        "argument": press.argument,
    }
    fingerprint = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return IdempotencyKey(f"keypad:{press.device_id}:{press.boot_id}:{press.seq}", fingerprint)
