"""Keypad presses and the 好差评 rules: every rejection, every anomaly flag, the press log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.keypad_intake import KeypadDispatcher
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Decision, Engine
from controller.domain.ratings import RatingLevel
from controller.settings.config_loader import load_config
from devices.keypad.keypad import KeypadKey, KeypadPress, RatingKey
from tests.conftest import EXAMPLE_CONFIG, MONDAY, hall_time
from tests.engine_helpers import At, issue, ok, refused, sign_in

_seq = iter(range(1, 1_000_000))


def press(
    engine: Engine,
    window: int,
    key: str,
    now: dt.datetime,
    *,
    rating: str | None = None,
    reasons: tuple[str, ...] = (),
    argument: str | None = None,
) -> Decision:
    """One press on window `window`'s keypad (device kp-W)."""
    command = cmd.PressKey(
        f"kp-{window}", "boot-1", next(_seq), window, key, rating, reasons, argument, raw=key
    )
    return engine.handle(command, now)


def logged(decision: Decision) -> ev.KeyPressed:
    """The press log entry of a decision (there is always exactly one)."""
    entries = [e for e in decision.events if isinstance(e, ev.KeyPressed)]
    assert len(entries) == 1
    return entries[0]


def served_and_invited(engine: Engine, at: At, window: int = 1) -> str:
    """Staff signs in, calls, finishes and invites a rating at 09:10; returns the ticket id."""
    sign_in(engine, window, "S0101", at("09:00"))
    ticket = issue(engine, "SB", at("09:01"))
    ok(press(engine, window, "next", at("09:02")))
    ok(press(engine, window, "finish", at("09:09"), argument="即办件"))
    ok(press(engine, window, "invite_rating", at("09:10")))
    return str(ticket["id"])


def test_a_rating_for_the_invited_finished_ticket_is_recorded_with_the_exchange_fields(
    engine: Engine, at: At
) -> None:
    ticket_id = served_and_invited(engine, at)
    decision = ok(press(engine, 1, "rate", at("09:10:30"), rating="satisfied"))
    record = next(e for e in decision.events if isinstance(e, ev.RatingRecorded))
    assert (record.ticket_id, record.level, record.window, record.staff_id) == (
        ticket_id,
        "satisfied",
        1,
        "S0101",
    )
    assert (record.region_code, record.department_code) == ("330199", "QSXZWFWZX")
    assert record.item_code == "330199-SB-0001"
    assert (record.channel, record.assess_number, record.device_id) == ("5", 1, "kp-1")
    assert record.rating_id == f"{ticket_id}-R1"
    assert not [e for e in decision.events if isinstance(e, ev.RatingFlagged)]
    entry = logged(decision)
    assert (entry.outcome, entry.ticket_id, entry.staff_id, entry.key) == (
        "ok",
        ticket_id,
        "S0101",
        "rate",
    )
    assert engine.state.tickets[ticket_id].rating == "satisfied"


def test_levels_map_to_both_national_codings() -> None:
    assert [level.gbt_code for level in RatingLevel] == [1, 2, 3, 4, 5]
    assert [level.exchange_satisfaction for level in RatingLevel] == [5, 4, 3, 2, 1]
    assert [level.label for level in RatingLevel][0::4] == ["非常满意", "非常不满意"]
    assert [level.is_bad for level in RatingLevel] == [False, False, False, True, True]


