"""Press time over a real Mosquitto: the keypad's clock comes from the acks, its stamp rides on
the press, and a rating pressed in time but delivered after a controller outage counts."""

from __future__ import annotations

from pathlib import Path

from controller.app.clock import ManualClock
from controller.domain import commands as cmd
from tests.conftest import hall_time
from tests.integration.test_keypad_mqtt_hall import KEYPADS, _ratings, hall_on_broker
from tests.mqtt_helpers import keypad, running_broker


def test_a_rating_made_in_time_is_judged_at_its_press_after_the_controller_was_down(
    tmp_path: Path,
) -> None:
    db, clock = tmp_path / "hall.db", ManualClock(hall_time("09:00"))
    with running_broker(tmp_path, KEYPADS) as broker, keypad(broker, "kp-03") as kp:
        assert kp.clock_ms() is None  # no clock before the controller told it one
        with hall_on_broker(broker, db, clock) as (runtime, _):
            runtime.execute(cmd.SignIn(3, "S0301", "A"))
            ticket = runtime.execute(cmd.IssueTicket("YB")).result
            for key, argument in (("next", None), ("finish", "即办件"), ("invite_rating", None)):
                clock.advance(60)
                ack = kp.wait_acked(kp.press(key, argument=argument))
                assert ack.accepted and ack.time == round(clock.now().timestamp() * 1000)
        # The controller is down (a restart, an update); the citizen rates 30 s after the
        # invitation, within its 120 s; the press waits in the broker for the controller.
        clock.advance(30)
        stamped = kp.clock_ms()
        assert stamped is not None
        rating = kp.press("rate", rating="satisfied")
        assert rating.pressed_at is not None and abs(rating.pressed_at - stamped) < 2_000
        clock.advance(300)  # back 5 minutes later: the invitation has expired by then
        with hall_on_broker(broker, db, clock) as (runtime, _):
            answer = kp.wait_acked(rating, timeout=10)
            late = kp.wait_acked(kp.press("rate", rating="satisfied"))  # pressed now: too late
    assert answer.accepted and answer.code == "ok", answer
    assert (late.accepted, late.code) in {(False, "invitation_expired"), (False, "already_rated")}
    assert [r.ticket_id for r in _ratings(db)] == [ticket["id"]]
