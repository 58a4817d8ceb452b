"""The TV calling screen as a pure scene: what is big, what blinks, what fits, what scrolls."""

from __future__ import annotations

import copy
import datetime as dt
import json

from controller.domain import commands as cmd
from display.scene import Scene, Text
from display.text_measure import ELLIPSIS, fit_text, text_px, wrap_text, wrap_to_box
from display.tv_layout import (
    BLINK_SECONDS,
    EMERGENCY,
    MIN_TEXT_PX,
    NOTICE_AREA,
    RED,
    SCROLL_PX_PER_SECOND,
    WINDOWS_AREA,
    YELLOW,
    blink_on,
    render_connecting,
    render_scene,
)
from display.tv_text import content_to_dict, screen_content
from tests.screen_samples import EMERGENCY_TEXT, busy_hall, emergency_hall, fresh_hall


def _inside(scene: Scene) -> None:
    for item in scene.items:
        x, y, w, h = (
            item.clip
            if isinstance(item, Text) and item.clip
            else (item.x, item.y, item.width, item.height)
        )
        assert x >= 0 and x + w <= scene.width, item
        assert y >= 0 and y + h <= scene.height, item


def _fits(item: Text) -> bool:
    return item.clip is not None or text_px(item.text, item.size) <= item.width


def test_the_latest_call_is_the_biggest_thing_on_screen() -> None:
    hall = busy_hall()
    snapshot = hall.snapshot()
    latest = snapshot["recent_calls"][0]
    scene = render_scene(snapshot, hall.now)
    number = scene.texts("latest-number")[0]
    assert number.text == latest["number"] == "A003"
    assert number.size == max(t.size for t in scene.texts()) >= 200
    assert scene.texts("latest-window")[0].text == f"请到 {latest['window']} 号窗口"
    assert scene.texts("latest-label")[0].text == "正在呼叫"
    # The recall at window 3 is listed once, as a call, below the latest.
    recent = [t.text for t in scene.texts("recent")]
    assert recent[0] == "请 B001 号到 3 号窗口"
    assert len(recent) == len(set(recent)) == 5


def test_every_window_shows_its_ticket_and_state() -> None:
    hall = busy_hall()
    scene = render_scene(hall.snapshot(), hall.now)
    states = {t.ref: t.text for t in scene.texts("window-state")}
    tickets = {t.ref: t.text for t in scene.texts("window-ticket")}
    assert states["1"] == "办理中" and tickets["1"] == "A003"
    assert states["5"] == "暂停服务" and tickets["5"] == "--"
    assert states["11"] == "未开放" and states["12"] == "未开放"
    assert [t.text for t in scene.texts("window-title")][:3] == ["1号窗口", "2号窗口", "3号窗口"]
    counts = {t.ref: t.text for t in scene.texts("service-count")}
    assert counts["社会保障"] == "1 人" and counts["不动产登记"] == "3 人"
    assert scene.texts("duty-leader")[0].text == "值班领导：王建国（副主任）"


def test_the_screen_shows_no_staff_names() -> None:
    hall = busy_hall()
    texts = " ".join(t.text for t in render_scene(hall.snapshot(), hall.now).texts())
    staff = [m.name for w in hall.engine.config.windows for m in w.staff]
    assert staff and not [name for name in staff if name in texts]


def test_an_emergency_notice_takes_over_the_whole_screen() -> None:
    hall = emergency_hall()
    scene = render_scene(hall.snapshot(), hall.now)
    assert scene.background == EMERGENCY
    assert scene.texts("emergency-title")[0].text == "紧急通知"
    assert "".join(t.text for t in scene.texts("emergency")) == EMERGENCY_TEXT
    assert {t.role for t in scene.texts()} == {"emergency-title", "emergency", "emergency-footer"}
    assert all(t.size >= 56 for t in scene.texts("emergency"))
    _inside(scene)
    hall.run(cmd.ClearNotice(3))
    assert render_scene(hall.snapshot(), hall.now).background != EMERGENCY


def test_a_very_long_emergency_is_cut_with_an_ellipsis_not_off_screen() -> None:
    hall = emergency_hall()
    for _ in range(6):
        hall.run(cmd.PostNotice("请立即撤离。" * 33, "emergency"))
    scene = render_scene(hall.snapshot(), hall.now)
    lines = scene.texts("emergency")
    assert lines[-1].text.endswith(ELLIPSIS)
    assert all(_fits(t) and t.size >= 56 for t in lines)
    _inside(scene)


