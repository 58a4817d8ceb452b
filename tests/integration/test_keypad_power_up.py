"""Simulated keypads powered up again (a restarted `hallctl up --simulate`) are new boots.

The keypad specs want a new boot id at every power-on; the controller counts a press once per
(device, boot id, seq). A twin that drew the same boot id from its seed after a restart had
its first presses answered as resends of the last run's and never applied (the crash soak).
"""

from __future__ import annotations

from pathlib import Path

from controller.app.clock import ManualClock
from controller.domain import commands as cmd
from controller.settings.hall_config import HallConfig
from devices.keypad.sim_keypad_model import SimKeypad
from devices.keypad.sim_keypad_mqtt import SimulatedMqttKeypad
from tests.conftest import hall_time
from tests.integration.test_keypad_serial import keypad_line, run, serial_hall


def test_a_keypad_powered_up_again_with_the_same_seed_has_a_new_boot_id() -> None:
    wired = {SimKeypad(3, window=3, seed=7).boot_id for _ in range(5)}
    assert len(wired) == 5
    wifi = {SimulatedMqttKeypad("hall", "K03", 3, "pw", seed=7).boot_id for _ in range(5)}
    assert len(wifi) == 5


def test_a_restarted_simulated_hall_applies_the_new_boots_presses(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    db, clock = tmp_path / "hall.db", ManualClock(hall_time("09:00"))
    with keypad_line(tmp_path) as line, serial_hall(hall_config, db, clock, line) as (runtime, _):
        run(runtime, clock, cmd.SignIn(3, "S0301", "A"))
        kp = line.keypad(3)
        assert kp.wait_acked(kp.press("pause", argument="午休")).accepted
        assert runtime.engine.state.windows[3].paused
    clock.advance(60)
    # The hall restarts: its simulated line and keypads are built again from the same seed.
    with keypad_line(tmp_path) as line, serial_hall(hall_config, db, clock, line) as (runtime, _):
        kp = line.keypad(3)
        answer = kp.wait_acked(kp.press("resume"))
        assert answer.accepted, answer
        assert not runtime.engine.state.windows[3].paused, "the new boot's press was not applied"
