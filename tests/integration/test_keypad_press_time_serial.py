"""Press time on a wired keypad line (keypad-serial.md §7 "Press time", version 2).

Real parts: the hall's runtime on a SQLite journal, the RS-485 bus owner on a real pty, the
simulated keypad holding its presses while nobody polls it. The hall clock is a ManualClock and
the keypad's tick counter follows it, so "five minutes of outage" takes no real time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.keypad_intake import KeypadDispatcher
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.settings.config_loader import load_config
from devices.keypad.keypad_serial import SerialKeypadBus
from devices.keypad.serial_config import KeypadBusConfig
from devices.keypad.sim_keypad_model import SimKeypad
from devices.keypad.sim_keypad_serial import SimulatedKeypadLine
from firmware_protocols.keypad.keypad_serial import PollAnswer, Press
from tests.conftest import EXAMPLE_CONFIG, hall_time
from tests.mqtt_helpers import wait_until

ADDRESS, WINDOW = 3, 1
QUICK = {"reply_timeout_seconds": 0.15, "offline_probe_seconds": 0.2, "poll_interval_seconds": 0.02}


@contextmanager
def controller(db: Path, clock: ManualClock, url: str) -> Iterator[HallRuntime]:
    """The example hall on the journal `db`, polling the line at `url` (a restart: call it again)."""
    runtime = HallRuntime(load_config(EXAMPLE_CONFIG), Journal.at_path(db), clock)
    config = KeypadBusConfig(id="t", url=url, keypads={ADDRESS: WINDOW}, **QUICK)
    try:
        with SerialKeypadBus(config, KeypadDispatcher(runtime), clock=clock.now):
            yield runtime
    finally:
        runtime.hub.stop()
        runtime.journal.close()


def ratings(db: Path) -> list[ev.RatingRecorded]:
    """Every rating the journal holds."""
    journal = Journal.at_path(db)
    try:
        return [e for e in journal.restart_events() if isinstance(e, ev.RatingRecorded)]
    finally:
        journal.close()


def invite(runtime: HallRuntime, sim: SimKeypad, clock: ManualClock) -> str:
    """Window 1 serves a ticket, finishes it and invites its rating (open 120 s); its id."""
    runtime.execute(cmd.SignIn(WINDOW, "S0101", "A"))
    ticket = runtime.execute(cmd.IssueTicket("SB")).result
    for key, argument in (("next", None), ("finish", "即办件"), ("invite_rating", None)):
        clock.advance(60)
        answer = sim.wait_acked(sim.press(key, argument=argument))
        assert answer.accepted, answer
    return str(ticket["id"])


def rate_during_outage(
    tmp_path: Path, *, version: int, outage_seconds: float
) -> tuple[PollAnswer, str, SimKeypad]:
    """A 满意 pressed 30 s into the invitation while the controller is down for `outage_seconds`."""
    db, clock = tmp_path / "hall.db", ManualClock(hall_time("09:00"))
    with SimulatedKeypadLine(link=tmp_path / "kp") as line:
        sim = line.attach(
            SimKeypad(ADDRESS, version=version, ticks=lambda: clock.now().timestamp())
        )
        with controller(db, clock, line.url) as runtime:
            ticket = invite(runtime, sim, clock)
        clock.advance(30)
        rating = sim.press("rate", rating="satisfied")
        clock.advance(outage_seconds - 30)
        with controller(db, clock, line.url):
            answer = sim.wait_acked(rating, timeout=10)
    return answer, ticket, sim


def test_a_rating_pressed_in_time_but_read_after_a_controller_outage_counts(
    tmp_path: Path,
) -> None:
    answer, ticket, sim = rate_during_outage(tmp_path, version=2, outage_seconds=330)
    assert (answer.accepted, answer.code) == (True, "ok"), answer
    assert [r.ticket_id for r in ratings(tmp_path / "hall.db")] == [ticket]
    assert sim.versions_heard[2] > 0  # the controller spoke version 2 once it knew the keypad


def test_an_age_beyond_max_delay_is_judged_at_arrival(tmp_path: Path) -> None:
    # Pressed 30 s into the invitation, read 1000 s later: over max_delay_seconds (900).
    answer, _, _ = rate_during_outage(tmp_path, version=2, outage_seconds=1030)
    assert (answer.accepted, answer.code) == (False, "invitation_expired"), answer
    assert ratings(tmp_path / "hall.db") == []


def test_a_version_1_keypad_is_unchanged_judged_at_arrival_and_spoken_to_in_version_1(
    tmp_path: Path,
) -> None:
    answer, _, sim = rate_during_outage(tmp_path, version=1, outage_seconds=330)
    assert (answer.accepted, answer.code) == (False, "invitation_expired"), answer
    assert set(sim.versions_heard) == {1}


def test_a_rating_pressed_while_the_line_was_unplugged_counts_when_it_is_back(
    tmp_path: Path,
) -> None:
    db, clock = tmp_path / "hall.db", ManualClock(hall_time("09:00"))
    with SimulatedKeypadLine(link=tmp_path / "kp") as line:
        sim = line.attach(SimKeypad(ADDRESS, ticks=lambda: clock.now().timestamp()))
        with controller(db, clock, line.url) as runtime:
            ticket = invite(runtime, sim, clock)
            sim.faults.silent = True  # the line is unplugged: the controller keeps probing
            assert wait_until(lambda: not sim.connected)
            clock.advance(30)
            rating = sim.press("rate", rating="satisfied")
            clock.advance(300)
            late = sim.press("rate", rating="very_satisfied")  # pressed after it expired
            sim.faults.silent = False
            answer = sim.wait_acked(rating, timeout=10)
            refused = sim.wait_acked(late, timeout=10)
    assert (answer.accepted, answer.code) == (True, "ok"), answer
    assert refused.code in {"invitation_expired", "already_rated"}, refused
    assert [r.ticket_id for r in ratings(db)] == [ticket]


def test_a_press_kept_in_flash_across_a_power_cut_has_no_age_and_is_judged_at_arrival(
    tmp_path: Path,
) -> None:
    db, clock = tmp_path / "hall.db", ManualClock(hall_time("09:00"))
    with SimulatedKeypadLine(link=tmp_path / "kp") as line:
        sim = line.attach(SimKeypad(ADDRESS, ticks=lambda: clock.now().timestamp()))
        with controller(db, clock, line.url) as runtime:
            invite(runtime, sim, clock)
        clock.advance(30)
        rating: Press = sim.press("rate", rating="satisfied")
        sim.reboot()  # its ticks start again: the press's age is unknown
        clock.advance(300)
        with controller(db, clock, line.url):
            answer = sim.wait_acked(rating, timeout=10)
    assert (answer.accepted, answer.code) == (False, "invitation_expired"), answer


def test_a_keypad_whose_firmware_drops_to_version_1_is_spoken_to_in_version_1(
    tmp_path: Path,
) -> None:
    db, clock = tmp_path / "hall.db", ManualClock(hall_time("09:00"))
    with SimulatedKeypadLine(link=tmp_path / "kp") as line:
        sim = line.attach(SimKeypad(ADDRESS, ticks=lambda: clock.now().timestamp()))
        with controller(db, clock, line.url) as runtime:
            runtime.execute(cmd.SignIn(WINDOW, "S0101", "A"))
            assert wait_until(lambda: sim.versions_heard[2] > 0)
            sim.version = 1  # an older firmware, same boot: it NAKs version 2 frames
            heard = sim.versions_heard[1]
            answer = sim.wait_acked(sim.press("pause", argument="午休"), timeout=10)
            assert wait_until(lambda: sim.versions_heard[1] > heard + 3)
            before = sim.versions_heard[2]
            assert wait_until(lambda: sim.versions_heard[1] > heard + 10)
            after = sim.versions_heard[2]
    assert (answer.accepted, answer.code) == (True, "ok"), answer
    assert after == before  # no version 2 frame once the NAK said 1
