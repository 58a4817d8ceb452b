"""The dashboard's twin panel in headless Chromium: per-hour waiting and waits, before and after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.system.browser.dashboard_helpers import DashboardHall, serve_dashboard_hall


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[DashboardHall]:
    """The example hall at Monday 09:00 with the dashboard router."""
    with serve_dashboard_hall(tmp_path) as served:
        yield served


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A PC-sized page (1440×900)."""
    opened = browser.new_page(viewport={"width": 1440, "height": 900})
    yield opened
    opened.close()


def test_the_twin_panel_draws_both_halls_per_hour(
    hall: DashboardHall, page: Page, tmp_path: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    hall.dashboard(page)
    expect(page.locator("#live")).to_have_text("实时更新中")
    page.select_option("#twin-extra", "2")
    page.click("#twin-run")
    note = page.locator("#twin-note")
    expect(note).to_contain_text("增设 2 个综合窗口", timeout=60_000)
    expect(note).to_contain_text("平均等候")
    charts = page.locator("#twin-chart svg")
    expect(charts).to_have_count(2)
    before = page.locator("#twin-chart svg rect[fill='#78909c']")
    after = page.locator("#twin-chart svg rect[fill='#1565c0']")
    assert before.count() >= 16 and after.count() >= 16  # 2 charts x 8+ hours
    assert "09时" in (page.locator("#twin-chart svg").first.text_content() or "")
    page.locator("#twin-panel").screenshot(path=str(tmp_path / "twin-panel.png"))
    assert not errors, errors
