"""Paper tickets: reserve the number, print, confirm; a ticket without paper is never called."""

from __future__ import annotations

from controller.app.event_codec import event_from_json, event_to_json
from controller.app.snapshot import build_snapshot
from controller.domain import commands as cmd
from controller.domain.engine import Engine
from controller.domain.events import Event
from controller.domain.kpis import compute_kpis
from controller.settings.hall_config import HallConfig
from tests.engine_helpers import At, kinds, ok, refused, sign_in


def _reserve(engine: Engine, at: At, when: str = "09:00", service: str = "SB") -> str:
    decision = ok(engine.handle(cmd.IssueTicket(service, needs_print=True), at(when)))
    assert decision.result["status"] == "printing"
    return str(decision.result["id"])


def test_a_reserved_ticket_is_not_called_until_printed(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:40"))
    reserved = _reserve(engine, at)
    refused(engine.handle(cmd.CallNext(1), at("09:01")), "queue_empty")
    decision = ok(engine.handle(cmd.ConfirmPrinted(reserved, "entrance-1"), at("09:01")))
    assert kinds(decision) == ["TicketPrinted"]
    called = ok(engine.handle(cmd.CallNext(1), at("09:02")))
    assert called.result["id"] == reserved


def test_a_failed_print_is_flagged_never_called_and_keeps_its_place_when_reprinted(
    engine: Engine, at: At
) -> None:
    sign_in(engine, 1, "S0101", at("08:40"))
    failed = _reserve(engine, at, "09:00")
    ok(engine.handle(cmd.RecordPrintFailure(failed, "entrance-1", "paper end"), at("09:00")))
    later = ok(engine.handle(cmd.IssueTicket("SB"), at("09:05"))).result["id"]
    ticket = engine.state.tickets[failed]
    assert (ticket.status.value, ticket.print_failure) == ("print_failed", "paper end")
    alerts = build_snapshot(engine, at("09:06"))["alerts"]
    assert any(a["kind"] == "print_failed" and failed in a["tickets"] for a in alerts)
    ok(engine.handle(cmd.ConfirmPrinted(failed, "entrance-2"), at("09:07")))  # reprinted
    assert ok(engine.handle(cmd.CallNext(1), at("09:08"))).result["id"] == failed
    assert ok(engine.handle(cmd.CallNext(1), at("09:09"))).result["id"] == later


def test_void_ends_an_unprinted_ticket_and_its_number_is_not_reused(engine: Engine, at: At) -> None:
    reserved = _reserve(engine, at)
    refused(engine.handle(cmd.VoidTicket(reserved, " "), at("09:01")), "reason_required")
    ok(engine.handle(cmd.VoidTicket(reserved, "打印机卡纸"), at("09:01")))
    assert engine.state.tickets[reserved].status.value == "void"
    assert ok(engine.handle(cmd.IssueTicket("SB"), at("09:02"))).result["number"] == "A002"
    refused(engine.handle(cmd.ConfirmPrinted(reserved, "p"), at("09:03")), "not_awaiting_print")
    refused(engine.handle(cmd.VoidTicket("20261123-A999", "x"), at("09:03")), "unknown_ticket")


def test_paper_commands_refuse_tickets_that_are_not_awaiting_paper(engine: Engine, at: At) -> None:
    normal = ok(engine.handle(cmd.IssueTicket("SB"), at("09:00"))).result["id"]
    refused(engine.handle(cmd.ConfirmPrinted(normal, "p"), at("09:01")), "not_awaiting_print")
    refused(engine.handle(cmd.VoidTicket(normal, "误操作"), at("09:01")), "not_awaiting_print")


def test_unprinted_tickets_expire_at_day_end_and_stay_out_of_kpis(engine: Engine, at: At) -> None:
    sign_in(engine, 1, "S0101", at("08:40"))
    printed = _reserve(engine, at, "09:00")
    ok(engine.handle(cmd.ConfirmPrinted(printed, "p"), at("09:00")))
    failed = _reserve(engine, at, "09:01")
    ok(engine.handle(cmd.RecordPrintFailure(failed, "p", "offline"), at("09:01")))
    voided = _reserve(engine, at, "09:02")
    ok(engine.handle(cmd.VoidTicket(voided, "卡纸"), at("09:02")))
    ok(engine.handle(cmd.CallNext(1), at("09:10")))
    figures = compute_kpis(
        engine.state.tickets.values(),
        engine.state.attendance,
        day=at("09:00").date(),
        now=at("12:00"),
        overtime_minutes=30,
    )
    assert (figures["issued"], figures["never_printed"], figures["voided"]) == (1, 2, 1)
    assert figures["average_wait_minutes"] == 10.0 and figures["overtime_rate"] == 0.0
    closing = engine.handle(cmd.Tick(), at("08:00", day=at("09:00").date().replace(day=24)))
    closed = closing.events[0]
    assert failed in closed.expired  # type: ignore[attr-defined]


def test_replay_keeps_the_print_lifecycle(hall_config: HallConfig, engine: Engine, at: At) -> None:
    log: list[Event] = []
    first = _reserve(engine, at, "09:00")
    second = _reserve(engine, at, "09:01")
    log.extend(engine.handle(cmd.Tick(), at("09:01")).events)  # nothing new
    for command in (
        cmd.ConfirmPrinted(first, "p1"),
        cmd.RecordPrintFailure(second, "p1", "cover open"),
    ):
        log.extend(ok(engine.handle(command, at("09:02"))).events)
    twin = Engine(hall_config)
    issued = [
        twin.handle(cmd.IssueTicket("SB", needs_print=True), at(w)).events
        for w in ("09:00", "09:01")
    ]
    again = Engine(hall_config)
    again.replay(event_from_json(event_to_json(e)) for e in [*issued[0], *issued[1], *log])
    assert {t: (x.status, x.printed, x.printer) for t, x in again.state.tickets.items()} == {
        t: (x.status, x.printed, x.printer) for t, x in engine.state.tickets.items()
    }
    assert list(again.state.waiting["SB"]) == [first]
