"""Open rating invitations (邀请评价): which ticket a rating press at a window counts for.

The rule (docs/protocols/keypad-mqtt.md "Which ticket a rating counts for"): a press rates the
newest ticket finished at this window whose invitation is still open and that is not rated yet.
An invitation belongs to its ticket, not to the window's state: calling the next citizen,
pausing, signing out or transferring another ticket leaves it open; it ends when it expires or
its citizen has rated.
"""

from __future__ import annotations

import datetime as dt

from controller.domain.errors import CommandRejected
from controller.domain.state import HallState, Ticket, TicketStatus, WindowState


def open_invitation(state: HallState, window: WindowState, now: dt.datetime) -> Ticket | None:
    """The finished, unrated ticket a rating press at `window` would rate now, or None."""
    for ticket_id in reversed(window.invitations):
        ticket = state.tickets.get(ticket_id)
        if ticket is not None and _open(ticket, window, now):
            return ticket
    return None


def rateable_ticket(state: HallState, window: WindowState, now: dt.datetime) -> Ticket:
    """The ticket a rating press rates; CommandRejected names why there is none."""
    ticket = open_invitation(state, window, now)
    if ticket is not None:
        return ticket
    current = state.tickets.get(window.current or "")
    if current is not None and current.rating_invited_until is not None and current.rating is None:
        raise CommandRejected("not_finished", f"{current.number} 尚未办结，办结后再评价")
    just_finished = state.tickets.get(window.last_finished or "")
    if just_finished is not None and just_finished.rating_invited_until is None:
        raise CommandRejected("not_invited", "工作人员尚未邀请评价，本次按键无效")
    latest = _latest_finished_invited(state, window)
    if latest is None:
        if current is not None:
            raise CommandRejected("not_invited", "工作人员尚未邀请评价，本次按键无效")
        raise CommandRejected("nothing_to_rate", "当前没有待评价的办件")
    if latest.rating is not None:
        raise CommandRejected("already_rated", f"{latest.number} 已评价，每次服务只能评价一次")
    if latest.rating_invited_at is not None and now < latest.rating_invited_at:
        # Pressed (by its stamp) before staff invited the rating: not for that invitation.
        raise CommandRejected("not_invited", "工作人员尚未邀请评价，本次按键无效")
    raise CommandRejected("invitation_expired", "评价邀请已超时，本次按键无效")


def _open(ticket: Ticket, window: WindowState, now: dt.datetime) -> bool:
    return (
        ticket.status is TicketStatus.FINISHED
        and ticket.window == window.number
        and ticket.rating is None
        and ticket.rating_invited_until is not None
        and now <= ticket.rating_invited_until
        # A press stamped before the invitation (press time, keypad-mqtt.md) is not for it.
        and (ticket.rating_invited_at is None or ticket.rating_invited_at <= now)
    )


def _latest_finished_invited(state: HallState, window: WindowState) -> Ticket | None:
    for ticket_id in reversed(window.invitations):
        ticket = state.tickets.get(ticket_id)
        if (
            ticket is not None
            and ticket.status is TicketStatus.FINISHED
            and ticket.window == window.number
        ):
            return ticket
    return None
