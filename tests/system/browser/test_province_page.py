"""The province's live page (/province) in headless Chromium against a real central API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, expect

from controller.app.clock import ManualClock
from tests.integration.satisfaction.conftest import ZONE
from tests.integration.satisfaction.test_province_live import (
    ALERTING,
    CALM,
    NEVER,
    READER_TOKEN,
    central,
    hall_profile,
    push_summary,
    summary_at,
)


def test_the_page_lists_silent_and_alerting_halls_first_in_chinese(
    browser: Browser, tmp_path: Path
) -> None:
    clock = ManualClock(dt.datetime(2026, 12, 7, 10, 0, tzinfo=ZONE))
    halls = {h: hall_profile(h) for h in (CALM, ALERTING, NEVER)}
    with central(tmp_path, clock, halls) as base:
        assert push_summary(base, CALM, summary_at(clock.now(), waiting=4)).status_code == 200
        assert (
            push_summary(base, ALERTING, summary_at(clock.now(), alerts=1, waiting=7)).status_code
            == 200
        )
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        refused: list[str] = []

        def keep(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                refused.append(message.text)

        page.on("console", keep)
        page.goto(f"{base}/province#token={READER_TOKEN}")
        rows = page.locator("#halls tr")
        expect(rows).to_have_count(3, timeout=30_000)
        assert [rows.nth(n).get_attribute("data-hall") for n in range(3)] == [
            NEVER,
            ALERTING,
            CALM,
        ]
        assert rows.nth(0).locator(".tag").inner_text() == "失联"
        assert "从未上报实时状态" in rows.nth(0).inner_text()
        assert rows.nth(1).locator(".tag").inner_text() == "告警"
        assert "告警 0" in rows.nth(1).inner_text()
        assert rows.nth(2).locator(".tag").inner_text() == "正常"
        totals = page.locator("#totals").inner_text()
        assert "失联" in totals and "全省等候人数" in totals and "11" in totals
        assert page.locator("#live").inner_text() == "实时"
        assert "#token" not in page.url  # the token left the address bar
        page.screenshot(path=str(tmp_path / "province.png"))
        page.close()
        stranger = browser.new_page()  # a browser of its own: nothing remembered
        stranger.goto(f"{base}/province#token=not-a-token")
        expect(stranger.locator("#login")).to_be_visible(timeout=30_000)
        assert "令牌无效" in stranger.locator("#login-reason").inner_text()
        stranger.close()
        assert refused == []
