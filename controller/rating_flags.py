"""Self-rating (擅自按键) flags for the floor manager: too fast, staff away, unlikely top runs.

A flag never changes or refuses a rating; it is a `RatingFlagged` event the floor alerts show.
A refused rating press made while the staff is away is flagged too (no rating id): someone at
an unstaffed window pressing the citizen's keys is what the regulations name.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from controller import events as ev
from controller.hall_config import RatingRules
from controller.ratings import RatingLevel
from controller.state import Ticket, TicketStatus, WindowState

if TYPE_CHECKING:
    import datetime as dt

    from controller.engine import Engine

NO_TICKET = "—"  # the flag's ticket number when the press concerned none


def rating_flags(
    engine: Engine, window: WindowState, ticket: Ticket, level: RatingLevel, now: dt.datetime
) -> list[tuple[str, str]]:
    """(flag, Chinese detail) for an accepted rating; its RatingRecorded is already applied."""
    rules, flags = engine.config.ratings, []
    if ticket.ended_at is not None:
        seconds = (now - ticket.ended_at).total_seconds()
        if seconds < rules.fast_rating_seconds:
            flags.append(("fast_after_finish", f"办结后 {seconds:.1f} 秒即评价"))
    if (absent := staff_away(window)) is not None:
        flags.append(("staff_absent", f"{absent}时按下评价键"))
    if level is RatingLevel.VERY_SATISFIED:
        run = engine.state.ratings.top_run[window.number]  # already counts this rating
        if run >= rules.top_run_min:
            share, source = baseline_share(engine, window.number, run, rules)
            if run * math.log(share) < math.log(rules.top_run_probability):
                flags.append(
                    ("top_run", f"连续 {run} 次“非常满意”，明显高于{source}（{share:.0%}）")
                )
    return flags


def flag_refused_rating(
    engine: Engine,
    window: WindowState,
    *,
    now: dt.datetime,
    ticket_id: str | None,
    device_id: str,
    reason: str,
) -> None:
    """Flag a refused rating-key press made while the window's staff is signed out or paused."""
    absent = staff_away(window)
    if absent is None:
        return
    ticket = engine.state.tickets.get(ticket_id or "")
    engine.emit(
        ev.RatingFlagged(
            at=now,
            rating_id="",  # no rating was made
            ticket_id=ticket.id if ticket else "",
            number=ticket.number if ticket else NO_TICKET,
            window=window.number,
            staff_id=(ticket.staff_id or "") if ticket else "",
            flag="staff_absent",
            detail=f"{absent}时按下评价键（未受理：{reason}，评价器 {device_id}）",
        )
    )


def staff_away(window: WindowState) -> str | None:
    """Why the window's staff is not at the counter ("工作人员已签退" / "窗口暂停服务中"), or None."""
    if window.staff_id is None:
        return "工作人员已签退"
    if window.paused:
        return "窗口暂停服务中"
    return None


def baseline_share(engine: Engine, window: int, run: int, rules: RatingRules) -> tuple[float, str]:
    """The window's own 非常满意 share before the run (Laplace-smoothed), or the hall prior.

    The run itself is left out: a window that rates itself would otherwise be its own baseline.
    """
    history = window_ratings_today(engine, window)
    before = history[: max(0, len(history) - run)][-rules.top_run_lookback :]
    if len(before) < rules.top_run_min_history:
        return rules.top_run_prior_share, "本大厅设定的基准"
    top = sum(level == RatingLevel.VERY_SATISFIED.value for level in before)
    return (top + 1) / (len(before) + 2), "本窗口此前的水平"


def window_ratings_today(engine: Engine, window: int) -> list[str]:
    """The levels of the tickets the window finished and had rated today, in finishing order.

    Only the ticket a window finished last can be rated, so finishing order is rating order.
    """
    rated = [
        (ticket.ended_at, ticket.id, ticket.rating)
        for ticket in engine.state.tickets.values()
        if ticket.window == window
        and ticket.status is TicketStatus.FINISHED
        and ticket.rating is not None
        and ticket.ended_at is not None
    ]
    return [level for _, _, level in sorted(rated)]
