"""MQTT keypad press -> ack received by the keypad, beside a bare Mosquitto round trip.

A real Mosquitto (password file, ACL, persistence, as in a hall) on a free 127.0.0.1 port in a
temporary directory; the controller's `MqttKeypadPort` (MQTT 5, persistent session) with a
handler that answers at once, so the figure is the driver's and the broker's cost, not the
engine's; one simulated Wi-Fi keypad (`SimulatedMqttKeypad`, MQTT 3.1.1). Each press is timed
from `press()` to the keypad holding the ack: keypad -> broker -> controller (decode, handler,
ack encode) -> broker -> keypad. After each press, a bare round trip is timed the same way on
the same broker: a paho client publishes at QoS 1, a second one echoes it back at QoS 1, and the
first one receives it; no codec, no driver. Target: press p99 <= 2x the bare p99.

A second phase puts the real hall behind the same driver: `KeypadDispatcher` over a
`HallRuntime` (example hall, window 3 signed in) on a durable file journal (WAL,
synchronous=FULL), so each NEXT press is checked by the engine, journaled and fsynced before
the keypad gets its ack (a ticket is issued before each press, untimed). Printed beside the
same bare round trip and a bare durable SQLite commit timed in the same loop, so the journal's
share is visible; the target is judged on the first phase (the journal has its own benchmark).

    .venv/bin/python -m benchmarks.bench_keypad_mqtt [--presses 500]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.common import MONDAY, at, example_config, ms, percentile
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.keypad_intake import KeypadDispatcher
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.settings.config_sections import PressLimitConfig
from devices.keypad.keypad import KeypadAnswer, KeypadHandler, KeypadPress
from devices.keypad.keypad_mqtt import open_keypad_port
from devices.keypad.keypad_mqtt_local import start_local_keypad_hall
from devices.mqtt_broker.mosquitto import no_delay

TARGET_RATIO = 2.0
WARMUP = 20
_PING, _PONG = "hall/bench/bare/ping", "hall/bench/bare/pong"


def _answer(press: KeypadPress) -> KeypadAnswer:
    return KeypadAnswer(True, "ok", "请A001号到3号窗口", "A001")


class _BareRoundTrip:
    """Two plain paho clients with the controller's login: publish, echo, receive (all QoS 1)."""

    def __init__(self, host: str, port: int, username: str, password: str) -> None:
        self.arrived = threading.Event()
        self.clients: list[mqtt.Client] = []
        for name, topic, handler in (
            ("bench-echo", _PING, self._echo),
            ("bench-caller", _PONG, self._back),
        ):
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
            client.username_pw_set(username, password)
            client.on_message = handler
            client.on_socket_open = no_delay  # as the driver and the keypad do
            client.connect(host, port)
            client.loop_start()
            client.subscribe(topic, qos=1)
            self.clients.append(client)
        time.sleep(0.3)  # both SUBACKs in

    def _echo(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        client.publish(_PONG, message.payload, qos=1)

    def _back(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.arrived.set()

    def once(self, payload: bytes) -> float:
        """One round trip in seconds."""
        self.arrived.clear()
        started = time.perf_counter()
        self.clients[1].publish(_PING, payload, qos=1)
        if not self.arrived.wait(5):
            raise SystemExit("bare round trip: no echo within 5 s")
        return time.perf_counter() - started

    def close(self) -> None:
        """Disconnect both clients."""
        for client in self.clients:
            client.disconnect()
            client.loop_stop()


def measure(
    presses: int, tmp: Path, handler: KeypadHandler = _answer, before: Any = None
) -> dict[str, list[float]]:
    """Press and bare round-trip times (seconds), interleaved, warm-up excluded.

    `before(i)` runs untimed before each press; with it, a bare durable commit is timed too.
    """
    found: dict[str, list[float]] = {"press": [], "bare": [], "commit": []}
    with start_local_keypad_hall("bench", {"K03": 3}, tmp, resend_seconds=5.0) as hall:
        port = open_keypad_port(hall.config, handler)
        broker = hall.config.broker
        assert broker is not None and port.wait_ready(10)
        bare = _BareRoundTrip(
            hall.broker.host, hall.broker.port, broker.username, broker.resolved_password()
        )
        commit = _BareCommit(tmp / "bare.db") if before is not None else None
        keypad = hall.keypads["K03"]
        try:
            for i in range(WARMUP + presses):
                if before is not None:
                    before(i)
                started = time.perf_counter()
                event = keypad.press("next")
                acked = keypad.wait_acked(event)
                took = time.perf_counter() - started
                if not acked.accepted:
                    raise SystemExit(f"press {i} refused: {acked.code} {acked.message}")
                bare_took = bare.once(event.encode())
                commit_took = commit.once() if commit is not None else 0.0
                if i >= WARMUP:
                    found["press"].append(took)
                    found["bare"].append(bare_took)
                    found["commit"].append(commit_took)
        finally:
            bare.close()
            port.close()
    if keypad.published != WARMUP + presses:
        print(f"  note: {keypad.published - WARMUP - presses} resends happened during the run")
    return found


class _BareCommit:
    """One durable SQLite transaction (WAL, synchronous=FULL) of a 300-byte row."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE t (payload TEXT)")

    def once(self) -> float:
        """Seconds for BEGIN; INSERT; COMMIT."""
        started = time.perf_counter()
        self.db.execute("BEGIN")
        self.db.execute("INSERT INTO t VALUES (?)", ("x" * 300,))
        self.db.execute("COMMIT")
        return time.perf_counter() - started


def measure_with_hall(presses: int, tmp: Path) -> dict[str, list[float]]:
    """As `measure`, with the real hall answering: engine, rules, durable journal."""
    config = example_config()
    # One keypad pressing back to back is a stuck key to the hall: lift the press limit.
    unlimited = PressLimitConfig(max_presses=1000, per_seconds=0.001)
    keypads = config.keypads.model_copy(update={"press_limit": unlimited})
    config = config.model_copy(update={"keypads": keypads})
    clock = ManualClock(at(MONDAY, "09:00", config))
    runtime = HallRuntime(config, Journal.at_path(tmp / "hall.db", durable=True), clock)
    runtime.execute(cmd.SignIn(3, "S0301", "A"))

    def issue(_i: int) -> None:
        clock.advance(20)
        reply = runtime.execute(cmd.IssueTicket("YB"))
        if not reply.accepted:
            raise SystemExit(f"could not issue a YB ticket: {reply.result}")

    try:
        return measure(presses, tmp, KeypadDispatcher(runtime), issue)
    finally:
        runtime.hub.stop()
        runtime.journal.close()


def report(found: dict[str, list[float]], title: str, judged: bool = True) -> None:
    """Print p50/p99 of both, the ratio and (when `judged`) the verdict."""
    p50, p99 = ({k: percentile(sorted(v), q) for k, v in found.items()} for q in (0.5, 0.99))
    count = len(found["press"])
    print(f"{title}: {count} presses, Mosquitto on 127.0.0.1")
    print(f"  press -> ack                    p50 {ms(p50['press'])}  p99 {ms(p99['press'])}")
    print(f"  bare QoS 1 publish -> echo      p50 {ms(p50['bare'])}  p99 {ms(p99['bare'])}")
    if not judged:
        print(f"  bare durable SQLite commit      p50 {ms(p50['commit'])}  p99 {ms(p99['commit'])}")
    ratio = p99["press"] / p99["bare"] if p99["bare"] else float("inf")
    verdict = ("met" if ratio <= TARGET_RATIO else "MISSED") if judged else "not judged"
    print(
        f"  p99 ratio {ratio:.2f}x (target <= {TARGET_RATIO:.0f}x: {verdict});"
        f" p50 ratio {p50['press'] / p50['bare']:.2f}x"
    )
    if not judged:
        both = p99["bare"] + p99["commit"]
        print(f"  p99 / (bare round trip + bare commit) = {p99['press'] / both:.2f}x")


def run(presses: int) -> None:
    """Start a broker, the driver and a keypad; press `presses` times per phase; print figures."""
    with tempfile.TemporaryDirectory() as tmp:
        found = measure(presses, Path(tmp) / "driver")
    report(found, "MQTT keypad press -> ack at the keypad (driver + broker, instant handler)")
    with tempfile.TemporaryDirectory() as tmp:
        found = measure_with_hall(min(presses, 150), Path(tmp))
    report(found, "same with the hall answering (engine + durable journal)", judged=False)


def main() -> None:
    """Command line: --presses N."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=500)
    args = parser.parse_args()
    run(args.presses)


if __name__ == "__main__":
    main()
