"""`hallctl printer …`: a technician's commands for the ticket machine printers."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
from pathlib import Path

import httpx

from controller.app.ticket_links import TicketLinks
from controller.app.ticket_print import DOTS_PER_MM, ticket_layout
from controller.domain.errors import HallError
from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig
from devices.printer.escpos_printer import open_printer
from devices.printer.printer_config import PrinterConfig
from devices.printer.text_raster import rasterize_line
from firmware_protocols.escpos.escpos_reader import EscPosReader
from firmware_protocols.escpos.escpos_ticket import build_ticket, raster_texts

DEFAULT_CONTROLLER = "http://127.0.0.1:8000"


def add_printer_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], config_default: Path
) -> None:
    """Register `hallctl printer status|test|reprint|sample`."""
    printer = sub.add_parser("printer", help="check, test and reprint on the ticket printers")
    actions = printer.add_subparsers(required=True, metavar="ACTION")

    status = actions.add_parser("status", help="ask each configured printer for its status")
    status.add_argument("--config", type=Path, default=config_default)
    status.add_argument("--id", help="only this printer")
    status.set_defaults(run=_status)

    test = actions.add_parser("test", help="print a sample ticket on a printer")
    test.add_argument("--config", type=Path, default=config_default)
    test.add_argument("--id", help="printer id (default: the first)")
    test.add_argument("--service", help="service code (default: the first)")
    test.set_defaults(run=_test)

    reprint = actions.add_parser(
        "reprint", help="reprint a ticket whose paper failed (running hall)"
    )
    reprint.add_argument("ticket", help="ticket id, e.g. 20261123-A001")
    reprint.add_argument("--controller", default=DEFAULT_CONTROLLER, help="the running hall's URL")
    reprint.add_argument("--token", required=True, help="a floor manager or admin token")
    reprint.add_argument("--machine", help="ticket machine id (default: the first)")
    reprint.set_defaults(run=_reprint)

    sample = actions.add_parser("sample", help="write the exact bytes of a sample ticket to a file")
    sample.add_argument("--config", type=Path, default=config_default)
    sample.add_argument("--service", required=True, help="service code, e.g. SB")
    sample.add_argument("--out", type=Path, required=True, help="file for the printer bytes")
    sample.add_argument("--png", type=Path, help="also draw the ticket as it prints")
    sample.add_argument(
        "--paper", type=int, choices=(58, 80), help="paper width (default: printer's)"
    )
    sample.add_argument(
        "--raster", action="store_true", help="as for a printer without a Chinese font"
    )
    sample.set_defaults(run=_sample)


def sample_bytes(config: HallConfig, service: str, printer: PrinterConfig) -> bytes:
    """The bytes a ticket A001-style for `service` would send to `printer`, without a hall."""
    found = config.service(service)
    if found is None:
        raise HallError(
            f"unknown service {service!r}; known: {', '.join(s.code for s in config.services)}"
        )
    now = dt.datetime.now(config.zone).replace(second=0, microsecond=0)
    view = {
        "id": f"{now:%Y%m%d}-{found.prefix}001",
        "number": f"{found.prefix}001",
        "service": found.code,
        "lane": "normal",
        "ahead": 3,
        "estimated_wait_minutes": 12,
        "issued_at": now.isoformat(),
    }
    # A throwaway secret: the sample's QR code has the length and shape of a real one.
    token = TicketLinks(secrets.token_bytes(32)).token(str(view["id"]))
    layout = ticket_layout(config, view, printer, status_token=token)
    if not printer.chinese_font:
        width = printer.paper_mm * DOTS_PER_MM - 64
        images = {text: rasterize_line(text, width) for text in raster_texts(layout)}
        import dataclasses

        layout = dataclasses.replace(layout, raster_lines=images)
    return build_ticket(layout)


def _printers(config: HallConfig, only: str | None) -> list[PrinterConfig]:
    printers = [p for p in config.printers if only is None or p.id == only]
    if not printers:
        raise HallError(
            f"no printer {only!r} in the config" if only else "no [[printers]] in the config"
        )
    return printers


def _status(args: argparse.Namespace) -> int:
    worst = 0
    for printer_config in _printers(load_config(args.config), args.id):
        printer = open_printer(printer_config)
        try:
            health = printer.health()
        finally:
            printer.close()
        state = {True: "就绪 ready", False: "故障 fault", None: "未知 unknown"}[health.ready]
        paper = "  纸将用尽 paper low" if health.paper_near_end else ""
        print(f"{printer_config.id:<16} {printer_config.url:<28} {state}{paper}  {health.detail}")
        worst = max(worst, 0 if health.ready else 1)
    return worst


def _test(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    printer_config = _printers(config, args.id)[0]
    data = sample_bytes(config, args.service or config.services[0].code, printer_config)
    printer = open_printer(printer_config)
    try:
        before = printer.health()
        printer.print_bytes(data)
        after = printer.health()
    finally:
        printer.close()
    print(
        f"{printer_config.id}: sent {len(data)} bytes; before: {before.detail}; after: {after.detail}"
    )
    return 0 if after.ready else 1


def _reprint(args: argparse.Namespace) -> int:
    body = {"machine": args.machine} if args.machine else None
    try:
        response = httpx.post(
            f"{args.controller.rstrip('/')}/api/tickets/{args.ticket}/reprint",
            json=body,
            headers={"Authorization": f"Bearer {args.token}"},
            timeout=30,
        )
    except httpx.HTTPError as err:
        raise HallError(f"cannot reach the hall at {args.controller}: {err}") from err
    print(json.dumps(response.json(), ensure_ascii=False))
    return 0 if response.status_code == 201 else 1


def _sample(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    base = (
        config.printers[0] if config.printers else PrinterConfig(id="sample", url="file:/dev/null")
    )
    update: dict[str, object] = {"chinese_font": not args.raster} if args.raster else {}
    if args.paper:
        update["paper_mm"] = args.paper
    printer = base.model_copy(update=update)
    data = sample_bytes(config, args.service, printer)
    args.out.write_bytes(data)
    print(
        f"{args.out}: {len(data)} bytes ({printer.paper_mm} mm, "
        f"{'raster' if not printer.chinese_font else 'text'} mode)"
    )
    if args.png:
        from devices.printer.ticket_png import save_ticket_png

        save_ticket_png(EscPosReader().feed(data), args.png, paper_mm=printer.paper_mm)
        print(f"{args.png}: drawn")
    return 0
