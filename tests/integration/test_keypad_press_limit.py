"""A stuck keypad key: past the per-device press rate its presses are dropped before the journal.

Real parts: the hall's runtime on a SQLite journal, the MQTT driver through a real Mosquitto,
the RS-485 bus owner on a real pty with simulated keypads flooding a key; the limiter's own
clock is a controlled one where the test needs hours of stuck key in a second.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.keypad_intake import PRESS_RATE_LIMITED, KeypadDispatcher
from controller.app.runtime import HallRuntime
from controller.domain import events as ev
from controller.settings.config_sections import KeypadsConfig, PressLimitConfig
from controller.settings.hall_config import HallConfig
from devices.keypad.keypad import REFUSAL_MESSAGES, KeypadKey, KeypadPress
from devices.keypad.keypad_serial import SerialKeypadBus
from devices.keypad.serial_config import KeypadBusConfig
from devices.keypad.sim_keypad_serial import SimulatedKeypadLine
from tests.conftest import MONDAY, hall_time
from tests.mqtt_helpers import controller_port, keypad, running_broker, wait_until

QUICK = {"reply_timeout_seconds": 0.15, "offline_probe_seconds": 0.2, "poll_interval_seconds": 0.02}
SHORT = PressLimitConfig(max_presses=10, per_seconds=1.0)  # a burst is over within a test


class Ticking:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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


def with_limit(config: HallConfig, limit: PressLimitConfig) -> HallConfig:
    """The config with this press limit for every keypad."""
    keypads = KeypadsConfig(
        mqtt=config.keypads.mqtt, serial=config.keypads.serial, press_limit=limit
    )
    return config.model_copy(update={"keypads": keypads})


def press_log(runtime: HallRuntime) -> list[ev.KeyPressed]:
    """The day's press log as journaled."""
    return [e for e in runtime.journal.events_of_day(MONDAY) if isinstance(e, ev.KeyPressed)]


def stuck_alerts(runtime: HallRuntime) -> list[dict[str, object]]:
    """The floor's stuck-key alerts now (the dashboard's snapshot)."""
    return [a for a in runtime.snapshot()["alerts"] if a["kind"] == "keypad_stuck"]


def test_the_default_limit_is_a_safe_one() -> None:
    limit = KeypadsConfig().press_limit
    # A person presses at most a few keys a second; a stuck key sends ~220 presses a second.
    assert (limit.max_presses, limit.per_seconds) == (20, 10.0)


