"""Kiosk tap -> last ticket byte at the printer, beside a bare write of the same bytes.

A real hall (example config, durable file journal) is served by uvicorn; each "tap" is the
kiosk page's request, `POST /api/tickets {"service", "machine"}` over HTTP. The ticket
machine asks the simulated printer (a real pseudo-terminal) for its status, reserves the
number, renders the ticket and writes it. The simulated printer stamps the moment it reads
the ticket's cut (`GS V`, the last command of a ticket). After each tap, a bare write of the
same bytes on a second handle to the same pty is timed the same way: that is the pty and
printer-interpreter cost the controller cannot avoid.

A pty moves bytes at memory speed, so the tap latency here is the controller's overhead; on
a real serial line at the configured baud the wire time (10 bits per byte) comes on top,
and is printed. Target: overhead p99 <= 20 ms. Also printed: bytes per ticket.

    .venv/bin/python -m benchmarks.bench_kiosk_print [--tickets 300]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import serial
import uvicorn

from benchmarks.common import MONDAY, at, example_config, ms, percentile, sign_in_all
from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.app.ticket_machine import TicketMachine
from controller.app.ticket_print import ticket_renderer
from controller.settings.config_sections import KioskConfig
from devices.printer.escpos_printer import open_printer
from devices.printer.sim_printer import SimulatedPrinter
from devices.printer.text_raster import rasterize_line

TARGET_MS = 20.0
TOKEN = "bench-kiosk-token-0000000001"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Hall:
    """The example hall with one simulated pty printer, served by uvicorn on a free port."""

    def __init__(self, tmp: Path) -> None:
        config = example_config()
        self.sim = SimulatedPrinter("pty").start()
        self.printer = config.printers[0].model_copy(
            update={"url": self.sim.url, "status": "query"}
        )
        # Taps back to back are past any kiosk's issuing rate: lift it for the benchmark.
        unlimited = KioskConfig(max_tickets=10_000, per_seconds=1.0)
        config = config.model_copy(update={"printers": [self.printer], "kiosk": unlimited})
        self.services = [s.code for s in config.services]
        self.journal = Journal.at_path(tmp / "hall.db", durable=True)
        self.runtime = HallRuntime(config, self.journal, ManualClock(at(MONDAY, "09:00", config)))
        for command in sign_in_all(config):
            self.runtime.execute(command)
        self.driver = open_printer(self.printer)
        self.render = ticket_renderer(self.runtime, rasterize_line)
        machine = TicketMachine("entrance", self.runtime, [self.driver], self.render)
        tokens = TokenRegistry([])
        tokens.add(TOKEN, Caller("kiosk", Role.KIOSK))
        self.port = _free_port()
        app = create_app(self.runtime, tokens, [machine])
        self.server = uvicorn.Server(uvicorn.Config(app, port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)

    def close(self) -> None:
        """Stop the server, the printer and the journal."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.driver.close()
        self.sim.stop()
        self.runtime.hub.stop()
        self.journal.close()


def measure(hall: _Hall, tickets: int) -> dict[str, list[float]]:
    """Per tap: tap->cut, tap->201, bare write->cut (seconds) and the ticket's size in bytes."""
    sim = hall.sim
    found: dict[str, list[float]] = {"tap": [], "reply": [], "bare": [], "bytes": []}
    bare_line = serial.serial_for_url(sim.url, baudrate=hall.printer.baudrate, timeout=1)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{hall.port}", headers=headers) as client:
            client.get("/api/state")  # warm the connection
            for i in range(tickets):
                printed = len(sim.tickets)
                service = hall.services[i % len(hall.services)]
                started = time.monotonic()
                reply = client.post(
                    "/api/tickets", json={"service": service, "machine": "entrance"}
                )
                answered = time.monotonic()
                if reply.status_code != 201:
                    raise SystemExit(f"tap {i}: {reply.status_code} {reply.text}")
                found["tap"].append(sim.wait_for_tickets(printed + 1)[printed].cut_at - started)
                found["reply"].append(answered - started)
                data = hall.render(reply.json()["id"], reply.json()["printer"])
                found["bytes"].append(len(data))
                started = time.monotonic()
                bare_line.write(data)
                bare_line.flush()
                bare_cut = sim.wait_for_tickets(printed + 2)[printed + 1].cut_at
                found["bare"].append(bare_cut - started)
    finally:
        bare_line.close()
    return found


def report(found: dict[str, list[float]], baudrate: int) -> None:
    """Print the percentiles, bytes per ticket, wire time and the verdict."""
    p50, p99 = ({k: percentile(sorted(v), q) for k, v in found.items()} for q in (0.5, 0.99))
    sizes = found["bytes"]
    wire = sum(sizes) / len(sizes) * 10 / baudrate
    print(f"kiosk tap -> last ticket byte at the printer: {len(sizes)} taps over HTTP, pty printer")
    print(f"  tap -> cut read by the printer  p50 {ms(p50['tap'])}  p99 {ms(p99['tap'])}")
    print(f"  bare write of the same bytes    p50 {ms(p50['bare'])}  p99 {ms(p99['bare'])}")
    print(
        f"  tap -> HTTP 201 (after the post-print status check)  p50 {ms(p50['reply'])}  p99 {ms(p99['reply'])}"
    )
    print(
        f"  bytes per ticket: mean {sum(sizes) / len(sizes):.0f}, max {max(sizes):.0f};"
        f" wire time at {baudrate} baud {ms(wire)} (comes on top on a real line)"
    )
    overhead = p99["tap"] * 1000
    verdict = "met" if overhead <= TARGET_MS else "MISSED"
    ratio = p99["tap"] / p99["bare"] if p99["bare"] else float("inf")
    print(
        f"  overhead p99 {overhead:.2f} ms (target <= {TARGET_MS:.0f} ms: {verdict});"
        f" {ratio:.1f}x the bare write p99"
    )


def run(tickets: int) -> None:
    """Serve a hall, tap `tickets` times, print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        hall = _Hall(Path(tmp))
        try:
            found = measure(hall, tickets)
        finally:
            hall.close()
    report(found, hall.printer.baudrate)


def main() -> None:
    """Command line: --tickets N."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300)
    args = parser.parse_args()
    run(args.tickets)


if __name__ == "__main__":
    main()
