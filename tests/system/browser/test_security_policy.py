"""The pages and /docs under the hall's Content-Security-Policy in Chromium: nothing refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, ConsoleMessage

from tests.system.browser.conftest import KIOSK_TOKEN, ServedHall


def _keeper(messages: list[ConsoleMessage]) -> Callable[[ConsoleMessage], None]:
    def keep(message: ConsoleMessage) -> None:  # Playwright cannot take a bound builtin
        messages.append(message)

    return keep


def _violations(messages: list[ConsoleMessage]) -> list[str]:
    return [m.text for m in messages if "Content Security Policy" in m.text]


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        (f"/kiosk#token={KIOSK_TOKEN}", "button.service[data-service=SB]"),
        (f"/dashboard#token={KIOSK_TOKEN}", "body"),
        (f"/screen#token={KIOSK_TOKEN}", "body"),
        ("/t/{token}", "body"),
        ("/docs", ".opblock"),  # Swagger UI drew the operations from the hall's own files
    ],
)
def test_pages_run_under_the_policy_without_a_refusal(
    serve_hall: Callable[..., ServedHall], browser: Browser, path: str, ready: str
) -> None:
    hall = serve_hall()
    if "{token}" in path:  # the status page is addressed by its ticket's QR token
        path = path.format(token=_ticket_token(hall))
    page = browser.new_page()
    messages: list[ConsoleMessage] = []
    page.on("console", _keeper(messages))
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith((hall.base, "data:")) else outside.append(request.url)
        ),
    )
    page.goto(f"{hall.base}{path}")
    page.locator(ready).first.wait_for()
    page.wait_for_timeout(300)  # late scripts and styles report their refusals too
    assert _violations(messages) == []
    assert outside == []
    page.close()


def test_an_injected_inline_script_is_refused(
    serve_hall: Callable[..., ServedHall], browser: Browser
) -> None:
    hall = serve_hall()
    page = browser.new_page()
    messages: list[ConsoleMessage] = []
    page.on("console", _keeper(messages))
    page.goto(f"{hall.base}/t/{_ticket_token(hall)}")
    page.locator("body").wait_for()
    ran = page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.injected = true";
                   document.body.appendChild(s); return window.injected === true; }"""
    )
    assert ran is False
    page.wait_for_timeout(100)
    assert _violations(messages), "Chromium reports the refused script"
    page.close()


def _ticket_token(hall: ServedHall) -> str:
    """Issue one ticket on the served hall; the token its QR code carries."""
    from controller.domain import commands as cmd

    decision = hall.runtime.execute(cmd.IssueTicket("SB", "normal"))
    return hall.runtime.ticket_links.token(str(decision.result["id"]))
