"""Keypad floor alerts against a real Mosquitto: a keypad gone offline, the broker link down."""

from __future__ import annotations

from pathlib import Path

from controller.app.clock import ManualClock
from controller.app.device_wiring import HallDevices
from controller.app.journal import Journal
from controller.app.keypad_intake import KeypadDispatcher
from controller.app.runtime import HallRuntime
from controller.settings.config_loader import load_config
from devices.keypad.keypad_mqtt import MqttKeypadPort
from tests.conftest import EXAMPLE_CONFIG, hall_time
from tests.mqtt_helpers import controller_config, keypad, running_broker, wait_until

KEYPADS = {"kp-03": 3, "kp-05": 5}


def _kinds(devices: HallDevices) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for alert in devices.keypad_alerts():
        found.setdefault(alert.kind, []).append(alert.to_json())
    return found


def test_a_keypad_offline_and_the_broker_link_down_reach_the_floor_then_clear(
    tmp_path: Path,
) -> None:
    clock = ManualClock(hall_time("09:00"))
    runtime = HallRuntime(load_config(EXAMPLE_CONFIG), Journal.at_path(tmp_path / "h.db"), clock)
    with running_broker(tmp_path, KEYPADS) as broker:
        port = MqttKeypadPort(controller_config(broker), KeypadDispatcher(runtime)).start()
        devices = HallDevices(runtime, mqtt_port=port)
        runtime.add_alert_source(devices.keypad_alerts)
        try:
            assert port.wait_ready(10), port.last_error
            with keypad(broker, "kp-03") as kp3, keypad(broker, "kp-05"):
                assert wait_until(lambda: not _kinds(devices))
                kp3.go_offline()
                assert wait_until(lambda: "keypad_offline" in _kinds(devices))
                [offline] = _kinds(devices)["keypad_offline"]
                assert (offline["window"], offline["device"]) == (3, "kp-03")
                assert "3号窗口评价器离线" in str(offline["message"])
                floor = {a["kind"] for a in runtime.snapshot()["alerts"]}
                assert "keypad_offline" in floor
                kp3.go_online()
                assert wait_until(lambda: "keypad_offline" not in _kinds(devices))

                broker.stop()
                assert wait_until(lambda: "keypad_link_down" in _kinds(devices), timeout=10)
                [down] = _kinds(devices)["keypad_link_down"]
                assert "评价器服务器连接中断" in str(down["message"])
                broker.start()
                assert port.wait_ready(15), port.last_error
                assert wait_until(lambda: "keypad_link_down" not in _kinds(devices), timeout=15)
        finally:
            port.close()
            runtime.hub.stop()
            runtime.journal.close()
