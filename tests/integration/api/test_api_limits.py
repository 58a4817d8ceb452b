"""HTTP limits on a real uvicorn as `hallctl up` runs it: header timeout, connection caps,
live streams per token, body size and timeout, token before body, security headers."""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from controller.api.app import create_app
from controller.api.auth import TokenRegistry
from controller.api.connection_guard import ConnectionBook, uvicorn_config
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.domain.errors import ConfigError
from controller.settings.config_loader import load_config, parse_config
from controller.settings.server_limits import ServerLimits
from tests.integration.api.conftest import ROOT, TOKENS, at, auth
from tests.servers import free_port

REPLY_WAIT = 10.0  # a generous bound on any answer: a hung socket fails, a slow machine passes


@contextlib.contextmanager
def guarded_hall(tmp_path: Path, **limits: object) -> Iterator[tuple[str, ConnectionBook]]:
    """A hall with [server] `limits` served the way `hallctl up` serves it; base URL and book."""
    config = load_config(ROOT / "config" / "hall.example.toml")
    config = config.model_copy(update={"server": ServerLimits.model_validate(limits)})
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db"), ManualClock(at("09:00")))
    registry = TokenRegistry([])
    for token, caller in TOKENS.values():
        registry.add(token, caller)
    port = free_port()
    server_config, book = uvicorn_config(
        create_app(runtime, registry), "127.0.0.1", port, config.server
    )
    server_config.timeout_graceful_shutdown = 1
    server = uvicorn.Server(server_config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", book
    finally:
        runtime.hub.stop()
        server.should_exit = True
        thread.join(timeout=10)
        runtime.journal.close()


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _connect(base: str, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", _port(base)), source_address=(source, 0))
    sock.settimeout(REPLY_WAIT)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (timeout: it never did)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_half_sent_request_is_answered_408_and_closed(tmp_path: Path) -> None:
    with guarded_hall(tmp_path, header_timeout_seconds=0.3) as (base, book):
        silent = _connect(base)
        half = _connect(base)
        half.sendall(b"GET /api/state HTTP/1.1\r\nHost: hall\r\nAuthorization: Bea")
        assert _read_all(half).startswith(b"HTTP/1.1 408 ")
        assert _read_all(silent).startswith(b"HTTP/1.1 408 ")
        assert book.timed_out == 2
        with httpx.Client(base_url=base, timeout=REPLY_WAIT) as client:  # whole requests: fine
            assert client.get("/api/state", headers=auth("display")).status_code == 200


def test_connections_over_the_cap_are_closed_at_accept_and_the_hall_keeps_serving(
    tmp_path: Path,
) -> None:
    with guarded_hall(tmp_path, max_connections=16, max_connections_per_client=0) as (base, book):
        held = [_connect(base) for _ in range(16)]
        with contextlib.ExitStack() as stack:
            for sock in held:
                stack.callback(sock.close)
            extra = _connect(base)
            assert _read_all(extra) == b""  # closed at once: no file held for it
            assert book.refused >= 1
            held.pop().close()
            deadline = time.monotonic() + REPLY_WAIT
            while book.total >= 16 and time.monotonic() < deadline:
                time.sleep(0.01)
            with httpx.Client(base_url=base, timeout=REPLY_WAIT) as client:
                assert client.get("/api/state", headers=auth("display")).status_code == 200


def test_one_address_cannot_take_every_connection(tmp_path: Path) -> None:
    with guarded_hall(tmp_path, max_connections_per_client=4) as (base, _book):
        held = [_connect(base, "127.0.0.2") for _ in range(4)]
        try:
            assert _read_all(_connect(base, "127.0.0.2")) == b""
            other = _connect(base, "127.0.0.3")
            other.sendall(b"GET /no/such/page HTTP/1.1\r\nHost: hall\r\nConnection: close\r\n\r\n")
            assert _read_all(other).startswith(b"HTTP/1.1 404 ")
        finally:
            for sock in held:
                sock.close()


def test_a_token_holds_at_most_streams_per_token_live_streams(tmp_path: Path) -> None:
    with (
        guarded_hall(tmp_path, streams_per_token=3) as (base, _book),
        httpx.Client(base_url=base, timeout=REPLY_WAIT) as client,
        contextlib.ExitStack() as streams,
    ):
        opened = [
            streams.enter_context(client.stream("GET", "/api/events", headers=auth("kiosk")))
            for _ in range(3)
        ]
        assert all(r.status_code == 200 for r in opened)
        refused = client.get("/api/events", headers=auth("kiosk"))
        assert refused.status_code == 429
        body = refused.json()
        assert body["error"] == "too_many_streams"
        assert "上限（3 个）" in body["message"]
        with client.stream("GET", "/api/events", headers=auth("display")) as other:
            assert other.status_code == 200  # another token is not affected
        opened[0].close()
        deadline = time.monotonic() + REPLY_WAIT
        while True:  # the closed stream's slot comes back once the server sees the close
            with client.stream("GET", "/api/events", headers=auth("kiosk")) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "the closed stream's slot never came back"
            time.sleep(0.05)


def _post_head(length: int, token: str | None, *, chunked: bool = False) -> bytes:
    lines = ["POST /api/tickets HTTP/1.1", "Host: hall", "Content-Type: application/json"]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status_and_body(reply: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_a_big_body_without_a_token_gets_401_before_it_is_sent(tmp_path: Path) -> None:
    with guarded_hall(tmp_path) as (base, _book):
        sock = _connect(base)
        sock.sendall(_post_head(80_000_000, None) + b"{" + b" " * 1000)
        status, body = _status_and_body(_read_all(sock))  # answered and closed, 80 MB unsent
        assert status == 401
        assert body["error"] == "unauthorized"
        sock = _connect(base)
        sock.sendall(_post_head(80_000_000, "not-a-hall-token"))
        assert _status_and_body(_read_all(sock)) == (
            401,
            {"error": "unauthorized", "message": "访问令牌无效"},
        )


def test_a_body_over_the_limit_gets_413_announced_or_chunked(tmp_path: Path) -> None:
    kiosk = TOKENS["kiosk"][0]
    with guarded_hall(tmp_path, max_body_bytes=4096) as (base, _book):
        sock = _connect(base)
        sock.sendall(_post_head(80_000_000, kiosk))
        status, body = _status_and_body(_read_all(sock))
        assert status == 413
        assert body["error"] == "body_too_large"
        assert "4 KB" in str(body["message"])
        sock = _connect(base)
        sock.sendall(_post_head(0, kiosk, chunked=True))
        chunk = b" " * 3000
        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) * 2)  # 6,000 bytes: over 4,096
        assert _status_and_body(_read_all(sock))[0] == 413
        with httpx.Client(base_url=base, timeout=REPLY_WAIT) as client:  # a normal body: fine
            issued = client.post("/api/tickets", headers=auth("kiosk"), json={"service": "SB"})
            assert issued.status_code == 201, issued.text


def test_a_body_that_stalls_gets_408(tmp_path: Path) -> None:
    kiosk = TOKENS["kiosk"][0]
    with guarded_hall(tmp_path, body_timeout_seconds=0.3) as (base, _book):
        sock = _connect(base)
        sock.sendall(_post_head(100, kiosk) + b'{"service": ')
        status, body = _status_and_body(_read_all(sock))
        assert status == 408
        assert body["error"] == "body_timeout"


def test_server_limits_are_validated_with_file_line_and_key() -> None:
    text = (ROOT / "config" / "hall.example.toml").read_text(encoding="utf-8")
    text = text.replace("max_body_bytes = 1048576", "max_body_bytes = 10")
    text = text.replace("streams_per_token = 16", "streams_per_token = 0")
    text = text.replace("header_timeout_seconds = 10", "header_timeout = 5")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file="hall.toml")
    problems = {p.key: p for p in caught.value.problems}
    assert set(problems) == {
        "server.max_body_bytes",
        "server.streams_per_token",
        "server.header_timeout",
    }
    assert all(p.line is not None and p.file == "hall.toml" for p in problems.values())


