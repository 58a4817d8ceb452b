"""Window keypad presses (评价器): every press logged, staff keys run, ratings under the 好差评 rules.

A rating is accepted only for the ticket the window just finished and invited, within the
invitation time, once. No other code path creates a rating. Accepted ratings can still be
flagged for the floor manager (controller/domain/rating_flags.py): pressed too soon after finish,
pressed while the staff is signed out or paused, or part of a run of 非常满意 the window's own
baseline makes unlikely. A press the keypad driver already refused (wrong window, unknown
device, broken payload, reused sequence number) is logged here too, with its reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain import window_commands
from controller.domain.errors import CommandRejected, InvalidRequest
from controller.domain.invitations import open_invitation, rateable_ticket
from controller.domain.press_time import judged_at
from controller.domain.rating_flags import flag_refused_rating, rating_flags
from controller.domain.ratings import CHANNEL_HALL_TERMINAL, RatingLevel
from controller.domain.state import WindowState
from firmware_protocols.keypad.keypad_codes import REASON_TABLE_VERSION, REASON_TABLES

if TYPE_CHECKING:
    from controller.domain.step import Step

MAX_RAW = 512  # characters of the wire message kept in the press log
# Driver refusals whose window the hall's config does not confirm (a keypad it does not know,
# or knows at another window, or a message it could not read): logged, never flagged against
# the staff of the window the message named.
UNCONFIRMED_WINDOW = frozenset({"wrong_window", "unknown_device", "bad_payload"})
MAX_REASONS = 5
# Refusals that answer a citizen who was invited (too late, twice, before finish): never held
# against the staff. Any other refused rating press at a window whose staff is away, with no
# invitation open, is flagged: nobody was asked to rate there.
INVITED_CITIZEN = frozenset({"already_rated", "invitation_expired", "not_finished"})


def handle(step: Step, press: cmd.PressKey, now: dt.datetime) -> dict[str, Any]:
    """Log the press, then run it; a refused press is logged with its reason and re-raised."""
    window = step.state.windows.get(press.window)
    invited = None
    if window is None or step.config.window(press.window) is None:
        seen = _Seen(now, None, "unknown_window", None)
    else:
        judged = judged_at(press, now, step.config.keypads.press_time)
        invited = open_invitation(step.state, window, judged) if press.key == "rate" else None
        concerned = invited.id if invited else window.current or window.last_finished
        seen = _Seen(now, window.staff_id, window.status, concerned)
    try:
        if press.refused is not None:
            # The keypad was answered by its driver; this only puts the press in the log.
            raise InvalidRequest(press.refused, "评价器按键未受理（驱动已拒收）")
        result = _run(step, step.window_state(press.window), press, now)
    except CommandRejected as err:
        _log(step, press, seen, err.reason)
        if (
            window is not None
            and press.key == "rate"
            and press.refused not in UNCONFIRMED_WINDOW
            and invited is None
            and err.reason not in INVITED_CITIZEN
        ):
            flag_refused_rating(
                step,
                window,
                now=now,
                ticket_id=seen.ticket_id,
                device_id=press.device_id,
                reason=err.reason,
            )
        raise
    _log(step, press, dataclasses.replace(seen, ticket_id=result.get("id", seen.ticket_id)), "ok")
    return result


@dataclasses.dataclass(frozen=True)
class _Seen:
    """The window as the press found it, for the press log."""

    at: dt.datetime
    staff_id: str | None
    window_state: str
    ticket_id: str | None


def _log(
    step: Step,
    press: cmd.PressKey,
    seen: _Seen,
    outcome: str,
) -> None:
    step.emit(
        ev.KeyPressed(
            at=seen.at,
            device_id=press.device_id,
            boot_id=press.boot_id,
            seq=press.seq,
            window=press.window,
            staff_id=seen.staff_id,
            window_state=seen.window_state,
            ticket_id=seen.ticket_id,
            key=press.key,
            rating=press.rating,
            raw=press.raw[:MAX_RAW],
            outcome=outcome,
        )
    )


def _run(step: Step, window: WindowState, press: cmd.PressKey, now: dt.datetime) -> dict[str, Any]:
    if press.key == "rate":
        return _rate(step, window, press, now)
    command = _staff_command(press)
    return window_commands.handle(step, command, now)


def _staff_command(press: cmd.PressKey) -> cmd.WindowCommand:
    n, argument = press.window, (press.argument or "").strip()
    match press.key:
        case "next":
            return cmd.CallNext(n)
        case "recall":
            return cmd.Recall(n)
        case "no_show":
            return cmd.NoShow(n)
        case "pause":
            return cmd.Pause(n, argument or "暂时离开")
        case "resume":
            return cmd.Resume(n)
        case "finish":
            return cmd.Finish(n, argument or None)
        case "invite_rating":
            return cmd.InviteRating(n)
        case "transfer":
            return _transfer(n, argument)
    raise InvalidRequest("unknown_key", f"评价器按键无法识别：{press.key!r}")


def _transfer(window: int, argument: str) -> cmd.Transfer:
    kind, _, value = argument.partition(":")
    if kind == "service" and value:
        return cmd.Transfer(window, to_service=value)
    if kind == "window" and value.isdigit():
        return cmd.Transfer(window, to_window=int(value))
    raise InvalidRequest("bad_transfer", "转办须指定业务（service:代码）或窗口（window:号）")


def _rate(step: Step, window: WindowState, press: cmd.PressKey, now: dt.datetime) -> dict[str, Any]:
    try:
        level = RatingLevel(press.rating or "")
    except ValueError as err:
        raise InvalidRequest("bad_rating", f"无法识别的评价等级 {press.rating!r}") from err
    reasons, table = _reasons(level, press)
    # The rating window is judged when the key was pressed (its trusted stamp), not at arrival.
    ticket = rateable_ticket(
        step.state, window, judged_at(press, now, step.config.keypads.press_time)
    )
    config, service = step.config, step.service_config(ticket.service)
    rating_id = f"{ticket.id}-R1"
    finished_at = ticket.ended_at or now
    step.emit(
        ev.RatingRecorded(
            at=now,
            rating_id=rating_id,
            ticket_id=ticket.id,
            number=ticket.number,
            window=window.number,
            staff_id=ticket.staff_id or "",
            service=service.code,
            item_code=service.item_code or "",
            department_code=config.hall.department_code,
            region_code=config.hall.region_code,
            level=level.value,
            reasons=reasons,
            reason_table=table,
            channel=CHANNEL_HALL_TERMINAL,
            assess_number=1,
            device_id=press.device_id,
            finished_at=finished_at,
        )
    )
    for flag, detail in rating_flags(step, window, ticket, level, now):
        step.emit(
            ev.RatingFlagged(
                at=now,
                rating_id=rating_id,
                ticket_id=ticket.id,
                number=ticket.number,
                window=window.number,
                staff_id=ticket.staff_id or "",
                flag=flag,
                detail=detail,
            )
        )
    return {
        "id": ticket.id,
        "number": ticket.number,
        "rating_id": rating_id,
        "level": level.value,
        "label": level.label,
    }


def _reasons(level: RatingLevel, press: cmd.PressKey) -> tuple[tuple[str, ...], str]:
    """The distinct reason codes and the record's table name; the keypad's declared table rules."""
    codes = press.reasons
    if codes and not level.is_bad:
        raise InvalidRequest("reasons_for_good_rating", "只有不满意、非常不满意可选择原因")
    if len(codes) > MAX_REASONS:
        raise InvalidRequest("too_many_reasons", f"差评原因最多选择 {MAX_REASONS} 项")
    version = REASON_TABLE_VERSION if press.reasons_table is None else press.reasons_table
    table = REASON_TABLES.get(version)
    if table is None:
        raise InvalidRequest(
            "unknown_reason_table", f"评价器使用的差评原因表版本 {version} 未知，请升级评价器"
        )
    unknown = [c for c in codes if c not in table]
    if unknown:
        raise InvalidRequest("unknown_reason", f"无法识别的差评原因代码：{'、'.join(unknown)}")
    return tuple(dict.fromkeys(codes)), str(version)  # a record names its table as text
