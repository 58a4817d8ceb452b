"""The window console in headless Chromium: sign in, call, serve, finish; plain refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from controller.domain import commands as cmd
from controller.domain import events as ev
from tests.system.browser.dashboard_helpers import (
    FLOOR_TOKEN,
    KIOSK_TOKEN,
    DashboardHall,
    serve_dashboard_hall,
    staff_token,
)


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[DashboardHall]:
    """The example hall at Monday 09:00 with the dashboard router."""
    with serve_dashboard_hall(tmp_path) as served:
        yield served


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A counter-terminal-sized page (1280×800)."""
    opened = browser.new_page(viewport={"width": 1280, "height": 800})
    yield opened
    opened.close()


def test_console_signs_in_calls_a_ticket_and_the_dashboard_shows_it(
    hall: DashboardHall, page: Page, browser: Browser, tmp_path: Path
) -> None:
    hall.run(cmd.IssueTicket("SB"))
    hall.console(page, 1)
    expect(page.locator("#state")).to_have_text("未签到")
    expect(page.locator("#call-next")).to_be_disabled()
    page.locator("#roster button[data-staff=S0101]").click()
    expect(page.locator("#message")).to_have_text("签到成功：周文（A角）")
    expect(page.locator("#state")).to_have_text("空闲")
    expect(page.locator("#waiting-count")).to_have_text("1")

    dashboard = browser.new_page(viewport={"width": 1440, "height": 900})
    hall.dashboard(dashboard)
    expect(dashboard.locator(".window-card[data-window='1'] .staff")).to_have_text("周文（A角）")

    page.locator("#call-next").click()
    expect(page.locator("#current-number")).to_have_text("A001")
    expect(page.locator("#message")).to_have_text("请 A001 号到 1 号窗口办理")
    expect(page.locator("#current-service")).to_have_text("社会保障")
    expect(page.locator("#materials-list li")).to_have_text(
        ["本人居民身份证原件", "社会保障卡", "相关业务申请表（现场可领）"]
    )
    expect(dashboard.locator(".window-card[data-window='1'] .current")).to_have_text("A001")
    state = page.request.get(
        f"{hall.base}/api/state", headers={"Authorization": f"Bearer {FLOOR_TOKEN}"}
    ).json()
    window = next(w for w in state["windows"] if w["number"] == 1)
    assert window["state"] == "serving" and window["current"]["number"] == "A001"
    dashboard.close()

    page.locator("#recall").click()
    expect(page.locator("#message")).to_have_text("已重呼 A001（第 1 次）")
    page.locator("#finish").click()
    page.locator("#case-number").fill("SB-2026-000777")
    page.locator("#dialog button[data-outcome='即办件']").click()
    expect(page.locator("#message")).to_have_text(
        "A001 已办结（即办件），办件编号 SB-2026-000777，可请群众评价"
    )
    ticket = hall.runtime.engine.state.tickets["20261123-A001"]
    assert ticket.status.value == "finished" and ticket.outcome == "即办件"
    [finished] = [
        e
        for e in hall.runtime.journal.restart_events()
        if isinstance(e, ev.TicketFinished) and e.ticket_id == ticket.id
    ]
    assert finished.case_number == "SB-2026-000777"

    page.locator("#invite-rating").click()
    expect(page.locator("#message")).to_have_text("已邀请 A001 在评价器上评价")
    # The console says which ticket a press on the citizen's keypad rates (an invitation
    # outlives the next call); the countdown runs on the page's own clock.
    expect(page.locator("#rating-open")).to_have_text(
        re.compile(r"^评价器待 A001 号评价，剩余 1[01]\d 秒$")
    )
    page.locator("#call-next").click()
    expect(page.locator("#message")).to_have_text("当前没有等候的群众")
    expect(page.locator("#message")).to_have_class("error")
    page.screenshot(path=str(tmp_path / "console.png"))


