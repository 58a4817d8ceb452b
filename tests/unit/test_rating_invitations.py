"""An invited rating belongs to its ticket, whatever the window does next (issue: A day on the floor).

Calling the next citizen, pausing, signing out or transferring another ticket never cancels or
refuses the previous citizen's open invitation, and a press inside an open invitation is never
flagged 擅自按键 for the window's state at that moment: the flag judges the citizen's
opportunity, not the staff member's whereabouts.
"""

from __future__ import annotations

import pytest

from controller.app.snapshot import build_snapshot
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Engine
from tests.engine_helpers import At, issue, ok, refused, sign_in
from tests.integration.test_keypad_ratings import logged, press


def _finished_and_invited(engine: Engine, at: At) -> tuple[str, str]:
    """S0101 serves A then B waits; A is finished at 09:09 and invited at 09:09:06."""
    sign_in(engine, 1, "S0101", at("09:00"))
    first = issue(engine, "SB", at("09:01"))
    second = issue(engine, "SB", at("09:01:30"))
    ok(press(engine, 1, "next", at("09:02")))
    ok(press(engine, 1, "finish", at("09:09"), argument="即办件"))
    ok(press(engine, 1, "invite_rating", at("09:09:06")))
    return str(first["id"]), str(second["id"])


def _next_called(engine: Engine, at: At) -> None:
    ok(press(engine, 1, "next", at("09:09:10")))


def _paused(engine: Engine, at: At) -> None:
    ok(press(engine, 1, "pause", at("09:09:10"), argument="午间休息"))


def _signed_out(engine: Engine, at: At) -> None:
    ok(engine.handle(cmd.SignOut(1), at("09:09:10")))


def _next_called_then_transferred(engine: Engine, at: At) -> None:
    ok(press(engine, 1, "next", at("09:09:10")))
    ok(press(engine, 1, "transfer", at("09:09:12"), argument="service:YB"))


def _next_called_and_invited_before_finish(engine: Engine, at: At) -> None:
    ok(press(engine, 1, "next", at("09:09:10")))
    ok(press(engine, 1, "invite_rating", at("09:09:12")))  # B invited early: A's stays open


WHAT_THE_WINDOW_DID = {
    "next_called": _next_called,
    "paused": _paused,
    "signed_out": _signed_out,
    "next_called_then_transferred": _next_called_then_transferred,
    "next_called_and_invited_before_finish": _next_called_and_invited_before_finish,
}


@pytest.mark.parametrize("then", list(WHAT_THE_WINDOW_DID))
def test_an_open_invitation_counts_for_its_ticket_whatever_the_window_does_next(
    engine: Engine, at: At, then: str
) -> None:
    first, _ = _finished_and_invited(engine, at)
    WHAT_THE_WINDOW_DID[then](engine, at)
    decision = ok(press(engine, 1, "rate", at("09:09:20"), rating="very_dissatisfied"))
    record = next(e for e in decision.events if isinstance(e, ev.RatingRecorded))
    assert (record.ticket_id, record.staff_id, record.level) == (
        first,
        "S0101",
        "very_dissatisfied",
    )
    assert logged(decision).ticket_id == first
    # The honest citizen's press is never flagged 擅自按键 (C020 paused for lunch, E030 signed out).
    assert [e for e in decision.events if isinstance(e, ev.RatingFlagged)] == []
    assert engine.state.tickets[first].rating == "very_dissatisfied"


def test_the_invitation_still_ends_when_it_expires_or_once_rated(engine: Engine, at: At) -> None:
    _finished_and_invited(engine, at)
    _next_called(engine, at)
    ok(press(engine, 1, "rate", at("09:09:30"), rating="satisfied"))
    refused(press(engine, 1, "rate", at("09:09:40"), rating="satisfied"), "already_rated")
    other = Engine(engine.config)
    _finished_and_invited(other, at)
    _next_called(other, at)
    refused(press(other, 1, "rate", at("09:11:07"), rating="satisfied"), "invitation_expired")


def test_a_rating_for_a_ticket_still_being_served_is_not_finished(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    issue(engine, "SB", at("09:01"))
    ok(press(engine, 1, "next", at("09:02")))
    ok(press(engine, 1, "invite_rating", at("09:03")))
    refused(press(engine, 1, "rate", at("09:04"), rating="satisfied"), "not_finished")


def test_the_newest_finished_invitation_is_rated_when_two_are_open(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    first = issue(engine, "SB", at("09:01"))["id"]
    second = issue(engine, "SB", at("09:01"))["id"]
    ok(press(engine, 1, "next", at("09:02")))
    ok(press(engine, 1, "finish", at("09:03"), argument="即办件"))
    ok(press(engine, 1, "invite_rating", at("09:03:05")))
    ok(press(engine, 1, "next", at("09:03:10")))
    ok(press(engine, 1, "finish", at("09:04"), argument="即办件"))
    ok(press(engine, 1, "invite_rating", at("09:04:05")))
    ok(press(engine, 1, "rate", at("09:04:20"), rating="satisfied"))
    assert engine.state.tickets[str(second)].rating == "satisfied"
    ok(press(engine, 1, "rate", at("09:04:30"), rating="basically_satisfied"))
    assert engine.state.tickets[str(first)].rating == "basically_satisfied"


def test_the_window_view_shows_which_ticket_a_press_will_rate(engine: Engine, at: At) -> None:
    first, _ = _finished_and_invited(engine, at)
    _next_called(engine, at)
    view = build_snapshot(engine, at("09:09:20"))["windows"][0]
    assert view["current"]["number"] == "A002"
    assert view["rating_open"] == {
        "ticket_id": first,
        "number": "A001",
        "until": "2026-11-23T09:11:06+08:00",
        "seconds_left": 106,
    }
    ok(press(engine, 1, "rate", at("09:09:30"), rating="satisfied"))
    assert build_snapshot(engine, at("09:09:31"))["windows"][0]["rating_open"] is None


@pytest.mark.parametrize("away", ["paused", "signed_out"])
def test_a_rating_press_at_an_away_window_with_no_invitation_is_still_flagged(
    engine: Engine, at: At, away: str
) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    issue(engine, "SB", at("09:01"))
    ok(press(engine, 1, "next", at("09:02")))
    ok(press(engine, 1, "finish", at("09:09"), argument="即办件"))
    if away == "paused":
        ok(press(engine, 1, "pause", at("09:09:10"), argument="取资料"))
    else:
        ok(engine.handle(cmd.SignOut(1), at("09:09:10")))
    decision = refused(press(engine, 1, "rate", at("09:09:20"), rating="satisfied"), "not_invited")
    assert [e.flag for e in decision.events if isinstance(e, ev.RatingFlagged)] == ["staff_absent"]
