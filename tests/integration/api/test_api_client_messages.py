"""What a kiosk is told names no file or device path; the floor manager still sees the detail."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.api.auth import TokenRegistry
from controller.app.ticket_machine import TicketMachine
from devices.printer.escpos_printer import open_printer
from devices.printer.printer_config import PrinterConfig
from tests.integration.api.conftest import TOKENS, Hall, auth

ABSENT = "/dev/ttyUSB-hall-test-absent"  # a printer whose USB cable is out


def test_a_kiosk_told_no_printer_can_print_sees_no_device_path(hall: Hall, tmp_path: Path) -> None:
    printer = open_printer(PrinterConfig(id="entrance-1", url=ABSENT, timeout_seconds=0.2))
    machine = TicketMachine("entrance", hall.runtime, [printer], lambda _t, _p: b"ticket")
    registry = TokenRegistry([])
    for token, caller in TOKENS.values():
        registry.add(token, caller)
    client = TestClient(create_app(hall.runtime, registry, [machine]))
    body = {"service": "SB", "machine": "entrance"}
    kiosk = client.post("/api/tickets", headers=auth("kiosk"), json=body)
    assert kiosk.status_code == 503
    assert kiosk.json()["error"] == "printer_unavailable"
    assert "/dev/" not in kiosk.text and ABSENT not in kiosk.text
    floor = client.post("/api/tickets", headers=auth("floor"), json=body)
    assert floor.status_code == 503 and ABSENT in floor.json()["detail"]  # for the technician
    printer.close()


def test_printer_health_details_are_for_the_floor_only(hall: Hall) -> None:
    printer = open_printer(PrinterConfig(id="entrance-1", url=ABSENT, timeout_seconds=0.2))
    machine = TicketMachine("entrance", hall.runtime, [printer], lambda _t, _p: b"ticket")
    machine.poll()
    registry = TokenRegistry([])
    for token, caller in TOKENS.values():
        registry.add(token, caller)
    client = TestClient(create_app(hall.runtime, registry, [machine]))
    for role in ("kiosk", "display"):
        seen = client.get("/api/printers", headers=auth(role))
        assert seen.status_code == 200 and "/dev/" not in seen.text
        assert seen.json()["machines"][0]["printers"][0]["ready"] is not True
    floor = client.get("/api/printers", headers=auth("floor")).json()
    assert ABSENT in floor["machines"][0]["printers"][0]["detail"]
    printer.close()


def test_a_malformed_request_is_explained_in_chinese(hall: Hall) -> None:
    cases = [
        ("/api/windows/1/sign-in", {}, "staff: 缺少此字段"),
        ("/api/windows/1/sign-in", {"staff": 7, "role": "A"}, "staff: 应为字符串"),
        ("/api/tickets", {"service": "SB", "colour": "red"}, "colour: 不允许的字段"),
    ]
    for path, body, problem in cases:
        status, answer = hall.post(path, json=body)
        assert status == 422 and answer["error"] == "invalid_request", answer
        assert problem in answer["problems"], answer
        assert answer["message"].startswith("请求格式错误：") and problem in answer["message"]
    broken = hall.client.post(
        "/api/tickets",
        content=b"{not json",
        headers=auth("admin") | {"content-type": "application/json"},
    )
    assert broken.status_code == 422 and "不是有效的 JSON" in broken.json()["message"], broken.text
