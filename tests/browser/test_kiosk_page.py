"""The kiosk page in headless Chromium: tap a service, get a ticket; plain messages otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser

from controller.runtime import HallRuntime
from controller.ticket_machine import TicketMachine
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
    page.goto(f"{hall.base}/t/{hall.runtime.ticket_links.token(second)}")
    page.wait_for_function("document.getElementById('number').textContent === 'B002'")
    assert "排队等候中" in page.locator("#status").inner_text()
    assert "前面还有 1 人" in page.locator("#detail").inner_text()
    page.close()


def test_tap_a_service_and_the_ticket_comes_out_of_the_simulated_printer(
    serve_hall: Callable[..., ServedHall], browser: Browser
) -> None:
    from controller.server import ticket_machines
    from devices.sim_printer import SimulatedPrinter

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
        page.wait_for_function("document.getElementById('ticket-number')?.textContent === 'B002'")
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
