"""The window keypad role (评价器 / 呼叫器): what a keypad driver hands the hall and shows back.

Every keypad driver (RS-485 or MQTT) turns a decoded wire event into a `KeypadPress`, hands it
to a `KeypadHandler` (the controller) and sends the `KeypadAnswer` back to the keypad as its
acknowledgement. A press carries `device_id`, `boot_id` and `seq`: the controller de-duplicates
on that triple (durably), so a resent press gets the first answer again and is never counted
twice. A press the driver refuses itself (wrong window, unknown device, broken payload, an
unknown reason table) goes to the handler's `refused` as a `RefusedPress` when the handler has
one (`KeypadRefusalLog`): every press reaches the press log. The controller pushes
`KeypadDisplay` states to keypads through `KeypadPort.show`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from display.keypad_text import KeypadDisplay

log = logging.getLogger(__name__)


class KeypadKey(StrEnum):
    """Keys of a window keypad; staff keys run the window, `RATE` is the citizen's side."""

    NEXT = "next"
    RECALL = "recall"
    NO_SHOW = "no_show"
    PAUSE = "pause"
    RESUME = "resume"
    TRANSFER = "transfer"
    FINISH = "finish"
    INVITE_RATING = "invite_rating"
    RATE = "rate"


class RatingKey(StrEnum):
    """The five citizen rating keys by name (never by a number: the national codings disagree)."""

    VERY_SATISFIED = "very_satisfied"  # 非常满意
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意
    VERY_DISSATISFIED = "very_dissatisfied"  # 非常不满意


@dataclass(frozen=True)
class KeypadPress:
    """One key press as the keypad reported it; `raw` is the wire message (hex or JSON text)."""

    device_id: str
    boot_id: str
    seq: int
    window: int
    key: KeypadKey
    rating: RatingKey | None = None  # set when key is RATE
    reasons: tuple[str, ...] = ()  # 差评 reason codes from the versioned table
    argument: str | None = (
        None  # pause reason, transfer target ("service:SB" / "window:5"), outcome
    )
    raw: str = ""
    reasons_table: int | None = None  # the reason table the keypad declared with `reasons`
    pressed_at: dt.datetime | None = None  # the keypad's stamp on the controller's clock
    # Or (wired keypads, version 2) how long before it reached the driver the key was pressed,
    # by the keypad's own ticks: the controller's clock at arrival minus this is the stamp.
    pressed_ago: dt.timedelta | None = None


# What a keypad is told when the press was refused before the controller's rules.
REFUSAL_MESSAGES = {
    "bad_payload": "报文格式错误",
    "unknown_device": "未登记的评价器",
    "wrong_window": "评价器窗口号不符",
    "unknown_reason_table": "评价器的差评原因表版本未知，请升级评价器",
    "seq_reused": "按键序号已用于另一次按键，本次按键无效",
    "press_rate_limited": "按键过于频繁，暂不受理，请检查按键是否卡住",
}


@dataclass(frozen=True)
class RefusedPress:
    """A press the driver refused before the controller's rules; logged all the same.

    `boot_id`/`seq` are None when the message was too broken to read them; `window` is the
    window the keypad claimed (MQTT topic) or is configured at; None if neither is known.
    """

    device_id: str
    reason: str  # a REFUSAL_MESSAGES code
    boot_id: str | None = None
    seq: int | None = None
    window: int | None = None
    key: str | None = None  # as sent, if readable
    rating: str | None = None
    raw: str = ""


@dataclass(frozen=True)
class KeypadAnswer:
    """The controller's verdict on a press, sent back as the keypad's ack; message in Chinese."""

    accepted: bool
    code: str  # "ok", or the rejection reason (e.g. "queue_empty", "not_invited")
    message: str = ""
    ticket: str | None = None  # the ticket number the press concerned, if any
    time: dt.datetime | None = None  # the controller's clock when it answered (keypads set theirs)


class KeypadHandler(Protocol):
    """The controller side: decides a press (idempotent on device_id, boot_id, seq)."""

    def __call__(self, press: KeypadPress) -> KeypadAnswer:
        """Apply the press once and answer; a repeat of the same triple gets the same answer."""
        ...


@runtime_checkable
class KeypadRefusalLog(Protocol):
    """A handler that also logs the presses a driver refused (the controller's dispatcher)."""

    def refused(self, press: RefusedPress) -> None:
        """Log the refused press once (a resend of the same message is not logged again)."""
        ...


def refusal_code(field: str) -> str:
    """The refusal of an event the codec rejected for `field`: an unknown table, or a bad payload."""
    return "unknown_reason_table" if field == "reasons_table" else "bad_payload"


def log_refusal(handler: KeypadHandler, press: RefusedPress) -> bool:
    """Hand a refused press to the handler's press log, if it keeps one; False if that failed.

    The press log failing must not stop the driver answering the keypad: the error is logged.
    """
    if not isinstance(handler, KeypadRefusalLog):
        return True
    try:
        handler.refused(press)
    except Exception:  # the drivers' supervisor boundary: any handler error
        log.exception("keypad %s: refused press not logged", press.device_id)
        return False
    return True


class KeypadPort(Protocol):
    """A keypad bus or broker connection as the controller sees it."""

    def show(self, display: KeypadDisplay) -> None:
        """Send the window's keypad its new state (queued; never blocks the caller for long)."""
        ...

    def keypads(self) -> list[dict[str, object]]:
        """Every known keypad: device id, window, online, last seen, firmware version."""
        ...

    def close(self) -> None:
        """Stop and release the link."""
        ...
