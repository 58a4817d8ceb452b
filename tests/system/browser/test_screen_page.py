"""The smart-TV calling screen page (/screen) in headless Chromium against a real hall."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from controller.domain import commands as cmd
from tests.screen_helpers import DISPLAY_TOKEN, CuttableLink, ScreenHall, served_hall

TV: ViewportSize = {"width": 1920, "height": 1080}


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[ScreenHall]:
    with served_hall(tmp_path) as running:
        yield running


def _open(browser: Browser, hall: ScreenHall, viewport: ViewportSize = TV) -> Page:
    page = browser.new_page(viewport=viewport)
    page.goto(f"{hall.base}/screen#token={DISPLAY_TOKEN}")
    page.wait_for_selector("#windows .tile")
    return page


def test_the_page_shows_windows_calls_counts_and_the_leader(
    hall: ScreenHall, browser: Browser, tmp_path: Path
) -> None:
    hall.runtime.execute(cmd.SetDutyLeader("王建国", "副主任"))
    hall.runtime.execute(cmd.PostNotice("请携带本人有效身份证件办理业务"))
    page = _open(browser, hall)
    assert page.locator("#hall").inner_text() == "青山县政务服务中心"
    assert page.locator("#windows .tile").count() == 12
    assert page.locator("#latest-label").inner_text() == "欢迎光临"
    assert "社会保障" in page.locator("#services").inner_text()
    assert page.locator("#leader").inner_text() == "值班领导：王建国（副主任）"
    assert page.locator("#notice-text").inner_text() == "请携带本人有效身份证件办理业务"
    assert page.locator("#clock-time").inner_text() == "09:00:00"  # the hall's clock, not the TV's

    first = hall.call(1, "S0101", "SB")
    second = hall.call(3, "S0301", "YB")  # arrives through the live stream, no reload
    expect(page.locator("#latest-number")).to_have_text(second, timeout=30_000)
    assert page.locator("#latest-window").inner_text() == "请到 3 号窗口"
    assert page.locator("#recent li").first.inner_text() == f"请 {first} 号到 1 号窗口"
    tile = page.locator("#windows .tile[data-window='1']")
    assert tile.locator(".ticket").inner_text() == first
    assert tile.locator(".state").inner_text() == "办理中"
    assert page.locator("#windows .tile[data-window='12'] .state").inner_text() == "未开放"
    assert page.get_by_text("连接中断").is_hidden()
    page.screenshot(path=str(tmp_path / "tv-page.png"))
    page.close()


def test_an_emergency_takes_over_the_page_and_clearing_it_gives_it_back(
    hall: ScreenHall, browser: Browser
) -> None:
    page = _open(browser, hall)
    posted = hall.runtime.execute(cmd.PostNotice("请有序撤离大厅", "emergency"))
    page.wait_for_selector("#emergency.show")
    cover = page.locator("#emergency").bounding_box()
    assert cover is not None and (cover["width"], cover["height"]) == (1920, 1080)
    assert page.locator("#emergency-text").inner_text() == "请有序撤离大厅"
    assert page.locator("#emergency h1").inner_text() == "紧急通知"
    hall.runtime.execute(cmd.ClearNotice(int(posted.result["notice_id"])))
    page.wait_for_selector("#emergency", state="hidden")
    assert page.locator("#latest").is_visible()
    page.close()


def test_a_wrong_token_shows_the_connection_marker(hall: ScreenHall, browser: Browser) -> None:
    page = browser.new_page(viewport=TV)
    page.goto(f"{hall.base}/screen?token=wrong-token")
    page.wait_for_selector("#offline.show")
    assert page.locator("#offline").inner_text() == "连接中断"
    assert page.url.endswith("/screen")  # the token is taken out of the address bar
    page.close()


def test_the_stage_scales_to_a_720p_tv(hall: ScreenHall, browser: Browser) -> None:
    page = _open(browser, hall, {"width": 1280, "height": 720})
    box = page.locator("#stage").bounding_box()
    assert box is not None
    assert round(box["width"]) == 1280 and round(box["height"]) == 720
    page.close()


def test_the_page_recovers_after_its_connection_drops(hall: ScreenHall, browser: Browser) -> None:
    link = CuttableLink(int(hall.base.rsplit(":", 1)[1]))  # the cable between TV and hall
    page = browser.new_page(viewport=TV)
    try:
        page.goto(f"{link.url}/screen#token={DISPLAY_TOKEN}")
        page.wait_for_selector("#windows .tile")
        first = hall.call(1, "S0101", "SB")
        expect(page.locator("#latest-number")).to_have_text(first, timeout=30_000)
        assert page.locator("#offline").is_hidden()

        link.cut()  # the live stream drops, and new connections are refused
        page.wait_for_selector("#offline.show")
        assert page.locator("#offline").inner_text() == "连接中断"
        missed = hall.call(3, "S0301", "YB")  # made while the TV cannot hear
        link.mend()
        page.wait_for_selector("#offline", state="hidden", timeout=20_000)
        after = hall.call(2, "S0201", "SB")  # made after the reconnect
        expect(page.locator("#latest-number")).to_have_text(after, timeout=30_000)
        assert page.locator("#latest-window").inner_text() == "请到 2 号窗口"
        assert page.locator("#windows .tile[data-window='3'] .ticket").inner_text() == missed
        assert page.locator("#windows .tile[data-window='1'] .ticket").inner_text() == first
    finally:
        page.close()
        link.cut()