def test_thirty_windows_fit_in_a_grid() -> None:
    hall = busy_hall(extra_windows=18)
    scene = render_scene(hall.snapshot(), hall.now)
    tiles = scene.boxes("window")
    assert len(tiles) == 30 == len(scene.texts("window-ticket"))
    x, y, w, h = WINDOWS_AREA
    for tile in tiles:
        assert x <= tile.x and tile.x + tile.width <= x + w + 1
        assert y <= tile.y and tile.y + tile.height <= y + h + 1
    for a in tiles:
        for b in tiles:
            if a is not b:
                apart = a.x + a.width <= b.x or b.x + b.width <= a.x
                assert apart or a.y + a.height <= b.y or b.y + b.height <= a.y
    assert {len({t.y for t in tiles}), len({t.x for t in tiles})} == {5, 6}
    assert min(t.size for t in scene.texts()) >= MIN_TEXT_PX
    assert all(_fits(t) for t in scene.texts())
    _inside(scene)


def test_long_names_are_truncated_to_fit() -> None:
    hall = busy_hall()
    snapshot = copy.deepcopy(hall.snapshot())
    snapshot["hall"]["name"] = (
        "某某省某某市某某区人民政府政务服务中心暨公共资源交易中心综合受理大厅（东区）"
    )
    snapshot["windows"][1]["name"] = "社会保障及医疗保障与住房公积金综合受理窗口"
    snapshot["services"][2]["name"] = "不动产登记（含抵押、查封、预告登记）"
    snapshot["duty_leader"] = {"name": "欧阳建国", "title": "县政务服务管理办公室党组书记、主任"}
    scene = render_scene(snapshot, hall.now)
    assert scene.texts("hall-name")[0].text.endswith(ELLIPSIS)
    assert scene.texts("window-name")[1].text.endswith(ELLIPSIS)
    names = {t.ref: t.text for t in scene.texts("service-name")}
    assert names["不动产登记（含抵押、查封、预告登记）"].endswith(ELLIPSIS)
    assert scene.texts("duty-leader")[0].text.startswith("值班领导：欧阳建国")
    assert all(_fits(t) for t in scene.texts())
    _inside(scene)


def test_a_new_call_blinks_for_a_few_seconds_then_stays_lit() -> None:
    at = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    phases = [blink_on(at, at + dt.timedelta(seconds=s)) for s in (0, 0.3, 0.6, 1.1, 1.6)]
    assert phases == [True, True, False, True, False]
    assert blink_on(at, at + dt.timedelta(seconds=BLINK_SECONDS)) is None
    assert blink_on(at, at - dt.timedelta(seconds=2)) is True  # a TV clock slightly behind

    hall = busy_hall()
    snapshot = hall.snapshot()
    called = dt.datetime.fromisoformat(snapshot["recent_calls"][0]["at"])
    fill = [
        render_scene(snapshot, called + dt.timedelta(seconds=s)).boxes("latest")[0].fill
        for s in (0.1, 0.6, 30)
    ]
    assert fill == [RED, YELLOW, RED]
    fresh = render_scene(snapshot, called + dt.timedelta(seconds=0.1)).boxes("window")
    assert [b.border for b in fresh].count(YELLOW) == 1
    later = render_scene(snapshot, called + dt.timedelta(seconds=30)).boxes("window")
    assert all(b.border is None for b in later)


def test_twenty_calls_in_one_second_all_show_on_their_windows() -> None:
    hall = busy_hall(extra_windows=8)  # 20 windows
    config = hall.engine.config
    for window in config.windows[10:]:
        state = hall.engine.state.windows[window.number]
        if state.open and state.staff_id is None:
            hall.run(cmd.SignIn(window.number, window.staff[0].id, "A"), 0)
    for _ in range(20):
        hall.run(cmd.IssueTicket("ZH"), 0)
    called = {}
    for window in config.windows:
        state = hall.engine.state.windows[window.number]
        if state.staff_id and not state.paused:
            if state.current:
                hall.run(cmd.Finish(window.number, "即办件"), 0)
            hall.run(cmd.SetWindowServices(window.number, ("ZH",)), 0)
            called[str(window.number)] = hall.run(cmd.CallNext(window.number), 0.05)["number"]
    assert len(called) == 18  # 20 windows less the paused one and the closed one
    scene = render_scene(hall.snapshot(), hall.now)
    tickets = {t.ref: t.text for t in scene.texts("window-ticket")}
    assert {ref: tickets[ref] for ref in called} == called
    assert [b.border for b in scene.boxes("window")].count(YELLOW) == 18  # all new
    assert scene.texts("latest-number")[0].text == list(called.values())[-1]


