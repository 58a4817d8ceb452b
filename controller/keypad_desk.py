"""Window keypad presses (评价器): every press logged, staff keys run, ratings under the 好差评 rules.

A rating is accepted only for the ticket the window just finished and invited, within the
invitation time, once. No other code path creates a rating. Accepted ratings can still be
flagged for the floor manager: pressed too soon after finish, pressed while the staff is
signed out or paused, or part of a run of 非常满意 the hall's own rating mix makes unlikely.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from controller import commands as cmd
from controller import events as ev
from controller import window_desk
from controller.errors import CommandRejected, InvalidRequest
from controller.hall_config import RatingRules
from controller.ratings import (
    BAD_RATING_REASONS,
    CHANNEL_HALL_TERMINAL,
    REASON_TABLE_VERSION,
    RatingLevel,
)
from controller.state import Ticket, TicketStatus, WindowState

if TYPE_CHECKING:
    from controller.engine import Engine

MAX_RAW = 512  # characters of the wire message kept in the press log
MAX_REASONS = 5


def handle(engine: Engine, press: cmd.PressKey, now: dt.datetime) -> dict[str, Any]:
    """Log the press, then run it; a refused press is logged with its reason and re-raised."""
    window = engine.window_state(press.window)
    seen = _Seen(now, window.staff_id, window.status, window.current or window.last_finished)
    try:
        result = _run(engine, window, press, now)
    except CommandRejected as err:
        _log(engine, press, seen, err.reason)
        raise
    _log(engine, press, dataclasses.replace(seen, ticket_id=result.get("id", seen.ticket_id)), "ok")
    return result


@dataclasses.dataclass(frozen=True)
class _Seen:
    """The window as the press found it, for the press log."""

    at: dt.datetime
    staff_id: str | None
    window_state: str
    ticket_id: str | None


def _log(
    engine: Engine,
    press: cmd.PressKey,
    seen: _Seen,
    outcome: str,
) -> None:
    engine.emit(
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


def _run(
    engine: Engine, window: WindowState, press: cmd.PressKey, now: dt.datetime
) -> dict[str, Any]:
    if press.key == "rate":
        return _rate(engine, window, press, now)
    command = _staff_command(press)
    return window_desk.handle(engine, command, now)


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


def _rate(
    engine: Engine, window: WindowState, press: cmd.PressKey, now: dt.datetime
) -> dict[str, Any]:
    try:
        level = RatingLevel(press.rating or "")
    except ValueError as err:
        raise InvalidRequest("bad_rating", f"无法识别的评价等级 {press.rating!r}") from err
    reasons = _reasons(level, press.reasons)
    ticket = _rateable_ticket(engine, window, now)
    config, service = engine.config, engine.service_config(ticket.service)
    rating_id = f"{ticket.id}-R1"
    finished_at = ticket.ended_at or now
    engine.emit(
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
            reason_table=REASON_TABLE_VERSION,
            channel=CHANNEL_HALL_TERMINAL,
            assess_number=1,
            device_id=press.device_id,
            finished_at=finished_at,
        )
    )
    for flag, detail in _flags(engine, window, ticket, level, now):
        engine.emit(
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


def _reasons(level: RatingLevel, codes: tuple[str, ...]) -> tuple[str, ...]:
    if codes and not level.is_bad:
        raise InvalidRequest("reasons_for_good_rating", "只有不满意、非常不满意可选择原因")
    if len(codes) > MAX_REASONS:
        raise InvalidRequest("too_many_reasons", f"差评原因最多选择 {MAX_REASONS} 项")
    unknown = [c for c in codes if c not in BAD_RATING_REASONS]
    if unknown:
        raise InvalidRequest("unknown_reason", f"无法识别的差评原因代码：{'、'.join(unknown)}")
    return tuple(dict.fromkeys(codes))


def _rateable_ticket(engine: Engine, window: WindowState, now: dt.datetime) -> Ticket:
    if window.current is not None:
        current = engine.state.tickets[window.current]
        if current.rating_invited_until is not None and current.rating is None:
            raise CommandRejected("not_finished", f"{current.number} 尚未办结，办结后再评价")
        raise CommandRejected("window_serving", "窗口正在办理其他群众的业务，本次评价无效")
    ticket = engine.state.tickets.get(window.last_finished or "")
    if (
        ticket is None
        or ticket.status is not TicketStatus.FINISHED
        or ticket.window != window.number
    ):
        raise CommandRejected("nothing_to_rate", "当前没有待评价的办件")
    if ticket.rating is not None:
        raise CommandRejected("already_rated", f"{ticket.number} 已评价，每次服务只能评价一次")
    if ticket.rating_invited_until is None:
        raise CommandRejected("not_invited", "工作人员尚未邀请评价，本次按键无效")
    if now > ticket.rating_invited_until:
        raise CommandRejected("invitation_expired", "评价邀请已超时，本次按键无效")
    return ticket


def _flags(
    engine: Engine,
    window: WindowState,
    ticket: Ticket,
    level: RatingLevel,
    now: dt.datetime,
) -> list[tuple[str, str]]:
    rules, flags = engine.config.ratings, []
    if ticket.ended_at is not None:
        seconds = (now - ticket.ended_at).total_seconds()
        if seconds < rules.fast_rating_seconds:
            flags.append(("fast_after_finish", f"办结后 {seconds:.1f} 秒即评价"))
    if window.staff_id is None or window.paused:
        where = "工作人员已签退" if window.staff_id is None else "窗口暂停服务中"
        flags.append(("staff_absent", f"{where}时按下评价键"))
    if level is RatingLevel.VERY_SATISFIED:
        run = engine.state.ratings.top_run[window.number]  # already counts this rating
        if run >= rules.top_run_min and _run_unlikely(engine, run, rules):
            flags.append(("top_run", f"连续 {run} 次“非常满意”，明显高于本大厅今日水平"))
    return flags


def _run_unlikely(engine: Engine, run: int, rules: RatingRules) -> bool:
    # The hall's share of 非常满意 today (Laplace-smoothed, so a quiet morning is not 100 %);
    # a run whose probability at that share is below the threshold is worth a look.
    tally = engine.state.ratings
    top = tally.by_level[RatingLevel.VERY_SATISFIED.value]
    share = (top + 1) / (tally.total + 2)
    return run * math.log(share) < math.log(rules.top_run_probability)
