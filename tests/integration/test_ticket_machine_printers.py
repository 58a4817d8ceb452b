"""Fault matrix: the ticket machine on two simulated printers (pty and TCP) with real drivers.

No phantom tickets: every reserved ticket ends printed (on paper, callable) or flagged
(print_failed, never called), whatever the printers do.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from controller.api.deps import created_render
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime, IdempotencyKey, Outcome
from controller.app.ticket_machine import RenderTicket, TicketMachine
from controller.domain import commands as cmd
from controller.domain.errors import InvalidRequest, PrinterUnavailable
from controller.domain.events import Event, TicketPrinted, TicketPrintFailed
from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig
from devices.printer.escpos_printer import open_printer
from devices.printer.printer import TicketPrinter
from devices.printer.printer_config import PrinterConfig
from devices.printer.sim_printer import SimulatedPrinter
from firmware_protocols.escpos.escpos_ticket import TicketLayout, build_ticket
from tests.conftest import EXAMPLE_CONFIG, MONDAY, hall_time
from tests.printer_helpers import TIMEOUT

Inject = Callable[[SimulatedPrinter], None]


@dataclass(frozen=True)
class Kiosk:
    """The machine's answer as the kiosk API words it: an HTTP status and a body."""

    status: int
    body: dict[str, Any]


def kiosk(call: Callable[..., Outcome], *args: Any, **kwargs: Any) -> Kiosk:
    """Run a ticket machine call with the API's wording (201, or 503 when nothing printed)."""
    try:
        outcome = call(*args, render=created_render, **kwargs)
    except PrinterUnavailable as err:
        body = {"error": "printer_unavailable", "ticket": err.ticket_id, "number": err.number}
        return Kiosk(503, {**body, "detail": err.detail})
    assert outcome.words is not None
    return Kiosk(*outcome.words)


E = TypeVar("E", bound=Event)


@dataclass
class Hall:
    """A running hall with one ticket machine and its two simulated printers."""

    runtime: HallRuntime
    journal: Journal
    machine: TicketMachine
    sims: list[SimulatedPrinter]
    printers: list[TicketPrinter]

    def events(self, kind: type[E]) -> list[E]:
        """Journaled events of one kind, today."""
        return [e for e in self.journal.events_of_day(MONDAY) if isinstance(e, kind)]


def render_with_codec(runtime: HallRuntime, config: HallConfig) -> RenderTicket:
    """A ticket's bytes for one printer: the codec's layout at that printer's paper width."""
    paper = {printer.id: printer.paper_mm for printer in config.printers}

    def render(ticket_id: str, printer_id: str) -> bytes:
        view = runtime.ticket(ticket_id)
        assert view is not None
        issued = dt.datetime.fromisoformat(view["issued_at"])
        layout = TicketLayout(
            hall_name=config.hall.name,
            service_name=view["service_name"],
            number=view["number"],
            ahead=view["ahead"] or 0,
            issued_at_text=f"{issued:%Y-%m-%d %H:%M}",
            windows_text="1 号窗口",
            qr_url=f"https://hall.example.gov.cn/t/{runtime.ticket_links.token(ticket_id)}",
            footer=config.tickets.footer,
            paper_mm=paper[printer_id],
        )
        return build_ticket(layout)

    return render


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    """Printer entrance-1 on a pty (80 mm), entrance-2 on TCP (58 mm); window 1 staffed."""
    sims = [
        SimulatedPrinter("pty", seed=1, link=tmp_path / "entrance-1").start(),
        SimulatedPrinter("tcp", seed=2, paper_mm=58).start(),
    ]
    printers = [
        PrinterConfig(id="entrance-1", url=sims[0].url, timeout_seconds=TIMEOUT),
        PrinterConfig(id="entrance-2", url=sims[1].url, paper_mm=58, timeout_seconds=TIMEOUT),
    ]
    config = load_config(EXAMPLE_CONFIG).model_copy(update={"printers": printers})
    journal = Journal.at_path(tmp_path / "hall.db", durable=False)
    runtime = HallRuntime(config, journal, ManualClock(hall_time("09:00")))
    assert runtime.execute(cmd.SignIn(1, "S0101", "A")).accepted
    drivers = [open_printer(printer) for printer in printers]
    machine = TicketMachine("entrance", runtime, drivers, render_with_codec(runtime, config))
    yield Hall(runtime, journal, machine, sims, drivers)
    for driver in drivers:
        driver.close()
    for sim in sims:
        sim.stop()
    runtime.hub.stop()
    journal.close()


def assert_no_phantoms(hall: Hall) -> None:
    """Every ticket printed-or-flagged; every callable one on paper; flagged ones never called."""
    paper = Counter(t.number for sim in hall.sims for t in sim.tickets)
    tickets = list(hall.runtime.engine.state.tickets.values())
    for ticket in tickets:
        assert ticket.status.value != "printing", f"{ticket.number} neither printed nor flagged"
        if ticket.status.value != "print_failed":
            assert paper[ticket.number] >= 1, f"{ticket.number} is callable but has no paper"
    flagged = {t.id for t in tickets if t.status.value == "print_failed"}
    called = set()
    while (reply := hall.runtime.execute(cmd.CallNext(1))).accepted:
        called.add(reply.result["id"])
    assert reply.reason == "queue_empty"
    assert not called & flagged
    printed = {e.ticket_id for e in hall.events(TicketPrinted)}
    assert called <= printed


