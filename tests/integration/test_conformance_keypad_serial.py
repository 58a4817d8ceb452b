"""`hallctl conformance keypad-serial` against our wired keypad twin and broken twins, on real ptys."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from devices.conformance.keypad_serial import CATALOGUE, NEEDS_HANDS, KeypadSerialKit
from devices.conformance.report import Outcome, Report, print_report
from devices.conformance.serial_probe import SerialProbe
from devices.conformance.twins import SimSerialKeypadHands
from devices.keypad.sim_keypad_model import SimKeypad
from devices.keypad.sim_keypad_serial import SimulatedKeypadLine
from tests import conformance_twins as broken

BAUD = 38_400
ADDRESS = 3
EVERY_KEY = {clause.key for clause in CATALOGUE}


def _run(make: Callable[[int], SimKeypad], *, hands: bool = True) -> tuple[Report, str]:
    with SimulatedKeypadLine(baudrate=BAUD) as line:
        keypad = line.attach(make(ADDRESS))
        probe = SerialProbe(line.url, BAUD, listen=0.3)
        try:
            kit = KeypadSerialKit(
                probe,
                ADDRESS,
                hands=SimSerialKeypadHands(keypad) if hands else None,
                action_seconds=2,
            )
            report = kit.run()
        finally:
            probe.close()
    out = io.StringIO()
    print_report(report, out)
    return report, out.getvalue()


def test_our_twin_passes_every_clause() -> None:
    report, text = _run(SimKeypad)
    assert report.keys(Outcome.PASS) == EVERY_KEY, text
    assert text.rstrip().endswith("RESULT: PASS")


@pytest.mark.parametrize(
    ("make", "failing"),
    [
        (broken.SeqStuckKeypad, "seq"),
        (broken.PollReplayKeypad, "fresh-poll"),
        (broken.RefusalKeepsKeypad, "answer"),
        (broken.BootKeptKeypad, "boot"),
        (broken.BroadcastAnsweringKeypad, "broadcast"),
        (broken.CrcSwappedKeypad, "crc"),
        (broken.DisplayMemoryKeptKeypad, "power-up"),
        (broken.TenMsTicksKeypad, "press-age"),
        (broken.UptimeAgeKeypad, "press-age"),
    ],
)
def test_a_broken_twin_fails_its_clause_and_only_it(
    make: Callable[[int], SimKeypad], failing: str
) -> None:
    report, text = _run(make)
    assert report.keys(Outcome.FAIL) == {failing}, text
    assert report.keys(Outcome.PASS) == EVERY_KEY - {failing}, text
    assert "RESULT: FAIL" in text


def test_unattended_the_press_clauses_are_skipped() -> None:
    report, text = _run(SimKeypad, hands=False)
    assert report.keys(Outcome.SKIP) == {clause.key for clause in NEEDS_HANDS}, text
    assert report.passed


def test_a_version_1_twin_passes_with_the_press_age_skipped() -> None:
    report, text = _run(lambda address: SimKeypad(address, version=1))
    assert report.keys(Outcome.SKIP) == {"press-age"}, text
    assert report.keys(Outcome.PASS) == EVERY_KEY - {"press-age"}, text
    assert "version 1 keypad" in text and report.passed
