"""Connection limits below ASGI: a header timeout and connection caps on uvicorn's HTTP protocol.

uvicorn has no header read timeout (a half-sent request holds its socket for ever) and counts
`limit_concurrency` only once a request's headers are in, so neither stops a client from filling
the process's file table with half-open connections. The protocol here refuses a connection
over a cap at accept (the socket is closed at once, its file freed) and closes one that has not
sent whole headers within the timeout with 408, as nginx's client_header_timeout does.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from controller.settings.server_limits import ServerLimits

log = logging.getLogger(__name__)
# Files the hall needs besides its connections: journal and satisfaction databases with their
# WAL, serial ports, the broker's pipes, logs, the printers' sockets, threads' event fds.
RESERVED_FILES = 256
_TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)


class ConnectionBook:
    """Open connections in total and by client address; admits one only under both caps."""

    def __init__(self, max_total: int, max_per_client: int) -> None:
        self.max_total = max_total
        self.max_per_client = max_per_client
        self.total = 0
        self.by_client: Counter[str] = Counter()
        self.refused = 0
        self.timed_out = 0

    def admit(self, client: str) -> bool:
        """Count a new connection from `client`, or False (not counted) when a cap is reached."""
        if self.total >= self.max_total or (
            self.max_per_client and self.by_client[client] >= self.max_per_client
        ):
            self.refused += 1
            return False
        self.total += 1
        self.by_client[client] += 1
        return True

    def release(self, client: str) -> None:
        """Forget a connection admitted for `client`."""
        self.total -= 1
        self.by_client[client] -= 1
        if self.by_client[client] <= 0:
            del self.by_client[client]


def guarded_protocol(limits: ServerLimits, book: ConnectionBook) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with `limits`' header timeout and `book`'s connection caps."""

    class GuardedHttpProtocol(HttpToolsProtocol):
        _client_key: str | None = None
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            # Refused before uvicorn sets the connection up: a flood of them costs the loop little.
            peer = transport.get_extra_info("peername")
            client = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            if not book.admit(client):
                transport.abort()
                return
            self._client_key = client
            super().connection_made(transport)
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            if self._client_key is None:
                return  # refused at accept: uvicorn never knew it
            book.release(self._client_key)
            self._client_key = None
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_header_timer()

        def on_headers_complete(self) -> None:
            self._cancel_header_timer()
            super().on_headers_complete()

        def _arm_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(
                    limits.header_timeout_seconds, self._headers_too_slow
                )

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            book.timed_out += 1
            if not self.transport.is_closing():
                self.transport.write(_TIMEOUT_408)
                self.transport.close()

    return GuardedHttpProtocol


def raise_file_limit(wanted_connections: int) -> int:
    """Raise the soft open-file limit to fit the connections; the number that fits, logged if fewer."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted_connections + RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as err:
            log.warning("cannot raise the open-file limit to %d: %s", target, err)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return wanted_connections
    fitting = max(16, soft - RESERVED_FILES)
    log.warning(
        "[server] max_connections %d does not fit the open-file limit %d (%d kept for the hall); "
        "using %d: raise LimitNOFILE in the service unit",
        wanted_connections,
        soft,
        RESERVED_FILES,
        fitting,
    )
    return fitting


def uvicorn_config(
    app: Any, host: str, port: int, limits: ServerLimits
) -> tuple[uvicorn.Config, ConnectionBook]:
    """The uvicorn Config that serves `app` under `limits` (file limit raised), and its book."""
    connections = raise_file_limit(limits.max_connections)
    book = ConnectionBook(connections, limits.max_connections_per_client)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(limits, book),
        ws="none",  # no WebSocket routes; an upgrade would move the connection out of the book
        timeout_keep_alive=limits.keep_alive_seconds,
        log_level="warning",
        access_log=False,
    )
    return config, book