SCENARIOS: dict[str, tuple[Inject, bool]] = {
    # name: (fault on printer 1, whether printer 1's failure is journaled for the ticket)
    "paper-out-before": (lambda s: setattr(s.faults, "paper_out", True), False),
    "paper-out-during": (lambda s: s.paper_out_after(60), True),
    "cover-open": (lambda s: setattr(s.faults, "cover_open", True), False),
    "offline": (lambda s: setattr(s.faults, "offline", True), False),
    "slow": (lambda s: setattr(s.faults, "slow_seconds_per_chunk", 0.4), True),
    "garbage-status": (lambda s: setattr(s.faults, "garbage_status", True), False),
    "silent": (lambda s: setattr(s.faults, "silent", True), False),
    "unplugged-mid-ticket": (lambda s: s.unplug_after(60), True),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_fault_on_printer_1_fails_over_to_printer_2_with_the_same_number(
    hall: Hall, scenario: str
) -> None:
    inject, journaled = SCENARIOS[scenario]
    inject(hall.sims[0])
    reply = kiosk(hall.machine.issue, "SB")
    assert reply.status == 201, reply.body
    ticket = reply.body
    assert (ticket["status"], ticket["printer"]) == ("waiting", "entrance-2")
    assert [t.number for t in hall.sims[1].tickets] == [ticket["number"]]  # printed once
    if (
        scenario != "slow"
    ):  # a slow printer may still deliver its copy late: a duplicate, no phantom
        assert hall.sims[0].tickets == []
    failures = [(e.ticket_id, e.printer) for e in hall.events(TicketPrintFailed)]
    assert failures == ([(ticket["id"], "entrance-1")] if journaled else [])
    assert hall.machine.health["entrance-1"].ready is not True
    assert hall.runtime.execute(cmd.CallNext(1)).result["id"] == ticket["id"]
    assert_no_phantoms(hall)


def test_paper_near_end_still_prints_and_warns(hall: Hall) -> None:
    hall.sims[0].faults.paper_near_end = True
    reply = kiosk(hall.machine.issue, "SB")
    assert (reply.status, reply.body["printer"]) == (201, "entrance-1")
    health = hall.machine.poll()["entrance-1"]
    assert (health.ready, health.paper_near_end) == (True, True)
    [low] = [
        a for a in (alert.to_json() for alert in hall.machine.alerts()) if a["kind"] == "paper_low"
    ]
    assert low["printer"] == "entrance-1" and "纸将用尽" in low["message"]
    hall.sims[0].faults.paper_near_end = False
    hall.machine.poll()
    assert not [
        a for a in (alert.to_json() for alert in hall.machine.alerts()) if a["kind"] == "paper_low"
    ]


def test_with_both_printers_down_the_ticket_is_flagged_never_called_then_reprinted(
    hall: Hall,
) -> None:
    hall.sims[0].faults.paper_out = True
    hall.sims[1].faults.cover_open = True
    reply = kiosk(hall.machine.issue, "SB")
    assert reply.status == 503 and reply.body["error"] == "printer_unavailable"
    ticket_id, number = reply.body["ticket"], reply.body["number"]
    assert "entrance-1: paper end" in reply.body["detail"]
    assert "entrance-2: cover open" in reply.body["detail"]
    view = hall.runtime.ticket(ticket_id)
    assert view is not None and view["status"] == "print_failed"
    refused = hall.runtime.execute(cmd.CallNext(1))
    assert refused.reason == "queue_empty"
    alerts = hall.runtime.snapshot()["alerts"]
    assert any(a["kind"] == "print_failed" and ticket_id in a["tickets"] for a in alerts)
    machine_alerts = {
        (a["kind"], a.get("printer")) for a in (alert.to_json() for alert in hall.machine.alerts())
    }
    assert {("printer_fault", "entrance-1"), ("printer_fault", "entrance-2")} <= machine_alerts
    assert ("no_printer", None) in machine_alerts
    assert hall.sims[0].tickets == [] and hall.sims[1].tickets == []

    hall.sims[1].faults.cover_open = False  # staff closed the cover
    again = kiosk(hall.machine.reprint, ticket_id)
    assert again.status == 201 and again.body["printer"] == "entrance-2"
    assert [t.number for t in hall.sims[1].tickets] == [number]
    assert hall.runtime.execute(cmd.CallNext(1)).result["id"] == ticket_id
    assert_no_phantoms(hall)


def test_a_seeded_run_of_mixed_faults_leaves_no_phantom_tickets(hall: Hall) -> None:
    rng = random.Random(2026)
    switches = ["paper_out", "cover_open", "offline", "garbage_status", "silent", None, None, None]
    outcomes: Counter[int] = Counter()
    for _ in range(14):
        for sim in hall.sims:
            if not sim.plugged:
                sim.replug()
            sim.clear_faults()
            if switch := rng.choice(switches):
                setattr(sim.faults, switch, True)
        if rng.random() < 0.3:
            victim = rng.choice(hall.sims)
            arm = victim.paper_out_after if rng.random() < 0.5 else victim.unplug_after
            arm(rng.randrange(10, 200))
        reply = kiosk(hall.machine.issue, "SB")
        assert reply.status in (201, 503), reply.body
        outcomes[reply.status] += 1
    assert outcomes[201] and outcomes[503]  # the seed exercises both outcomes

    for sim in hall.sims:  # staff fix both printers and reprint every flagged ticket
        if not sim.plugged:
            sim.replug()
        sim.clear_faults()
    flagged = [
        t.id for t in hall.runtime.engine.state.tickets.values() if t.status.value == "print_failed"
    ]
    for ticket_id in flagged:
        assert kiosk(hall.machine.reprint, ticket_id).status == 201
    assert_no_phantoms(hall)
    assert len(hall.events(TicketPrinted)) == 14


def test_an_appointment_check_in_prints_its_ticket_and_a_repeat_prints_nothing_more(
    hall: Hall,
) -> None:
    slot = hall_time("09:30")
    assert hall.runtime.execute(cmd.BookAppointment("YY-7001", "SB", slot)).accepted
    first = kiosk(hall.machine.check_in, "YY-7001")
    assert (first.status, first.body["printer"], first.body["lane"]) == (
        201,
        "entrance-1",
        "appointment",
    )
    assert [t.number for t in hall.sims[0].tickets] == [first.body["number"]]
    again = kiosk(hall.machine.check_in, "YY-7001")
    assert again.status == 201 and again.body["already_checked_in"] is True
    assert again.body["id"] == first.body["id"]
    assert len(hall.sims[0].tickets) == 1  # the citizen already holds the paper


def test_a_check_in_whose_paper_failed_is_flagged_and_printed_on_the_next_check_in(
    hall: Hall,
) -> None:
    assert hall.runtime.execute(cmd.BookAppointment("YY-7002", "SB", hall_time("09:30"))).accepted
    for sim in hall.sims:
        sim.faults.paper_out = True
    failed = kiosk(hall.machine.check_in, "YY-7002")
    assert failed.status == 503 and failed.body["error"] == "printer_unavailable"
    assert hall.runtime.execute(cmd.CallNext(1)).reason == "queue_empty"
    hall.sims[1].faults.paper_out = False
    retried = kiosk(hall.machine.check_in, "YY-7002")
    assert (retried.status, retried.body["printer"]) == (201, "entrance-2")
    assert [t.number for t in hall.sims[1].tickets] == [failed.body["number"]]
    assert_no_phantoms(hall)


def test_an_idempotency_key_retry_while_no_printer_can_print_keeps_its_number(
    hall: Hall, tmp_path: Path
) -> None:
    hall.sims[0].faults.paper_out = True
    hall.sims[1].faults.cover_open = True
    key = IdempotencyKey("kiosk|POST|/api/tickets|tap-0001", "fingerprint-sb")
    first = kiosk(hall.machine.issue, "SB", idempotency=key)
    assert first.status == 503 and first.body["error"] == "printer_unavailable"
    ticket_id, number = first.body["ticket"], first.body["number"]
    for _ in range(3):  # the citizen taps again, the kiosk retries with the same key
        again = kiosk(hall.machine.issue, "SB", idempotency=key)
        assert (again.status, again.body["ticket"], again.body["number"]) == (
            503,
            ticket_id,
            number,
        )
    assert list(hall.runtime.engine.state.tickets) == [ticket_id]  # one number reserved, not four
    view = hall.runtime.ticket(ticket_id)
    assert view is not None and view["status"] == "print_failed"  # still flagged for reprint
    other = IdempotencyKey("kiosk|POST|/api/tickets|tap-0001", "fingerprint-yb")
    with pytest.raises(InvalidRequest, match="Idempotency-Key"):
        kiosk(hall.machine.issue, "YB", idempotency=other)

    hall.journal.close()  # a restart: the reservation under the key is durable
    journal = Journal.at_path(tmp_path / "hall.db", durable=False)
    runtime = HallRuntime(hall.runtime.config, journal, ManualClock(hall_time("09:05")))
    machine = TicketMachine(
        "entrance", runtime, hall.printers, render_with_codec(runtime, runtime.config)
    )
    assert kiosk(machine.issue, "SB", idempotency=key).body["number"] == number
    hall.sims[1].faults.cover_open = False  # staff closed the cover
    printed = kiosk(machine.issue, "SB", idempotency=key)
    assert (printed.status, printed.body["id"], printed.body["printer"]) == (
        201,
        ticket_id,
        "entrance-2",
    )
    assert kiosk(machine.issue, "SB", idempotency=key).body == printed.body  # answered, not printed
    assert [t.number for t in hall.sims[1].tickets] == [number]
    assert list(runtime.engine.state.tickets) == [ticket_id]
    runtime.hub.stop()
    journal.close()
