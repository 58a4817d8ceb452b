"""`hallctl conformance led-strip` against our LED twin and broken twins, on real ptys."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest

from devices.conformance.led_strip import CATALOGUE, LedStripKit
from devices.conformance.report import Outcome, Report, print_report, report_json
from devices.conformance.serial_probe import SerialProbe
from devices.conformance.twins import SimLedHands
from devices.led.sim_led_model import SimLedStrip
from devices.led.sim_led_strip import SimulatedLedBus
from tests import conformance_twins as broken

BAUD = 38_400
ADDRESS = 3
EVERY_KEY = {clause.key for clause in CATALOGUE}


def _run(make: Callable[[int], SimLedStrip], *, busy: int = 1, delay: float = 0.0) -> Report:
    with SimulatedLedBus(baudrate=BAUD) as bus:
        strip = bus.attach(make(ADDRESS))
        strip.faults.busy_for = busy
        strip.faults.delay_seconds = delay
        probe = SerialProbe(bus.url, BAUD, listen=0.3)
        try:
            return LedStripKit(probe, ADDRESS, hands=SimLedHands(strip), action_seconds=3).run()
        finally:
            probe.close()


def _board(address: int) -> SimLedStrip:
    return SimLedStrip(address, board=True, lines=4, columns=32)


@pytest.mark.parametrize("make", [SimLedStrip, _board], ids=["strip", "board"])
def test_our_twin_passes_every_clause(make: Callable[[int], SimLedStrip]) -> None:
    report = _run(make)
    out = io.StringIO()
    print_report(report, out)
    assert report.keys(Outcome.PASS) == EVERY_KEY, out.getvalue()
    assert out.getvalue().rstrip().endswith("RESULT: PASS")
    assert "hall-bus.md §7" in out.getvalue()


@pytest.mark.parametrize(
    ("make", "failing"),
    [
        (broken.CrcSwappedStrip, "crc"),
        (broken.BroadcastAnsweringStrip, "broadcast"),
        (broken.NoRepeatFilterStrip, "repeat"),
        (broken.SeqOnlyRepeatStrip, "same-seq"),
        (broken.MemoryKeptStrip, "power-up"),
        (broken.BusyRememberedStrip, "busy"),
        (broken.WrongNakStrip, "nak-unknown"),
        (broken.StaleStatusStrip, "fresh-query"),
        (broken.WrongSeqStrip, "frame"),
    ],
)
def test_a_broken_twin_fails_its_clause_and_only_it(
    make: Callable[[int], SimLedStrip], failing: str
) -> None:
    report = _run(make)
    out = io.StringIO()
    print_report(report, out)
    assert report.keys(Outcome.FAIL) == {failing}, out.getvalue()
    assert report.keys(Outcome.PASS) == EVERY_KEY - {failing}, out.getvalue()
    assert "RESULT: FAIL" in out.getvalue()


def test_a_display_that_falls_silent_mid_run_is_not_certified() -> None:
    report = _run(broken.FallsSilentStrip)
    out = io.StringIO()
    print_report(report, out)
    assert report.keys(Outcome.FAIL) == set(), out.getvalue()
    assert report.keys(Outcome.SKIP), out.getvalue()  # the clauses after the hang never ran
    assert not report.passed
    assert out.getvalue().rstrip().endswith("RESULT: INCOMPLETE"), out.getvalue()
    assert json.loads(report_json(report))["verdict"] == "incomplete"


def test_a_slow_display_fails_the_reply_time() -> None:
    report = _run(SimLedStrip, delay=0.06)
    assert report.keys(Outcome.FAIL) == {"reply-time"}


def test_without_hands_the_power_up_clauses_are_skipped_not_guessed() -> None:
    with SimulatedLedBus(baudrate=BAUD) as bus:
        bus.add_strip(ADDRESS)
        probe = SerialProbe(bus.url, BAUD, listen=0.3)
        report = LedStripKit(probe, ADDRESS).run()
        probe.close()
    assert report.keys(Outcome.SKIP) == {"power-up", "booted", "busy"}
    assert report.passed


def test_a_device_that_answers_nothing_fails_identify_and_skips_the_rest() -> None:
    with SimulatedLedBus(baudrate=BAUD) as bus:
        bus.add_strip(ADDRESS + 1)  # set to the wrong address
        probe = SerialProbe(bus.url, BAUD, listen=0.2)
        report = LedStripKit(probe, ADDRESS).run()
        probe.close()
    assert report.keys(Outcome.FAIL) == {"identify"}
    assert report.keys(Outcome.PASS) == set()
    assert not report.passed