@pytest.mark.parametrize(
    ("setup", "when", "reason"),
    [
        ("nothing", "09:10:30", "nothing_to_rate"),
        ("not_invited", "09:10:30", "not_invited"),
        ("invited", "09:12:01", "invitation_expired"),
        ("rated", "09:10:40", "already_rated"),
        ("invited_while_serving", "09:05", "not_finished"),
    ],
)
def test_a_rating_is_refused_and_logged_unless_just_finished_invited_and_unrated(
    engine: Engine, at: At, setup: str, when: str, reason: str
) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    issue(engine, "SB", at("09:01"))
    issue(engine, "SB", at("09:01"))
    if setup != "nothing":
        ok(press(engine, 1, "next", at("09:02")))
    if setup == "invited_while_serving":
        ok(press(engine, 1, "invite_rating", at("09:03")))
    elif setup != "nothing":
        ok(press(engine, 1, "finish", at("09:09"), argument="即办件"))
    if setup in ("invited", "rated"):
        ok(press(engine, 1, "invite_rating", at("09:10")))
    if setup == "rated":
        ok(press(engine, 1, "rate", at("09:10:30"), rating="very_satisfied"))
    decision = refused(press(engine, 1, "rate", at(when), rating="satisfied"), reason)
    assert logged(decision).outcome == reason
    assert not [e for e in decision.events if isinstance(e, ev.RatingRecorded)]


@pytest.mark.parametrize(
    ("rating", "reasons", "reason"),
    [
        ("great", (), "bad_rating"),
        ("satisfied", ("R01",), "reasons_for_good_rating"),
        ("dissatisfied", ("R01", "X42"), "unknown_reason"),
        ("dissatisfied", ("R01", "R02", "R03", "R04", "R05", "R06"), "too_many_reasons"),
    ],
)
def test_a_bad_rating_value_or_reason_code_is_refused_and_logged(
    engine: Engine, at: At, rating: str, reasons: tuple[str, ...], reason: str
) -> None:
    served_and_invited(engine, at)
    decision = refused(
        press(engine, 1, "rate", at("09:10:30"), rating=rating, reasons=reasons), reason
    )
    assert logged(decision).outcome == reason


def test_a_bad_rating_keeps_its_reason_codes(engine: Engine, at: At) -> None:
    served_and_invited(engine, at)
    decision = ok(
        press(
            engine,
            1,
            "rate",
            at("09:10:30"),
            rating="very_dissatisfied",
            reasons=("R02", "R02", "R05"),
        )
    )
    record = next(e for e in decision.events if isinstance(e, ev.RatingRecorded))
    assert (record.reasons, record.reason_table) == (("R02", "R05"), "1")


