"""LED bus driver against simulated strips on real ptys: calls, faults, unavailable, resync."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from PIL import Image

from controller.app.subscribers.latest_state import LatestState
from controller.app.subscribers.led_strips import LedStripSubscriber
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.settings.hall_config import HallConfig
from devices.led.led_bus import LedBus
from devices.led.led_config import LedBusConfig, LedStripConfig
from devices.led.led_display import LedBusError
from devices.led.sim_led_model import SimLedStrip
from devices.led.sim_led_strip import SimulatedLedBus
from firmware_protocols.hall_bus.hall_bus import Ack, Frame, Nak, NakReason
from firmware_protocols.led.led_strip import (
    BoardText,
    Clear,
    SetBrightness,
    ShowCall,
    ShowPaused,
    StatusFlags,
    StatusQuery,
    StatusReply,
    decode_reply,
    request_frame,
)
from tests.led_helpers import (
    BAUD,
    BOARD_ADDRESS,
    bus_config,
    led_hall,
    strip_config,
    wait_until,
)

CALL_1 = "请A001号到1号窗口"


def _sign_in(hall, *windows: int) -> None:
    staff = {1: "S0101", 2: "S0201", 3: "S0301"}
    for window in windows:
        hall.run(cmd.SignIn(window, staff[window], "A"))


def test_calls_reach_the_right_strip_and_the_board(hall_config: HallConfig, tmp_path: Path) -> None:
    layout = {"a": [strip_config(1), strip_config(2), strip_config(3), strip_config("board")]}
    with led_hall(hall_config, tmp_path, layout) as hall:
        one, two, three = (hall.sim("a", n) for n in (1, 2, 3))
        board = hall.sim("a", BOARD_ADDRESS)
        wait_until(lambda: "暂停服务" in one.text, what="resync at start: nobody signed in")
        _sign_in(hall, 1, 2, 3)
        one.wait_for_text("1号窗口 周文 社保经办")  # 亮牌上岗
        hall.run(cmd.IssueTicket("SB"))
        hall.run(cmd.IssueTicket("YB"))
        hall.run(cmd.CallNext(1))
        assert one.wait_for_text("A001") == CALL_1
        assert one.content == ShowCall("A001", "1号窗口", 5)
        hall.run(cmd.CallNext(3))
        three.wait_for_text("请B001号到3号窗口")
        board.wait_for_text("请B001号到3号窗口")
        assert board.text.split("\n")[1] == "1号A001  2号空闲  3号B001"
        assert two.text == "2号窗口 郑海 社保经办" and one.text == CALL_1
        hall.run(cmd.Recall(1))  # shown again, so it blinks again
        wait_until(
            lambda: sum(isinstance(e.request, ShowCall) for e in one.executed) == 2,
            what=f"{one.executed}",
        )
        hall.run(cmd.Finish(3))
        hall.run(cmd.Pause(3, "会议"))
        three.wait_for_text("暂停服务")
        hall.run(cmd.Finish(1))
        one.wait_for_text("周文")
        board.wait_for_text("3号暂停")
        assert hall.alerts() == [] and all(d.health().naks == 0 for d in hall.buses["a"].displays)
        path = one.render_png(tmp_path / "strip-1.png")
        image = Image.open(path)
        assert image.size[0] == 16 * 8 * 6 and image.size[1] % (16 * 6) == 0  # 16 columns, wrapped
        assert image.getbbox() is not None


def test_silent_strip_is_unavailable_then_resynced_to_now(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    layout = {"a": [strip_config(1), strip_config(2), strip_config(3)]}
    with led_hall(hall_config, tmp_path, layout) as hall:
        one, three = hall.sim("a", 1), hall.sim("a", 3)
        _sign_in(hall, 1, 3)
        three.wait_for_text("冯晨")
        three.faults.silent = True  # unplugged from the shared line
        wait_until(lambda: hall.alerts() == ["3号窗口条屏离线"], what="offline alert")
        for _ in range(3):
            hall.run(cmd.IssueTicket("YB"))
        hall.run(cmd.IssueTicket("SB"))
        hall.run(cmd.CallNext(1))  # the other strips carry on meanwhile
        one.wait_for_text(CALL_1)
        hall.run(cmd.CallNext(3))
        hall.run(cmd.CallNext(3))  # two calls while it cannot hear; B002 is current
        assert "冯晨" in three.text
        three.faults.silent = False
        three.wait_for_text("请B002号到3号窗口")
        wait_until(lambda: hall.alerts() == [], what="alert cleared")
        shown = [e.request for e in three.executed if isinstance(e.request, ShowCall)]
        assert shown == [ShowCall("B002", "3号窗口", 0)]  # resynced, not replayed
        health = hall.buses["a"].display(3).health()
        assert health.available and health.resyncs == 2 and health.retries >= 2


def test_unplugged_line_and_back_while_the_other_line_works(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    layout = {"a": [strip_config(1)], "b": [strip_config(2), strip_config("board")]}
    with led_hall(hall_config, tmp_path, layout) as hall:
        one, two = hall.sim("a", 1), hall.sim("b", 2)
        board = hall.sim("b", BOARD_ADDRESS)
        _sign_in(hall, 1, 2)
        two.wait_for_text("郑海")
        hall.lines["b"].unplug()  # its pty is closed
        wait_until(
            lambda: sorted(hall.alerts()) == ["2号窗口条屏离线", "综合屏离线"], what="offline"
        )
        assert any("条屏总线 b" in m for m in hall.alerts("led_bus_offline"))
        hall.run(cmd.IssueTicket("SB"))
        hall.run(cmd.IssueTicket("SB"))
        hall.run(cmd.CallNext(1))
        one.wait_for_text(CALL_1)
        hall.run(cmd.CallNext(2))
        hall.lines["b"].replug()  # a new pty behind the same path
        two.wait_for_text("请A002号到2号窗口")
        board.wait_for_text("请A002号到2号窗口")
        assert "1号A001  2号A002" in board.text
        wait_until(lambda: hall.alerts() == [] and hall.alerts("led_bus_offline") == [])


def test_garbage_on_the_line_does_not_stop_the_calls(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    layout = {"a": [strip_config(1), strip_config(2)]}
    with led_hall(hall_config, tmp_path, layout) as hall:
        line = hall.lines["a"]
        one, two = hall.sim("a", 1), hall.sim("a", 2)
        _sign_in(hall, 1, 2)
        two.wait_for_text("郑海")
        two.faults.garbage_replies = True  # noise and a corrupted copy before every reply
        line.byte_at_a_time = True
        for i in range(4):
            line.inject(bytes([0xFF, 0xA5, 0x01, 0x02, 0x80, i]) + b"\x00\xff" * 8)
            line.inject_to_displays(b"\xff\xa5\x01\x01\x00\x00\x40\x00\x09" + bytes(range(20)))
            hall.run(cmd.IssueTicket("SB"))
        hall.run(cmd.CallNext(1))
        hall.run(cmd.CallNext(2))
        one.wait_for_text(CALL_1)
        two.wait_for_text("请A002号到2号窗口")
        assert hall.alerts() == []
        wait_until(lambda: hall.buses["a"].discarded_bytes > 0 and line.discarded_bytes > 0)


def test_lost_acks_are_resent_and_executed_once(hall_config: HallConfig, tmp_path: Path) -> None:
    layout = {"a": [strip_config(1)]}
    with led_hall(hall_config, tmp_path, layout) as hall:
        one = hall.sim("a", 1)
        _sign_in(hall, 1)
        one.wait_for_text("周文")
        hall.run(cmd.IssueTicket("SB"))
        one.faults.drop_replies = 2  # the strip executes, but its ACK is lost twice
        hall.run(cmd.CallNext(1))
        one.wait_for_text(CALL_1)
        wait_until(lambda: one.repeats == 2, what="two resends seen as repeats")
        assert sum(isinstance(e.request, ShowCall) for e in one.executed) == 1
        health = hall.buses["a"].display(1).health()
        assert health.available and health.retries >= 2 and hall.alerts() == []


def test_a_slow_strip_within_the_timeout_is_fine_beyond_it_unavailable(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    layout = {"a": [strip_config(1)]}
    with led_hall(hall_config, tmp_path, layout) as hall:
        one = hall.sim("a", 1)
        one.faults.delay_seconds = 0.03  # reply timeout is 0.05 s
        _sign_in(hall, 1)
        one.wait_for_text("周文")
        assert hall.alerts() == []
        one.faults.delay_seconds = 0.4  # later than all three tries together
        wait_until(lambda: hall.alerts() == ["1号窗口条屏离线"])
        one.faults.delay_seconds = 0.0
        wait_until(lambda: hall.alerts() == [])


def test_rebooted_strip_reports_booted_and_is_resynced(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    layout = {"a": [strip_config(1, brightness=40)]}
    with led_hall(hall_config, tmp_path, layout) as hall:
        one = hall.sim("a", 1)
        _sign_in(hall, 1)
        one.wait_for_text("周文")
        assert one.brightness == 40
        one.power_cycle()  # quicker than a probe period: it never missed a reply
        assert one.text == "" and one.brightness == 100
        one.wait_for_text("周文")
        wait_until(lambda: one.brightness == 40)
        assert hall.alerts() == []


def test_rebooted_strip_that_got_a_command_before_any_probe_gets_its_brightness_back(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    layout = {"a": [strip_config(1, brightness=40)]}
    with led_hall(hall_config, tmp_path, layout) as hall:
        one = hall.sim("a", 1)
        _sign_in(hall, 1)
        one.wait_for_text("周文")
        one.power_cycle()
        # A content command reaches it first, as it would on a busy window: BOOTED is cleared,
        # so only the STATUS brightness (100, not 40) tells the bus that it rebooted.
        one.handle(request_frame(ShowPaused("暂停服务"), 1, 0x77), time.monotonic())
        assert not one.booted and one.brightness == 100
        wait_until(lambda: one.brightness == 40, what="brightness restored by a resync")
        one.wait_for_text("周文")
        assert hall.alerts() == []


def test_refused_commands_are_counted_not_fatal(hall_config: HallConfig, tmp_path: Path) -> None:
    layout = {"a": [strip_config(1)]}
    with led_hall(hall_config, tmp_path, layout) as hall:
        one = hall.sim("a", 1)
        one.wait_for_text("暂停服务")
        one.faults.refuse = NakReason.BUSY
        _sign_in(hall, 1)
        display = hall.buses["a"].display(1)
        wait_until(lambda: display.health().naks >= 1)
        assert display.health().available and "暂停服务" in one.text


def test_lost_hub_events_resync_every_display(hall_config: HallConfig, tmp_path: Path) -> None:
    layout = {"a": [strip_config(1), strip_config("board")]}
    with led_hall(hall_config, tmp_path, layout) as hall:
        one = hall.sim("a", 1)
        one.wait_for_text("暂停服务")
        displays = hall.buses["a"].displays
        opened = [d.health().resyncs for d in displays]
        hall.run(cmd.IssueTicket("SB"))  # the day opens: every display resyncs once for that
        wait_until(lambda: [d.health().resyncs for d in displays] == [n + 1 for n in opened])
        before = [d.health().resyncs for d in displays]
        assert hall.health is not None
        hall.health.needs_resync = True  # what the hub sets when its queue overflowed
        hall.run(cmd.IssueTicket("SB"))  # the next batch notices
        wait_until(lambda: [d.health().resyncs for d in displays] == [n + 1 for n in before])
        assert not hall.health.needs_resync


def test_burst_of_twenty_calls_in_one_second_each_on_its_own_strip(tmp_path: Path) -> None:
    strips = [LedStripConfig(address=n, window=n) for n in range(1, 21)]
    with SimulatedLedBus(baudrate=9600, link=tmp_path / "led") as line:
        sims = [line.add_strip(n) for n in range(1, 21)]
        views = [{"number": n, "state": "signed_out"} for n in range(1, 21)]
        snapshot = {"windows": views, "recent_calls": [], "hall": {"name": "大厅"}}
        config = bus_config("burst", line.url, strips, baudrate=9600, probe_seconds=30)
        with LedBus(config, lambda: snapshot) as bus:
            wait_until(lambda: all(s.text == "暂停服务" for s in sims), timeout=10)
            subscriber = LedStripSubscriber(bus.displays, LatestState(snapshot))
            at = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
            for n in range(1, 21):  # one batch per call, as the hub delivers them
                number = f"A{n:03d}"
                subscriber.handle(
                    [
                        ev.TicketCalled(
                            at=at, ticket_id=number, number=number, window=n, rule="fifo"
                        )
                    ],
                    snapshot,
                )
            for n, sim in enumerate(sims, start=1):
                sim.wait_for_text(f"请A{n:03d}号到{n}号窗口", timeout=3)
            times = [
                next(e.at for e in s.executed if isinstance(e.request, ShowCall)) for s in sims
            ]
            assert times == sorted(times)  # in call order
            # 20 frames and ACKs take 0.85 s of line time at 9600 baud; slack for a busy CPU
            assert times[-1] - times[0] < 3.0


def test_broadcast_reaches_every_strip_once(tmp_path: Path) -> None:
    strips = [LedStripConfig(address=n, window=n) for n in (1, 2)]
    with SimulatedLedBus(baudrate=BAUD, link=tmp_path / "led") as line:
        sims = [line.add_strip(n) for n in (1, 2)]
        snapshot = {"windows": [], "recent_calls": [], "hall": {"name": ""}}
        with LedBus(bus_config("all", line.url, strips), lambda: snapshot) as bus:
            bus.broadcast([SetBrightness(30)])
            wait_until(lambda: all(s.brightness == 30 for s in sims))
            wait_until(lambda: all(s.repeats == 1 for s in sims), what="the copy is a repeat")
            assert [sum(e.broadcast for e in s.executed) for s in sims] == [1, 1]


def test_simulated_display_answers_as_the_spec_says() -> None:
    strip = SimLedStrip(4)
    reply = Frame.decode(strip.handle(request_frame(StatusQuery(), 4, 1), 0.0))
    assert decode_reply(reply) == StatusReply(StatusFlags.BOOTED, 100, 0, 0, 1, 16)
    assert strip.handle(request_frame(ShowCall("A1", "4号窗口"), 5, 2), 0.0) == b""  # not ours
    assert strip.handle(Frame(4, 0x01, 2, b"\x40", reply=True), 0.0) == b""  # another's reply
    assert strip.handle(request_frame(Clear(), 0, 3), 0.0) == b"" and strip.executed  # broadcast
    cases = [
        (Frame(4, 0x40, 4, b"", version=2), NakReason.UNSUPPORTED_VERSION, 1),
        (Frame(4, 0x5F, 5), NakReason.UNKNOWN_FUNCTION, 0),
        (Frame(4, 0x40, 6, b"\x00"), NakReason.BAD_PAYLOAD, 0),
        (request_frame(BoardText(("x",)), 4, 7), NakReason.NOT_SUPPORTED, 0),
    ]
    for request, reason, detail in cases:
        answer = Frame.decode(strip.handle(request, 0.0))
        assert answer.version == 1 and answer.seq == request.seq
        assert decode_reply(answer) == Nak(request.function, reason, detail)
    call = request_frame(ShowCall("A1", "4号窗口", 3), 4, 8)
    assert decode_reply(Frame.decode(strip.handle(call, 1.0))) == Ack(0x40)
    assert decode_reply(Frame.decode(strip.handle(call, 1.5))) == Ack(0x40)  # resent
    assert strip.repeats == 1 and strip.blink_until == 4.0  # the repeat did not blink again
    status = decode_reply(Frame.decode(strip.handle(request_frame(StatusQuery(), 4, 9), 2.0)))
    assert status == StatusReply(StatusFlags(0), 100, 0x40, 8, 1, 16)


def test_unusable_port_url_is_refused_by_name() -> None:
    config = LedBusConfig(id="x", url="nosuch://port", strips=[LedStripConfig(address=1, window=1)])
    with pytest.raises(LedBusError, match="nosuch"):
        LedBus(config, dict)


def test_a_command_answered_busy_is_sent_again_until_taken(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    # hall-bus.md section 8: BUSY means "resend after the reply timeout"; a SHOW_IDLE refused
    # once used to be dropped, leaving 暂停服务 on the strip after the staff member resumed.
    with led_hall(hall_config, tmp_path, {"a": [strip_config(1)]}) as hall:
        one = _resumed_while_busy(hall, busy=2)  # within the default 2 resends
        one.wait_until(lambda s: "暂停" not in s.text and "周文" in s.text, timeout=3)
        assert hall.buses["a"].display(1).health().naks == 2


def test_a_command_still_busy_after_every_resend_is_repaired_by_the_next_probe(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    with led_hall(hall_config, tmp_path, {"a": [strip_config(1)]}) as hall:
        one = _resumed_while_busy(hall, busy=3)  # one more than the resends: refused for now
        wait_until(lambda: one.faults.busy_for == 0, what="three BUSY answers")
        # The strip answers probes, so it stays online; the probe's resync shows the window.
        one.wait_until(lambda s: "暂停" not in s.text and "周文" in s.text, timeout=15)
        assert hall.alerts() == []


def test_after_a_port_outage_every_display_is_offline_and_all_come_back_at_once(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    # While the port cannot be opened no display can hear anything: all are offline, not only
    # those the controller happened to address. When the port is back every display is probed
    # at the fast rate and resynced, so strips that rebooted in the outage are not left blank
    # until their rationed probe (24 s or more).
    # Twelve strips and the board on one 9600-baud line, as in the example hall: rationed
    # probes reach each answering strip only every minute or so.
    layout = {"a": [*(strip_config(n, brightness=40) for n in range(1, 13)), strip_config("board")]}
    with led_hall(hall_config, tmp_path, layout) as hall:
        strips = [hall.sim("a", n) for n in range(1, 13)]
        _sign_in(hall, 1, 2, 3)
        for strip, name in zip(strips, ("周文", "郑海", "冯晨"), strict=False):
            strip.wait_for_text(name)
        wait_until(lambda: all(s.brightness == 40 for s in strips), what="brightness set")
        hall.lines["a"].unplug()
        hall.run(cmd.IssueTicket("SB"))
        hall.run(cmd.CallNext(1))  # addresses strip 1 (and the board) only
        wait_until(lambda: len(hall.alerts()) == 13, timeout=20, what="every display offline")
        for strip in strips[1:]:
            strip.power_cycle()  # rebooted during the outage: blank
        hall.lines["a"].replug()
        strips[0].wait_for_text(CALL_1, timeout=20)
        strips[1].wait_for_text("郑海", timeout=20)
        strips[2].wait_for_text("冯晨", timeout=20)
        # A rebooted strip is back at its power-up brightness (100) until it is resynced.
        wait_until(lambda: all(s.brightness == 40 for s in strips), timeout=20, what="resynced")
        wait_until(lambda: hall.alerts() == [] and hall.alerts("led_bus_offline") == [])


def _resumed_while_busy(hall, busy: int) -> SimLedStrip:
    """Window 1 paused, then resumed while its strip answers the next `busy` commands BUSY."""
    one: SimLedStrip = hall.sim("a", 1)
    _sign_in(hall, 1)
    one.wait_for_text("周文")
    hall.run(cmd.Pause(1, "取资料"))
    one.wait_for_text("暂停")
    one.faults.busy_for = busy
    hall.run(cmd.Resume(1))
    return one
