"""Appointments (预约办理): booking with masked personal data, check-in around the slot."""

from __future__ import annotations

import datetime as dt

import pytest

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Engine
from controller.domain.errors import NotFound
from controller.domain.state import Lane
from controller.settings.hall_config import HallConfig
from tests.engine_helpers import At, call, issue, kinds, ok, refused, sign_in, tuned

TUESDAY = dt.date(2026, 11, 24)


# --- appointments: booking -------------------------------------------------------------------


def book(
    engine: Engine, code: str, slot: dt.datetime, now: dt.datetime, service: str = "SB"
) -> None:
    ok(engine.handle(cmd.BookAppointment(code, service, slot, "张小三", "13812341234"), now))


def test_booking_stores_only_masked_personal_data(engine: Engine, at: At) -> None:
    decision = ok(
        engine.handle(
            cmd.BookAppointment("YY-0001", "SB", at("10:00"), "张小三", "138-1234-1234"),
            at("08:00"),
        )
    )
    assert kinds(decision) == ["DayOpened", "AppointmentBooked"]
    booked = decision.events[-1]
    assert isinstance(booked, ev.AppointmentBooked)
    assert (booked.name_masked, booked.phone_masked) == ("张*三", "138****1234")
    stored = engine.state.appointments["YY-0001"]
    assert (stored.name_masked, stored.phone_masked, stored.slot_start) == (
        "张*三",
        "138****1234",
        at("10:00"),
    )
    everything = repr(decision.events) + repr(engine.state)
    for clear in ("张小三", "13812341234", "138-1234-1234"):
        assert clear not in everything


def test_booking_without_phone_storage(hall_config: HallConfig, at: At) -> None:
    engine = Engine(tuned(hall_config, privacy={"store_appointment_phone": "none"}))
    ok(
        engine.handle(
            cmd.BookAppointment("YY-0002", "SB", at("10:00"), "李四", "13900001111"), at("08:00")
        )
    )
    stored = engine.state.appointments["YY-0002"]
    assert (stored.name_masked, stored.phone_masked) == ("李*", "")
    assert "13900001111" not in repr(engine.state)


@pytest.mark.parametrize(
    ("code", "service", "slot", "reason"),
    [
        ("ab", "SB", "10:00", "bad_code"),
        ("bad code!", "SB", "10:00", "bad_code"),
        ("YY-0003", "XX", "10:00", "unknown_service"),
        ("YY-0003", "SB", "08:59", "slot_in_past"),
    ],
)
def test_booking_refusals(
    engine: Engine, at: At, *, code: str, service: str, slot: str, reason: str
) -> None:
    refused(engine.handle(cmd.BookAppointment(code, service, at(slot)), at("09:00")), reason)
    assert not engine.state.appointments


def test_booking_refuses_duplicates_and_naive_slots(engine: Engine, at: At) -> None:
    book(engine, "YY-0004", at("10:00"), at("09:00"))
    refused(
        engine.handle(cmd.BookAppointment("YY-0004", "YB", at("11:00")), at("09:01")),
        "appointment_exists",
    )
    naive = dt.datetime(2026, 11, 23, 11, 0)
    refused(engine.handle(cmd.BookAppointment("YY-0005", "SB", naive), at("09:02")), "naive_time")
    assert set(engine.state.appointments) == {"YY-0004"}
    assert engine.state.appointments["YY-0004"].service == "SB"


# --- appointments: check-in ------------------------------------------------------------------


def test_check_in_window_around_the_slot(engine: Engine, at: At) -> None:
    book(engine, "YY-0010", at("10:00"), at("08:40"))
    refused(engine.handle(cmd.CheckInAppointment("YY-0010"), at("09:29")), "too_early")
    decision = ok(engine.handle(cmd.CheckInAppointment("YY-0010"), at("09:30")))
    assert kinds(decision) == ["TicketIssued"]
    assert (decision.result["number"], decision.result["lane"]) == ("A001", "appointment")
    ticket = engine.state.tickets[decision.result["id"]]
    assert ticket.queue_at == at("10:00")  # ordered at its slot, not at arrival
    assert ticket.appointment_code == "YY-0010"
    assert engine.state.appointments["YY-0010"].ticket_id == ticket.id


def test_second_check_in_returns_the_same_ticket_without_events(engine: Engine, at: At) -> None:
    book(engine, "YY-0011", at("10:00"), at("08:40"))
    first = ok(engine.handle(cmd.CheckInAppointment("YY-0011"), at("09:50")))
    again = ok(engine.handle(cmd.CheckInAppointment("YY-0011"), at("09:55")))
    assert again.events == []
    assert again.result["id"] == first.result["id"]
    assert again.result["already_checked_in"] is True
    assert engine.state.sequences["SB"] == 1


@pytest.mark.parametrize(("hhmm", "lane"), [("10:15", Lane.APPOINTMENT), ("10:16", Lane.NORMAL)])
def test_late_check_in_becomes_a_normal_ticket(
    engine: Engine, at: At, hhmm: str, lane: Lane
) -> None:
    book(engine, "YY-0012", at("10:00"), at("08:40"))
    result = ok(engine.handle(cmd.CheckInAppointment("YY-0012"), at(hhmm))).result
    ticket = engine.state.tickets[result["id"]]
    assert ticket.lane is lane
    assert ticket.queue_at == (at("10:00") if lane is Lane.APPOINTMENT else at(hhmm))


