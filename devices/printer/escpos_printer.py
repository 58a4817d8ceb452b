"""Real ticket printers: ESC/POS over python-escpos transports (network, serial URL, USB, file).

Status is asked of the device itself with `DLE EOT` 1, 2 and 4 (offline, offline cause, paper
sensor); a missing or malformed reply is *unknown*, never OK, unlike python-escpos 3.1's
`paper_status()`. Every wait is bounded by the printer's `timeout_seconds`, never python-escpos's
60 s network default. After a transport error the link is dropped and reopened on the next call.
"""

from __future__ import annotations

import logging
import threading

from devices.printer.escpos_transports import (
    TRANSPORT_ERRORS,
    PrinterTransport,
    describe_error,
    transport_for,
)
from devices.printer.printer import PrinterError, PrinterHealth, TicketPrinter
from devices.printer.printer_config import PrinterConfig
from firmware_protocols.escpos.escpos_ticket import (
    EscPosError,
    PrinterStatus,
    PrinterStatusBits,
    decode_status,
    status_query,
)

log = logging.getLogger(__name__)

HEALTH_QUERIES = (1, 2, 4)  # printer status, offline cause, roll paper sensor
CONFIRM_QUERY = 1  # DLE EOT 1 after a ticket: its reply proves the bytes before it were taken


class EscPosPrinter:
    """A `TicketPrinter` on one python-escpos transport, configured by a `PrinterConfig`."""

    def __init__(self, config: PrinterConfig, transport: PrinterTransport) -> None:
        self.config = config
        self.transport = transport
        self._open = False
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        """The printer's configured id."""
        return self.config.id

    def health(self) -> PrinterHealth:
        """DLE EOT 1, 2, 4 answered within the timeout; unknown (never OK) otherwise; never raises."""
        if self.config.status == "none":
            return PrinterHealth(ready=True, detail="no status support")
        if not self.transport.answers_status:
            return PrinterHealth.unknown(
                f'{self.config.url} cannot answer DLE EOT; set status = "none"'
            )
        with self._lock:
            # A link that worked before may be stale (printer power-cycled, pty replugged): one
            # retry on a fresh link. Status queries are harmless to repeat; tickets are not.
            retry = self._open
            while True:
                try:
                    self._connect()
                    return self._query_status()
                except PrinterError as err:
                    return PrinterHealth.unknown(err.reason)
                except TRANSPORT_ERRORS as err:
                    self._drop()
                    if not retry:
                        return PrinterHealth.unknown(f"status query failed: {describe_error(err)}")
                    retry = False

    def print_bytes(self, data: bytes) -> None:
        """Write a whole ticket, flush, and (status printers) confirm it was taken within the timeout."""
        with self._lock:
            self._connect()
            try:
                self.transport.send(data)
                self.transport.flush()
                if self.config.status == "query" and self.transport.answers_status:
                    self._confirm_taken(len(data))
            except TRANSPORT_ERRORS as err:
                self._drop()
                raise PrinterError(self.id, f"ticket not delivered: {describe_error(err)}") from err

    def close(self) -> None:
        """Release the transport; the next call reconnects."""
        with self._lock:
            self._drop()

    def _connect(self) -> None:
        if self._open:
            return
        try:
            self.transport.open()
        except TRANSPORT_ERRORS as err:
            self._drop()
            raise PrinterError(
                self.id, f"cannot open {self.config.url}: {describe_error(err)}"
            ) from err
        self._open = True

    def _drop(self) -> None:
        self._open = False
        try:
            self.transport.close()
        except TRANSPORT_ERRORS as err:  # closing a dead link may fail again; it is gone anyway
            log.debug("printer %s: close failed: %s", self.id, err)

    def _ask(self, n: int) -> bytes:
        self.transport.discard_input()
        self.transport.send(status_query(n))
        return self.transport.read_reply()

    def _query_status(self) -> PrinterHealth:
        parts: list[PrinterStatusBits] = []
        for n in HEALTH_QUERIES:
            reply = self._ask(n)
            if not reply:
                failure = f"no reply to DLE EOT {n} within {self.config.timeout_seconds:g} s"
            else:
                try:
                    parts.append(decode_status(n, reply))
                    continue
                except EscPosError as err:
                    failure = f"malformed reply to DLE EOT {n}: {err.detail}"
            known = PrinterStatus.combine(parts, [n])
            if known.ready is False:  # an earlier reply already says it cannot print
                return _health_of(known, failure)
            return PrinterHealth.unknown(failure)
        return _health_of(PrinterStatus.combine(parts), "")

    def _confirm_taken(self, size: int) -> None:
        # A printer works through its input in order, so the answer to a query sent after the
        # ticket arrives only once the ticket's bytes were taken: a printer too slow (or gone)
        # fails here within the timeout instead of looking fine until the next ticket.
        if not self._ask(CONFIRM_QUERY):
            raise TimeoutError(
                f"{size} bytes not taken within {self.config.timeout_seconds:g} s "
                f"(no reply to DLE EOT {CONFIRM_QUERY})"
            )


def open_printer(config: PrinterConfig) -> TicketPrinter:
    """A driver for this printer, transport chosen from its URL; connects lazily on first use."""
    return EscPosPrinter(config, transport_for(config))


def _health_of(status: PrinterStatus, failure: str) -> PrinterHealth:
    causes = [
        name
        for flag, name in (
            (status.cover_open, "cover open"),
            (status.paper_end, "paper end"),
            (status.error, "printer error"),
            (status.offline, "offline"),
        )
        if flag
    ]
    near_end = bool(status.paper_near_end)
    if status.ready is True:
        detail = "paper near end" if near_end else "ready"
    else:
        detail = ", ".join(causes + ([failure] if failure else []))
    return PrinterHealth(ready=status.ready, paper_near_end=near_end, detail=detail)
