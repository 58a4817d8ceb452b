"""Lean HTTP/1.1 clients for the HTTP benchmark: raw sockets, so the client costs the cores little.

httpx spends about as much CPU per request as a lean server; on a 2-core machine that would
measure the client. These speak just enough HTTP/1.1 for POSTs with a JSON body answered with a
Content-Length (what uvicorn sends for a JSON response).
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Server:
    """A server under test: its name in the report, port, bearer token and process id."""

    name: str
    port: int
    token: str
    pid: int


# What one request of a workload looks like: (path, JSON body or None) for the i-th request.
Workload = Callable[[int], tuple[str, bytes]]


def issue_request(index: int) -> tuple[str, bytes]:
    """Issue a ticket, services round robin (26 services SA-SZ of the bench hall)."""
    service = "S" + chr(ord("A") + index % 26)
    return "/api/tickets", json.dumps({"service": service}).encode()


def call_next_request(index: int) -> tuple[str, bytes]:
    """Call the next ticket, windows round robin (windows 1-26 of the bench hall)."""
    return f"/api/windows/{index % 26 + 1}/call-next", b""


WORKLOADS: dict[str, Workload] = {"issue": issue_request, "call-next": call_next_request}


def request_bytes(path: str, token: str, body: bytes) -> bytes:
    """A POST with bearer token and a fresh Idempotency-Key, as the kiosk and console send."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Length: {len(body)}\r\n"
    )
    if body:
        head += "Content-Type: application/json\r\n"
    return (head + "\r\n").encode() + body


class _Sock(Protocol):
    def recv(self, size: int) -> bytes: ...


def read_response(sock: _Sock, buffer: bytearray) -> int:
    """Read one response (headers and Content-Length body) from `sock`; its status code."""
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk
    head = bytes(buffer[:end]).lower()
    status = int(head[9:12])
    length = 0
    marker = head.find(b"\r\ncontent-length:")
    if marker >= 0:
        stop = head.find(b"\r\n", marker + 2)
        length = int(head[marker + 17 : stop if stop >= 0 else len(head)])
    total = end + 4 + length
    while len(buffer) < total:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-body")
        buffer += chunk
    del buffer[:total]
    return status


@dataclass
class Tally:
    """Seconds per answered request, and how many answers of each status."""

    seconds: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        """Take another tally's figures in."""
        self.seconds += other.seconds
        self.statuses.update(other.statuses)


def sequential(
    server: Server, workload: Workload, start: int, count: int, *, keep_alive: bool
) -> Tally:
    """`count` requests one after the other; a new connection each unless `keep_alive`."""
    tally = Tally()
    sock: socket.socket | None = None
    buffer = bytearray()
    try:
        for index in range(start, start + count):
            path, body = workload(index)
            payload = request_bytes(path, server.token, body)
            began = time.perf_counter()
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", server.port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(payload)
            status = read_response(sock, buffer)
            tally.seconds.append(time.perf_counter() - began)
            tally.statuses[status] += 1
            if not keep_alive:
                sock.close()
                sock, buffer = None, bytearray()
    finally:
        if sock is not None:
            sock.close()
    return tally


def client_main(  # noqa: PLR0917  (a process target's arguments)
    server: Server, kind: str, start: int, seconds: float, count: int, go_at: float, results: object
) -> None:
    """One of the concurrent clients (its own process): keep-alive requests for `seconds`.

    It stops early after `count` requests; it reports its times, statuses and seconds taken.
    """
    workload = WORKLOADS[kind]
    tally = Tally()
    buffer = bytearray()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        time.sleep(max(0.0, go_at - time.time()))
        first = time.perf_counter()
        deadline = first + seconds
        index = start
        while time.perf_counter() < deadline and index < start + count:
            path, body = workload(index)
            index += 1
            began = time.perf_counter()
            sock.sendall(request_bytes(path, server.token, body))
            status = read_response(sock, buffer)
            tally.seconds.append(time.perf_counter() - began)
            tally.statuses[status] += 1
        elapsed = time.perf_counter() - first
    results.put((tally.seconds, dict(tally.statuses), elapsed))  # type: ignore[attr-defined]
