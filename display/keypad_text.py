"""What each window keypad (评价器) shows, from a snapshot's window view and the latest event."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

from controller.domain import events as ev
from controller.domain import values
from controller.domain.ratings import RatingLevel


@dataclass(frozen=True)
class KeypadDisplay:
    """What a window's keypad shows: its state, the current ticket and the staff on duty."""

    window: int
    state: str  # "idle", "serving", "paused", "rating_invited", "thanks", "closed"
    ticket: str | None = None
    staff_name: str | None = None
    staff_post: str | None = None
    staff_photo_id: str | None = None
    message: str = ""  # Chinese text for the keypad's screen
    rating_seconds: int | None = None  # time left to rate, while state is "rating_invited"
    extra: dict[str, str] = field(default_factory=dict)


_STATE_TEXT = {
    "closed": "窗口未开放",
    "signed_out": "暂无工作人员",
    "paused": "暂停服务",
    "idle": "欢迎光临",
}


def keypad_display(window: dict[str, Any], event: ev.Event | None = None) -> KeypadDisplay:
    """The keypad state for a window view (see controller.app.snapshot); `event` adds invite/thanks."""
    staff = window.get("staff") or {}
    base = KeypadDisplay(
        window=int(window["number"]),
        state="closed",
        staff_name=staff.get("name"),
        staff_post=staff.get("post") or None,
        staff_photo_id=staff.get("id"),
    )
    current = window.get("current")
    if isinstance(event, ev.RatingInvited):
        seconds = max(0, round((event.until - event.at).total_seconds()))
        return replace(
            base,
            state="rating_invited",
            ticket=event.ticket_id.rsplit("-", 1)[-1],  # ids are DAY-NUMBER
            message="请您对本次服务进行评价",
            rating_seconds=seconds,
        )
    if isinstance(event, ev.RatingRecorded):
        label = RatingLevel(event.level).label
        return replace(
            base,
            state="thanks",
            ticket=event.number,
            message=f"感谢您的评价（{label}）",
        )
    invited = window.get("rating_open")
    if invited:
        # An open invitation outlives the next call, a pause or a sign-out: the citizen's side
        # keeps the rating keys for the ticket a press will rate (controller/domain/invitations.py).
        serving = f"（正在办理 {_number(current)}）" if current else ""
        return replace(
            base,
            state="rating_invited",
            ticket=str(invited["number"]),
            message=f"请 {invited['number']} 号对本次服务进行评价{serving}",
            rating_seconds=int(invited["seconds_left"]),
        )
    state = str(window.get("state", "closed"))
    if state == "serving" and current:
        return replace(
            base,
            state="serving",
            ticket=_number(current),
            message=f"正在办理 {_number(current)}",
        )
    if state == "paused":
        reason = window.get("pause_reason") or ""
        message = f"暂停服务（{reason}）" if reason else "暂停服务"
        return replace(base, state="paused", message=message)
    return replace(
        base,
        state=state if state in ("closed", "idle") else "closed",
        message=_STATE_TEXT.get(state, "窗口未开放"),
    )


def fallback_display(display: KeypadDisplay) -> KeypadDisplay:
    """`display` with every text any keypad protocol can carry: fitted, or left out (photo id)."""
    photo = display.staff_photo_id
    try:
        photo = values.staff_id(photo) if photo is not None else None
    except ValueError:
        photo = None
    return replace(
        display,
        ticket=_fit(display.ticket, 16),
        staff_name=_fit(display.staff_name, values.MAX_STAFF_NAME),
        staff_post=_fit(display.staff_post, values.MAX_STAFF_POST),
        staff_photo_id=photo,
        message=_fit(display.message, 64) or "",
        extra={},
    )


def windows_touched(batch: list[ev.Event]) -> dict[int, ev.Event]:
    """Each window a batch concerns, with the batch's last event for it."""
    touched: dict[int, ev.Event] = {}
    for event in batch:
        if isinstance(event, ev.KeyPressed | ev.RatingFlagged):
            continue  # the log and flags change nothing on the keypad
        window = getattr(event, "window", None)
        if isinstance(window, int):
            touched[window] = event
        if isinstance(event, ev.TicketTransferred):
            touched[event.from_window] = event
    return touched


def _fit(text: str | None, max_chars: int) -> str | None:
    if text is None:
        return None
    kept = "".join(
        char
        for char in text
        if unicodedata.category(char) not in ("Cc", "Cs") and char not in values.BIDI_CONTROLS
    )
    kept = " ".join(kept.split())
    if len(kept) > max_chars:
        kept = kept[: max_chars - 1] + "…"
    return kept or None


def _number(current: dict[str, Any] | None) -> str | None:
    return str(current["number"]) if current else None
