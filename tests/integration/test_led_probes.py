"""Probe planning of an LED bus: the line-time budget, liveness from any reply, quick offline probes."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.app.subscribers.latest_state import LatestState
from controller.domain import commands as cmd
from controller.settings.hall_config import HallConfig
from devices.led.led_bus import LedBus
from devices.led.led_config import LedBusConfig
from devices.led.led_probes import ProbeSchedule
from devices.led.sim_led_strip import SimulatedLedBus
from tests.conftest import hall_time
from tests.led_helpers import BAUD, bus_config, led_hall, strip_config, wait_until

COST = 0.033  # a STATUS exchange at 9600 baud
PERIOD = 5.0
STEP = 0.01


def _schedule(count: int, share: float = 0.01) -> ProbeSchedule:
    return ProbeSchedule(
        range(1, count + 1), probe_seconds=PERIOD, line_share=share, probe_cost=COST
    )


def _run_idle_line(
    schedule: ProbeSchedule, online: set[int], seconds: float, busy: frozenset[int] = frozenset()
) -> dict[int, list[float]]:
    """Drive the schedule as the bus thread does on a line carrying no commands.

    Every display in `online` answers each probe in COST seconds; every display in `busy` also
    answers a command every second (its ACK counts as a sign of life). Returns probe start
    times per display.
    """
    probed: dict[int, list[float]] = {address: [] for address in online}
    now = 0.0
    for address in online:  # the start: every display answered its first probe
        schedule.heard(address, now, status=True)
    next_command = 1.0
    while now < seconds:
        if now >= next_command:
            for address in busy:
                schedule.heard(address, now, status=False)
            next_command += 1.0
        choice = schedule.choose(online, now)
        if choice.address is None:
            now = min(choice.wake, next_command, now + 1.0)
            continue
        schedule.begin(choice.address, now)
        probed[choice.address].append(now)
        schedule.heard(choice.address, now + COST, status=True)
        schedule.charge(now, COST)
        now += COST
    return probed


def test_probes_of_answering_displays_keep_to_the_line_share() -> None:
    schedule = _schedule(12, share=0.01)
    probed = _run_idle_line(schedule, set(range(1, 13)), seconds=600)
    total = sum(len(times) for times in probed.values())
    assert total * COST <= 0.01 * 600 + COST  # at most 1 % of the line, one probe of slack
    rotation = 12 * COST / 0.01  # 39.6 s: the per-display period the budget stretches to
    for times in probed.values():
        gaps = [b - a for a, b in pairwise(times)]
        assert len(times) >= 600 / rotation - 2
        assert max(gaps) <= rotation + COST / 0.01  # fair turns: no display starved


def test_a_short_line_keeps_the_probe_period() -> None:
    schedule = _schedule(1, share=0.01)  # 1 display: 3.3 s of budget spacing < 5 s period
    probed = _run_idle_line(schedule, {1}, seconds=100)
    gaps = [b - a for a, b in pairwise(probed[1])]
    assert gaps and min(gaps) >= PERIOD - STEP


def test_a_display_busy_with_commands_is_still_checked_but_less_often() -> None:
    schedule = _schedule(4, share=0.01)
    probed = _run_idle_line(schedule, {1, 2, 3, 4}, seconds=600, busy=frozenset({1}))
    quiet = [len(probed[a]) for a in (2, 3, 4)]
    assert 0 < len(probed[1]) < min(quiet)  # its ACKs prove it alive; STATUS still comes
    assert (
        max(b - a for a, b in pairwise(probed[1])) <= 4 * 2 * 3.3 + 3.3 + 1
    )  # every 4th STATUS slot


def test_a_display_not_answering_keeps_the_quick_probe() -> None:
    schedule = _schedule(3, share=0.001)  # a budget that would space probes 33 s apart
    schedule.charge(0.0, COST)
    for address in (1, 2):
        schedule.heard(address, 0.0, status=True)
    schedule.lost(3, 0.0)
    assert schedule.choose({1, 2}, 1.0).wake == PERIOD  # display 3's quick probe is next
    choice = schedule.choose({1, 2}, PERIOD)
    assert choice.address == 3 and not choice.overdue
    late = schedule.choose({1, 2}, 2 * PERIOD + STEP)  # commands kept the line a whole period
    assert late.address == 3 and late.overdue
    schedule.begin(3, 2 * PERIOD + STEP)
    assert schedule.choose({1, 2}, 2 * PERIOD + 1).address is None  # its next one in a period


def test_an_answering_display_overdue_by_a_period_goes_before_commands() -> None:
    schedule = _schedule(2, share=0.01)
    for address in (1, 2):
        schedule.heard(address, 0.0, status=True)
    due = schedule.choose({1, 2}, PERIOD)
    assert due.address == 1 and not due.overdue  # commands still go first
    late = schedule.choose({1, 2}, 2 * PERIOD + STEP)
    assert late.address == 1 and late.overdue


def test_default_budget_on_a_real_line_still_resyncs_a_rebooted_strip(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    """Default probe settings except the period; a rebooted idle strip is noticed in turn."""
    default_share = LedBusConfig.model_fields["probe_line_share"].default
    layout = {"a": [strip_config(n) for n in (1, 2, 3, 4)]}
    with led_hall(hall_config, tmp_path, layout, probe_line_share=default_share) as hall:
        one = hall.sim("a", 1)
        hall.run(cmd.SignIn(1, "S0101", "A"))
        one.wait_for_text("周文")
        displays = hall.buses["a"].displays
        before = sum(d.health().probes for d in displays)
        one.power_cycle()
        # 4 strips x ~9 ms per exchange at 38400 baud / 0.5 % = a turn every ~7 s
        one.wait_for_text("周文", timeout=30)
        probes = sum(d.health().probes for d in displays) - before
        assert 1 <= probes <= 8
        wait_until(lambda: hall.alerts() == [])


def test_when_the_port_is_back_every_silent_display_is_probed_at_once() -> None:
    # The soak saw a port fail at start-up: two strips were marked offline by probes the dead
    # line could not carry, and waited a whole probe period (5.6 s) after the port was back.
    schedule = _schedule(3)
    for address in (1, 2, 3):
        schedule.lost(address, 10.0)  # the line died: every probe failed
    assert schedule.choose(set(), 10.5).address is None  # next tries a period later
    schedule.line_back(10.5)
    due = []
    online: set[int] = set()
    for _ in range(3):
        choice = schedule.choose(online, 10.5)
        assert choice.address is not None, "a silent display waits for its period"
        due.append(choice.address)
        schedule.begin(choice.address, 10.5)
        schedule.heard(choice.address, 10.5, status=True)
        online.add(choice.address)
    assert sorted(due) == [1, 2, 3]


def test_a_display_whose_first_answer_is_lost_at_start_is_not_left_for_a_probe_period(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    # A display not heard since start gets every retry; only one found offline gets the single
    # quick try. A restarted hall busy starting up once left a strip blank 5 s (probe_seconds).
    runtime = HallRuntime(
        hall_config,
        Journal.at_path(tmp_path / "hall.db", durable=False),
        ManualClock(hall_time("09:00")),
    )
    latest = LatestState(runtime.state_snapshot())
    with SimulatedLedBus(baudrate=BAUD, link=tmp_path / "led-a") as line:
        strip = line.add_strip(1)
        strip.faults.drop_replies = 1  # its first reply is lost on the line
        config = bus_config("a", line.url, [strip_config(1)], probe_seconds=60)
        with LedBus(config, latest) as bus:
            wait_until(
                lambda: "暂停服务" in strip.text, timeout=3, what="strip 1 resynced at start"
            )
            assert bus.displays[0].health().available is True
    runtime.hub.stop()
    runtime.journal.close()
