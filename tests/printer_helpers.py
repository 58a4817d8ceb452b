"""Helpers for printer tests: sample tickets, printer configs, simulated printers on real links."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devices.printer.printer_config import PrinterConfig
from devices.printer.sim_printer import SimulatedPrinter, Transport
from firmware_protocols.escpos.escpos_ticket import TicketLayout, build_ticket

HALL_NAME = "清水县政务服务中心"
FOOTER = "请妥善保管本票，过号请重新取号"
TIMEOUT = 0.5  # seconds; short so that silent and slow printers cost little test time


def sample_layout(number: str = "A001", **changes: Any) -> TicketLayout:
    """A realistic ticket: Chinese text with full-width punctuation, materials and a QR code."""
    fields: dict[str, Any] = {
        "hall_name": HALL_NAME,
        "service_name": "社保业务（参保登记）",
        "number": number,
        "ahead": 3,
        "issued_at_text": "2026-11-23 09:00",
        "windows_text": "1、2 号窗口",
        "estimated_wait_minutes": 12,
        "materials": ("身份证原件及复印件", "户口簿；《参保登记表》"),
        "qr_url": f"https://hall.example.gov.cn/t/20261123-{number}",
        "footer": FOOTER,
    }
    fields.update(changes)
    return TicketLayout(**fields)


def sample_ticket(number: str = "A001", **changes: Any) -> bytes:
    """The bytes of `sample_layout(number, **changes)`."""
    return build_ticket(sample_layout(number, **changes))


def printer_config(url: str, printer_id: str = "p1", **changes: Any) -> PrinterConfig:
    """A printer config for `url` with the tests' short timeout."""
    return PrinterConfig(**{"id": printer_id, "url": url, "timeout_seconds": TIMEOUT, **changes})


@contextmanager
def running_sim(
    transport: Transport, tmp_path: Path, name: str = "printer", seed: int = 0, **options: Any
) -> Iterator[SimulatedPrinter]:
    """A started simulated printer (pty behind a stable symlink in tmp_path, or TCP), stopped after."""
    link = tmp_path / name if transport == "pty" else None
    with SimulatedPrinter(transport, seed=seed, link=link, **options) as sim:
        yield sim