def test_late_check_in_refused_by_policy(hall_config: HallConfig, at: At) -> None:
    engine = Engine(tuned(hall_config, appointments={"late_policy": "refuse"}))
    book(engine, "YY-0013", at("10:00"), at("08:40"))
    ok(engine.handle(cmd.CheckInAppointment("YY-0013"), at("10:15")))
    book(engine, "YY-0014", at("10:00"), at("08:41"))
    refused(engine.handle(cmd.CheckInAppointment("YY-0014"), at("10:16")), "too_late")
    assert engine.state.appointments["YY-0014"].ticket_id is None


def test_check_in_refusals(hall_config: HallConfig, engine: Engine, at: At) -> None:
    book(engine, "YY-0015", at("10:00", day=TUESDAY), at("09:00"))
    refused(engine.handle(cmd.CheckInAppointment("YY-0015"), at("10:00")), "wrong_day")
    unknown = refused(
        engine.handle(cmd.CheckInAppointment("NOPE-1"), at("10:00")), "unknown_appointment"
    )
    assert type(unknown.rejection) is NotFound
    book(engine, "YY-0016", at("08:40"), at("08:00"))
    refused(engine.handle(cmd.CheckInAppointment("YY-0016"), at("08:20")), "hall_closed")
    book(engine, "YY-0017", at("10:00"), at("09:00"))
    # Booked while appointments were on; the hall has since turned them off.
    disabled = Engine(tuned(hall_config, appointments={"enabled": False}), state=engine.state)
    refused(
        disabled.handle(cmd.CheckInAppointment("YY-0017"), at("10:00")), "appointments_disabled"
    )
    assert not disabled.state.tickets


def test_due_appointment_is_called_before_earlier_normal_tickets(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    book(engine, "YY-0020", at("10:00"), at("09:00"))
    issue(engine, "SB", at("09:40"))  # A001
    ok(engine.handle(cmd.CheckInAppointment("YY-0020"), at("09:45")))  # A002, slot 10:00
    issue(engine, "SB", at("09:50"))  # A003
    called = ok(engine.handle(cmd.CallNext(1), at("10:00")))
    assert (called.result["number"], called.result["rule"]) == ("A002", "appointment")
    assert [call(engine, 1, at("10:05")), call(engine, 1, at("10:10"))] == ["A001", "A003"]


def test_appointment_before_its_slot_waits_behind_earlier_tickets(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    book(engine, "YY-0021", at("10:00"), at("09:00"))
    issue(engine, "SB", at("09:40"))  # A001
    ok(engine.handle(cmd.CheckInAppointment("YY-0021"), at("09:45")))  # A002
    assert call(engine, 1, at("09:50")) == "A001"


def test_appointments_are_ordered_by_slot_not_check_in(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    book(engine, "YY-0030", at("10:30"), at("09:00"))
    book(engine, "YY-0031", at("10:00"), at("09:00"))
    ok(engine.handle(cmd.CheckInAppointment("YY-0030"), at("10:05")))  # A001, slot 10:30
    ok(engine.handle(cmd.CheckInAppointment("YY-0031"), at("10:06")))  # A002, slot 10:00
    assert call(engine, 1, at("10:40")) == "A002"
    assert call(engine, 1, at("10:41")) == "A001"


def test_check_in_after_the_slot_reports_who_is_really_ahead(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    book(engine, "YY-0070", at("10:00"), at("09:00"))
    for minute in range(3):
        issue(engine, "SB", at(f"09:5{minute}"))  # A001-A003, before the slot
    checked_in = ok(engine.handle(cmd.CheckInAppointment("YY-0070"), at("10:05"))).result
    assert call(engine, 1, at("10:06")) == checked_in["number"]  # it is served next ...
    assert (checked_in["ahead"], checked_in["estimated_wait_minutes"]) == (0, 0)  # ... not 4th


def test_booking_needs_appointments_enabled_and_an_open_hall(
    hall_config: HallConfig, engine: Engine, at: At
) -> None:
    saturday, sunday = dt.date(2026, 11, 28), dt.date(2026, 11, 29)
    refused(
        engine.handle(cmd.BookAppointment("YY-0100", "SB", at("10:00", sunday)), at("09:00")),
        "slot_closed",
    )
    refused(
        engine.handle(cmd.BookAppointment("YY-0101", "SB", at("13:00", saturday)), at("09:00")),
        "slot_closed",
    )
    refused(
        engine.handle(cmd.BookAppointment("YY-0102", "SB", at("18:00")), at("09:00")), "slot_closed"
    )
    ok(engine.handle(cmd.BookAppointment("YY-0103", "SB", at("10:00", saturday)), at("09:00")))
    closed = Engine(tuned(hall_config, appointments={"enabled": False}))
    refused(
        closed.handle(cmd.BookAppointment("YY-0104", "SB", at("10:00")), at("09:00")),
        "appointments_disabled",
    )
    assert set(engine.state.appointments) == {"YY-0103"} and not closed.state.appointments
