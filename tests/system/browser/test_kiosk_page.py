"""The kiosk page in headless Chromium: tap a service, get a ticket; plain messages otherwise."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from controller.app.runtime import HallRuntime
from controller.app.ticket_machine import TicketMachine
from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig
from tests.conftest import EXAMPLE_CONFIG
from tests.system.browser.conftest import KIOSK_TOKEN, ServedHall


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
    from controller.app.clock import ManualClock
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
    from controller.domain import commands as cmd

    hall = serve_hall()
    hall.runtime.execute(cmd.IssueTicket("YB"))
    second = hall.runtime.execute(cmd.IssueTicket("YB")).result["id"]
    page = browser.new_page()
    page.goto(f"{hall.base}/t/{hall.runtime.ticket_links.token(second)}")
    expect(page.locator("#number")).to_have_text("B002", timeout=30_000)
    assert "排队等候中" in page.locator("#status").inner_text()
    assert "前面还有 1 人" in page.locator("#detail").inner_text()
    page.close()


def test_tap_a_service_and_the_ticket_comes_out_of_the_simulated_printer(
    serve_hall: Callable[..., ServedHall], browser: Browser
) -> None:
    from controller.cli.hall_process import ticket_machines
    from devices.printer.sim_printer import SimulatedPrinter

    simulated: list[SimulatedPrinter] = []

    def machines(runtime: HallRuntime) -> list[TicketMachine]:
        made, twins = ticket_machines(runtime, simulate=True)
        simulated.extend(twins)
        return made

    try:
        hall = serve_hall(machines)
        page = browser.new_page(viewport={"width": 1080, "height": 1920})
        page.goto(f"{hall.base}/kiosk?machine=entrance#token={KIOSK_TOKEN}")
        page.locator("button.service[data-service=YB]").click()
        number = page.locator("#ticket-number")
        number.wait_for()
        assert number.inner_text() == "B001"
        printed = [t for sim in simulated for t in sim.tickets]
        assert [t.number for t in printed] == ["B001"] and printed[0].complete
        assert any("医疗保障" in line for line in printed[0].lines)
        assert hall.runtime.engine.state.tickets["20261123-B001"].status.value == "waiting"

        simulated[0].faults.paper_out = True  # entrance-1 runs dry: the machine fails over
        page.locator("button", has_text="完成").click()
        page.locator("button.service[data-service=YB]").click()
        expect(page.locator("#ticket-number")).to_have_text("B002", timeout=30_000)
        assert [t.number for t in simulated[1].tickets] == ["B002"]

        simulated[1].faults.cover_open = True  # both down: a plain message, nothing callable
        page.locator("button", has_text="完成").click()
        page.locator("button.service[data-service=YB]").click()
        error = page.locator("#ticket-error")
        error.wait_for()
        assert "工作人员协助取号" in error.inner_text()
        assert hall.runtime.engine.state.tickets["20261123-B003"].status.value == "print_failed"
        page.close()
    finally:
        for sim in simulated:
            sim.stop()


PIN = "580317"


def _with_pin(pin: str) -> HallConfig:
    config = load_config(EXAMPLE_CONFIG)
    digest = hashlib.sha256(pin.encode()).hexdigest()
    return config.model_copy(
        update={"kiosk": config.kiosk.model_copy(update={"priority_pin_sha256": digest})}
    )


def _priority_with(page: Page, category: str, pin: str, service: str) -> None:
    """绿色通道 → a category → the staff's PIN → a service."""
    page.locator("#priority").click()
    page.locator("#card button", has_text=category).click()
    page.locator("#staff-pin").fill(pin)
    page.locator("#pin-ok").click()
    assert "已由工作人员确认" in page.locator("#armed").inner_text()
    page.locator(f"button.service[data-service={service}]").click()


def test_a_priority_ticket_takes_the_staffs_pin_and_a_wrong_one_is_refused(
    serve_hall: Callable[..., ServedHall], browser: Browser
) -> None:
    hall = serve_hall(config=_with_pin(PIN))
    page = browser.new_page(viewport={"width": 1080, "height": 1920})
    page.goto(f"{hall.base}/kiosk#token={KIOSK_TOKEN}")
    page.locator("button.service[data-service=SB]").wait_for()
    # No PIN typed: the page asks for it and arms nothing.
    page.locator("#priority").click()
    page.locator("#card button", has_text="老年人").click()
    page.locator("#pin-ok").click()
    assert page.locator("#pin-hint").inner_text() == "请工作人员输入确认码"
    page.locator("#card button", has_text="返回").click()
    # A wrong PIN: refused by the hall with a plain message; no ticket.
    _priority_with(page, "老年人", "111111", "SB")
    error = page.locator("#ticket-error")
    error.wait_for()
    assert "确认码错误" in error.inner_text()
    assert hall.runtime.engine.state.tickets == {}
    page.locator("#card button", has_text="返回").click()
    assert not page.locator("#armed").is_visible()  # one confirmation, one ticket
    # The right PIN: a priority ticket.
    _priority_with(page, "孕妇", PIN, "SB")
    number = page.locator("#ticket-number")
    number.wait_for()
    ticket = hall.runtime.engine.state.tickets["20261123-A001"]
    assert (number.inner_text(), ticket.lane.value, ticket.priority_reason) == (
        "A001",
        "priority",
        "孕妇",
    )
    # The next citizen taps a service: a normal ticket, the confirmation was used up.
    page.locator("#card button", has_text="完成").click()
    page.locator("button.service[data-service=SB]").click()
    # expect(), not wait_for_function: the page's CSP forbids eval, which a polled string needs.
    expect(page.locator("#ticket-number")).to_have_text("A002")
    assert hall.runtime.engine.state.tickets["20261123-A002"].lane.value == "normal"
    page.close()
