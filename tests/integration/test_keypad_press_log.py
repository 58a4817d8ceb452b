"""Every key press reaches the journaled press log, the ones the drivers refuse included.

Real parts: the hall's runtime on a SQLite journal, the MQTT driver through a real Mosquitto,
the RS-485 bus owner on a real pty; refused rating presses at an unstaffed window are flagged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.keypad_intake import KeypadDispatcher
from controller.app.runtime import HallRuntime
from controller.app.snapshot import build_snapshot
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Decision, Engine
from controller.settings.hall_config import HallConfig
from devices.keypad.keypad import KeypadKey, KeypadPress, RatingKey
from devices.keypad.keypad_serial import SerialKeypadBus
from devices.keypad.serial_config import KeypadBusConfig
from devices.keypad.sim_keypad_serial import SimulatedKeypadLine
from devices.mqtt_broker.mosquitto import device_username
from tests.conftest import MONDAY, hall_time
from tests.engine_helpers import At, issue, ok, refused, sign_in
from tests.mqtt_helpers import controller_port, keypad, publish_as, running_broker, wait_until

KEYPADS = {"K03": 3, "K05": 5}
QUICK = {"reply_timeout_seconds": 0.15, "offline_probe_seconds": 0.2, "poll_interval_seconds": 0.02}


@contextmanager
def hall(config: HallConfig, tmp_path: Path) -> Iterator[HallRuntime]:
    """The hall's runtime on a fresh journal at Monday 09:00."""
    runtime = HallRuntime(
        config, Journal.at_path(tmp_path / "hall.db"), ManualClock(hall_time("09:00"))
    )
    try:
        yield runtime
    finally:
        runtime.hub.stop()
        runtime.journal.close()


def press_log(runtime: HallRuntime) -> list[ev.KeyPressed]:
    """The day's press log as journaled."""
    return [e for e in runtime.journal.events_of_day(MONDAY) if isinstance(e, ev.KeyPressed)]


def flags(runtime: HallRuntime) -> list[ev.RatingFlagged]:
    """The day's rating flags as journaled."""
    return [e for e in runtime.journal.events_of_day(MONDAY) if isinstance(e, ev.RatingFlagged)]


