"""RS-485 keypads end to end: the real hall (engine, journal, rules) polling simulated keypads on a pty."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from controller.app.clock import ManualClock
from controller.app.device_wiring import start_keypad_link
from controller.app.journal import Journal
from controller.app.keypad_intake import KeypadDispatcher
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.settings.hall_config import HallConfig
from devices.keypad.keypad_serial import SerialKeypadBus
from devices.keypad.serial_config import KeypadBusConfig
from devices.keypad.sim_keypad_serial import SimKeypad, SimulatedKeypadLine
from tests.conftest import hall_time
from tests.led_helpers import wait_until

BAUD = 38_400
QUICK = {
    "baudrate": BAUD,
    "poll_interval_seconds": 0.02,
    # Three silent polls of 0.15 s make a keypad offline: short, yet longer than the stalls a
    # loaded 2-core machine running the suite on two workers gives a thread.
    "reply_timeout_seconds": 0.15,
    "retries": 2,
    "offline_probe_seconds": 0.2,
}


@contextmanager
def keypad_line(
    tmp_path: Path, windows: tuple[int, ...] = (1, 2, 3)
) -> Iterator[SimulatedKeypadLine]:
    """A started pty line with one keypad per window (address = window number)."""
    with SimulatedKeypadLine(baudrate=BAUD, link=tmp_path / "keypads") as line:
        for window in windows:
            line.add_keypad(window, window=window)
        yield line


@contextmanager
def serial_hall(
    config: HallConfig, db: Path, clock: ManualClock, line: SimulatedKeypadLine
) -> Iterator[tuple[HallRuntime, SerialKeypadBus]]:
    """The hall on journal `db` polling `line`'s keypads (a controller restart: call it again)."""
    runtime = HallRuntime(config, Journal.at_path(db, durable=False), clock)
    keypads = {kp.address: kp.window or kp.address for kp in line.keypads}
    bus = SerialKeypadBus(
        KeypadBusConfig(id="kp", url=line.url, keypads=keypads, **QUICK), KeypadDispatcher(runtime)
    )
    runtime.add_alert_source(bus.alerts)
    try:
        start_keypad_link(runtime, [bus])
        bus.start()
        yield runtime, bus
    finally:
        bus.close()
        runtime.hub.stop()
        runtime.journal.close()


def run(runtime: HallRuntime, clock: ManualClock, command: cmd.Command) -> dict[str, Any]:
    """Execute a command a minute later; its reply body (200 expected)."""
    clock.advance(60)
    reply = runtime.execute(command)
    assert reply.accepted, reply.result
    return reply.result


def offline_alerts(runtime: HallRuntime, kind: str = "keypad_offline") -> list[str]:
    """Messages of the snapshot's alerts of `kind`."""
    return [a["message"] for a in runtime.snapshot()["alerts"] if a["kind"] == kind]


def journal_events(db: Path) -> list[ev.Event]:
    """Every event the journal at `db` holds for the restart."""
    journal = Journal.at_path(db, durable=False)
    try:
        return list(journal.restart_events())
    finally:
        journal.close()


def test_a_next_press_calls_the_next_ticket_and_the_keypad_shows_it(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("09:00"))
    with (
        keypad_line(tmp_path) as line,
        serial_hall(hall_config, tmp_path / "h.db", clock, line) as (
            runtime,
            bus,
        ),
    ):
        kp = line.keypad(3)
        kp.wait_display(lambda d: d.state == "closed")  # nobody signed in yet
        run(runtime, clock, cmd.SignIn(3, "S0301", "A"))
        kp.wait_display(lambda d: d.state == "idle" and d.staff_name == "冯晨")
        issued = run(runtime, clock, cmd.IssueTicket("YB"))
        clock.advance(30)
        answer = kp.wait_acked(kp.press("next"))
        assert answer.accepted and answer.ticket == issued["number"] == "B001"
        assert runtime.engine.state.windows[3].current == issued["id"]
        shown = kp.wait_display(lambda d: d.state == "serving")
        assert (shown.ticket, shown.message, shown.window) == ("B001", "正在办理 B001", 3)
        clock.advance(30)
        empty = kp.wait_acked(kp.press("next"))  # a finished queue is a refusal, not an error
        assert not empty.accepted and empty.code == "queue_empty" and empty.message
        rows = {row["device_id"]: row for row in bus.keypads()}
        assert rows["kp-3"]["online"] is True and rows["kp-3"]["firmware"] == "sim-kp 1.0"
        assert rows["kp-3"]["boot_id"] == f"{kp.boot_id:08x}" and rows["kp-3"]["last_seen"]
        assert offline_alerts(runtime) == [] and bus.counters(3)["presses"] == 2


