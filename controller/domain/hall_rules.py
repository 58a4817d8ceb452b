"""The hall's rules as validated config types (services, windows, calendar, queue, ratings); pure."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from controller.domain.state import CallingPolicy
from controller.domain.strict import StrictModel
from controller.domain.values import ServiceCode, StaffId, StaffName, StaffPost

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def parse_hhmm(value: str) -> dt.time:
    """Parse "HH:MM" (24 h) into a time; raises ValueError naming the bad text."""
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        raise ValueError(f"expected a time as HH:MM (24-hour), got {value!r}")
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


HHMM = Annotated[dt.time, Field(description="local time as HH:MM")]


class TimeRange(StrictModel):
    """A span of local time within one day, start inclusive, end exclusive."""

    start: HHMM
    end: HHMM

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return parse_hhmm(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError(f"end {self.end:%H:%M} must be later than start {self.start:%H:%M}")
        return self

    def contains(self, moment: dt.time) -> bool:
        """True when `moment` lies in [start, end)."""
        return self.start <= moment < self.end


class DayHours(StrictModel):
    """Opening hours of one kind of day; no lunch means 午间不打烊."""

    open: HHMM
    close: HHMM
    lunch: TimeRange | None = None

    @field_validator("open", "close", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return parse_hhmm(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> DayHours:
        if self.close <= self.open:
            raise ValueError(f"close {self.close:%H:%M} must be later than open {self.open:%H:%M}")
        if self.lunch is not None and not (
            self.open < self.lunch.start and self.lunch.end < self.close
        ):
            raise ValueError(
                f"lunch break {self.lunch.start:%H:%M}-{self.lunch.end:%H:%M} lies outside "
                f"opening hours {self.open:%H:%M}-{self.close:%H:%M}"
            )
        return self


class HallIdentity(StrictModel):
    """Who the hall is: name, 行政区划 region code, department code, time zone."""

    name: str = Field(min_length=1)
    region_code: str = Field(pattern=r"^\d{6}$", description="6-digit 行政区划代码 (areaCode)")
    department_code: str = Field(min_length=1, description="deptCode in the rating exchange")
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value


class CalendarConfig(StrictModel):
    """Opening calendar: hours per weekday, holidays, 调休 working days, closing rules."""

    hours: dict[Weekday, DayHours]
    holidays: list[dt.date] = []
    extra_working_days: list[dt.date] = Field(default=[], description="调休 working days")
    extra_working_day_hours: Weekday = Field(default="mon", description="weekday whose hours apply")
    ticketing_cutoff_minutes: int = Field(default=30, ge=0, le=240)
    ticketing_during_lunch: bool = False
    serve_all_at_close: bool = True

    @model_validator(mode="after")
    def _template_day(self) -> CalendarConfig:
        if self.extra_working_day_hours not in self.hours:  # a weekday without hours
            raise ValueError(
                f"extra_working_day_hours = {self.extra_working_day_hours!r} has no hours set"
            )
        clash = sorted(set(self.holidays) & set(self.extra_working_days))
        if clash:
            raise ValueError(
                f"dates {[d.isoformat() for d in clash]} are both holidays and extra working days"
            )
        return self


class SlotQuota(TimeRange):
    """At most `quota` tickets issued for a service inside this time slot."""

    quota: int = Field(ge=0)


class ServiceConfig(StrictModel):
    """One service (事项类别) with its own queue, prefix letter and daily sequence."""

    code: ServiceCode
    name: str = Field(min_length=1)
    prefix: str = Field(pattern=r"^[A-Z]$", description="ticket prefix letter, A001…")
    daily_quota: int = Field(default=999, ge=1, le=999)
    slot_quotas: list[SlotQuota] = []
    ticketing_hours: list[TimeRange] = Field(default=[], description="empty: the hall's hours")
    average_service_minutes: float = Field(default=10.0, gt=0, le=240)
    item_code: str = Field(default="", description="事项编码 (taskCode)")
    materials: list[str] = Field(default=[], description="一次性告知 required materials")
    outcome_required: bool = False


class StaffConfig(StrictModel):
    """A staff member on a window's roster (AB角): public name and post for 亮牌上岗."""

    id: StaffId
    name: StaffName
    role: Literal["A", "B"]
    post: StaffPost = ""


class WindowConfig(StrictModel):
    """One window (窗口): the services it serves, how it picks among them, its A/B staff."""

    number: int = Field(ge=1, le=999)
    name: str = Field(min_length=1)
    services: list[str] = Field(min_length=1)
    policy: CallingPolicy = CallingPolicy.FIFO
    weights: dict[str, int] = {}
    staff: list[StaffConfig] = []
    open: bool = True


class PriorityLaneConfig(StrictModel):
    """绿色通道: who qualifies for the priority lane."""

    enabled: bool = True
    age_threshold: int = Field(default=60, ge=50, le=90)
    categories: list[str] = ["老年人", "残疾人", "孕妇", "重点项目"]


