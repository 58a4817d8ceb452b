"""The hall's live state as plain data; only `controller.domain.reducer.apply` changes it."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter, deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TicketStatus(StrEnum):
    """Where a ticket is in its life."""

    WAITING = "waiting"
    CALLED = "called"
    FINISHED = "finished"
    NO_SHOW = "no_show"
    EXPIRED = "expired"
    PRINTING = "printing"
    PRINT_FAILED = "print_failed"
    VOID = "void"


# Tickets a citizen may not hold yet: never in a queue, never called.
UNPRINTED = frozenset({TicketStatus.PRINTING, TicketStatus.PRINT_FAILED})


class Lane(StrEnum):
    """Queue lane: normal, priority (绿色通道) or appointment (预约)."""

    NORMAL = "normal"
    PRIORITY = "priority"
    APPOINTMENT = "appointment"


class CallingPolicy(StrEnum):
    """How a window serving several services chooses among them (controller/domain/calling.py)."""

    FIFO = "fifo"
    ORDER = "order"
    WEIGHTED = "weighted"

    @property
    def label(self) -> str:
        """The name the floor manager reads."""
        return _POLICY_LABELS[self]


_POLICY_LABELS = {
    CallingPolicy.FIFO: "先到先叫",
    CallingPolicy.ORDER: "按业务顺序优先",
    CallingPolicy.WEIGHTED: "按权重轮叫",
}


class WindowStatus(StrEnum):
    """What a window is doing, as the screens and the floor manager see it."""

    CLOSED = "closed"
    SIGNED_OUT = "signed_out"
    PAUSED = "paused"
    IDLE = "idle"
    SERVING = "serving"

    @property
    def label(self) -> str:
        """The name the floor manager reads."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    WindowStatus.SERVING: "办理中",
    WindowStatus.IDLE: "空闲",
    WindowStatus.PAUSED: "暂停",
    WindowStatus.SIGNED_OUT: "未签到",
    WindowStatus.CLOSED: "未开放",
}


class Outcome(StrEnum):
    """Case outcome recorded at finish (六件分类)."""

    IMMEDIATE = "即办件"
    PROMISED = "承诺件"
    SUPPLEMENT = "补办件"
    JOINT = "联办件"
    REJECTED = "驳回件"
    ESCALATED = "上报件"


@dataclass
class Ticket:
    """One numbered ticket; `queue_at` orders it in its queue (kept across transfers)."""

    id: str
    number: str
    service: str
    lane: Lane
    issued_at: dt.datetime
    queue_at: dt.datetime
    order: int
    status: TicketStatus = TicketStatus.WAITING
    window: int | None = None
    target_window: int | None = None
    first_called_at: dt.datetime | None = None
    called_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    recall_count: int = 0
    no_show_count: int = 0
    transfer_count: int = 0
    staff_id: str | None = None
    outcome: str | None = None
    rating_invited_at: dt.datetime | None = None
    rating_invited_until: dt.datetime | None = None
    rating: str | None = None
    rated_at: dt.datetime | None = None
    priority_reason: str | None = None
    appointment_code: str | None = None
    slot_start: dt.datetime | None = None
    rank: int = 0
    printed: bool | None = None  # None: no paper involved; False until the printer confirms
    printer: str | None = None
    print_failure: str | None = None

    @property
    def sort_key(self) -> tuple[dt.datetime, int, int, str]:
        """Position in the queue: queue_at, issue order, then behind the ticket it follows."""
        return (self.queue_at, self.order, self.rank, self.id)


@dataclass
class WindowState:
    """One window's live state."""

    number: int
    name: str
    services: tuple[str, ...]
    policy: CallingPolicy
    weights: dict[str, int]
    open: bool = True
    staff_id: str | None = None
    staff_name: str | None = None
    staff_role: str | None = None
    staff_post: str = ""
    signed_in_at: dt.datetime | None = None
    paused: bool = False
    pause_reason: str | None = None
    current: str | None = None
    last_finished: str | None = None
    # Tickets invited to rate at this window, oldest first (controller/domain/invitations.py): an
    # invitation outlives the next call, a pause and a sign-out; it ends when it expires or
    # its citizen has rated.
    invitations: list[str] = field(default_factory=list)
    calls_by_service: Counter[str] = field(default_factory=Counter)

    @property
    def status(self) -> WindowStatus:
        """What the window is doing now."""
        if not self.open:
            return WindowStatus.CLOSED
        if self.staff_id is None:
            return WindowStatus.SIGNED_OUT
        if self.paused:
            return WindowStatus.PAUSED
        return WindowStatus.SERVING if self.current else WindowStatus.IDLE