def test_a_stuck_key_is_dropped_alerted_logged_once_and_calms(
    hall_config: HallConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ticking = Ticking()
    caplog.set_level(logging.INFO, logger="controller")
    with hall(hall_config, tmp_path) as runtime:
        dispatch = KeypadDispatcher(runtime, clock=ticking)
        answers = []
        for seq in range(1, 2 * 220 + 1):  # two seconds of a key stuck at 220 presses/s
            answers.append(dispatch(KeypadPress("kp-1", "b1", seq, 1, KeypadKey.NEXT, raw="next")))
            ticking.now += 1 / 220
        logged = press_log(runtime)
        alerts = stuck_alerts(runtime)
        assert len(alerts) == 1
        # The floor manager reads which keypad, at which window, and that presses are dropped.
        assert alerts[0]["device"] == "kp-1" and alerts[0]["window"] == 1
        assert "按键卡住" in str(alerts[0]["message"])
        ticking.now += 10.0  # the key is released: ten quiet seconds
        assert stuck_alerts(runtime) == []
        calm = dispatch(KeypadPress("kp-1", "b1", 9999, 1, KeypadKey.NEXT, raw="next"))
        after = press_log(runtime)
    codes = [a.code for a in answers]
    # The first 20 reach the rules (nobody is signed in at window 1); the rest are dropped.
    assert codes[:20] == ["not_signed_in"] * 20
    assert codes[20:] == [PRESS_RATE_LIMITED] * (len(codes) - 20)
    assert answers[-1].message == REFUSAL_MESSAGES[PRESS_RATE_LIMITED]
    # Journaled: the 20, and the burst once (its first dropped press); not 420 more rows.
    assert [p.outcome for p in logged] == ["not_signed_in"] * 20 + [PRESS_RATE_LIMITED]
    assert calm.code == "not_signed_in" and len(after) == len(logged) + 1
    stuck = [r for r in caplog.records if "kp-1" in r.getMessage() and "stuck" in r.getMessage()]
    calmed = [r for r in caplog.records if "kp-1" in r.getMessage() and "calm" in r.getMessage()]
    assert len(stuck) == 1 and len(calmed) == 1
    assert "420 presses dropped" in calmed[0].getMessage()


def test_one_stuck_keypad_does_not_limit_another(hall_config: HallConfig, tmp_path: Path) -> None:
    ticking = Ticking()
    with hall(hall_config, tmp_path) as runtime:
        dispatch = KeypadDispatcher(runtime, clock=ticking)
        for seq in range(1, 100):
            dispatch(KeypadPress("kp-1", "b1", seq, 1, KeypadKey.NEXT, raw="next"))
        other = dispatch(KeypadPress("kp-2", "b1", 1, 2, KeypadKey.NEXT, raw="next"))
    assert other.code == "not_signed_in"


def test_a_flood_of_refused_messages_is_not_journaled_each(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    from devices.keypad.keypad import RefusedPress

    ticking = Ticking()
    with hall(hall_config, tmp_path) as runtime:
        dispatch = KeypadDispatcher(runtime, clock=ticking)
        for seq in range(1, 300):
            dispatch.refused(RefusedPress("kp-1", "bad_payload", "b1", seq, 1, raw=f"junk {seq}"))
        logged = press_log(runtime)
    assert [p.outcome for p in logged] == ["bad_payload"] * 20 + [PRESS_RATE_LIMITED]


def test_mqtt_keypad_flood_is_answered_press_rate_limited(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    config = with_limit(hall_config, SHORT)
    with (
        hall(config, tmp_path) as runtime,
        running_broker(tmp_path, {"K03": 3}) as broker,
        controller_port(broker, KeypadDispatcher(runtime)),
        keypad(broker, "K03") as k03,
    ):
        events = k03.flood(120)
        assert wait_until(lambda: len(k03.acks) >= len(events), timeout=20)
        codes = [ack.code for ack in k03.acks]
        assert stuck_alerts(runtime) != []
        logged = press_log(runtime)
        assert wait_until(lambda: stuck_alerts(runtime) == [], timeout=5)  # calm after 1 s
        again = k03.wait_acked(k03.press("next"))
    assert codes.count(PRESS_RATE_LIMITED) >= 100
    assert len(logged) <= SHORT.max_presses + 1
    assert logged[-1].outcome == PRESS_RATE_LIMITED
    assert again.code == "not_signed_in"


def test_rs485_keypad_flood_is_answered_press_rate_limited(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    config = with_limit(hall_config, SHORT)
    with (
        hall(config, tmp_path) as runtime,
        SimulatedKeypadLine(link=tmp_path / "kp") as line,
    ):
        sim = line.add_keypad(2)
        bus = KeypadBusConfig(id="t", url=line.url, keypads={2: 2}, **QUICK)
        with SerialKeypadBus(bus, KeypadDispatcher(runtime)):
            presses = sim.flood(32)  # a full queue of one key, polled out at 50 a second
            assert sim.wait_all_acked(timeout=20)
            codes = [sim.wait_acked(p).code for p in presses]
            logged = press_log(runtime)
            assert stuck_alerts(runtime) != []
            assert wait_until(lambda: stuck_alerts(runtime) == [], timeout=5)
            again = sim.wait_acked(sim.press("next"))
    assert codes[:10] == ["not_signed_in"] * 10
    assert codes.count(PRESS_RATE_LIMITED) >= 15
    assert [p.outcome for p in logged][-1] == PRESS_RATE_LIMITED
    assert len(logged) <= SHORT.max_presses + 1
    assert again.code == "not_signed_in"
