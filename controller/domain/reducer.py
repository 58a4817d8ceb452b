"""The reducer: applies journaled events to the hall state (no config, no clock)."""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from typing import Any

from controller.domain import events as ev
from controller.domain.ratings import RatingLevel
from controller.domain.state import (
    Appointment,
    Attendance,
    CallingPolicy,
    CallRecord,
    HallState,
    Lane,
    Notice,
    RatingFlag,
    RatingTally,
    TemporaryStaff,
    Ticket,
    TicketStatus,
    WindowState,
)

TOP_LEVEL = RatingLevel.VERY_SATISFIED.value
BAD_LEVELS = frozenset(level.value for level in RatingLevel if level.is_bad)
# Invitations a window remembers (open, rated or expired): more than a few citizens invited in
# one invitation time (120 s by default) is not a real counter; the oldest is forgotten first.
MAX_INVITATIONS_KEPT = 4


def apply(state: HallState, event: ev.Event) -> None:
    """Apply one event to the state; events are facts, so this never refuses."""
    handler = _APPLY.get(type(event))
    if handler is not None:
        handler(state, event)


def _day_opened(state: HallState, e: ev.DayOpened) -> None:
    state.day = e.day
    state.tickets.clear()
    state.waiting.clear()
    state.sequences.clear()
    state.issue_times.clear()
    state.recent_calls.clear()
    state.ratings = RatingTally()
    state.temporary_staff.clear()
    state.attendance = [a for a in state.attendance if a.signed_out_at is None]
    for window in state.windows.values():
        window.current = None
        window.last_finished = None
        window.invitations.clear()
        window.calls_by_service.clear()


def _day_closed(state: HallState, e: ev.DayClosed) -> None:
    for ticket_id in e.expired:
        ticket = state.tickets.get(ticket_id)
        if ticket is None:  # a journal cut short; nothing to expire
            continue
        _leave_queue(state, ticket)
        ticket.status = TicketStatus.EXPIRED
        ticket.ended_at = e.at
    for number in e.signed_out:
        window = state.windows[number]
        if window.staff_id is not None:
            _sign_out(state, window, e.at, automatic=True)
    for window in state.windows.values():
        window.current = None
        window.paused = False
        window.pause_reason = None


def _ticket_issued(state: HallState, e: ev.TicketIssued) -> None:
    state.issue_order += 1
    ticket = Ticket(
        id=e.ticket_id,
        number=e.number,
        service=e.service,
        lane=Lane(e.lane),
        issued_at=e.at,
        queue_at=e.queue_at,
        order=state.issue_order,
        priority_reason=e.priority_reason,
        appointment_code=e.appointment_code,
        slot_start=e.slot_start,
    )
    state.tickets[ticket.id] = ticket
    if e.needs_print:
        ticket.status, ticket.printed = TicketStatus.PRINTING, False
    else:
        state.waiting_in(ticket.service)[ticket.id] = ticket
    state.sequences[e.service] = max(state.sequences[e.service], e.sequence)
    state.issue_times.setdefault(e.service, []).append(e.at)
    if e.appointment_code and e.appointment_code in state.appointments:
        state.appointments[e.appointment_code].ticket_id = ticket.id


def _ticket_printed(state: HallState, e: ev.TicketPrinted) -> None:
    ticket = state.tickets[e.ticket_id]
    ticket.status, ticket.printed, ticket.printer = TicketStatus.WAITING, True, e.printer
    ticket.print_failure = None
    state.waiting_in(ticket.service)[ticket.id] = ticket


def _ticket_print_failed(state: HallState, e: ev.TicketPrintFailed) -> None:
    ticket = state.tickets[e.ticket_id]
    ticket.status, ticket.printer, ticket.print_failure = (
        TicketStatus.PRINT_FAILED,
        e.printer,
        e.reason,
    )


def _ticket_voided(state: HallState, e: ev.TicketVoided) -> None:
    ticket = state.tickets[e.ticket_id]
    _leave_queue(state, ticket)
    ticket.status, ticket.ended_at = TicketStatus.VOID, e.at


def _appointment_booked(state: HallState, e: ev.AppointmentBooked) -> None:
    state.appointments[e.code] = Appointment(
        e.code, e.service, e.slot_start, e.name_masked, e.phone_masked
    )


def _staff_signed_in(state: HallState, e: ev.StaffSignedIn) -> None:
    window = _window(state, e.window)
    window.staff_id, window.staff_name, window.staff_role = e.staff_id, e.staff_name, e.role
    window.staff_post, window.signed_in_at = e.post, e.at
    state.attendance.append(Attendance(e.window, e.staff_id, e.staff_name, e.role, e.at))