def test_the_notices_line_scrolls_with_time_and_stays_in_its_lane() -> None:
    hall = busy_hall()
    snapshot = hall.snapshot()
    first = render_scene(snapshot, hall.now).texts("notice")
    second = render_scene(snapshot, hall.now + dt.timedelta(seconds=1)).texts("notice")
    assert len(first) == 2 and all(t.clip == tuple(map(int, NOTICE_AREA)) for t in first)
    cycle = first[1].x - first[0].x
    assert (first[0].x - second[0].x) % cycle == int(SCROLL_PX_PER_SECOND) % cycle
    assert render_scene(snapshot, hall.now) == render_scene(snapshot, hall.now)  # pure


def test_a_short_notice_stands_still() -> None:
    hall = fresh_hall()
    hall.run(cmd.PostNotice("今日正常办公"))
    scene = render_scene(hall.snapshot(), hall.now)
    assert [(t.text, t.clip) for t in scene.texts("notice")] == [("今日正常办公", None)]
    assert scene.texts("welcome")[0].text == "欢迎光临"


def test_a_lost_connection_is_marked_and_before_the_first_snapshot_it_says_connecting() -> None:
    hall = busy_hall()
    scene = render_scene(hall.snapshot(), hall.now, connection_lost=True)
    assert [t.text for t in scene.texts("offline")] == ["连接中断"]
    marker = scene.boxes("offline")[0]
    for text in scene.texts("hall-name") + scene.texts("clock-date"):
        assert marker.x >= text.x + text.width or marker.x + marker.width <= text.x
    assert render_scene(emergency_hall().snapshot(), hall.now, connection_lost=True).texts(
        "offline"
    )
    assert render_connecting(hall.now).texts("connecting")[0].text == "正在连接叫号系统…"


def test_the_clock_is_the_halls_local_time() -> None:
    hall = busy_hall()
    utc = hall.now.astimezone(dt.UTC)
    scene = render_scene(hall.snapshot(), utc)
    assert scene.texts("clock-time")[0].text == hall.now.strftime("%H:%M:%S")
    assert scene.texts("clock-date")[0].text == "11月23日 星期一"


def test_a_smaller_screen_gets_the_same_layout_scaled() -> None:
    hall = busy_hall()
    big = render_scene(hall.snapshot(), hall.now)
    small = render_scene(hall.snapshot(), hall.now, (1280, 720))
    assert [t.text for t in small.texts()] == [t.text for t in big.texts()]
    assert small.texts("latest-number")[0].size == round(big.texts("latest-number")[0].size * 2 / 3)
    _inside(small)
    _inside(render_scene(hall.snapshot(), hall.now, (1024, 768)))  # 4:3, letterboxed


def test_content_is_json_ready_for_the_web_page() -> None:
    data = content_to_dict(screen_content(busy_hall().snapshot()))
    assert (
        json.loads(json.dumps(data, ensure_ascii=False))["latest"]["text"]
        == "请 A003 号到 1 号窗口"
    )
    assert data["windows"][4]["label"] == "暂停服务"


def test_text_fitting_rules() -> None:
    assert fit_text("社会保障", 40, 160) == "社会保障"
    assert fit_text("不动产登记", 40, 160) == "不动产…"
    assert text_px("A012", 100) == 200 and text_px("请", 100) == 100
    assert wrap_text("一二三四，五六", 10, 40) == ["一二三四，", "五六"]  # no line starts with ，
    size, lines = wrap_to_box("字" * 500, 400, 200, 80, 40)
    assert size == 40 and lines[-1].endswith(ELLIPSIS) and len(lines) * 40 * 1.3 <= 200
