"""Self-rating (擅自按键) flags for the floor manager: too fast, invited late, unlikely top runs.

A flag accuses a named staff member, so it judges the citizen's opportunity to rate, never the
window's state at the moment of the press: a rating inside an open invitation is not flagged
because the staff member has since paused or signed out (docs/ratings.md "Flags").
- fast_after_finish / fast_after_invite: pressed sooner after the finish or the invitation than
  a citizen can read the prompt (the staff member's own hand);
- invited_late: the invitation was opened long after the finish, when the citizen had left;
- top_run: a run of 非常满意 the window's own baseline makes unlikely;
- staff_absent: a refused rating press at a window whose staff is away with no invitation
  open (no rating id): someone at an unstaffed window pressing the citizen's keys.
A flag never changes or refuses a rating; it is a `RatingFlagged` event the floor alerts show.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from controller.domain import events as ev
from controller.domain.hall_rules import RatingRules
from controller.domain.ratings import RatingLevel
from controller.domain.state import Ticket, TicketStatus, WindowState

if TYPE_CHECKING:
    import datetime as dt

    from controller.domain.step import Step

NO_TICKET = "—"  # the flag's ticket number when the press concerned none


def rating_flags(
    step: Step, window: WindowState, ticket: Ticket, level: RatingLevel, now: dt.datetime
) -> list[tuple[str, str]]:
    """(flag, Chinese detail) for an accepted rating; its RatingRecorded is already applied."""
    rules, flags = step.config.ratings, []
    finished, invited = ticket.ended_at, ticket.rating_invited_at
    if finished is not None and invited is not None and invited > finished:
        seconds = (now - invited).total_seconds()
        if seconds < rules.fast_rating_seconds:
            flags.append(("fast_after_invite", f"邀请评价后 {seconds:.1f} 秒即评价"))
    elif finished is not None:
        seconds = (now - finished).total_seconds()
        if seconds < rules.fast_rating_seconds:
            flags.append(("fast_after_finish", f"办结后 {seconds:.1f} 秒即评价"))
    if finished is not None and invited is not None:
        late = (invited - finished).total_seconds()
        if late > rules.late_invitation_seconds:
            flags.append(("invited_late", f"办结 {late:.0f} 秒后才邀请评价，群众可能已离开"))
    tally = step.state.ratings
    if level is RatingLevel.VERY_SATISFIED and window.number not in tally.top_run_flagged:
        run = tally.top_run[window.number]  # already counts this rating; one flag per run
        if run >= rules.top_run_min:
            share, source = baseline_share(step, window.number, run, rules)
            if run * math.log(share) < math.log(rules.top_run_probability):
                flags.append(
                    ("top_run", f"连续 {run} 次“非常满意”，明显高于{source}（{share:.0%}）")
                )
    return flags


def flag_refused_rating(
    step: Step,
    window: WindowState,
    *,
    now: dt.datetime,
    ticket_id: str | None,
    device_id: str,
    reason: str,
) -> None:
    """Flag a refused rating-key press, with no invitation open, at a window whose staff is away."""
    absent = staff_away(window)
    if absent is None:
        return
    ticket = step.state.tickets.get(ticket_id or "")
    step.emit(
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


def baseline_share(step: Step, window: int, run: int, rules: RatingRules) -> tuple[float, str]:
    """The window's own 非常满意 share before the run, else the other windows' today, else the prior.

    Shares are Laplace-smoothed. The run itself is left out: a window that rates itself would
    otherwise be its own baseline. With little history of its own, the hall's other windows
    today say what honest citizens press (a fixed prior below the real mix flags honest runs).
    """
    history = window_ratings_today(step, window)
    before = history[: max(0, len(history) - run)][-rules.top_run_lookback :]
    if len(before) >= rules.top_run_min_history:
        return _smoothed_top_share(before), "本窗口此前的水平"
    others = [
        ticket.rating
        for ticket in step.state.tickets.values()
        if ticket.window != window and ticket.rating is not None and ticket.rated_at is not None
    ]
    if len(others) >= rules.top_run_min_history:
        return _smoothed_top_share(others), "本大厅今日其他窗口的水平"
    return rules.top_run_prior_share, "本大厅设定的基准"


def _smoothed_top_share(levels: list[str]) -> float:
    top = sum(level == RatingLevel.VERY_SATISFIED.value for level in levels)
    return (top + 1) / (len(levels) + 2)


def window_ratings_today(step: Step, window: int) -> list[str]:
    """The levels of the tickets the window finished and had rated today, in rating order."""
    rated = [
        (ticket.rated_at, ticket.id, ticket.rating)
        for ticket in step.state.tickets.values()
        if ticket.window == window
        and ticket.status is TicketStatus.FINISHED
        and ticket.rating is not None
        and ticket.rated_at is not None
    ]
    return [level for _, _, level in sorted(rated)]
