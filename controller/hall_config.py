"""Schema of a hall configuration file (config/*.toml), validated with pydantic at start-up."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from controller.device_settings import (
    KeypadsConfig,
    KioskConfig,
    SatisfactionPushConfig,
    ScreenConfig,
)
from controller.server_limits import ServerLimits
from controller.sim_behaviour import Behaviour
from controller.values import ServiceCode, StaffId, StaffName, StaffPost
from devices.led_config import LedDisplaysConfig
from devices.voice_config import VoiceConfig

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeRange(_Strict):
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


class DayHours(_Strict):
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


class HallIdentity(_Strict):
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


class CalendarConfig(_Strict):
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


class ServiceConfig(_Strict):
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


class StaffConfig(_Strict):
    """A staff member on a window's roster (AB角): public name and post for 亮牌上岗."""

    id: StaffId
    name: StaffName
    role: Literal["A", "B"]
    post: StaffPost = ""


class WindowConfig(_Strict):
    """One window (窗口): the services it serves, how it picks among them, its A/B staff."""

    number: int = Field(ge=1, le=999)
    name: str = Field(min_length=1)
    services: list[str] = Field(min_length=1)
    policy: Literal["fifo", "order", "weighted"] = "fifo"
    weights: dict[str, int] = {}
    staff: list[StaffConfig] = []
    open: bool = True


class PriorityLaneConfig(_Strict):
    """绿色通道: who qualifies for the priority lane."""

    enabled: bool = True
    age_threshold: int = Field(default=60, ge=50, le=90)
    categories: list[str] = ["老年人", "残疾人", "孕妇", "重点项目"]


class AppointmentConfig(_Strict):
    """Appointment check-in window around the booked slot."""

    enabled: bool = True
    early_checkin_minutes: int = Field(default=30, ge=0, le=240)
    late_grace_minutes: int = Field(default=15, ge=0, le=240)
    late_policy: Literal["normal", "refuse"] = "normal"


class QueueRules(_Strict):
    """Recall limit, no-show re-queue policy, SLA escalation, rating invitation time."""

    recall_limit: int = Field(default=2, ge=0, le=10)
    no_show_policy: Literal["requeue", "drop"] = "requeue"
    requeue_after: int = Field(default=3, ge=0, le=100, description="back after K tickets")
    max_requeues: int = Field(default=1, ge=0, le=10)
    escalation_minutes: int = Field(default=30, ge=1, le=600)
    rating_invitation_seconds: int = Field(default=120, ge=10, le=3600)
    estimate_sample_size: int = Field(default=20, ge=1, le=500)


class RatingRules(_Strict):
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


class AlertThresholds(_Strict):
    """Floor alerts shown to the floor manager."""

    max_waiting_per_window: int = Field(default=10, ge=1)
    max_wait_minutes: int = Field(default=30, ge=1)
    target_average_wait_minutes: int = Field(default=15, ge=1)


class PrinterConfig(_Strict):
    """A thermal ticket printer at a ticket machine (取号机)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    machine: str = Field(default="entrance", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    url: str = Field(
        min_length=1,
        description="socket://HOST:9100, a serial device or pyserial URL, usb:VID:PID, file:PATH",
    )
    paper_mm: Literal[58, 80] = 80
    chinese_font: bool = Field(default=True, description="false: Chinese lines print as raster")
    status: Literal["query", "none"] = Field(
        default="query", description="none: the printer cannot answer DLE EOT (file printers)"
    )
    baudrate: int = Field(default=9600, ge=1200, le=921600)
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    simulate: bool = Field(
        default=False, description="a simulated twin in its place, also without --simulate"
    )


class TicketText(_Strict):
    """What a printed ticket says besides the number."""

    footer: str = "请妥善保管本票，过号请重新取号"
    status_url: str = Field(
        default="", description="base URL of the ticket status page for the QR code; empty: no QR"
    )
    print_materials: bool = True


class PrivacyConfig(_Strict):
    """Privacy options: what personal data is shown or stored."""

    show_masked_name_on_screens: bool = False
    store_appointment_phone: Literal["masked", "none"] = "masked"


class TokenConfig(_Strict):
    """An API bearer token, stored as its SHA-256 hex digest, never in clear."""

    name: str = Field(min_length=1)
    role: Literal["admin", "floor_manager", "window_staff", "kiosk", "display"]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    window: int | None = None

    @model_validator(mode="after")
    def _window_for_staff(self) -> TokenConfig:
        if self.role == "window_staff" and self.window is None:
            raise ValueError("a window_staff token must name its window")
        if self.role != "window_staff" and self.window is not None:
            raise ValueError("only a window_staff token may name a window")
        return self


class AuthConfig(_Strict):
    """API tokens; an admin token may also come from HALLCTL_ADMIN_TOKEN."""

    tokens: list[TokenConfig] = []


class HallConfig(_Strict):
    """A whole hall configuration, cross-checked (windows name known services, prefixes unique)."""

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
    auth: AuthConfig = AuthConfig()
    printers: list[PrinterConfig] = []
    tickets: TicketText = TicketText()
    kiosk: KioskConfig = KioskConfig()
    led: LedDisplaysConfig = LedDisplaysConfig()
    voice: VoiceConfig = VoiceConfig()
    keypads: KeypadsConfig = KeypadsConfig()
    screen: ScreenConfig = ScreenConfig()
    satisfaction: SatisfactionPushConfig = SatisfactionPushConfig()
    server: ServerLimits = ServerLimits()
    simulation: Behaviour = Behaviour()

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