@dataclass
class Appointment:
    """A booked appointment; personal data is held masked only."""

    code: str
    service: str
    slot_start: dt.datetime
    name_masked: str
    phone_masked: str
    ticket_id: str | None = None


@dataclass(frozen=True)
class Attendance:
    """One sign-in at a window (考勤); `signed_out_at` None while on duty."""

    window: int
    staff_id: str
    staff_name: str
    role: str
    signed_in_at: dt.datetime
    signed_out_at: dt.datetime | None = None
    automatic_out: bool = False


@dataclass(frozen=True)
class CallRecord:
    """A call shown on the screens' recent-calls list."""

    number: str
    window: int
    at: dt.datetime
    recall: bool


@dataclass(frozen=True)
class Notice:
    """A notice on the screens."""

    id: int
    text: str
    level: str
    at: dt.datetime


@dataclass(frozen=True)
class TemporaryStaff:
    """A staff member on today's roster only, added by the floor manager for one window."""

    id: str
    name: str
    post: str
    window: int


@dataclass
class RatingFlag:
    """A flagged rating, for the floor manager."""

    at: dt.datetime
    rating_id: str
    number: str
    window: int
    flag: str
    detail: str


@dataclass
class RatingTally:
    """Today's ratings: counts by level, runs of top ratings per window, flags, recent 差评."""

    by_level: Counter[str] = field(default_factory=Counter)
    top_run: Counter[int] = field(default_factory=Counter)
    top_run_flagged: set[int] = field(default_factory=set)  # windows whose current run is flagged
    flags: list[RatingFlag] = field(default_factory=list)
    bad: deque[tuple[dt.datetime, str, int, str]] = field(default_factory=lambda: deque(maxlen=50))

    @property
    def total(self) -> int:
        """Ratings today."""
        return sum(self.by_level.values())


@dataclass
class HallState:
    """Everything the engine knows; changed only by `apply`."""

    day: dt.date | None = None
    tickets: dict[str, Ticket] = field(default_factory=dict)
    waiting: dict[str, dict[str, Ticket]] = field(default_factory=dict)
    windows: dict[int, WindowState] = field(default_factory=dict)
    sequences: Counter[str] = field(default_factory=Counter)
    issue_times: dict[str, list[dt.datetime]] = field(default_factory=dict)
    appointments: dict[str, Appointment] = field(default_factory=dict)
    attendance: list[Attendance] = field(default_factory=list)
    recent_calls: deque[CallRecord] = field(default_factory=lambda: deque(maxlen=20))
    notices: dict[int, Notice] = field(default_factory=dict)
    next_notice_id: int = 1
    duty_leader: tuple[str, str] | None = None
    temporary_staff: dict[str, TemporaryStaff] = field(default_factory=dict)
    service_seconds: dict[str, deque[int]] = field(default_factory=dict)
    ratings: RatingTally = field(default_factory=RatingTally)
    rating_defaults_done: dt.date | None = None  # the last day whose unrated tickets defaulted
    issue_order: int = 0

    def waiting_in(self, service: str) -> dict[str, Ticket]:
        """The waiting tickets of a service, by id."""
        return self.waiting.setdefault(service, {})

    def issued_between(self, service: str, start: dt.datetime, end: dt.datetime) -> int:
        """How many tickets of a service were issued in [start, end) today."""
        times = self.issue_times.get(service, [])
        return bisect.bisect_left(times, end) - bisect.bisect_left(times, start)


def ticket_result(ticket: Ticket, *, ahead: int | None, minutes: int | None) -> dict[str, Any]:
    """The result fields every ticket-returning command shares."""
    result: dict[str, Any] = {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service,
        "lane": ticket.lane.value,
        "status": ticket.status.value,
    }
    if ahead is not None:
        result["ahead"] = ahead
    if minutes is not None:
        result["estimated_wait_minutes"] = minutes
    return result
