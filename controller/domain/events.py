"""Events: the facts the engine emits and journals; state is rebuilt by applying them in order.

Their JSON form (the journal, the live stream) is in controller.app.event_codec.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from typing import ClassVar


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event: `at` is the hall-local moment it happened."""

    kind: ClassVar[str] = "event"
    at: dt.datetime


EVENT_KINDS: dict[
    str, type[Event]
] = {}  # every event class by its kind (controller.app.event_codec)


_E = typing.TypeVar("_E", bound=type[Event])


def _register(cls: _E) -> _E:
    cls.kind = cls.__name__
    EVENT_KINDS[cls.kind] = cls
    return cls


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class DayOpened(Event):
    """A new hall day starts: sequences restart at 1."""

    day: dt.date


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class DayClosed(Event):
    """The day ends; tickets still open are expired (未办结), staff are signed out."""

    day: dt.date
    expired: tuple[str, ...]
    signed_out: tuple[int, ...]


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketIssued(Event):
    """A ticket was issued (or an appointment checked in) and joined its service's queue."""

    ticket_id: str
    number: str
    service: str
    lane: str
    sequence: int
    queue_at: dt.datetime
    ahead: int
    estimated_wait_minutes: int
    priority_reason: str | None = None
    appointment_code: str | None = None
    slot_start: dt.datetime | None = None
    needs_print: bool = False


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketPrinted(Event):
    """The printer confirmed the paper ticket; only now does it join its queue."""

    ticket_id: str
    number: str
    printer: str


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketPrintFailed(Event):
    """A printer failed to print the ticket; it waits for staff to reprint or void it."""

    ticket_id: str
    number: str
    printer: str
    reason: str


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketVoided(Event):
    """Staff voided a ticket that never reached the citizen (作废); its number is not reused."""

    ticket_id: str
    number: str
    reason: str


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class AppointmentBooked(Event):
    """An appointment was booked for a service slot; personal data arrives masked."""

    code: str
    service: str
    slot_start: dt.datetime
    name_masked: str
    phone_masked: str


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class StaffSignedIn(Event):
    """A staff member signed in at a window in role A or B (attendance record)."""

    window: int
    staff_id: str
    staff_name: str
    role: str
    post: str


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class StaffSignedOut(Event):
    """A staff member signed out; `automatic` when closing the window or the day did it."""

    window: int
    staff_id: str
    automatic: bool = False


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketCalled(Event):
    """A window called a ticket; `rule` says why this ticket was chosen."""

    ticket_id: str
    number: str
    window: int
    rule: str


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketRecalled(Event):
    """The window called its current ticket again (count starts at 1)."""

    ticket_id: str
    number: str
    window: int
    recall_count: int


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketNoShow(Event):
    """The called citizen did not come (过号): re-queued at `requeue_at`, or dropped when None.

    A re-queued ticket goes right behind the ticket `follows` (K places back), if named.
    """

    ticket_id: str
    number: str
    window: int
    requeue_at: dt.datetime | None
    automatic: bool = False
    follows: str | None = None


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketTransferred(Event):
    """首问负责 transfer: the ticket keeps its place (queue_at) in another service or window."""

    ticket_id: str
    number: str
    from_window: int
    to_service: str
    to_window: int | None


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketFinished(Event):
    """The window finished serving a ticket, with the case outcome (办件类型) where required."""

    ticket_id: str
    number: str
    window: int
    staff_id: str
    outcome: str | None
    service_seconds: int
    case_number: str | None = None  # 办件编号 (projectNo); journals before it have none


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class RatingInvited(Event):
    """The window invited a rating for this ticket; the keypad accepts one until `until`."""

    ticket_id: str
    window: int
    until: dt.datetime


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class KeyPressed(Event):
    """Every keypad press, accepted or not (append-only log against self-rating, 擅自按键)."""

    device_id: str
    boot_id: str
    seq: int
    window: int
    staff_id: str | None
    window_state: str
    ticket_id: str | None
    key: str
    rating: str | None
    raw: str
    outcome: str  # "ok" or the rejection reason


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class RatingRecorded(Event):
    """A citizen rated a finished ticket on the keypad: the record the exchange needs."""

    rating_id: str
    ticket_id: str
    number: str
    window: int
    staff_id: str
    service: str
    item_code: str
    department_code: str
    region_code: str
    level: str
    reasons: tuple[str, ...]
    reason_table: str
    channel: str
    assess_number: int
    device_id: str
    finished_at: dt.datetime
    system_default: bool = False  # 默认好评 after the configured days; never in 评价率


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class RatingDefaultsApplied(Event):
    """The configured default was recorded for one past day's unrated tickets."""

    source_day: dt.date
    count: int


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class RatingFlagged(Event):
    """A rating looks made by someone other than the citizen; the floor manager must look."""

    rating_id: str
    ticket_id: str
    number: str
    window: int
    staff_id: str
    flag: str  # fast_after_finish, staff_absent, top_run
    detail: str


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class WindowPaused(Event):
    """A window paused (暂停服务) with a reason; `waiting` people were waiting for it."""

    window: int
    reason: str
    waiting: int


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class WindowResumed(Event):
    """A paused window resumed service."""

    window: int


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class WindowOpened(Event):
    """The floor manager opened a window."""

    window: int


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class WindowClosed(Event):
    """The floor manager closed a window."""

    window: int


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class WindowServicesChanged(Event):
    """The floor manager changed which services a window serves, and how it picks."""

    window: int
    services: tuple[str, ...]
    policy: str
    weights: dict[str, int]


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class TemporaryStaffAdded(Event):
    """A temporary staff member joined today's roster for a window (until the day closes)."""

    staff_id: str
    name: str
    post: str
    window: int


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class NoticePosted(Event):
    """A notice for every screen; level "emergency" takes the screens over."""

    notice_id: int
    text: str
    level: str


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class NoticeCleared(Event):
    """A notice was taken down."""

    notice_id: int


@_register
@dataclasses.dataclass(frozen=True, kw_only=True)
class DutyLeaderSet(Event):
    """The duty leader (值班领导) shown on the screens changed."""

    name: str
    title: str
