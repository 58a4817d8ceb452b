"""Press time: a rating judged when its key was pressed (the keypad's stamp), within bounds."""

from __future__ import annotations

import datetime as dt

import pytest

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Decision, Engine
from controller.settings.hall_config import HallConfig
from tests.engine_helpers import At, issue, ok, refused, sign_in

_seq = iter(range(1, 1_000_000))


def rate(engine: Engine, arrived: dt.datetime, pressed: dt.datetime | None) -> Decision:
    """A 满意 press on window 1's keypad that arrives at `arrived`, stamped `pressed`."""
    command = cmd.PressKey(
        "kp-1", "boot-1", next(_seq), 1, "rate", "satisfied", raw="rate", pressed_at=pressed
    )
    return engine.handle(command, arrived)


def invited_at_0910(engine: Engine, at: At) -> str:
    """Window 1 serves a ticket and invites its rating at 09:10 (open 120 s: until 09:12)."""
    sign_in(engine, 1, "S0101", at("09:00"))
    ticket = issue(engine, "SB", at("09:01"))
    for key, when, argument in (("next", "09:02", None), ("finish", "09:09", "即办件")):
        press = cmd.PressKey("kp-1", "boot-1", next(_seq), 1, key, argument=argument, raw=key)
        ok(engine.handle(press, at(when)))
    ok(engine.handle(cmd.PressKey("kp-1", "boot-1", next(_seq), 1, "invite_rating"), at("09:10")))
    return str(ticket["id"])


def test_a_rating_pressed_in_time_but_delivered_after_an_outage_counts(
    engine: Engine, at: At
) -> None:
    ticket = invited_at_0910(engine, at)
    decision = ok(rate(engine, at("09:20"), at("09:11:30")))  # 10 minutes in a broker's queue
    recorded = [e for e in decision.events if isinstance(e, ev.RatingRecorded)]
    assert [r.ticket_id for r in recorded] == [ticket]


def test_the_same_press_without_a_stamp_is_judged_at_arrival(engine: Engine, at: At) -> None:
    invited_at_0910(engine, at)
    refused(rate(engine, at("09:20"), None), "invitation_expired")


@pytest.mark.parametrize(
    ("arrived", "pressed", "why"),
    [
        ("09:30", "09:11:30", "older than max_delay_seconds (900 s)"),
        ("09:13", "09:13:30", "more than max_skew_seconds (5 s) ahead of the arrival"),
    ],
)
def test_a_stamp_out_of_bounds_is_judged_at_arrival(
    engine: Engine, at: At, arrived: str, pressed: str, why: str
) -> None:
    invited_at_0910(engine, at)
    refused(rate(engine, at(arrived), at(pressed)), "invitation_expired")
    assert why


def test_a_small_skew_ahead_is_taken_as_the_arrival(engine: Engine, at: At) -> None:
    invited_at_0910(engine, at)
    ok(rate(engine, at("09:11:58"), at("09:12:02")))  # 4 s ahead: judged at 09:11:58, open


def test_a_press_stamped_before_the_invitation_is_not_for_it(engine: Engine, at: At) -> None:
    invited_at_0910(engine, at)
    decision = refused(rate(engine, at("09:10:30"), at("09:09:30")), "not_invited")
    assert not [e for e in decision.events if isinstance(e, ev.RatingRecorded)]


def test_the_bounds_come_from_the_config(hall_config: HallConfig, at: At) -> None:
    keypads = hall_config.keypads
    strict = keypads.model_copy(
        update={"press_time": keypads.press_time.model_copy(update={"max_delay_seconds": 60})}
    )
    engine = Engine(hall_config.model_copy(update={"keypads": strict}))
    invited_at_0910(engine, at)
    refused(rate(engine, at("09:20"), at("09:11:30")), "invitation_expired")