def test_a_rating_survives_lost_acks_and_a_controller_restart_and_counts_once(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    db, clock = tmp_path / "hall.db", ManualClock(hall_time("09:00"))
    with keypad_line(tmp_path) as line:
        kp = line.keypad(3)
        with serial_hall(hall_config, db, clock, line) as (runtime, bus):
            run(runtime, clock, cmd.SignIn(3, "S0301", "A"))
            ticket = run(runtime, clock, cmd.IssueTicket("YB"))
            for key, argument in (("next", None), ("finish", "即办件"), ("invite_rating", None)):
                clock.advance(120)
                assert kp.wait_acked(kp.press(key, argument=argument)).accepted
            invited = kp.wait_display(lambda d: d.state == "rating_invited")
            assert (invited.ticket, invited.rating_seconds) == ("B001", 120)
            clock.advance(20)
            kp.faults.ignore_acks = True  # the rating is recorded, but the keypad never hears so
            rating = kp.press("rate", rating="dissatisfied", reasons=("R02", "R05"))
            assert kp.wait_for(lambda: len(kp.faults.lost_acks) >= 3)
            assert bus.counters(3)["resends"] >= 2  # answered again without the handler
        assert kp.queued == [rating]  # the controller is gone; the keypad still offers it
        kp.faults.ignore_acks = False
        clock.advance(5)
        with serial_hall(hall_config, db, clock, line) as (runtime, bus):
            answer = kp.wait_acked(rating)
            kp.wait_display(lambda d: d.state == "idle")  # the new controller resynced it
    assert answer.accepted and answer.message == "不满意"
    assert set(kp.faults.lost_acks) == {answer}  # every resend got the first answer
    events = journal_events(db)
    recorded = [e for e in events if isinstance(e, ev.RatingRecorded)]
    assert [(r.ticket_id, r.level, r.reasons, r.device_id) for r in recorded] == [
        (ticket["id"], "dissatisfied", ("R02", "R05"), "kp-3")
    ]
    logged = [e for e in events if isinstance(e, ev.KeyPressed) and e.key == "rate"]
    assert [(p.boot_id, p.seq) for p in logged] == [(f"{kp.boot_id:08x}", rating.seq)]


def test_a_silent_keypad_goes_offline_while_the_others_carry_on_and_comes_back_resynced(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("09:00"))
    with (
        keypad_line(tmp_path) as line,
        serial_hall(hall_config, tmp_path / "h.db", clock, line) as (
            runtime,
            bus,
        ),
    ):
        one, three = line.keypad(1), line.keypad(3)
        run(runtime, clock, cmd.SignIn(1, "S0101", "A"))
        run(runtime, clock, cmd.SignIn(3, "S0301", "A"))
        three.wait_display(lambda d: d.staff_name == "冯晨")
        three.faults.silent = True  # unplugged from the shared line
        wait_until(lambda: offline_alerts(runtime) == ["3号窗口评价器离线（kp-3）"], what="alert")
        assert {r["window"]: r["online"] for r in bus.keypads()} == {1: True, 2: True, 3: False}
        run(runtime, clock, cmd.IssueTicket("SB"))
        assert one.wait_acked(one.press("next")).ticket == "A001"  # the others carry on
        run(runtime, clock, cmd.IssueTicket("YB"))
        run(runtime, clock, cmd.CallNext(3))  # a change it cannot hear
        assert three.shown is not None and three.shown.state == "idle"
        three.faults.silent = False
        shown = three.wait_display(lambda d: d.state == "serving")
        assert shown.ticket == "B001"  # resynced to now
        wait_until(lambda: offline_alerts(runtime) == [], what="alert cleared")
        counters = bus.counters(3)
        assert counters["resyncs"] >= 1 and counters["retries"] >= 2


def test_an_unplugged_line_raises_a_bus_alert_and_comes_back(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("09:00"))
    with (
        keypad_line(tmp_path, (1, 2)) as line,
        serial_hall(hall_config, tmp_path / "h.db", clock, line) as (runtime, _),
    ):
        one = line.keypad(1)
        one.wait_display(lambda d: d.state == "closed")
        line.unplug()  # the pty is closed
        wait_until(
            lambda: (
                sorted(offline_alerts(runtime))
                == ["1号窗口评价器离线（kp-1）", "2号窗口评价器离线（kp-2）"]
            ),
            what="both offline",
        )
        assert any("评价器总线 kp" in m for m in offline_alerts(runtime, "keypad_bus_offline"))
        run(runtime, clock, cmd.SignIn(1, "S0101", "A"))
        run(runtime, clock, cmd.IssueTicket("SB"))
        pressed = one.press("next")  # queued while the line is down
        line.replug()  # a new pty behind the same path
        assert one.wait_acked(pressed).ticket == "A001"
        one.wait_display(lambda d: d.state == "serving" and d.staff_name == "周文")
        wait_until(lambda: offline_alerts(runtime) == [], what="keypads back")
        assert offline_alerts(runtime, "keypad_bus_offline") == []


def test_garbage_on_the_line_does_not_stop_the_presses(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("09:00"))
    with (
        keypad_line(tmp_path, (1, 2)) as line,
        serial_hall(hall_config, tmp_path / "h.db", clock, line) as (runtime, bus),
    ):
        one, two = line.keypad(1), line.keypad(2)
        run(runtime, clock, cmd.SignIn(1, "S0101", "A"))
        run(runtime, clock, cmd.SignIn(2, "S0201", "A"))
        two.faults.garbage_replies = True  # noise and a corrupted copy before every reply
        line.byte_at_a_time = True
        for i in range(4):
            line.inject(bytes([0xFF, 0xA5, 0x01, 0x02, 0x80, i]) + b"\x00\xff" * 8)
            line.inject_to_keypads(b"\xff\xa5\x01\x01\x00\x00\x60\x00\x09" + bytes(range(20)))
            run(runtime, clock, cmd.IssueTicket("SB"))
        numbers = [
            one.wait_acked(one.press("next")).ticket,
            two.wait_acked(two.press("next")).ticket,
        ]
        numbers.append(two.wait_acked(two.press("next")).ticket)
        assert numbers == ["A001", "A002", "A003"]
        assert offline_alerts(runtime) == []
        wait_until(lambda: bus.discarded_bytes > 0 and line.discarded_bytes > 0)


def test_a_rebooted_keypad_keeps_its_press_counted_once_and_is_resynced(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("09:00"))
    with (
        keypad_line(tmp_path, (1, 2)) as line,
        serial_hall(hall_config, tmp_path / "h.db", clock, line) as (runtime, bus),
    ):
        two = line.keypad(2)
        run(runtime, clock, cmd.SignIn(2, "S0201", "A"))
        run(runtime, clock, cmd.IssueTicket("SB"))
        run(runtime, clock, cmd.IssueTicket("SB"))
        two.faults.ignore_acks = True
        pressed = two.press("next")
        assert two.wait_for(lambda: bool(two.faults.lost_acks))
        old_boot = two.boot_id
        new_boot = two.reboot(keep_queue=True)  # a keypad with flash keeps the press
        assert new_boot != old_boot and two.shown is None
        two.faults.ignore_acks = False
        assert two.wait_acked(pressed).ticket == "A001"  # the same press, not a second call
        two.wait_display(lambda d: d.state == "serving" and d.ticket == "A001")
        after = two.press("next")
        assert (after.boot_id, after.seq) == (new_boot, 1)
        assert two.wait_acked(after).ticket == "A002"
        assert bus.counters(2)["reboots"] == 1
        lost = two.press("next")
        two.faults.silent = True
        two.reboot(keep_queue=False)  # no flash: the press is gone with the power
        two.faults.silent = False
        two.wait_display(lambda d: d.state == "serving" and d.ticket == "A002")
        assert lost not in two.queued and runtime.engine.state.windows[2].current is not None


def test_a_flood_of_presses_is_answered_in_order_and_the_others_still_get_polled(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("09:00"))
    with (
        keypad_line(tmp_path, (1, 2)) as line,
        serial_hall(hall_config, tmp_path / "h.db", clock, line) as (runtime, _),
    ):
        one, two = line.keypad(1), line.keypad(2)
        run(runtime, clock, cmd.SignIn(1, "S0101", "A"))
        run(runtime, clock, cmd.SignIn(2, "S0201", "A"))
        flood = one.flood(40, "recall")  # 32 fit in the queue; the rest are refused
        assert len(flood) == 32 and one.refused == 8
        run(runtime, clock, cmd.IssueTicket("SB"))
        assert two.wait_acked(two.press("next")).ticket == "A001"  # not after all 32
        assert one.wait_all_acked(timeout=10)
        assert [a.seq for a in one.answers] == [p.seq for p in flood]
        # 20 presses within 10 s is the default press limit: the rest are a stuck key.
        codes = [a.code for a in one.answers]
        assert codes == ["no_current_ticket"] * 20 + ["press_rate_limited"] * 12
        presses = [e for e in runtime.journal.restart_events() if isinstance(e, ev.KeyPressed)]
        assert sum(p.device_id == "kp-1" for p in presses) == 21  # the burst's first drop too


@pytest.mark.parametrize("silent_first", [True, False])
def test_a_keypad_missing_at_start_is_offline_then_found(
    hall_config: HallConfig, tmp_path: Path, silent_first: bool
) -> None:
    clock = ManualClock(hall_time("09:00"))
    with keypad_line(tmp_path, (1, 2)) as line:
        two = line.keypad(2)
        two.faults.silent = silent_first
        with serial_hall(hall_config, tmp_path / "h.db", clock, line) as (runtime, bus):
            wait_until(lambda: all(r["online"] is not None for r in bus.keypads()))
            expected = ["2号窗口评价器离线（kp-2）"] if silent_first else []
            assert offline_alerts(runtime) == expected
            two.faults.silent = False
            two.wait_display(lambda d: d.state == "closed")
            wait_until(lambda: offline_alerts(runtime) == [])
            assert isinstance(two, SimKeypad) and two.connected