class AppointmentConfig(StrictModel):
    """Appointment check-in window around the booked slot."""

    enabled: bool = True
    early_checkin_minutes: int = Field(default=30, ge=0, le=240)
    late_grace_minutes: int = Field(default=15, ge=0, le=240)
    late_policy: Literal["normal", "refuse"] = "normal"


class QueueRules(StrictModel):
    """Recall limit, no-show re-queue policy, SLA escalation, rating invitation time."""

    recall_limit: int = Field(default=2, ge=0, le=10)
    no_show_policy: Literal["requeue", "drop"] = "requeue"
    requeue_after: int = Field(default=3, ge=0, le=100, description="back after K tickets")
    max_requeues: int = Field(default=1, ge=0, le=10)
    escalation_minutes: int = Field(default=30, ge=1, le=600)
    rating_invitation_seconds: int = Field(default=120, ge=10, le=3600)
    estimate_sample_size: int = Field(default=20, ge=1, le=500)

    @property
    def escalation(self) -> dt.timedelta:
        """A ticket waiting longer than this is called first (SLA escalation)."""
        return dt.timedelta(minutes=self.escalation_minutes)


class RatingRules(StrictModel):
    """好差评 rules at the keypad: anomaly flags against self-rating, and the optional default."""

    fast_rating_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="flag a rating pressed sooner than this after finish (or a later invitation)",
    )
    late_invitation_seconds: float = Field(
        default=60.0,
        ge=10,
        le=3600,
        description="flag a rating whose invitation was opened this long after finish",
    )
    top_run_min: int = Field(
        default=8, ge=2, le=1000, description="shortest run of 非常满意 at one window to flag"
    )
    top_run_probability: float = Field(
        default=0.001,
        gt=0,
        lt=1,
        description="flag the run when its chance at the window's baseline share is below this",
    )
    top_run_lookback: int = Field(
        default=200,
        ge=1,
        le=5000,
        description="the window's baseline: at most this many of its ratings today before the run",
    )
    top_run_min_history: int = Field(
        default=20,
        ge=1,
        le=5000,
        description="with fewer ratings before the run, the hall prior is the baseline",
    )
    top_run_prior_share: float = Field(
        default=0.6,
        gt=0,
        lt=1,
        description="the hall's expected share of 非常满意 when a window has too little history",
    )
    default_after_days: int | None = Field(
        default=None, ge=1, le=60, description="广东: unrated after 7 days counts as a default"
    )
    default_level: Literal["very_satisfied", "satisfied", "basically_satisfied"] = (
        "basically_satisfied"
    )


class AlertThresholds(StrictModel):
    """Floor alerts shown to the floor manager."""

    max_waiting_per_window: int = Field(default=10, ge=1)
    max_wait_minutes: int = Field(default=30, ge=1)
    target_average_wait_minutes: int = Field(default=15, ge=1)


class PrivacyConfig(StrictModel):
    """Privacy options: what personal data is shown or stored."""

    show_masked_name_on_screens: bool = False
    store_appointment_phone: Literal["masked", "none"] = "masked"


class PressTimeConfig(StrictModel):
    """How far a keypad's own press time is trusted (keypad-mqtt.md, keypad-serial.md: "Press time")."""

    max_delay_seconds: float = Field(
        default=900.0,
        ge=0,
        le=86_400,
        description="a press stamped at most this long before it arrived is judged at its stamp "
        "(an outage of the broker or Wi-Fi); older stamps are judged at arrival",
    )
    max_skew_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="a stamp up to this far after the arrival is taken as the arrival (clock "
        "drift since the last ack); further ahead is judged at arrival",
    )


class KeypadRules(StrictModel):
    """What the rating rules need of the keypads: how far a press's own time is trusted."""

    press_time: PressTimeConfig = PressTimeConfig()


class HallRules(StrictModel):
    """The rules of a hall the engine runs by: identity, calendar, services, windows, queue, ratings."""

    hall: HallIdentity
    calendar: CalendarConfig
    services: list[ServiceConfig] = Field(min_length=1)
    windows: list[WindowConfig] = Field(min_length=1)
    priority_lane: PriorityLaneConfig = PriorityLaneConfig()
    appointments: AppointmentConfig = AppointmentConfig()
    queue: QueueRules = QueueRules()
    ratings: RatingRules = RatingRules()
    alerts: AlertThresholds = AlertThresholds()
    privacy: PrivacyConfig = PrivacyConfig()
    keypads: KeypadRules = KeypadRules()

    @property
    def zone(self) -> ZoneInfo:
        """The hall's own time zone."""
        return ZoneInfo(self.hall.timezone)

    def service(self, code: str) -> ServiceConfig | None:
        """The service with this code, or None."""
        return next((s for s in self.services if s.code == code), None)

    def window(self, number: int) -> WindowConfig | None:
        """The window with this number, or None."""
        return next((w for w in self.windows if w.number == number), None)
