"""One family at a time: `--simulate led,...`, per-device `simulate = true`, the real ones kept real.

A "real" device here is a simulated twin the test starts itself, outside the hall, on its own
pseudo-terminal or TCP port: the hall cannot tell it from hardware on a USB adapter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from controller.api.deps import created_render
from controller.app.clock import ManualClock
from controller.app.device_wiring import HallDevices, start_devices
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.app.simulated_families import FAMILIES, Simulated, parse_families
from controller.cli.hall_process import ticket_machines
from controller.settings.config_sections import SatisfactionPushConfig
from controller.settings.hall_config import HallConfig
from devices.keypad.serial_config import KeypadBusConfig, SerialKeypadsConfig
from devices.keypad.sim_keypad_serial import SimulatedKeypadLine
from devices.printer.sim_printer import SimulatedPrinter
from devices.voice.voice_config import VoiceConfig
from tests.conftest import hall_time
from tests.led_helpers import wait_until

QUICK = {"poll_interval_seconds": 0.02, "reply_timeout_seconds": 0.15, "offline_probe_seconds": 0.2}


def test_simulate_names_families_or_all_and_refuses_an_unknown_one() -> None:
    assert parse_families("all") == Simulated.every() == parse_families("led,all")
    assert parse_families(" led , keypads ").families == {"led", "keypads"}
    assert parse_families("printers").describe() == "printers"
    assert Simulated().describe() == "none" and not Simulated()
    assert Simulated.every().describe() == ",".join(FAMILIES)
    with pytest.raises(ValueError, match="unknown device family leds: choose from printers"):
        parse_families("leds,voice")
    with pytest.raises(ValueError, match="name at least one"):
        parse_families(",")


@contextmanager
def hall_with_devices(
    config: HallConfig, tmp_path: Path, simulate: Simulated
) -> Iterator[tuple[HallRuntime, HallDevices]]:
    """`config`'s hall with its devices started as `hallctl up --simulate ...` would."""
    (tmp_path / "var").mkdir()
    journal = Journal.at_path(tmp_path / "hall.db", durable=False)
    runtime = HallRuntime(config, journal, ManualClock(hall_time("09:00")))
    devices = start_devices(
        runtime,
        simulate=simulate,
        data_dir=tmp_path / "var",
        base_url="http://127.0.0.1:9",
        outbox_token="unused",
    )
    try:
        yield runtime, devices
    finally:
        devices.stop()
        runtime.hub.stop()
        journal.close()


def test_simulated_led_strips_beside_a_real_keypad_line_and_one_twin_line(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    with SimulatedKeypadLine(baudrate=38_400, link=tmp_path / "usb-keypads") as real_line:
        real = real_line.add_keypad(3, window=3)
        buses = [
            KeypadBusConfig(id="real", url=real_line.url, keypads={3: 3}, **QUICK),
            KeypadBusConfig(id="twin", url="/dev/ttyNOPE9", keypads={5: 5}, simulate=True, **QUICK),
        ]
        config = hall_config.model_copy(
            update={
                "keypads": hall_config.keypads.model_copy(
                    update={"mqtt": None, "serial": SerialKeypadsConfig(buses=buses)}
                ),
                "voice": VoiceConfig(enabled=False),
                "satisfaction": SatisfactionPushConfig(enabled=False),
            }
        )
        with hall_with_devices(config, tmp_path, parse_families("led")) as (_, devices):
            led_ids = {bus.config.id for bus in devices.led_buses}
            assert len(devices.led_lines) == len(config.led.buses) and led_ids == {"led-1"}
            assert [line.url for line in devices.keypad_lines] != [real_line.url]
            assert len(devices.keypad_lines) == 1  # only the line whose config says simulate
            assert devices.simulated_keypad(3) is None and devices.simulated_keypad(5) is not None
            real.wait_display(lambda d: d.state == "closed")  # the hall polls the "real" line
            wait_until(lambda: all(row["online"] for row in devices.keypads()))
            rows = {row["device_id"]: row["bus"] for row in devices.keypads()}
            twin = next(iter(devices.led_twins.values()))
            wait_until(lambda: twin.text != "")  # the simulated strips show the hall
    assert rows == {"real-3": "real", "twin-5": "twin"}
    assert any("simulated LED line led-1" in note for note in devices.notes)


def test_a_printer_marked_simulate_is_a_twin_and_the_other_stays_real(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    with SimulatedPrinter("tcp") as real_printer:
        first, second = hall_config.printers[:2]
        printers = [
            first.model_copy(update={"url": real_printer.url, "status": "query"}),
            second.model_copy(update={"simulate": True}),
        ]
        config = hall_config.model_copy(update={"printers": printers})
        journal = Journal.at_path(tmp_path / "hall.db", durable=False)
        runtime = HallRuntime(config, journal, ManualClock(hall_time("09:00")))
        machines, twins = ticket_machines(runtime, simulate=False)
        try:
            reply = machines[0].issue("SB", render=created_render)
            printed = real_printer.wait_for_tickets(1)
        finally:
            for machine in machines:
                for printer in machine.printers:
                    printer.close()
            for twin in twins:
                twin.stop()
            runtime.hub.stop()
            journal.close()
    assert reply.words is not None and reply.words[0] == 201 and len(printed) == 1
    assert len(twins) == 1 and twins[0].url != real_printer.url


def test_voice_clips_are_made_under_the_data_directory_not_the_working_directory(
    hall_config: HallConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    config = hall_config.model_copy(
        update={
            "keypads": hall_config.keypads.model_copy(
                update={"mqtt": None, "serial": SerialKeypadsConfig()}
            ),
            "led": hall_config.led.model_copy(update={"buses": []}),
            "voice": VoiceConfig(),  # the default clip directory, relative
            "satisfaction": SatisfactionPushConfig(enabled=False),
        }
    )
    with hall_with_devices(config, tmp_path, parse_families("voice")) as (_, devices):
        assert devices.announcer is not None and devices.announcer.health().available
    assert len(list((tmp_path / "var" / "voice").glob("*.wav"))) > 40
    assert list(workdir.iterdir()) == []
