"""The ticket machine (取号机): reserve a number, print it, confirm it; fail over between printers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from controller.app.runtime import HallRuntime, IdempotencyKey, Outcome, Render
from controller.domain import commands as cmd
from controller.domain.alerts import Alert, AlertKind
from controller.domain.engine import Decision
from controller.domain.errors import CommandRejected, NotFound, PrinterUnavailable
from devices.printer.printer import PrinterError, PrinterHealth, TicketPrinter

log = logging.getLogger(__name__)
# Builds the bytes of a ticket for one printer (paper width, font or raster differ).
RenderTicket = Callable[[str, str], bytes]
NO_PRINTER = "取号机暂时无法出票，请到服务台由工作人员协助取号"


class TicketMachine:
    """One entrance machine with one or more printers; one ticket at a time on its paper."""

    def __init__(
        self,
        machine_id: str,
        runtime: HallRuntime,
        printers: Sequence[TicketPrinter],
        render: RenderTicket,
    ) -> None:
        self.id = machine_id
        self.runtime = runtime
        self.printers = list(printers)
        self.health: dict[str, PrinterHealth] = {
            p.id: PrinterHealth.unknown("not asked yet") for p in self.printers
        }
        self._render = render
        self._lock = threading.Lock()

    def issue(
        self,
        service: str,
        lane: str = "normal",
        priority_reason: str | None = None,
        idempotency: IdempotencyKey | None = None,
        *,
        render: Render,
    ) -> Outcome:
        """The printed ticket, worded by `render`; PrinterUnavailable (ticket kept, flagged) if none.

        A retry with the same Idempotency-Key gets the number reserved by the first try (printed
        now if a printer can), never a new one: the reservation is journaled under the key.
        """
        with self._lock:
            replayed = self.runtime.stored_reply(idempotency)
            if replayed is not None:
                return replayed
            reservation = _reservation_key(idempotency)
            held = self.runtime.stored_reply(reservation)
            if held is not None and held.accepted:
                ticket_id = str(held.result["id"])
                view = self.runtime.ticket(ticket_id)
                if view is not None and view["status"] in ("printing", "print_failed"):
                    return self._print(ticket_id, str(view["number"]), idempotency, render)
                if view is not None and view["status"] != "void":
                    # Printed meanwhile by a reprint at the desk: nothing new to do.
                    return Outcome(Decision([], view), render(Decision([], view)))
            reserved = self.runtime.execute(
                cmd.IssueTicket(service, lane, priority_reason, needs_print=True),
                idempotency=None if held is not None else reservation,
                render=render,
            )
            if not reserved.accepted:
                return reserved
            return self._print(
                str(reserved.result["id"]), str(reserved.result["number"]), idempotency, render
            )

    def check_in(
        self, code: str, idempotency: IdempotencyKey | None = None, *, render: Render
    ) -> Outcome:
        """Check an appointment in and print its ticket; a repeat check-in prints only if unprinted."""
        with self._lock:
            replayed = self.runtime.stored_reply(idempotency)
            if replayed is not None:
                return replayed
            reserved = self.runtime.execute(
                cmd.CheckInAppointment(code, needs_print=True), render=render
            )
            ticket = reserved.result
            if not reserved.accepted or (
                ticket.get("already_checked_in")
                and ticket.get("status") not in ("printing", "print_failed")
            ):
                return reserved
            return self._print(str(ticket["id"]), str(ticket["number"]), idempotency, render)

    def reprint(self, ticket_id: str, *, render: Render) -> Outcome:
        """Print a ticket whose paper failed (or never confirmed) again, same number."""
        with self._lock:
            view = self.runtime.ticket(ticket_id)
            if view is None:
                raise NotFound("unknown_ticket", f"没有找到票号 {ticket_id}")
            if view["status"] not in ("printing", "print_failed"):
                raise CommandRejected("not_awaiting_print", f"{view['number']} 不在待打印状态")
            return self._print(ticket_id, str(view["number"]), None, render)

    def poll(self) -> dict[str, PrinterHealth]:
        """Ask every printer for its status now (an idle machine notices paper out early)."""
        with self._lock:
            for printer in self.printers:
                self.health[printer.id] = self._ask(printer)
            return dict(self.health)

    def alerts(self) -> list[Alert]:
        """Floor alerts for this machine's printers: not ready, status unknown, paper low."""
        found: list[Alert] = []
        for printer_id, health in self.health.items():
            if health.ready is False:
                found.append(
                    Alert(
                        AlertKind.PRINTER_FAULT,
                        f"取号机打印机 {printer_id} 故障：{health.detail}",
                        printer=printer_id,
                    )
                )
            elif health.ready is None:
                found.append(
                    Alert(
                        AlertKind.PRINTER_UNKNOWN,
                        f"取号机打印机 {printer_id} 无应答：{health.detail}",
                        printer=printer_id,
                    )
                )
            if health.paper_near_end:
                found.append(
                    Alert(
                        AlertKind.PAPER_LOW,
                        f"取号机打印机 {printer_id} 纸将用尽，请及时换纸",
                        printer=printer_id,
                    )
                )
        if self.printers and not any(h.ready for h in self.health.values()):
            found.append(
                Alert(
                    AlertKind.NO_PRINTER,
                    f"取号机 {self.id} 没有可用的打印机，群众无法自助取号",
                    machine=self.id,
                )
            )
        return found

    def _print(
        self, ticket_id: str, number: str, idempotency: IdempotencyKey | None, render: Render
    ) -> Outcome:
        failures: list[str] = []
        for printer in self._in_order():
            before = self._ask(printer)
            if before.ready is not True:
                failures.append(f"{printer.id}: {before.detail or 'not ready'}")
                continue
            try:
                data = self._render(ticket_id, printer.id)
            except ValueError as err:  # a layout this printer cannot take (e.g. raster too wide)
                failures.append(f"{printer.id}: layout: {err}")
                self._record_failure(ticket_id, printer.id, f"layout: {err}")
                continue
            try:
                printer.print_bytes(data)
            except PrinterError as err:
                self.health[printer.id] = PrinterHealth.unknown(err.reason)
                failures.append(f"{printer.id}: {err.reason}")
                self._record_failure(ticket_id, printer.id, err.reason)
                continue
            after = self._ask(printer)
            if after.ready is not True:
                # The paper may have run out, or the cover opened, during this ticket.
                reason = f"after printing: {after.detail or 'no status'}"
                failures.append(f"{printer.id}: {reason}")
                self._record_failure(ticket_id, printer.id, reason)
                continue
            return self.runtime.execute(
                cmd.ConfirmPrinted(ticket_id, printer.id), idempotency=idempotency, render=render
            )
        reason = "; ".join(failures) or "no printer configured"
        self._record_failure(ticket_id, failures[-1].split(":")[0] if failures else "none", reason)
        log.warning("ticket %s not printed at machine %s: %s", ticket_id, self.id, reason)
        raise PrinterUnavailable(NO_PRINTER, ticket_id=ticket_id, number=number, detail=reason)

    def _record_failure(self, ticket_id: str, printer: str, reason: str) -> None:
        # The engine ignores a repeat of the failure it already knows (same printer).
        self.runtime.execute(cmd.RecordPrintFailure(ticket_id, printer, reason))

    def _ask(self, printer: TicketPrinter) -> PrinterHealth:
        try:
            health = printer.health()
        except PrinterError as err:
            health = PrinterHealth.unknown(err.reason)
        self.health[printer.id] = health
        return health

    def _in_order(self) -> list[TicketPrinter]:
        # Printers last seen ready first; the configured order breaks ties.
        return sorted(self.printers, key=lambda p: self.health[p.id].ready is not True)


def _reservation_key(idempotency: IdempotencyKey | None) -> IdempotencyKey | None:
    """The key under which the number reserved for a request is kept until it is printed."""
    if idempotency is None:
        return None
    return IdempotencyKey(f"{idempotency.key}|reserved", idempotency.fingerprint)
