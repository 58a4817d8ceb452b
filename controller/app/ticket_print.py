"""What a paper ticket says: the layout built from the config and the ticket, as printer bytes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from controller.app.runtime import HallRuntime
from controller.app.ticket_machine import RenderTicket
from controller.settings.hall_config import HallConfig
from devices.printer.printer_config import PrinterConfig
from firmware_protocols.escpos.escpos_ticket import (
    RasterImage,
    TicketLayout,
    build_ticket,
    raster_texts,
)

# Renders one line of Chinese text as a 1-bit image `width_px` wide (printers without a font).
Rasterize = Callable[[str, int], RasterImage]
LANE_TEXT = {"priority": "绿色通道", "appointment": "预约"}
DOTS_PER_MM = 8


def ticket_layout(
    config: HallConfig, view: dict[str, Any], printer: PrinterConfig, *, status_token: str
) -> TicketLayout:
    """The layout of one ticket from its status view (runtime.ticket) and the hall config.

    The QR code opens the status page by `status_token` (controller/app/ticket_links.py), never by
    the ticket's sequential id.
    """
    service = config.service(str(view["service"]))
    windows = [
        w.number for w in config.windows if service and service.code in w.services and w.open
    ]
    issued = dt.datetime.fromisoformat(str(view["issued_at"])).astimezone(config.zone)
    url = config.tickets.status_url
    return TicketLayout(
        hall_name=config.hall.name,
        service_name=service.name if service else str(view["service"]),
        number=str(view["number"]),
        ahead=int(view.get("ahead") or 0),
        estimated_wait_minutes=view.get("estimated_wait_minutes"),
        issued_at_text=f"{issued:%Y-%m-%d %H:%M}",
        windows_text="、".join(str(n) for n in windows) + "号窗口" if windows else "服务台",
        materials=tuple(service.materials) if service and config.tickets.print_materials else (),
        qr_url=f"{url.rstrip('/')}/{status_token}" if url else None,
        footer=config.tickets.footer,
        paper_mm=printer.paper_mm,
        lane_text=LANE_TEXT.get(str(view.get("lane"))),
    )


def ticket_renderer(runtime: HallRuntime, rasterize: Rasterize | None = None) -> RenderTicket:
    """A RenderTicket for the ticket machine: the ticket's bytes for one configured printer."""
    printers = {p.id: p for p in runtime.config.printers}

    def render(ticket_id: str, printer_id: str) -> bytes:
        view = runtime.ticket(ticket_id)
        if view is None:
            raise KeyError(ticket_id)
        printer = printers.get(printer_id) or PrinterConfig(id=printer_id, url="file:/dev/null")
        token = runtime.ticket_links.token(ticket_id)
        layout = ticket_layout(runtime.config, view, printer, status_token=token)
        if not printer.chinese_font:
            if rasterize is None:
                raise ValueError(f"printer {printer_id} has no Chinese font and no rasterizer")
            width = printer.paper_mm * DOTS_PER_MM - 64  # printable width, 4 mm margins
            images = {text: rasterize(text, width - width % 8) for text in raster_texts(layout)}
            layout = dataclasses.replace(layout, raster_lines=images)
        return build_ticket(layout)

    return render
