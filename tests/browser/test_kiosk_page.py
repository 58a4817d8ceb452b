"""The kiosk page in headless Chromium: tap a service, get a ticket; plain messages otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser

from tests.browser.conftest import KIOSK_TOKEN, ServedHall


def test_tap_a_service_and_see_the_ticket_number(
    serve_hall: Callable[..., ServedHall], browser: Browser, tmp_path: Path
) -> None:
    hall = serve_hall()
    page = browser.new_page(viewport={"width": 1080, "height": 1920})
    page.goto(f"{hall.base}/kiosk#token={KIOSK_TOKEN}")
    button = page.locator("button.service[data-service=SB]")
    button.wait_for()
    assert "社会保障" in button.inner_text() and "等候 0 人" in button.inner_text()
    page.screenshot(path=str(tmp_path / "kiosk.png"))
    button.click()
    number = page.locator("#ticket-number")
    number.wait_for()
    assert number.inner_text() == "A001"
    assert hall.runtime.engine.state.tickets["20261123-A001"].status.value == "waiting"
    assert "前面还有 0 人" in page.locator("#card").inner_text()
    page.close()


def test_closed_service_is_greyed_with_its_reason(
    serve_hall: Callable[..., ServedHall], browser: Browser
) -> None:
    hall = serve_hall()
    from controller.clock import ManualClock
    from tests.conftest import hall_time

    assert isinstance(hall.runtime.clock, ManualClock)
    hall.runtime.clock.set(hall_time("12:10"))  # lunch break: no tickets
    page = browser.new_page(viewport={"width": 1080, "height": 1920})
    page.goto(f"{hall.base}/kiosk#token={KIOSK_TOKEN}")
    button = page.locator("button.service[data-service=SB]")
    button.wait_for()
    assert button.is_disabled()
    assert "午间休息" in button.inner_text()
    page.close()


def test_ticket_status_page_shows_the_number_and_place(
    serve_hall: Callable[..., ServedHall], browser: Browser
) -> None:
    from controller import commands as cmd

    hall = serve_hall()
    hall.runtime.execute(cmd.IssueTicket("YB"))
    second = hall.runtime.execute(cmd.IssueTicket("YB")).body["id"]
    page = browser.new_page()
    page.goto(f"{hall.base}/t/{second}")
    page.wait_for_function("document.getElementById('number').textContent === 'B002'")
    assert "排队等候中" in page.locator("#status").inner_text()
    assert "前面还有 1 人" in page.locator("#detail").inner_text()
    page.close()