def test_upgrade_requests_do_not_leak_connection_slots(tmp_path: Path) -> None:
    upgrade = (
        b"GET /api/events HTTP/1.1\r\nHost: hall\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    with guarded_hall(tmp_path, max_connections=16, max_connections_per_client=0) as (base, book):
        for _ in range(40):  # more than the cap, one after the other
            sock = _connect(base)
            sock.sendall(upgrade)
            sock.recv(1024)
            sock.close()
        deadline = time.monotonic() + REPLY_WAIT
        while book.total and time.monotonic() < deadline:
            time.sleep(0.01)
        assert book.total == 0
        with httpx.Client(base_url=base, timeout=REPLY_WAIT) as client:
            assert client.get("/api/state", headers=auth("display")).status_code == 200


@pytest.mark.parametrize(
    ("soft", "hard", "fits", "soft_after"),
    [(1024, 20000, 1000, 1256), (300, 300, 44, 300)],  # systemd's default; a tight hard limit
)
def test_the_file_limit_is_raised_to_fit_the_connections_or_they_shrink_to_fit(
    soft: int, hard: int, fits: int, soft_after: int
) -> None:
    script = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
        "from controller.api.connection_guard import raise_file_limit\n"
        "print(raise_file_limit(1000), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < hard:
        pytest.skip(f"this machine's hard open-file limit is below {hard}")
    ran = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert ran.stdout.split() == [str(fits), str(soft_after)]
    if fits < 1000:
        assert "max_connections 1000 does not fit the open-file limit 300" in ran.stderr