def test_presses_the_mqtt_driver_refuses_are_logged_once_with_their_reason(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    with (
        hall(hall_config, tmp_path) as runtime,
        running_broker(tmp_path, KEYPADS) as broker,
        # The hall thinks K03 hangs at window 4 and has never heard of K05.
        controller_port(broker, KeypadDispatcher(runtime), {"K03": 4}),
    ):
        with keypad(broker, "K03") as k03:
            k03.faults.lose_acks = 2  # resent twice: answered three times, logged once
            wrong = k03.wait_acked(k03.press("next"))
        with keypad(broker, "K05") as k05:
            unknown = k05.wait_acked(k05.press("rate", rating="very_satisfied"))
        k03_login = (device_username("K03"), broker.accounts.device_passwords["K03"])
        topic = "hall/qs/window/3/keypad/K03/event"
        bad = {"v": 1, "device_id": "K03", "boot_id": "b9", "seq": 7, "key": "rate"}  # no rating
        table_9 = bad | {"seq": 8, "rating": "dissatisfied", "reasons": ["R01"], "reasons_table": 9}
        for payload in (bad, bad, table_9):
            publish_as(broker, *k03_login, topic, json.dumps(payload).encode())
        publish_as(broker, *k03_login, topic, b"\xff garbage")  # no ids: logged, not answerable
        assert wait_until(lambda: len(press_log(runtime)) == 5), press_log(runtime)
        logged = press_log(runtime)
    assert (wrong.accepted, wrong.code, unknown.code) == (False, "wrong_window", "unknown_device")
    assert [(p.device_id, p.window, p.seq, p.key, p.outcome) for p in logged] == [
        ("K03", 3, 1, "next", "wrong_window"),
        ("K05", 5, 1, "rate", "unknown_device"),
        ("K03", 3, 7, "", "bad_payload"),
        ("K03", 3, 8, "", "unknown_reason_table"),
        ("K03", 3, 0, "", "bad_payload"),
    ]
    assert logged[0].boot_id == k03.boot_id and logged[0].raw.startswith('{"v":1,')
    assert logged[4].raw == "hex ff 20 67 61 72 62 61 67 65"
    # Window 5 has nobody signed in, but the hall does not know K05 there: logged, not flagged
    # (a config mismatch is no evidence against the staff of the window the message named).
    assert flags(runtime) == []


def test_a_broken_rs485_press_is_logged_once_though_offered_again(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    with (
        hall(hall_config, tmp_path) as runtime,
        SimulatedKeypadLine(link=tmp_path / "kp") as line,
    ):
        sim = line.add_keypad(7)
        config = KeypadBusConfig(id="t", url=line.url, keypads={7: 2}, **QUICK)
        with SerialKeypadBus(config, KeypadDispatcher(runtime)):
            sim.faults.lose_acks = 2  # the refusal is lost twice: the press is offered again
            sim.faults.broken_presses = 3
            answer = sim.wait_acked(sim.press("next"))
            assert wait_until(lambda: len(press_log(runtime)) == 1)
        logged = press_log(runtime)
    assert (answer.accepted, answer.code) == (False, "bad_payload")
    assert [(p.device_id, p.window, p.seq, p.outcome) for p in logged] == [
        ("t-7", 2, 1, "bad_payload")
    ]
    assert logged[0].boot_id == f"{sim.boot_id:08x}"


def test_a_seq_reused_for_another_press_is_refused_and_logged(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    with hall(hall_config, tmp_path) as runtime:
        dispatch = KeypadDispatcher(runtime)
        runtime.execute(cmd.SignIn(1, "S0101", "A"))
        runtime.execute(cmd.IssueTicket("SB"))
        assert dispatch(KeypadPress("kp-1", "b", 1, 1, KeypadKey.NEXT)).accepted
        reused = KeypadPress("kp-1", "b", 1, 1, KeypadKey.RATE, RatingKey.VERY_SATISFIED)
        answers = {dispatch(reused) for _ in range(3)}
        logged = press_log(runtime)
    assert [(a.accepted, a.code) for a in answers] == [(False, "seq_reused")]
    assert [(p.seq, p.key, p.outcome) for p in logged] == [
        (1, "next", "ok"),
        (1, "rate", "seq_reused"),
    ]


def _rate(engine: Engine, at: At, when: str, seq: int) -> Decision:
    command = cmd.PressKey("kp-1", "b", seq, 1, "rate", "very_satisfied", raw="rate")
    return engine.handle(command, at(when))


@pytest.mark.parametrize("absence", ["signed_out", "paused"])
def test_a_refused_rating_press_while_staff_is_away_is_flagged_and_reaches_the_floor(
    engine: Engine, at: At, absence: str
) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    issue(engine, "SB", at("09:01"))
    ok(engine.handle(cmd.CallNext(1), at("09:02")))
    ok(engine.handle(cmd.Finish(1, "即办件"), at("09:05")))  # finished, never invited
    if absence == "paused":
        ok(engine.handle(cmd.Pause(1, "取资料"), at("09:06")))
    else:
        ok(engine.handle(cmd.SignOut(1), at("09:06")))
    decision = refused(_rate(engine, at, "09:07", 1), "not_invited")
    flagged = [e for e in decision.events if isinstance(e, ev.RatingFlagged)]
    assert [(f.flag, f.number, f.rating_id) for f in flagged] == [("staff_absent", "A001", "")]
    assert "not_invited" in flagged[0].detail
    alerts = build_snapshot(engine, at("09:08"))["alerts"]
    assert [a["flag"] for a in alerts if a["kind"] == "rating_flag"] == ["staff_absent"]


def test_a_refused_rating_press_at_a_staffed_window_is_not_flagged(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    decision = refused(_rate(engine, at, "09:07", 1), "nothing_to_rate")
    assert not [e for e in decision.events if isinstance(e, ev.RatingFlagged)]


def test_a_press_journaled_before_tables_were_passed_on_matches_its_resend(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    with hall(hall_config, tmp_path) as runtime:
        dispatch = KeypadDispatcher(runtime)
        runtime.execute(cmd.SignIn(1, "S0101", "A"))
        runtime.execute(cmd.IssueTicket("SB"))
        runtime.execute(cmd.CallNext(1))
        runtime.execute(cmd.Finish(1, "即办件"))
        runtime.execute(cmd.InviteRating(1))
        bad = RatingKey.DISSATISFIED
        before = KeypadPress("kp-1", "b", 5, 1, KeypadKey.RATE, bad, reasons=("R10",))
        first = dispatch(before)
        again = dispatch(replace(before, reasons_table=1))  # the same press, resent
        records = [
            e for e in runtime.journal.events_of_day(MONDAY) if isinstance(e, ev.RatingRecorded)
        ]
    assert first.accepted and again == first
    assert [(r.reasons, r.reason_table) for r in records] == [(("R10",), "1")]
