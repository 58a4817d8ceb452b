"""`hallctl conformance keypad-mqtt` against our Wi-Fi keypad twin and broken twins, on a real Mosquitto."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from devices.conformance.keypad_mqtt import CATALOGUE, NEEDS_HANDS, KeypadMqttKit
from devices.conformance.mqtt_watch import MqttWatch
from devices.conformance.report import Outcome, Report, print_report
from devices.conformance.twins import SimMqttKeypadHands
from devices.keypad.sim_keypad_mqtt import SimulatedMqttKeypad
from firmware_protocols.keypad.keypad_mqtt import KeypadTopic, TopicKind
from tests import conformance_twins as broken
from tests.mqtt_helpers import HALL, running_broker

DEVICE, WINDOW = "K03", 3
RESEND = 0.3
EVERY_KEY = {clause.key for clause in CATALOGUE}
Twin = Callable[..., SimulatedMqttKeypad]


def _topic(kind: TopicKind) -> KeypadTopic:
    return KeypadTopic(HALL, WINDOW, DEVICE, kind)


def _run(
    tmp_path: Path, make: Twin, *, hands: bool = True, no_will: bool = False, leftover: int = 0
) -> tuple[Report, str]:
    with running_broker(tmp_path, {DEVICE: WINDOW}) as broker:
        accounts = broker.accounts
        keypad = make(
            HALL,
            DEVICE,
            WINDOW,
            accounts.device_passwords[DEVICE],
            host=broker.host,
            port=broker.port,
            resend_seconds=RESEND,
        )
        keypad.faults.no_will = no_will
        keypad.start()
        keypad.flood(leftover)  # pressed before the run: nobody acked them
        watch = MqttWatch(
            _topic,
            host=broker.host,
            port=broker.port,
            username=accounts.controller_user,
            password=accounts.controller_password,
        ).start()
        try:
            kit = KeypadMqttKit(
                watch,
                DEVICE,
                hands=SimMqttKeypadHands(keypad) if hands else None,
                action_seconds=3,
                resend_seconds=RESEND,
                will_seconds=3,
            )
            report = kit.run()
        finally:
            watch.close()
            keypad.stop()
    out = io.StringIO()
    print_report(report, out)
    return report, out.getvalue()


def test_our_twin_passes_every_clause(tmp_path: Path) -> None:
    report, text = _run(tmp_path, SimulatedMqttKeypad)
    assert report.keys(Outcome.PASS) == EVERY_KEY, text
    assert text.rstrip().endswith("RESULT: PASS")


def test_presses_left_from_before_the_run_are_answered_first(tmp_path: Path) -> None:
    report, text = _run(tmp_path, SimulatedMqttKeypad, leftover=2)
    assert report.keys(Outcome.PASS) == EVERY_KEY, text
    assert "2 presses from before the run were answered" in text


def test_a_keypad_without_a_last_will_fails_that_clause_only(tmp_path: Path) -> None:
    report, text = _run(tmp_path, SimulatedMqttKeypad, no_will=True)
    assert report.keys(Outcome.FAIL) == {"will"}, text
    assert report.keys(Outcome.PASS) == EVERY_KEY - {"will"}, text


@pytest.mark.parametrize(
    ("make", "failing"),
    [
        (broken.SeqStuckMqttKeypad, "seq"),
        (broken.NoPeriodicResendMqttKeypad, "resend"),
        (broken.RetainedEventMqttKeypad, "event-qos"),
        (broken.BootKeptMqttKeypad, "boot"),
        (broken.RefusalKeptMqttKeypad, "ack"),
        (broken.ExtraFieldMqttKeypad, "event"),
    ],
)
def test_a_broken_twin_fails_its_clause_and_only_it(
    tmp_path: Path, make: Twin, failing: str
) -> None:
    report, text = _run(tmp_path, make)
    assert report.keys(Outcome.FAIL) == {failing}, text
    assert report.keys(Outcome.PASS) == EVERY_KEY - {failing}, text
    assert "RESULT: FAIL" in text


def test_unattended_only_the_online_state_is_checked(tmp_path: Path) -> None:
    report, text = _run(tmp_path, SimulatedMqttKeypad, hands=False)
    assert report.keys(Outcome.SKIP) == {clause.key for clause in NEEDS_HANDS}, text
    assert report.keys(Outcome.PASS) == {"online", "state"}


def test_a_keypad_that_is_off_fails_online_and_the_rest_is_not_run(tmp_path: Path) -> None:
    with running_broker(tmp_path, {DEVICE: WINDOW}) as broker:
        accounts = broker.accounts
        password = accounts.device_passwords[DEVICE]
        SimulatedMqttKeypad(
            HALL, DEVICE, WINDOW, password, host=broker.host, port=broker.port
        ).start().stop()
        watch = MqttWatch(
            _topic,
            host=broker.host,
            port=broker.port,
            username=accounts.controller_user,
            password=accounts.controller_password,
        ).start()
        try:
            report = KeypadMqttKit(watch, DEVICE, action_seconds=1).run()
        finally:
            watch.close()
    out = io.StringIO()
    print_report(report, out)
    assert report.keys(Outcome.FAIL) == {"online"}, out.getvalue()
    assert '"state":"offline"' in out.getvalue()
    assert report.keys(Outcome.SKIP) == EVERY_KEY - {"online", "state"}
