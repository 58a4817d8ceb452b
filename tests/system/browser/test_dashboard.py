"""The floor dashboard in headless Chromium: live without reload, alerts, floor manager actions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from controller.domain import commands as cmd
from controller.domain.alerts import Alert, AlertKind
from tests.outbox_helpers import READER, parking_api
from tests.system.browser.dashboard_helpers import (
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
    """A PC-sized page (1440×900)."""
    opened = browser.new_page(viewport={"width": 1440, "height": 900})
    yield opened
    opened.close()


def _card(page: Page, window: int) -> str:
    return f".window-card[data-window='{window}']"


def test_dashboard_follows_a_ticket_and_a_call_without_reload(
    hall: DashboardHall, page: Page, tmp_path: Path
) -> None:
    hall.run(cmd.SignIn(1, "S0101", "A"))
    hall.dashboard(page)
    sb_waiting = page.locator("#services tr[data-service=SB] .waiting")
    expect(sb_waiting).to_have_text("0")
    expect(page.locator("#live")).to_have_text("实时更新中")
    page.evaluate("window.notReloaded = true")

    response = page.request.post(
        f"{hall.base}/api/tickets",
        headers={"Authorization": f"Bearer {KIOSK_TOKEN}"},
        data={"service": "SB"},
    )
    assert response.status == 201
    expect(sb_waiting).to_have_text("1")
    expect(page.locator(f"{_card(page, 1)} .waiting")).to_have_text("　等候 1 人")
    expect(page.locator("#kpi-issued .value")).to_have_text("1")
    # Each KPI tile says what it counts (过号率 of tickets, not of 过号 presses).
    expect(page.locator("#kpi-noshow .definition")).to_have_text("过号票数 ÷ 已叫号票数")
    expect(page.locator("#kpi-noshow-dropped .label")).to_have_text("过号作废")

    hall.clock.advance(6 * 60)
    hall.run(cmd.CallNext(1))
    expect(page.locator(f"{_card(page, 1)} .current")).to_have_text("A001")
    expect(page.locator(f"{_card(page, 1)} .state")).to_contain_text("办理中")
    expect(sb_waiting).to_have_text("0")
    expect(page.locator("#note-waits")).to_contain_text("共 1 人已叫号")
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(tmp_path / "dashboard.png"))


def test_alert_appears_when_a_window_pauses_with_citizens_waiting(
    hall: DashboardHall, page: Page
) -> None:
    hall.run(cmd.SignIn(3, "S0301", "A"))
    hall.run(cmd.SignIn(2, "S0102", "A"))  # window 2 takes YB too: the pause is its own cause
    hall.run(cmd.IssueTicket("YB"))
    hall.dashboard(page)
    expect(page.locator(f"{_card(page, 3)} .state")).to_contain_text("空闲")
    expect(page.locator("#alerts li[data-kind=paused_with_waiting]")).to_have_count(0)

    hall.run(cmd.Pause(3, "临时离开"))
    alert = page.locator("#alerts li[data-kind=paused_with_waiting]")
    expect(alert).to_contain_text("3号窗口暂停服务（临时离开），仍有")
    expect(alert.locator(".action")).to_have_text(
        "处置：请该窗口恢复服务，或把它的业务调整到其他窗口"
    )
    expect(alert).to_have_class("urgent")
    expect(page.locator("#floor-status")).to_be_hidden()
    expect(page.locator(f"{_card(page, 3)} .reason")).to_have_text("暂停原因：临时离开")

    hall.clock.advance(7 * 60)  # the card says for how long once the next event comes
    hall.run(cmd.IssueTicket("SB"))
    expect(page.locator(f"{_card(page, 3)} .state")).to_have_text("暂停 7分")

    hall.run(cmd.Resume(3))
    expect(page.locator("#alerts li[data-kind=paused_with_waiting]")).to_have_count(0)


def test_floor_manager_broadcasts_an_emergency_and_clears_it(
    hall: DashboardHall, page: Page
) -> None:
    hall.dashboard(page)
    page.locator("#broadcast").click()
    page.locator("#notice-text").fill("消防演练，请听从工作人员指引有序离场")
    page.locator("#send-notice").click()
    expect(page.locator("#message")).to_have_text("紧急广播已发布到所有屏幕")
    expect(page.locator("#emergency")).to_contain_text("消防演练")
    notices = list(hall.runtime.engine.state.notices.values())
    assert [(n.text, n.level) for n in notices] == [
        ("消防演练，请听从工作人员指引有序离场", "emergency")
    ]

    page.locator("#notices li[data-notice] .clear").click()
    expect(page.locator("#message")).to_have_text("公告已撤下")
    expect(page.locator("#emergency")).to_be_hidden()
    assert not hall.runtime.engine.state.notices


def test_floor_manager_closes_opens_and_retasks_windows(hall: DashboardHall, page: Page) -> None:
    hall.run(cmd.SignIn(1, "S0101", "A"))
    hall.run(cmd.IssueTicket("SB"))
    hall.run(cmd.CallNext(1))
    hall.dashboard(page)

    page.locator(f"{_card(page, 5)} .toggle").click()
    page.locator("#confirm-close").click()
    expect(page.locator(f"{_card(page, 5)} .state")).to_contain_text("未开放")
    assert hall.runtime.engine.state.windows[5].open is False
    page.locator(f"{_card(page, 5)} .toggle").click()
    expect(page.locator(f"{_card(page, 5)} .state")).to_contain_text("未签到")

    page.locator(f"{_card(page, 1)} .toggle").click()  # serving: refused in plain Chinese
    page.locator("#confirm-close").click()
    expect(page.locator("#message")).to_have_text("1号窗口正在办理 A001，请先办结或过号")
    expect(page.locator("#message")).to_have_class("error")

    page.locator(f"{_card(page, 6)} .services").click()
    page.locator("#dialog label[data-service=SB] input[type=checkbox]").check()
    page.locator("#save-services").click()
    expect(page.locator("#message")).to_have_text("6号窗口业务已调整")
    assert hall.runtime.engine.state.windows[6].services == ("GJJ", "SB")
    expect(page.locator("#services tr[data-service=SB] .windows")).to_have_text("1、2、6、12")


def test_print_failed_ticket_is_voided_and_reprint_is_refused_plainly(
    hall: DashboardHall, page: Page
) -> None:
    ticket = str(hall.run(cmd.IssueTicket("SB", needs_print=True))["id"])
    hall.run(cmd.RecordPrintFailure(ticket, "entrance-1", "paper_out"))
    hall.dashboard(page)
    fix = page.locator(f"#alerts li[data-kind=print_failed] [data-ticket='{ticket}']")
    expect(fix).to_contain_text("补打 A001")

    fix.locator(".reprint").click()  # this hall has no ticket machine configured
    expect(page.locator("#message")).to_have_text("本大厅没有配置取号机打印机")

    fix.locator(".void").click()
    page.locator("#confirm-void").click()
    expect(page.locator("#message")).to_have_text("A001 已作废")
    expect(page.locator("#alerts li[data-kind=print_failed]")).to_have_count(0)
    assert hall.runtime.engine.state.tickets[ticket].status.value == "void"


def test_dashboard_refuses_a_window_staff_token_and_fits_a_phone(
    hall: DashboardHall, browser: Browser
) -> None:
    staff = browser.new_page()
    hall.dashboard(staff, staff_token(1))
    expect(staff.locator("#login-reason")).to_contain_text("窗口工作人员无权执行此操作")
    staff.close()

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    hall.dashboard(phone)
    expect(phone.locator("#services tr[data-service=SB] .waiting")).to_have_text("0")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.close()


def test_a_device_alert_without_any_hall_event_shows_within_the_periodic_refresh(
    hall: DashboardHall, page: Page
) -> None:
    keypad_down: list[Alert] = []
    hall.runtime.add_alert_source(lambda: list(keypad_down))
    page.clock.install()  # the page's 15 s refresh runs on a clock the test moves
    hall.dashboard(page)
    expect(page.locator("#live")).to_have_text("实时更新中")
    hall.run(cmd.IssueTicket("SB"))  # from now on the state comes pushed on the stream
    expect(page.locator("#services tr[data-service=SB] .waiting")).to_have_text("1")

    # An alert that no hall event announces (a keypad dropping offline during a lull).
    keypad_down.append(Alert(AlertKind.KEYPAD_OFFLINE, "3号窗口评价器离线（kp-03）", window=3))
    alert = page.locator("#alerts li[data-kind=keypad_offline]")
    page.wait_for_timeout(1200)  # the hall's shared read of the state is at most 1 s old
    expect(alert).to_have_count(0)  # nothing pushed it
    page.clock.fast_forward(16_000)
    expect(alert).to_contain_text("3号窗口评价器离线")


def test_parked_ratings_are_resent_from_the_device_panel(
    hall: DashboardHall, page: Page, tmp_path: Path
) -> None:
    # The satisfaction server's clock is a day behind: the records are refused and parked.
    with parking_api(hall.runtime, tmp_path) as api:
        outbox, url = api.outbox, api.url
        hall.app.state.devices = api.devices
        hall.run(cmd.SignIn(1, "S0101", "A"))
        hall.run(cmd.IssueTicket("SB"))
        hall.clock.advance(60)
        hall.run(cmd.CallNext(1))
        hall.clock.advance(300)
        hall.run(cmd.Finish(1, "即办件"))
        assert outbox.flush() is True and outbox.status()["parked"] == 1
        hall.dashboard(page)
        expect(page.locator("#outbox-backlog")).to_contain_text("1 条被拒收待处理")
        api.clock.set(hall.clock.now())  # the server's clock is put right
        page.locator("#outbox-retry").click()
        expect(page.locator("#message")).to_have_text("已重新上报 1 条，仍有 0 条被拒收")
        expect(page.locator("#outbox-retry")).to_have_count(0)
        served = httpx.get(
            url.removesuffix("/evaluations") + "/kpis",
            headers=READER,
            params={"group_by": "window"},
        ).json()
    assert served["total"]["served"] == 1


def test_a_draining_kiosk_and_a_stuck_keypad_show_as_urgent_alerts(
    hall: DashboardHall, page: Page
) -> None:
    from controller.app.keypad_intake import KeypadDispatcher
    from devices.keypad.keypad import KeypadKey, KeypadPress

    hall.dashboard(page)
    expect(page.locator("#live")).to_have_text("实时更新中")
    kiosk = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    statuses = [
        page.request.post(f"{hall.base}/api/tickets", headers=kiosk, data={"service": "SB"}).status
        for _ in range(22)
    ]
    assert statuses == [201] * 20 + [429] * 2
    dispatch = KeypadDispatcher(hall.runtime)
    for seq in range(1, 40):  # a key stuck down on window 2's keypad
        dispatch(KeypadPress("kp-02", "boot", seq, 2, KeypadKey.RECALL, raw="recall"))
    hall.run(cmd.SignIn(1, "S0101", "A"))  # the next event brings the state with the alerts
    kiosk_alert = page.locator("#alerts li[data-kind=kiosk_rate_limited]")
    expect(kiosk_alert).to_contain_text("取号过于频繁")
    expect(kiosk_alert).to_have_class("urgent")
    stuck = page.locator("#alerts li[data-kind=keypad_stuck]")
    expect(stuck).to_contain_text("评价器按键卡住")
    expect(stuck).to_contain_text("2号窗口评价器 kp-02")


def test_the_floor_manager_adds_a_temporary_staff_member_who_then_signs_in(
    hall: DashboardHall, page: Page
) -> None:
    hall.dashboard(page)
    expect(page.locator("#temporary-staff")).to_contain_text("今日没有临时人员")
    page.locator("#add-temporary").click()
    page.locator("#temporary-id").fill("T 0301")  # a space: refused, with the reason
    page.locator("#temporary-name").fill("临时人员甲")
    page.locator("#temporary-window").select_option("3")
    page.locator("#confirm-temporary").click()
    expect(page.locator("#message")).to_contain_text("字母、数字")
    page.locator("#add-temporary").click()
    page.locator("#temporary-id").fill("T0301")
    page.locator("#temporary-name").fill("临时人员甲")
    page.locator("#temporary-window").select_option("3")
    page.locator("#confirm-temporary").click()
    expect(page.locator("#temporary-staff li[data-staff=T0301]")).to_have_text(
        "3号窗口 · 临时人员甲（工号 T0301）"
    )
    assert hall.run(cmd.SignIn(3, "T0301", "B", own_roster_only=True))["staff"] == "临时人员甲"
    expect(page.locator(f"{_card(page, 3)}")).to_contain_text("临时人员甲")
