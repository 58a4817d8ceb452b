"""Commands: what devices, staff and the floor manager ask the engine to do."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """Base of every command."""


@dataclass(frozen=True)
class Tick(Command):
    """Time passed: lets the engine roll the day over without any other command."""


@dataclass(frozen=True)
class IssueTicket(Command):
    """Issue a ticket for a service in the normal or priority (绿色通道) lane."""

    service: str
    lane: str = "normal"
    priority_reason: str | None = None
    needs_print: bool = False


@dataclass(frozen=True)
class ConfirmPrinted(Command):
    """The printer confirmed a reserved ticket's paper; it joins the queue."""

    ticket_id: str
    printer: str


@dataclass(frozen=True)
class RecordPrintFailure(Command):
    """A printer failed on a reserved ticket; staff will reprint or void it."""

    ticket_id: str
    printer: str
    reason: str


@dataclass(frozen=True)
class VoidTicket(Command):
    """Void a ticket whose paper never reached the citizen."""

    ticket_id: str
    reason: str


@dataclass(frozen=True)
class BookAppointment(Command):
    """Book an appointment slot (from the online booking system); name and phone get masked."""

    code: str
    service: str
    slot_start: dt.datetime
    name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class CheckInAppointment(Command):
    """Check in a booked appointment by its code; it joins the queue at its slot."""

    code: str
    needs_print: bool = False


@dataclass(frozen=True)
class PressKey(Command):
    """A window keypad key press (评价器): logged always, then run as the key's command."""

    device_id: str
    boot_id: str
    seq: int
    window: int
    key: str  # devices.keypad.keypad.KeypadKey value
    rating: str | None = None  # controller.domain.ratings.RatingLevel value, for the "rate" key
    reasons: tuple[str, ...] = ()
    argument: str | None = None
    raw: str = ""
    reasons_table: int | None = None  # the reason table version the keypad declared
    refused: str | None = None  # set when the keypad driver already refused it (logged only)
    pressed_at: dt.datetime | None = None  # the keypad's stamp, on the controller's clock


@dataclass(frozen=True)
class UnratedTicket:
    """A finished ticket nobody rated, as the journal of its day has it."""

    ticket_id: str
    number: str
    window: int
    staff_id: str
    service: str
    finished_at: dt.datetime


@dataclass(frozen=True)
class ApplyRatingDefaults(Command):
    """Record the configured default for `source_day`'s unrated tickets (flagged, channel 7)."""

    source_day: dt.date
    tickets: tuple[UnratedTicket, ...]


@dataclass(frozen=True)
class WindowCommand(Command):
    """A command addressed to one window."""

    window: int


@dataclass(frozen=True)
class SignIn(WindowCommand):
    """Staff signs in at the window in role A or B (AB角)."""

    staff_id: str
    role: str
    own_roster_only: bool = False  # a window token: only staff rostered for this window


@dataclass(frozen=True)
class SignOut(WindowCommand):
    """Staff signs out of the window."""


@dataclass(frozen=True)
class CallNext(WindowCommand):
    """Call the next ticket by the calling rule; finishes the current one when allowed."""


@dataclass(frozen=True)
class Recall(WindowCommand):
    """Call the current ticket again; past the recall limit it becomes a no-show."""


@dataclass(frozen=True)
class NoShow(WindowCommand):
    """The called citizen did not come (过号)."""


@dataclass(frozen=True)
class Pause(WindowCommand):
    """Pause the window (暂停服务) with a reason."""

    reason: str


@dataclass(frozen=True)
class Resume(WindowCommand):
    """Resume a paused window."""


@dataclass(frozen=True)
class Transfer(WindowCommand):
    """Transfer the current ticket (转办) to another service and/or a specific window."""

    to_service: str | None = None
    to_window: int | None = None


@dataclass(frozen=True)
class Finish(WindowCommand):
    """Finish the current ticket, with a case outcome where the service requires one."""

    outcome: str | None = None
    case_number: str | None = None  # 办件编号 from the business system (exchange projectNo)


@dataclass(frozen=True)
class InviteRating(WindowCommand):
    """Invite the citizen to rate (current or just-finished ticket) on the keypad."""


@dataclass(frozen=True)
class OpenWindow(WindowCommand):
    """Floor manager opens a window."""


@dataclass(frozen=True)
class CloseWindow(WindowCommand):
    """Floor manager closes a window (its staff is signed out)."""


@dataclass(frozen=True)
class SetWindowServices(WindowCommand):
    """Floor manager changes a window's services, policy and weights live."""

    services: tuple[str, ...]
    policy: str = "fifo"  # a CallingPolicy value; checked by the engine
    weights: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class PostNotice(Command):
    """Post a notice on every screen; level "normal" or "emergency"."""

    text: str
    level: str = "normal"


@dataclass(frozen=True)
class ClearNotice(Command):
    """Take a notice down."""

    notice_id: int


@dataclass(frozen=True)
class AddTemporaryStaff(Command):
    """Floor manager adds a temporary staff member (临时人员) to today's roster, for a window."""

    staff_id: str
    name: str
    post: str
    window: int


@dataclass(frozen=True)
class SetDutyLeader(Command):
    """Set the duty leader (值班领导) shown on screens; empty name clears it."""

    name: str
    title: str = ""
