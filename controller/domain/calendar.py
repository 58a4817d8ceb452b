"""The hall's opening calendar: hours per day, holidays, 调休, and when tickets may be issued."""

from __future__ import annotations

import datetime as dt

from controller.domain.hall_rules import WEEKDAYS, CalendarConfig, DayHours, ServiceConfig


class HallCalendar:
    """Answers calendar questions in the hall's local time; `now` is always passed in."""

    def __init__(self, config: CalendarConfig) -> None:
        self._config = config
        self._holidays = frozenset(config.holidays)
        self._extra = frozenset(config.extra_working_days)

    @property
    def config(self) -> CalendarConfig:
        """The calendar config this was built from."""
        return self._config

    def hours_on(self, day: dt.date) -> DayHours | None:
        """The opening hours on that date, or None when the hall is closed all day."""
        if day in self._extra:
            return self._config.hours[self._config.extra_working_day_hours]
        if day in self._holidays:
            return None
        return self._config.hours.get(WEEKDAYS[day.weekday()])

    def is_working_day(self, day: dt.date) -> bool:
        """True when the hall opens on that date."""
        return self.hours_on(day) is not None

    def add_working_days(self, start: dt.date, count: int) -> dt.date:
        """The date `count` working days after `start` (for 差评 rectification deadlines)."""
        day = start
        remaining = count
        while remaining > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def ticketing_refusal(self, service: ServiceConfig, now: dt.datetime) -> tuple[str, str] | None:
        """Why a ticket for this service cannot be issued now, as (code, 中文说明), or None."""
        hours = self.hours_on(now.date())
        moment = now.time()
        if hours is None:
            return ("closed_today", "今日不办公，请在工作日前来办理")
        cutoff = _minus_minutes(hours.close, self._config.ticketing_cutoff_minutes)
        if moment < hours.open:
            return ("before_opening", f"尚未开始取号，取号时间 {hours.open:%H:%M} 起")
        if moment >= cutoff:
            return ("after_cutoff", f"今日取号已结束（{cutoff:%H:%M} 停止取号），请下个工作日前来")
        if (
            hours.lunch is not None
            and not self._config.ticketing_during_lunch
            and hours.lunch.contains(moment)
        ):
            return ("lunch_break", f"午间休息暂停取号，{hours.lunch.end:%H:%M} 恢复取号")
        if service.ticketing_hours and not any(r.contains(moment) for r in service.ticketing_hours):
            spans = "、".join(f"{r.start:%H:%M}-{r.end:%H:%M}" for r in service.ticketing_hours)
            return ("outside_service_hours", f"{service.name}取号时间为 {spans}")
        return None

    def is_open_at(self, now: dt.datetime) -> bool:
        """True between opening and closing (lunch included) on a working day."""
        hours = self.hours_on(now.date())
        return hours is not None and hours.open <= now.time() < hours.close


def _minus_minutes(moment: dt.time, minutes: int) -> dt.time:
    total = max(0, moment.hour * 60 + moment.minute - minutes)
    return dt.time(total // 60, total % 60)
