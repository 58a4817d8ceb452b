"""A real hall API on uvicorn (with the screen routes) and a TCP proxy whose link can be cut."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from controller.api.app import create_app
from controller.api.auth import Caller, Role, TokenRegistry
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig
from tests.conftest import EXAMPLE_CONFIG, hall_time
from tests.servers import free_port, serving

DISPLAY_TOKEN = "display-screen-token-00001"


@dataclass
class ScreenHall:
    """A running hall, its URL and its manual clock."""

    runtime: HallRuntime
    clock: ManualClock
    base: str

    def call(self, window: int, staff_id: str, service: str) -> str:
        """Sign `staff_id` in at `window` if needed, issue a `service` ticket and call it."""
        state = self.runtime.engine.state.windows[window]
        if state.staff_id is None:
            self.runtime.execute(cmd.SignIn(window, staff_id, "A"))
        self.runtime.execute(cmd.IssueTicket(service))
        reply = self.runtime.execute(cmd.CallNext(window))
        assert reply.accepted, reply.result
        return str(reply.result["number"])


def wait_for(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Poll `condition` until it is true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.02)


@contextlib.contextmanager
def served_hall(tmp_path: Path, config: HallConfig | None = None) -> Iterator[ScreenHall]:
    """A hall (the example's unless given) at 09:00 on uvicorn, with /screen and a display token."""
    clock = ManualClock(hall_time("09:00"))
    config = config or load_config(EXAMPLE_CONFIG)
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db"), clock)
    tokens = TokenRegistry([])
    tokens.add(DISPLAY_TOKEN, Caller("tv", Role.DISPLAY))
    app = create_app(runtime, tokens)
    try:
        with serving(app, before_stop=runtime.hub.stop) as base:
            yield ScreenHall(runtime, clock, base)
    finally:
        runtime.journal.close()


class CuttableLink:
    """A TCP proxy to `target`; `cut()` drops every connection and refuses new ones until `mend()`."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.mend()

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def mend(self) -> None:
        """Listen again: new connections reach the hall."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Close the listener and every open connection, as a pulled cable would (RST/EOF)."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        for sock in [*sockets, *([listener] if listener else [])]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self._target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
