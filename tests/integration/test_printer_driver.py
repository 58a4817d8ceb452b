"""The real ESC/POS driver against the simulated printer over a real pty and a real TCP socket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.printer.escpos_printer import EscPosPrinter, open_printer
from devices.printer.escpos_transports import (
    DEFAULT_PORT,
    FileTransport,
    NetworkTransport,
    SerialUrlTransport,
    UsbTransport,
    transport_for,
)
from devices.printer.printer import PrinterError
from devices.printer.sim_printer import SimulatedPrinter
from firmware_protocols.escpos.escpos_reader import EscPosReader, ticket_text
from tests.printer_helpers import (
    FOOTER,
    HALL_NAME,
    TIMEOUT,
    printer_config,
    running_sim,
    sample_ticket,
)


@pytest.fixture(params=["pty", "tcp"])
def sim(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SimulatedPrinter]:
    """A simulated printer on a pty (behind a stable symlink) or on a 127.0.0.1 TCP port."""
    with running_sim(request.param, tmp_path, seed=7) as printer:
        yield printer


@pytest.fixture
def driver(sim: SimulatedPrinter) -> Iterator[EscPosPrinter]:
    """The real driver for `sim`, chosen from its URL as the hall would."""
    printer = open_printer(printer_config(sim.url))
    assert isinstance(printer, EscPosPrinter)
    yield printer
    printer.close()


def test_a_ticket_arrives_and_reads_back_with_its_number_and_chinese_text(
    sim: SimulatedPrinter, driver: EscPosPrinter
) -> None:
    assert driver.health().ready is True
    driver.print_bytes(sample_ticket("A007"))
    (ticket,) = sim.tickets
    assert ticket.number == "A007"
    assert ticket.lines[0] == HALL_NAME
    assert "社保业务（参保登记）" in ticket.lines
    assert "您前面还有 3 人等候" in ticket.lines
    assert any("户口簿；《参保登记表》" in line for line in ticket.lines)
    assert ticket.lines[-1] == FOOTER
    assert ticket.qr_data == [b"https://hall.example.gov.cn/t/20261123-A007"]
    assert sim.spoiled == []


def test_two_tickets_in_a_row_come_out_as_two_cut_tickets(
    sim: SimulatedPrinter, driver: EscPosPrinter
) -> None:
    driver.print_bytes(sample_ticket("A001"))
    driver.print_bytes(sample_ticket("A002", paper_mm=58))
    assert [ticket.number for ticket in sim.tickets] == ["A001", "A002"]


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (None, (True, False, "ready")),
        ("paper_out", (False, True, "paper end")),
        ("paper_near_end", (True, True, "paper near end")),
        ("cover_open", (False, False, "cover open")),
        ("offline", (False, False, "offline")),
    ],
)
def test_status_of_every_printer_state_is_decoded(
    sim: SimulatedPrinter,
    driver: EscPosPrinter,
    fault: str | None,
    expected: tuple[bool, bool, str],
) -> None:
    if fault is not None:
        setattr(sim.faults, fault, True)
    ready, near_end, detail = expected
    health = driver.health()
    assert (health.ready, health.paper_near_end) == (ready, near_end)
    assert health.detail.startswith(detail)
    assert sim.model.status_queries[-3:] == [1, 2, 4]


@pytest.mark.parametrize("fault", ["silent", "garbage_status"])
def test_silence_and_garbage_are_unknown_never_ready(
    sim: SimulatedPrinter, driver: EscPosPrinter, fault: str
) -> None:
    setattr(sim.faults, fault, True)
    for _ in range(3):  # garbage differs each time (seeded): none of it may read as ready
        started = time.monotonic()
        health = driver.health()
        assert health.ready is None, health
        assert "DLE EOT 1" in health.detail
        assert time.monotonic() - started < TIMEOUT + 1.0
    setattr(sim.faults, fault, False)
    assert driver.health().ready is True  # late or stray bytes do not confuse the next query


def test_a_slow_printer_within_the_timeout_prints(
    sim: SimulatedPrinter, driver: EscPosPrinter
) -> None:
    sim.faults.slow_seconds_per_chunk = 0.01  # ~10 chunks of 64 bytes: about 0.1 s
    driver.print_bytes(sample_ticket("A010"))
    assert [ticket.number for ticket in sim.tickets] == ["A010"]


def test_a_printer_slower_than_the_timeout_fails_quickly(
    sim: SimulatedPrinter, driver: EscPosPrinter
) -> None:
    sim.faults.slow_seconds_per_chunk = 0.5  # several seconds for the whole ticket
    started = time.monotonic()
    with pytest.raises(PrinterError, match="not taken within") as raised:
        driver.print_bytes(sample_ticket("A011"))
    assert raised.value.device == "p1"
    assert time.monotonic() - started < TIMEOUT + 2.0  # never python-escpos's 60 s
    sim.faults.slow_seconds_per_chunk = 0.0


def test_unplugged_mid_ticket_fails_and_after_replug_the_next_ticket_prints(
    sim: SimulatedPrinter, driver: EscPosPrinter
) -> None:
    sim.unplug_after(80)
    with pytest.raises(PrinterError, match="ticket not delivered"):
        driver.print_bytes(sample_ticket("A020"))
    assert [t.problem for t in sim.spoiled] == ["unplugged mid-ticket"]
    unplugged = driver.health()
    assert unplugged.ready is None
    sim.replug()
    assert driver.health().ready is True
    driver.print_bytes(sample_ticket("A021"))
    assert [ticket.number for ticket in sim.tickets] == ["A021"]


def test_a_printer_replugged_while_idle_is_found_again_on_the_first_status_query(
    sim: SimulatedPrinter, driver: EscPosPrinter
) -> None:
    assert driver.health().ready is True
    sim.unplug()
    sim.replug()
    assert driver.health().ready is True  # one retry on a fresh link, no failed ticket needed
    driver.print_bytes(sample_ticket("A030"))
    assert sim.tickets[-1].number == "A030"


def test_paper_running_out_mid_ticket_spoils_it_and_status_says_paper_end(
    sim: SimulatedPrinter, driver: EscPosPrinter
) -> None:
    sim.paper_out_after(60)
    driver.print_bytes(sample_ticket("A040"))  # the bytes were taken; the paper was not there
    assert sim.tickets == []
    assert [t.problem for t in sim.spoiled] == ["paper end"]
    health = driver.health()
    assert (health.ready, health.detail) == (False, "paper end, offline")


def test_an_unreachable_printer_is_unknown_and_refuses_tickets_quickly(tmp_path: Path) -> None:
    with running_sim("tcp", tmp_path) as gone:
        url = gone.url
    for config in (printer_config(url), printer_config(str(tmp_path / "no-such-tty"))):
        printer = open_printer(config)
        started = time.monotonic()
        health = printer.health()
        assert health.ready is None and "cannot open" in health.detail
        with pytest.raises(PrinterError, match="cannot open"):
            printer.print_bytes(sample_ticket())
        assert time.monotonic() - started < TIMEOUT + 2.0


def test_a_loopback_line_echoes_the_query_and_that_is_unknown_not_ready() -> None:
    printer = open_printer(printer_config("loop://"))
    health = printer.health()
    assert health.ready is None and "malformed reply to DLE EOT 1" in health.detail
    printer.close()


def test_a_file_printer_appends_tickets_and_reports_no_status_support(tmp_path: Path) -> None:
    target = tmp_path / "spool" / "tickets.bin"
    target.parent.mkdir()
    printer = open_printer(printer_config(f"file:{target}", status="none"))
    assert printer.health().ready is True and printer.health().detail == "no status support"
    printer.print_bytes(sample_ticket("A050"))
    printer.print_bytes(sample_ticket("A051"))
    printer.close()
    lines = ticket_text(EscPosReader().feed(target.read_bytes()))
    assert lines.count(HALL_NAME) == 2 and "A050" in lines and "A051" in lines


def test_a_file_printer_configured_to_answer_status_is_unknown(tmp_path: Path) -> None:
    health = open_printer(printer_config(f"file:{tmp_path / 'x.bin'}")).health()
    assert health.ready is None and 'status = "none"' in health.detail


def test_status_none_is_ready_without_asking_the_printer(sim: SimulatedPrinter) -> None:
    printer = open_printer(printer_config(sim.url, status="none"))
    assert printer.health().detail == "no status support"
    printer.print_bytes(sample_ticket("A060"))  # no confirmation query either
    assert sim.wait_for_tickets(1)[0].number == "A060"
    assert sim.model.status_queries == []
    printer.close()


def test_transports_are_chosen_from_the_url_with_the_configured_timeouts() -> None:
    network = transport_for(printer_config("socket://192.0.2.10", timeout_seconds=1.5))
    assert isinstance(network, NetworkTransport)
    assert (network.host, network.port, network.timeout) == ("192.0.2.10", DEFAULT_PORT, 1.5)
    other_port = transport_for(printer_config("socket://printer.local:9101"))
    assert isinstance(other_port, NetworkTransport) and other_port.port == 9101
    serial_port = transport_for(printer_config("/dev/ttyUSB0", baudrate=19200))
    assert isinstance(serial_port, SerialUrlTransport)
    assert (serial_port.url, serial_port.baudrate, serial_port.timeout) == (
        "/dev/ttyUSB0",
        19200,
        TIMEOUT,
    )
    assert isinstance(transport_for(printer_config("rfc2217://10.0.0.5:4001")), SerialUrlTransport)
    usb = transport_for(printer_config("usb:04b8:0202"))
    assert isinstance(usb, UsbTransport)
    assert usb.usb_args == {"idVendor": 0x04B8, "idProduct": 0x0202} and usb.timeout == 500
    assert isinstance(transport_for(printer_config("file:/dev/usb/lp0")), FileTransport)
    for bad in ("usb:nope", "socket://:9100", "socket://host:99999", "bogus://x"):
        with pytest.raises(PrinterError):
            transport_for(printer_config(bad))