def _temporary_staff_added(state: HallState, e: ev.TemporaryStaffAdded) -> None:
    state.temporary_staff[e.staff_id] = TemporaryStaff(e.staff_id, e.name, e.post, e.window)


def _staff_signed_out(state: HallState, e: ev.StaffSignedOut) -> None:
    _sign_out(state, _window(state, e.window), e.at, automatic=e.automatic)


def _ticket_called(state: HallState, e: ev.TicketCalled) -> None:
    ticket = state.tickets[e.ticket_id]
    window = _window(state, e.window)
    _leave_queue(state, ticket)
    ticket.status = TicketStatus.CALLED
    ticket.window = e.window
    ticket.target_window = None
    ticket.called_at = e.at
    ticket.recall_count = 0
    ticket.staff_id = window.staff_id
    if ticket.first_called_at is None:
        ticket.first_called_at = e.at
    window.current = ticket.id
    window.last_finished = None  # only the citizen just served may be invited to rate
    window.calls_by_service[ticket.service] += 1
    state.recent_calls.appendleft(CallRecord(ticket.number, e.window, e.at, recall=False))


def _ticket_recalled(state: HallState, e: ev.TicketRecalled) -> None:
    ticket = state.tickets[e.ticket_id]
    ticket.recall_count = e.recall_count
    ticket.called_at = e.at
    state.recent_calls.appendleft(CallRecord(ticket.number, e.window, e.at, recall=True))


def _ticket_no_show(state: HallState, e: ev.TicketNoShow) -> None:
    ticket = state.tickets[e.ticket_id]
    _window(state, e.window).current = None
    ticket.no_show_count += 1
    if e.requeue_at is None:
        ticket.status = TicketStatus.NO_SHOW
        ticket.ended_at = e.at
    else:
        ticket.status = TicketStatus.WAITING
        ticket.queue_at = e.requeue_at
        leader = state.tickets.get(e.follows) if e.follows else None
        if leader is not None:
            ticket.order, ticket.rank = leader.order, leader.rank + 1
        state.waiting_in(ticket.service)[ticket.id] = ticket


def _ticket_transferred(state: HallState, e: ev.TicketTransferred) -> None:
    ticket = state.tickets[e.ticket_id]
    _window(state, e.from_window).current = None
    ticket.service = e.to_service
    ticket.target_window = e.to_window
    ticket.status = TicketStatus.WAITING
    ticket.transfer_count += 1
    state.waiting_in(ticket.service)[ticket.id] = ticket


def _ticket_finished(state: HallState, e: ev.TicketFinished) -> None:
    ticket = state.tickets[e.ticket_id]
    window = _window(state, e.window)
    ticket.status = TicketStatus.FINISHED
    ticket.ended_at = e.at
    ticket.outcome = e.outcome
    ticket.staff_id = e.staff_id
    window.current = None
    window.last_finished = ticket.id
    state.service_seconds.setdefault(ticket.service, deque(maxlen=500)).append(e.service_seconds)


def _rating_invited(state: HallState, e: ev.RatingInvited) -> None:
    ticket = state.tickets[e.ticket_id]
    ticket.rating_invited_at, ticket.rating_invited_until = e.at, e.until
    invitations = _window(state, e.window).invitations
    if e.ticket_id in invitations:
        invitations.remove(e.ticket_id)
    invitations.append(e.ticket_id)
    del invitations[:-MAX_INVITATIONS_KEPT]


def _key_pressed(state: HallState, e: ev.KeyPressed) -> None:
    """The press log changes no state: the key's own events do."""


def _rating_recorded(state: HallState, e: ev.RatingRecorded) -> None:
    if e.system_default:  # a past day's ticket; today's citizen tally is not touched
        return
    ticket = state.tickets.get(e.ticket_id)
    if ticket is not None:
        ticket.rating, ticket.rated_at = e.level, e.at
    tally = state.ratings
    tally.by_level[e.level] += 1
    tally.top_run[e.window] = tally.top_run[e.window] + 1 if e.level == TOP_LEVEL else 0
    if not tally.top_run[e.window]:
        tally.top_run_flagged.discard(e.window)  # a new run may be flagged again
    if e.level in BAD_LEVELS:
        tally.bad.append((e.at, e.number, e.window, e.level))


def _rating_flagged(state: HallState, e: ev.RatingFlagged) -> None:
    if e.flag == "top_run":
        state.ratings.top_run_flagged.add(e.window)
    state.ratings.flags.append(RatingFlag(e.at, e.rating_id, e.number, e.window, e.flag, e.detail))


