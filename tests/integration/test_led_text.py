"""What strips and boards show for a snapshot (pure), and the LED configuration models."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.settings.hall_config import HallConfig
from devices.led.hall_bus_content import board_frames, encode_all, encode_content
from devices.led.led_config import LedBusConfig, LedDisplaysConfig, LedStripConfig
from display.led_content import BlankShown, BoardShown, CallShown, IdleShown, PausedShown
from display.led_text import (
    board_content,
    board_lines,
    call_content,
    display_width,
    fit,
    strip_content,
    window_content,
)
from firmware_protocols.led.led_strip import BoardText, Clear, ShowCall, ShowIdle, ShowPaused
from tests.conftest import hall_time

ROOT = Path(__file__).resolve().parents[2]


def _view(number: int, state: str, **extra: Any) -> dict[str, Any]:
    return {"number": number, "state": state, "current": None, "staff": None, **extra}


SNAPSHOT: dict[str, Any] = {
    "hall": {"name": "青山县政务服务中心"},
    "windows": [
        _view(1, "serving", current={"number": "A012"}, staff={"name": "周文", "post": "社保经办"}),
        _view(2, "idle", staff={"name": "郑海", "post": ""}),
        _view(3, "paused", staff={"name": "冯晨", "post": "医保经办"}),
        _view(4, "signed_out"),
        _view(5, "closed"),
    ],
    "recent_calls": [{"number": "A012", "window": 1}, {"number": "B003", "window": 3}],
}


def test_each_window_state_has_its_content_and_hall_bus_command() -> None:
    views = {v["number"]: v for v in SNAPSHOT["windows"]}
    expected = [
        (window_content(views[1], 1), CallShown("A012", "1号窗口"), ShowCall("A012", "1号窗口", 0)),
        (
            window_content(views[2], 2),
            IdleShown("2号窗口", "郑海", ""),
            ShowIdle("2号窗口", "郑海", ""),
        ),
        (window_content(views[3], 3), PausedShown(), ShowPaused("暂停服务")),
        (window_content(views[4], 4), PausedShown(), ShowPaused("暂停服务")),
        (window_content(views[5], 5), BlankShown(), Clear()),
        (window_content(None, 9), BlankShown(), Clear()),
        (
            call_content("A012", 1, 5),
            CallShown("A012", "1号窗口", 5),
            ShowCall("A012", "1号窗口", 5),
        ),
    ]
    for content, shown, command in expected:
        assert content == shown
        assert encode_content(content) == [command]
    assert strip_content(SNAPSHOT, 2) == IdleShown("2号窗口", "郑海", "")


def test_long_names_are_cut_to_the_codec_caps_by_the_hall_bus_encoder() -> None:
    view = _view(7, "idle", staff={"name": "阿卜杜热合曼·买买提", "post": "岗" * 20})
    content = window_content(view, 7)
    assert content == IdleShown("7号窗口", "阿卜杜热合曼·买买提", "岗" * 20)  # the whole text
    (command,) = encode_content(content)
    assert isinstance(command, ShowIdle)
    assert command.staff_name == "阿卜杜热合曼·买" and command.post == "岗" * 16
    (call,) = encode_all([call_content("A\x00" + "9" * 12, 7, 0)])
    assert call == ShowCall("A9999999", "7号窗口", 0)  # control characters dropped, then cut


def test_board_lines_pack_windows_by_display_width() -> None:
    assert board_lines(SNAPSHOT, lines=3, columns=24) == [
        "请A012号到1号窗口",
        "1号A012  2号空闲",
        "3号暂停  4号暂停",
    ]
    assert board_lines(SNAPSHOT, lines=1, columns=8) == ["请A012号"]
    empty = {"hall": {"name": "大厅"}, "windows": [], "recent_calls": []}
    assert board_lines(empty, lines=2, columns=16) == ["大厅", ""]


def test_board_frames_fit_and_blink_the_call() -> None:
    board = board_content(SNAPSHOT, lines=4, columns=32, blink_seconds=5)
    lines = ("请A012号到1号窗口", "1号A012  2号空闲  3号暂停", "4号暂停", "")
    assert board == BoardShown(lines, 5)
    assert encode_content(board) == [BoardText(lines, 0, 0, 5)]
    wide = {**SNAPSHOT, "hall": {"name": "𠀀" * 40}, "recent_calls": []}
    many = [_view(n, "idle") for n in range(1, 60)]
    frames = board_frames(board_content({**wide, "windows": many}, lines=16, columns=64))
    assert [f.first_line for f in frames] == [0, 8]  # 16 lines, at most 8 a frame
    assert all(f.blink_line is None for f in frames)


def test_display_width_and_fit() -> None:
    assert display_width("A001") == 4 and display_width("3号窗口") == 7
    assert fit("请A001号到3号窗口", 8) == "请A001号"
    assert fit("x" * 50, 64) == "x" * 32  # never over a board line's 32 characters


def test_led_text_from_a_real_snapshot(hall_config: HallConfig, tmp_path: Path) -> None:
    from controller.domain import commands as cmd

    runtime = HallRuntime(
        hall_config,
        Journal.at_path(tmp_path / "h.db", durable=False),
        ManualClock(hall_time("09:00")),
    )
    runtime.execute(cmd.SignIn(1, "S0101", "A"))
    runtime.execute(cmd.IssueTicket("SB"))
    assert strip_content(runtime.snapshot(), 1) == IdleShown("1号窗口", "周文", "社保经办")
    runtime.execute(cmd.CallNext(1))
    snapshot = runtime.snapshot()
    assert strip_content(snapshot, 1) == CallShown("A001", "1号窗口", 0)
    assert board_lines(snapshot, lines=2, columns=32)[0] == "请A001号到1号窗口"
    runtime.journal.close()


def test_the_driver_doc_config_example_is_valid() -> None:
    text = (ROOT / "docs" / "led-strip-driver.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", text, flags=re.DOTALL)
    assert example is not None
    config = LedDisplaysConfig.model_validate(tomllib.loads(example[1])["led"])
    assert config.blink_seconds == 5 and config.buses[0].strips[2].window == "board"


def test_config_refuses_duplicates_and_bad_values() -> None:
    strip = LedStripConfig(address=1, window=1)
    with pytest.raises(ValidationError, match="used twice"):
        LedBusConfig(id="a", url="loop://", strips=[strip, strip])
    with pytest.raises(ValidationError, match="share a port"):
        bus = LedBusConfig(id="a", url="loop://", strips=[strip])
        LedDisplaysConfig(buses=[bus, bus.model_copy(update={"id": "b"})])
    for bad in ({"address": 0}, {"address": 248}, {"window": 0}, {"window": "tv"}):
        with pytest.raises(ValidationError):
            LedStripConfig(**{"address": 1, "window": 1, **bad})
