"""MQTT keypads end to end: the real hall (engine, journal, rules) behind a real Mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from controller.app.clock import ManualClock
from controller.app.device_wiring import start_keypad_link
from controller.app.journal import Journal
from controller.app.keypad_intake import KeypadDispatcher
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.settings.config_loader import load_config
from devices.keypad.keypad_mqtt import MqttKeypadPort
from devices.mqtt_broker.mosquitto import MosquittoBroker
from tests.conftest import EXAMPLE_CONFIG, hall_time
from tests.mqtt_helpers import controller_config, keypad, running_broker, wait_until

KEYPADS = {"kp-03": 3}


@contextmanager
def hall_on_broker(
    broker: MosquittoBroker, db: Path, clock: ManualClock
) -> Iterator[tuple[HallRuntime, MqttKeypadPort]]:
    """The example hall on the journal `db`, its keypads on `broker` (a restart: call it again)."""
    runtime = HallRuntime(load_config(EXAMPLE_CONFIG), Journal.at_path(db), clock)
    port = MqttKeypadPort(controller_config(broker), KeypadDispatcher(runtime)).start()
    try:
        assert port.wait_ready(10), port.last_error
        start_keypad_link(runtime, [port])
        yield runtime, port
    finally:
        port.close()
        runtime.hub.stop()
        runtime.journal.close()


def _ratings(db: Path) -> list[ev.RatingRecorded]:
    journal = Journal.at_path(db)
    try:
        events = list(journal.restart_events())
    finally:
        journal.close()
    return [e for e in events if isinstance(e, ev.RatingRecorded)]


def test_a_next_press_over_mqtt_calls_the_next_ticket_and_the_keypad_shows_it(
    tmp_path: Path,
) -> None:
    clock = ManualClock(hall_time("09:00"))
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        hall_on_broker(broker, tmp_path / "hall.db", clock) as (runtime, _),
        keypad(broker, "kp-03") as kp,
    ):
        runtime.execute(cmd.SignIn(3, "S0301", "A"))
        issued = runtime.execute(cmd.IssueTicket("YB")).result
        clock.advance(60)
        ack = kp.wait_acked(kp.press("next"))
        assert ack.accepted and ack.ticket == issued["number"]
        assert runtime.engine.state.windows[3].current == issued["id"]
        assert wait_until(lambda: any(d.ticket == issued["number"] for d in kp.displays))
        clock.advance(60)
        empty = kp.wait_acked(kp.press("next"))  # a finished queue is a refusal, not an error
    assert not empty.accepted and empty.code == "queue_empty" and empty.message


def test_a_rating_survives_lost_acks_a_broker_restart_and_a_controller_restart_once(
    tmp_path: Path,
) -> None:
    db, clock = tmp_path / "hall.db", ManualClock(hall_time("09:00"))
    with running_broker(tmp_path, KEYPADS) as broker, keypad(broker, "kp-03") as kp:
        with hall_on_broker(broker, db, clock) as (runtime, _):
            runtime.execute(cmd.SignIn(3, "S0301", "A"))
            ticket = runtime.execute(cmd.IssueTicket("YB")).result
            for key, argument in (("next", None), ("finish", "即办件"), ("invite_rating", None)):
                clock.advance(120)
                assert kp.wait_acked(kp.press(key, argument=argument)).accepted
            clock.advance(20)
            kp.faults.lose_acks = 2  # the rating is applied, but the keypad never hears so
            rating = kp.press("rate", rating="satisfied")
            assert wait_until(lambda: len(kp.faults.lost_acks) == 2)
            kp.faults.resend_paused = True
        broker.restart()  # the controller is away; the keypad's next resend waits in the broker
        kp.faults.resend_paused = False
        assert wait_until(lambda: kp.connected, timeout=10)
        clock.advance(5)
        with hall_on_broker(broker, db, clock):
            ack = kp.wait_acked(rating, timeout=10)
    assert ack.accepted, ack  # the resend got the first answer again
    assert len(kp.faults.lost_acks) == 2
    recorded = _ratings(db)
    assert [(r.ticket_id, r.level, r.device_id) for r in recorded] == [
        (ticket["id"], "satisfied", "kp-03")
    ]