def _rating_defaults_applied(state: HallState, e: ev.RatingDefaultsApplied) -> None:
    state.rating_defaults_done = max(e.source_day, state.rating_defaults_done or e.source_day)


def _window_paused(state: HallState, e: ev.WindowPaused) -> None:
    window = _window(state, e.window)
    window.paused, window.pause_reason = True, e.reason


def _window_resumed(state: HallState, e: ev.WindowResumed) -> None:
    window = _window(state, e.window)
    window.paused, window.pause_reason = False, None


def _window_opened(state: HallState, e: ev.WindowOpened) -> None:
    _window(state, e.window).open = True


def _window_closed(state: HallState, e: ev.WindowClosed) -> None:
    window = _window(state, e.window)
    window.open, window.paused, window.pause_reason = False, False, None
    _release_reserved(state, window)


def _window_services_changed(state: HallState, e: ev.WindowServicesChanged) -> None:
    window = _window(state, e.window)
    window.services, window.weights = e.services, dict(e.weights)
    window.policy = CallingPolicy(e.policy)
    _release_reserved(state, window)


def _notice_posted(state: HallState, e: ev.NoticePosted) -> None:
    state.notices[e.notice_id] = Notice(e.notice_id, e.text, e.level, e.at)
    state.next_notice_id = max(state.next_notice_id, e.notice_id + 1)


def _notice_cleared(state: HallState, e: ev.NoticeCleared) -> None:
    state.notices.pop(e.notice_id, None)


def _duty_leader_set(state: HallState, e: ev.DutyLeaderSet) -> None:
    state.duty_leader = (e.name, e.title) if e.name else None


def _window(state: HallState, number: int) -> WindowState:
    window = state.windows.get(number)
    if window is None:
        # A journal may name a window that a later config dropped; keep its history usable.
        window = WindowState(number, f"{number}号窗口", (), CallingPolicy.FIFO, {}, open=False)
        state.windows[number] = window
    return window


def _release_reserved(state: HallState, window: WindowState) -> None:
    """Tickets transferred to a window that closed or dropped their service go to any window."""
    for queue in state.waiting.values():
        for ticket in queue.values():
            if ticket.target_window == window.number and (
                not window.open or ticket.service not in window.services
            ):
                ticket.target_window = None


def _leave_queue(state: HallState, ticket: Ticket) -> None:
    state.waiting_in(ticket.service).pop(ticket.id, None)


def _sign_out(state: HallState, window: WindowState, at: dt.datetime, *, automatic: bool) -> None:
    for index in range(len(state.attendance) - 1, -1, -1):
        record = state.attendance[index]
        if record.window == window.number and record.signed_out_at is None:
            state.attendance[index] = Attendance(
                record.window,
                record.staff_id,
                record.staff_name,
                record.role,
                record.signed_in_at,
                at,
                automatic,
            )
            break
    window.staff_id = window.staff_name = window.staff_role = None
    window.staff_post, window.signed_in_at = "", None
    window.paused, window.pause_reason = False, None


_APPLY: dict[type[ev.Event], Callable[[HallState, Any], None]] = {
    ev.DayOpened: _day_opened,
    ev.DayClosed: _day_closed,
    ev.TicketIssued: _ticket_issued,
    ev.TicketPrinted: _ticket_printed,
    ev.TicketPrintFailed: _ticket_print_failed,
    ev.TicketVoided: _ticket_voided,
    ev.AppointmentBooked: _appointment_booked,
    ev.StaffSignedIn: _staff_signed_in,
    ev.StaffSignedOut: _staff_signed_out,
    ev.TemporaryStaffAdded: _temporary_staff_added,
    ev.TicketCalled: _ticket_called,
    ev.TicketRecalled: _ticket_recalled,
    ev.TicketNoShow: _ticket_no_show,
    ev.TicketTransferred: _ticket_transferred,
    ev.TicketFinished: _ticket_finished,
    ev.RatingInvited: _rating_invited,
    ev.KeyPressed: _key_pressed,
    ev.RatingRecorded: _rating_recorded,
    ev.RatingFlagged: _rating_flagged,
    ev.RatingDefaultsApplied: _rating_defaults_applied,
    ev.WindowPaused: _window_paused,
    ev.WindowResumed: _window_resumed,
    ev.WindowOpened: _window_opened,
    ev.WindowClosed: _window_closed,
    ev.WindowServicesChanged: _window_services_changed,
    ev.NoticePosted: _notice_posted,
    ev.NoticeCleared: _notice_cleared,
    ev.DutyLeaderSet: _duty_leader_set,
}
