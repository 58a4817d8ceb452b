"""The screen's link to a real hall on uvicorn: live calls, a cut cable and back, bad tokens, CLI."""

from __future__ import annotations

import argparse
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from controller.app.screen_client import HallStream, ScreenLinkError, fetch_snapshot, sse_events
from controller.app.screen_runner import RuntimeScreenSource, ScreenFrame, scene_for
from controller.cli.screen import add_screen_commands
from controller.domain import commands as cmd
from controller.domain.errors import HallError
from display.scene import Scene
from tests.required_parts import require_part
from tests.screen_helpers import (
    DISPLAY_TOKEN,
    CuttableLink,
    ScreenHall,
    served_hall,
    wait_for,
)
from tests.servers import free_port

FAST = (0.05, 0.1, 0.2)


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[ScreenHall]:
    with served_hall(tmp_path) as running:
        yield running


def _latest(stream: HallStream) -> str | None:
    snapshot = stream.frame().snapshot
    calls = snapshot["recent_calls"] if snapshot else []
    return calls[0]["number"] if calls else None


def test_the_screen_follows_calls_as_they_happen(hall: ScreenHall) -> None:
    stream = HallStream(hall.base, DISPLAY_TOKEN, backoff=FAST).start()
    try:
        wait_for(lambda: stream.connected, what="the first snapshot")
        assert _latest(stream) is None
        number = hall.call(1, "S0101", "SB")
        wait_for(lambda: _latest(stream) == number, what=f"{number} on the screen")
        frame = stream.frame()
        scene = scene_for(frame)
        assert scene.texts("latest-number")[0].text == number
        # The screen keeps the hall's clock (09:00 here), not the mini PC's.
        assert abs(frame.now - hall.clock.now()) < dt.timedelta(seconds=5)
    finally:
        stream.stop()


def _state_reads(hall: ScreenHall) -> float:
    metrics = httpx.get(f"{hall.base}/metrics", timeout=5).text
    for line in metrics.splitlines():
        if line.startswith("hall_request_seconds_count{") and 'route="/api/state"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_screen_takes_the_pushed_state_without_reading_it_back(hall: ScreenHall) -> None:
    stream = HallStream(hall.base, DISPLAY_TOKEN, backoff=FAST).start()
    try:
        wait_for(lambda: stream.connected, what="the first snapshot")
        reads = _state_reads(hall)
        for window, staff, service in ((1, "S0101", "SB"), (3, "S0301", "YB"), (1, "S0101", "SB")):
            number = hall.call(window, staff, service)
            wait_for(lambda: _latest(stream) == number, what=f"{number} on the screen")  # noqa: B023
        assert _state_reads(hall) == reads  # the calls came with the stream's state events
    finally:
        stream.stop()


def test_every_window_calling_at_once_reaches_the_screen(hall: ScreenHall) -> None:
    stream = HallStream(hall.base, DISPLAY_TOKEN, backoff=FAST).start()
    try:
        wait_for(lambda: stream.connected, what="the first snapshot")
        windows = hall.runtime.config.windows
        called = [hall.call(w.number, w.staff[0].id, w.services[0]) for w in windows]
        wait_for(lambda: _latest(stream) == called[-1], what="the last call")
        snapshot = stream.frame().snapshot
        assert snapshot is not None
        assert [c["number"] for c in snapshot["recent_calls"]] == called[::-1]
        tiles = scene_for(stream.frame()).texts("window-ticket")
        assert [t.text for t in tiles] == called
    finally:
        stream.stop()


def test_the_screen_resynchronises_after_the_link_is_cut(hall: ScreenHall) -> None:
    link = CuttableLink(int(hall.base.rsplit(":", 1)[1]))
    stream = HallStream(link.url, DISPLAY_TOKEN, backoff=FAST).start()
    try:
        wait_for(lambda: stream.connected, what="the first snapshot")
        first = hall.call(1, "S0101", "SB")
        wait_for(lambda: _latest(stream) == first, what="the first call")

        link.cut()
        wait_for(lambda: not stream.connected, what="the drop to be noticed")
        missed = hall.call(2, "S0201", "SB")  # happens while the TV is cut off
        frame = stream.frame()
        assert frame.snapshot is not None and _latest(stream) == first  # last known state kept
        scene = scene_for(frame)
        assert [t.text for t in scene.texts("offline")] == ["连接中断"]
        assert scene.texts("latest-number")[0].text == first

        link.mend()
        wait_for(lambda: stream.connected, timeout=15, what="the reconnection")
        wait_for(lambda: _latest(stream) == missed, what="the missed call after resync")
        assert stream.connections == 2
        assert not scene_for(stream.frame()).texts("offline")
        later = hall.call(3, "S0301", "YB")  # and the live stream works again
        wait_for(lambda: _latest(stream) == later, what="a call after the resync")
    finally:
        stream.stop()
        link.cut()


def test_a_hall_that_is_down_at_start_is_waited_for(tmp_path: Path) -> None:
    stream = HallStream(f"http://127.0.0.1:{free_port()}", DISPLAY_TOKEN, backoff=FAST).start()
    try:
        wait_for(lambda: stream.last_error, what="a failed attempt")
        frame = stream.frame()
        assert frame.snapshot is None and not frame.connected
        assert scene_for(frame).texts("connecting")[0].text == "正在连接叫号系统…"
    finally:
        stream.stop()