def test_outcome_required_transfer_and_pause_from_the_console(
    hall: DashboardHall, page: Page
) -> None:
    hall.run(cmd.SignIn(4, "S0401", "A"))
    hall.run(cmd.CloseWindow(9))
    hall.run(cmd.CloseWindow(11))  # nobody takes 企业开办 today
    for _ in range(3):
        hall.run(cmd.IssueTicket("BDC"))
    hall.console(page, 4)
    page.locator("#call-next").click()
    expect(page.locator("#current-number")).to_have_text("C001")
    expect(page.locator("#current-service")).to_have_text("不动产登记（办结须登记办件类型）")

    page.locator("#call-next").click()  # the next call would finish C001 without its outcome
    expect(page.locator("#message")).to_have_text("请先办结 C001 并登记办件类型")
    page.locator("#finish").click()
    expect(page.locator("#dialog button[data-outcome='']")).to_have_count(0)
    page.locator("#dialog button[data-outcome='承诺件']").click()
    expect(page.locator("#message")).to_have_text("C001 已办结（承诺件），可请群众评价")

    page.locator("#call-next").click()
    expect(page.locator("#current-number")).to_have_text("C002")
    page.locator("#transfer").click()
    page.locator("#dialog button[data-service=QYKB]").click()
    expect(page.locator("#message")).to_have_text("企业开办暂无开放窗口，暂停取号")
    page.locator("#transfer").click()
    page.locator("#dialog button[data-service=SB]").click()
    expect(page.locator("#message")).to_have_text("C002 已转办到社会保障，保留原排队位置")
    assert hall.runtime.engine.state.tickets["20261123-C002"].service == "SB"

    page.locator("#call-next").click()
    expect(page.locator("#current-number")).to_have_text("C003")
    page.locator("#transfer").click()
    page.locator("#dialog button[data-window='5']").click()
    expect(page.locator("#message")).to_have_text("C003 已转办到 5 号窗口，保留原排队位置")
    assert hall.runtime.engine.state.tickets["20261123-C003"].target_window == 5

    page.locator("#pause").click()
    page.locator("#dialog button[data-reason='临时离开']").click()
    expect(page.locator("#state")).to_have_text("暂停服务（临时离开）")
    expect(page.locator("#call-next")).to_be_disabled()
    page.locator("#resume").click()
    expect(page.locator("#state")).to_have_text("空闲")


def test_console_refuses_another_windows_token_in_plain_chinese(
    hall: DashboardHall, browser: Browser
) -> None:
    wrong = browser.new_page()
    hall.console(wrong, 1, staff_token(2))
    expect(wrong.locator("#blocked-text")).to_have_text(
        "无法打开 1 号窗口终端：该令牌只能操作 2 号窗口"
    )
    expect(wrong.locator("#desk")).to_be_hidden()
    wrong.close()

    kiosk = browser.new_page()
    hall.console(kiosk, 1, KIOSK_TOKEN)
    expect(kiosk.locator("#blocked-text")).to_have_text(
        "无法打开 1 号窗口终端：取号机无权执行此操作"
    )
    kiosk.close()

    # A staff token that reaches another window's command directly is refused by the API too.
    response = _post(hall, browser, "/api/windows/1/call-next", staff_token(2))
    assert response == (403, "该令牌只能操作 2 号窗口")


def _post(hall: DashboardHall, browser: Browser, path: str, token: str) -> tuple[int, str]:
    context = browser.new_context()
    try:
        response = context.request.post(
            f"{hall.base}{path}", headers={"Authorization": f"Bearer {token}"}
        )
        return response.status, str(response.json()["message"])
    finally:
        context.close()


def test_b_role_sign_in_no_show_and_sign_out_from_the_console(
    hall: DashboardHall, page: Page
) -> None:
    for _ in range(2):
        hall.run(cmd.IssueTicket("SB"))
    hall.console(page, 1)
    page.locator("#roster button[data-staff=S0102]").click()  # 周文's B角 covers the window
    expect(page.locator("#message")).to_have_text("签到成功：吴静（B角）")
    assert hall.runtime.engine.state.windows[1].staff_role == "B"

    page.locator("#call-next").click()
    expect(page.locator("#current-number")).to_have_text("A001")
    page.locator("#no-show").click()
    # The example hall requeues a 过号 ticket once, behind the next 3 waiting.
    expect(page.locator("#message")).to_have_text("A001 已过号，已重新排入队列")
    ticket = hall.runtime.engine.state.tickets["20261123-A001"]
    assert (ticket.status.value, ticket.no_show_count) == ("waiting", 1)
    expect(page.locator("#current-number")).to_have_text("当前没有正在办理的群众")

    expect(page.locator("#sign-out")).to_be_enabled()
    page.locator("#sign-out").click()
    page.locator("#dialog button[data-confirm=sign-out]").click()
    expect(page.locator("#message")).to_have_text("已签退")
    expect(page.locator("#state")).to_have_text("未签到")
    [record] = hall.runtime.engine.state.attendance
    assert (record.staff_id, record.role) == ("S0102", "B") and record.signed_out_at is not None