def test_a_rating_right_after_finish_is_flagged(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    issue(engine, "SB", at("09:01"))
    ok(press(engine, 1, "next", at("09:02")))
    ok(press(engine, 1, "invite_rating", at("09:08")))
    ok(press(engine, 1, "finish", at("09:09"), argument="即办件"))
    decision = ok(press(engine, 1, "rate", at("09:09:01"), rating="very_satisfied"))
    flags = [e for e in decision.events if isinstance(e, ev.RatingFlagged)]
    assert [f.flag for f in flags] == ["fast_after_finish"]
    assert engine.state.ratings.flags[0].flag == "fast_after_finish"


def test_a_run_of_top_ratings_far_above_the_hall_mix_is_flagged(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:30"))
    sign_in(engine, 2, "S0102", at("08:30"))
    levels = ["satisfied", "basically_satisfied", "very_satisfied", "dissatisfied"] * 5
    start = hall_time("08:31")
    flagged_at: list[int] = []
    for i in range(40):
        window = 2 if i < len(levels) else 1
        level = levels[i] if i < len(levels) else "very_satisfied"
        now = start + dt.timedelta(minutes=3 * i)
        issue(engine, "SB", now)
        ok(press(engine, window, "next", now + dt.timedelta(seconds=10)))
        ok(press(engine, window, "finish", now + dt.timedelta(seconds=60), argument="即办件"))
        ok(press(engine, window, "invite_rating", now + dt.timedelta(seconds=61)))
        decision = ok(press(engine, window, "rate", now + dt.timedelta(seconds=80), rating=level))
        if any(isinstance(e, ev.RatingFlagged) and e.flag == "top_run" for e in decision.events):
            flagged_at.append(i - len(levels) + 1)
    # Window 2's mix holds a quarter 非常满意; window 1 then rates 20 in a row at the top.
    assert flagged_at and flagged_at[0] >= 8
    assert engine.state.ratings.top_run[1] == 20


def test_every_staff_key_runs_its_window_command_and_is_logged(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    issue(engine, "SB", at("09:01"))
    issue(engine, "SB", at("09:01"))
    steps = [
        ("next", None, "TicketCalled"),
        ("recall", None, "TicketRecalled"),
        ("transfer", "service:YB", "TicketTransferred"),
        ("next", None, "TicketCalled"),
        ("no_show", None, "TicketNoShow"),
        ("pause", "取资料", "WindowPaused"),
        ("resume", None, "WindowResumed"),
        ("next", None, "TicketCalled"),
        ("finish", "即办件", "TicketFinished"),
        ("invite_rating", None, "RatingInvited"),
    ]
    for minute, (key, argument, kind) in enumerate(steps):
        decision = ok(press(engine, 1, key, at(f"09:{10 + minute}"), argument=argument))
        assert kind in [e.kind for e in decision.events], key
        assert logged(decision).outcome == "ok"


@pytest.mark.parametrize(
    ("key", "argument", "reason"),
    [("transfer", "somewhere", "bad_transfer"), ("dance", None, "unknown_key")],
)
def test_an_unknown_key_or_bad_argument_is_refused_and_logged(
    engine: Engine, at: At, key: str, argument: str | None, reason: str
) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    decision = refused(press(engine, 1, key, at("09:01"), argument=argument), reason)
    assert logged(decision).outcome == reason


def test_a_staff_key_while_signed_out_is_refused_and_logged(engine: Engine, at: At) -> None:
    decision = refused(press(engine, 1, "next", at("09:01")), "not_signed_in")
    entry = logged(decision)
    assert (entry.staff_id, entry.window_state) == (None, "signed_out")


def test_a_resent_press_counts_once_even_across_a_restart(tmp_path: Path) -> None:
    config = load_config(EXAMPLE_CONFIG)
    clock = ManualClock(hall_time("09:00"))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db"), clock)
    dispatch = KeypadDispatcher(runtime)

    def key(
        seq: int, key: KeypadKey, rating: RatingKey | None = None, arg: str | None = None
    ) -> KeypadPress:
        return KeypadPress("kp-1", "boot-7", seq, 1, key, rating, argument=arg)

    assert runtime.execute(cmd.SignIn(1, "S0101", "A")).accepted
    runtime.execute(cmd.IssueTicket("SB"))
    runtime.execute(cmd.IssueTicket("SB"))
    assert dispatch(key(1, KeypadKey.NEXT)).ticket == "A001"
    assert dispatch(key(1, KeypadKey.NEXT)).ticket == "A001"  # lost ack, resent: not A002
    clock.advance(300)
    assert dispatch(key(2, KeypadKey.FINISH, arg="即办件")).accepted
    assert dispatch(key(3, KeypadKey.INVITE_RATING)).accepted
    clock.advance(20)
    first = dispatch(key(4, KeypadKey.RATE, RatingKey.VERY_SATISFIED))
    assert (first.accepted, first.message) == (True, "非常满意")
    runtime.journal.close()

    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db"), clock)
    again = KeypadDispatcher(runtime)(key(4, KeypadKey.RATE, RatingKey.VERY_SATISFIED))
    assert again == first
    other = KeypadDispatcher(runtime)(key(4, KeypadKey.RATE, RatingKey.DISSATISFIED))
    assert (other.accepted, other.code) == (False, "seq_reused")
    records = [e for e in runtime.journal.events_of_day(MONDAY) if isinstance(e, ev.RatingRecorded)]
    assert len(records) == 1 and records[0].level == "very_satisfied"
    presses = [e for e in runtime.journal.events_of_day(MONDAY) if isinstance(e, ev.KeyPressed)]
    # A resend is answered, not logged again; the reused seq is logged once as refused.
    assert [(p.seq, p.outcome) for p in presses] == [
        (1, "ok"),
        (2, "ok"),
        (3, "ok"),
        (4, "ok"),
        (4, "seq_reused"),
    ]
    runtime.journal.close()


def test_ratings_feed_the_kpis_and_a_bad_rating_or_a_flag_reaches_the_floor(
    engine: Engine, at: At
) -> None:
    from controller.app.snapshot import build_snapshot
    from controller.domain.kpis import compute_kpis

    served_and_invited(engine, at)
    ok(press(engine, 1, "rate", at("09:10:30"), rating="dissatisfied", reasons=("R02",)))
    issue(engine, "SB", at("09:11"))  # finished but never rated: stays 未评价
    ok(press(engine, 1, "next", at("09:12")))
    ok(press(engine, 1, "finish", at("09:15"), argument="即办件"))
    kpis = compute_kpis(
        engine.state.tickets.values(), [], day=MONDAY, now=at("09:20"), overtime_minutes=30
    )
    assert (kpis["served"], kpis["rated"], kpis["rating_rate"]) == (2, 1, 0.5)
    assert (kpis["satisfaction_rate"], kpis["bad_rating_rate"]) == (0.0, 1.0)
    alerts = build_snapshot(engine, at("09:20"))["alerts"]
    assert [a["kind"] for a in alerts if a["kind"] == "bad_rating"] == ["bad_rating"]
    assert "不满意" in next(a["message"] for a in alerts if a["kind"] == "bad_rating")
    assert not [
        a for a in build_snapshot(engine, at("09:45"))["alerts"] if a["kind"] == "bad_rating"
    ]

    ok(press(engine, 1, "invite_rating", at("09:15")))
    ok(press(engine, 1, "rate", at("09:15:01"), rating="very_satisfied"))
    flags = [a for a in build_snapshot(engine, at("09:20"))["alerts"] if a["kind"] == "rating_flag"]
    assert [a["flag"] for a in flags] == ["fast_after_finish"]


def test_the_configured_default_rates_old_unrated_tickets_once_flagged_and_outside_the_rate(
    tmp_path: Path,
) -> None:
    base = load_config(EXAMPLE_CONFIG)
    rules = base.ratings.model_copy(update={"default_after_days": 7})
    config = base.model_copy(update={"ratings": rules})
    clock = ManualClock(hall_time("09:00"))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db"), clock)
    dispatch = KeypadDispatcher(runtime)
    runtime.execute(cmd.SignIn(1, "S0101", "A"))
    for _ in range(3):
        runtime.execute(cmd.IssueTicket("SB"))
        runtime.execute(cmd.CallNext(1))
        runtime.execute(cmd.Finish(1, "即办件"))
    runtime.execute(cmd.InviteRating(1))
    clock.advance(10)
    rated = dispatch(KeypadPress("kp-1", "b", 1, 1, KeypadKey.RATE, RatingKey.SATISFIED))
    assert rated.accepted and rated.ticket == "A003"

    clock.set(hall_time("09:00", MONDAY + dt.timedelta(days=6)))
    runtime.tick()
    assert not [
        e
        for e in runtime.journal.events_of_day(clock.now().date())
        if isinstance(e, ev.RatingRecorded)
    ]
    clock.set(hall_time("09:00", MONDAY + dt.timedelta(days=7)))
    runtime.tick()
    runtime.journal.close()
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db"), clock)
    runtime.tick()  # a restart on the same day applies nothing twice
    runtime.execute(cmd.Tick())
    today = runtime.journal.events_of_day(clock.now().date())
    defaults = [e for e in today if isinstance(e, ev.RatingRecorded)]
    assert sorted(e.number for e in defaults) == ["A001", "A002"]
    assert {(e.level, e.channel, e.system_default) for e in defaults} == {
        ("basically_satisfied", "7", True)
    }
    kpis = runtime.kpis(MONDAY)
    assert (kpis["served"], kpis["rated"], kpis["rating_rate"]) == (3, 1, 0.3333)
    runtime.journal.close()