def test_a_wrong_token_is_reported_and_retried_not_a_crash(hall: ScreenHall) -> None:
    stream = HallStream(hall.base, "not-a-token", backoff=FAST).start()
    try:
        wait_for(lambda: "401" in stream.last_error, what="the refusal")
        assert not stream.connected and stream.frame().snapshot is None
    finally:
        stream.stop()
    with pytest.raises(ScreenLinkError) as err:
        fetch_snapshot(hall.base, "not-a-token")
    assert err.value.status == 401 and hall.base in str(err.value)


def test_server_sent_events_are_parsed_across_keepalives() -> None:
    lines = [": keepalive", "", "event: snapshot", 'data: {"a":', "data: 1}", "", "data: x", ""]
    assert list(sse_events(lines)) == [("snapshot", '{"a":\n1}'), ("message", "x")]


def test_in_process_source_takes_a_new_snapshot_after_events(hall: ScreenHall) -> None:
    source = RuntimeScreenSource(hall.runtime, refresh_seconds=3600)
    assert source.frame().snapshot["recent_calls"] == []  # type: ignore[index]
    number = hall.call(4, "S0401", "BDC")

    def shown() -> bool:
        frame: ScreenFrame = source.frame()
        calls = frame.snapshot["recent_calls"] if frame.snapshot else []
        return bool(calls) and calls[0]["number"] == number

    wait_for(shown, what="the in-process screen to see the call")
    assert source.frame().connected


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hallctl")
    add_screen_commands(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


def test_screen_snapshot_writes_the_running_halls_screen(
    hall: ScreenHall, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_part(
        "WenQuanYi Zen Hei font",
        Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc").is_file(),
        "scripts/install.sh installs the Debian package fonts-wqy-zenhei",
    )
    number = hall.call(1, "S0101", "SB")
    hall.runtime.execute(cmd.PostNotice("今日下午正常办公"))
    out = tmp_path / "screen.png"
    assert (
        _cli("screen", "snapshot", str(out), "--controller", hall.base, "--token", DISPLAY_TOKEN)
        == 0
    )
    with Image.open(out) as image:
        assert image.size == (1920, 1080)
    assert "青山县政务服务中心" in capsys.readouterr().out
    small = tmp_path / "small.png"
    assert (
        _cli(
            "screen",
            "--token",
            DISPLAY_TOKEN,
            "--controller",
            hall.base,
            "snapshot",
            str(small),
            "--size",
            "1280x720",
        )
        == 0
    )
    with Image.open(small) as image:
        assert image.size == (1280, 720)
    assert number == "A001"


def test_screen_snapshot_names_the_hall_it_cannot_reach(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(HallError, match=url.replace(".", r"\.")):
        _cli("screen", "snapshot", "x.png", "--controller", url, "--token", "t")
    monkeypatch.delenv("HALLCTL_SCREEN_TOKEN", raising=False)
    monkeypatch.delenv("HALLCTL_ADMIN_TOKEN", raising=False)
    with pytest.raises(HallError, match="HALLCTL_SCREEN_TOKEN"):
        _cli("screen", "snapshot", "x.png", "--controller", url)


def test_screen_with_a_missing_font_stops_before_connecting(tmp_path: Path) -> None:
    missing = tmp_path / "none.ttc"
    with pytest.raises(HallError, match=str(missing)):
        _cli("screen", "--font", str(missing), "--token", "t", "--controller", "http://127.0.0.1:9")


def test_the_mini_pc_screen_draws_what_the_stream_brings(
    hall: ScreenHall, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_part(
        "WenQuanYi Zen Hei font",
        Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc").is_file(),
        "scripts/install.sh installs the Debian package fonts-wqy-zenhei",
    )
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    from controller.app.screen_runner import run_screen

    stream = HallStream(hall.base, DISPLAY_TOKEN, backoff=FAST).start()
    stop = threading.Event()
    shown: list[str] = []

    def seen(scene: Scene) -> None:
        shown[:] = [t.text for t in scene.texts("latest-number")]
        if shown == ["A001"]:
            stop.set()

    caller = threading.Timer(0.3, lambda: hall.call(1, "S0101", "SB"))
    guard = threading.Timer(15, stop.set)  # never hang the suite
    caller.start()
    guard.start()
    try:
        run_screen(stream, windowed=True, stop=stop, on_frame=seen)  # returns once A001 is drawn
    finally:
        guard.cancel()
        caller.join()
        stream.stop()
    assert shown == ["A001"]


def test_the_screen_content_api_needs_a_token_and_speaks_chinese(hall: ScreenHall) -> None:
    import httpx

    assert httpx.get(f"{hall.base}/api/screen").status_code == 401
    number = hall.call(2, "S0201", "SB")
    body = httpx.get(
        f"{hall.base}/api/screen", headers={"Authorization": f"Bearer {DISPLAY_TOKEN}"}
    ).json()
    assert body["latest"]["text"] == f"请 {number} 号到 2 号窗口"
    assert body["windows"][1]["label"] == "办理中"
    assert (body["layout"]["window_cols"], body["layout"]["window_rows"]) == (4, 3)
    page = httpx.get(f"{hall.base}/screen")
    assert page.status_code == 200 and "叫号屏" in page.text
