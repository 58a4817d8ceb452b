"""The RS-485 keypad bus owner: one thread per serial port polling every keypad on that line.

Keypads are polled in turn, none more often than `poll_interval_seconds`. A reply carrying a
press goes to the KeypadHandler; its answer rides on the next poll to that keypad, sent at once,
and is the press's acknowledgement. A keypad offers a press until it is answered, so a lost reply
or answer means a resend, never a loss; the press answered last gets that answer again without
the handler, any other repeat is answered by the handler's de-duplication on (device id, boot
id, seq). An unanswered frame is resent (same seq) up to `retries` times; a keypad still silent
is offline (a floor alert) and gets one poll every `offline_probe_seconds` while the others
carry on. `show()` keeps the latest state per window, sent before any poll; a keypad that
answers again, reboots or says it shows nothing gets its window's state again (resync).
Each keypad is spoken to in the highest version both sides know (IDENTIFY, spec §11); a press
is decided only once that is known, so a version 2 keypad's press always arrives with its age.
Protocol: docs/protocols/keypad-serial.md; driver notes: docs/keypad-serial-driver.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Literal

import serial

from controller.domain.alerts import Alert, AlertKind
from devices.keypad.keypad import KeypadAnswer, KeypadHandler, log_refusal
from devices.keypad.keypad_serial_fit import answer_for, display_state
from devices.keypad.keypad_serial_press import broken_press, keypad_press
from devices.keypad.keypad_serial_state import KeypadOnBus
from devices.keypad.serial_config import KeypadBusConfig, KeypadBusError
from devices.rs485.master_line import LineSettings, MasterLine
from display.keypad_text import KeypadDisplay
from firmware_protocols.hall_bus.hall_bus import (
    Ack,
    DeviceClass,
    Frame,
    IdentifyQuery,
    Identity,
    Nak,
    NakReason,
)
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.keypad.keypad_serial import (
    FN_DISPLAY,
    DisplayState,
    EventReply,
    KeypadReply,
    KeypadRequest,
    KeypadStatus,
    NoEventReply,
    Poll,
    decode_reply,
    request_frame,
)
from firmware_protocols.keypad.keypad_serial_fields import (
    KEYPAD_VERSION,
    MAX_REPLY_BYTES,
    KeypadEventError,
)

log = logging.getLogger(__name__)
MAX_POLLS_IN_A_ROW = 4  # one keypad's flood of presses must not hold the line from the others
Reply = KeypadReply | KeypadEventError


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SerialKeypadBus:
    """Owns one serial port (pyserial URL) and every keypad on it; a `KeypadPort`. See module doc."""

    def __init__(
        self,
        config: KeypadBusConfig,
        handler: KeypadHandler,
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        try:
            serial.serial_for_url(config.url, do_not_open=True)
        except ValueError as err:
            raise KeypadBusError(config.id, f"unsupported port URL {config.url!r}: {err}") from err
        self.config = config
        self.handler = handler
        self.clock = clock
        self._keypads = {
            address: KeypadOnBus(address, window, config.device_id(address))
            for address, window in sorted(config.keypads.items())
        }
        self._displays: dict[int, DisplayState] = {}
        self._cond = threading.Condition()
        self._stopping = False
        settings = LineSettings.of("keypad bus", config, MAX_REPLY_BYTES, 0.005, up_front=False)
        self._line = MasterLine(settings)
        self._thread = threading.Thread(
            target=self._run, name=f"keypad-bus-{config.id}", daemon=True
        )

    def start(self) -> SerialKeypadBus:
        """Open the port and start polling; returns self."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread and close the port; safe to call twice."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._line.close()

    def __enter__(self) -> SerialKeypadBus:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def show(self, display: KeypadDisplay) -> None:
        """Keep `display` as its window's state (the latest wins) and send it before any poll."""
        if all(kp.window != display.window for kp in self._keypads.values()):
            return
        state = display_state(display)
        if state is None:
            return
        with self._cond:
            self._displays[display.window] = state
            self._cond.notify()

    def keypads(self) -> list[dict[str, object]]:
        """Every configured keypad: device_id, window, online (None = not asked yet), last_seen, firmware."""
        with self._cond:
            rows = [kp.row(self.config.id) for kp in self._keypads.values()]
        return sorted(rows, key=lambda row: (int(str(row["window"])), str(row["device_id"])))

    def alerts(self) -> list[Alert]:
        """Floor alerts: keypads not answering, a port that will not open."""
        found: list[Alert] = []
        with self._cond:
            if self._line.port_error:
                message = (
                    f"评价器总线 {self.config.id}（{self.config.url}）无法打开："
                    f"{self._line.port_error}"
                )
                found.append(Alert(AlertKind.KEYPAD_BUS_OFFLINE, message, bus=self.config.id))
            found += [kp.alert(self.config.id) for kp in self._keypads.values() if kp.offline]
        return found

    def counters(self, address: int) -> dict[str, int]:
        """What the bus did with the keypad at `address`: polls, retries, presses, resyncs, ..."""
        with self._cond:
            return dict(self._keypads[address].counters)

    @property
    def discarded_bytes(self) -> int:
        """Bytes of noise or broken frames skipped since the bus started."""
        return self._line.discarded_bytes

    @property
    def stray_frames(self) -> int:
        """Good frames that answered nothing outstanding (late replies, echoes)."""
        return self._line.stray_frames

    # --- the bus thread ---

    def _take(self) -> tuple[KeypadOnBus, Literal["poll", "display"]] | None:
        with self._cond:
            while not self._stopping:
                for kp in self._keypads.values():
                    current = self._displays.get(kp.window)
                    if kp.state == "online" and current is not None and kp.shown != current:
                        return kp, "display"
                kp = min(self._keypads.values(), key=lambda k: k.next_poll)
                now = time.monotonic()
                if kp.next_poll <= now:
                    return kp, "poll"
                self._cond.wait(kp.next_poll - now)
        return None

    def _run(self) -> None:
        while (job := self._take()) is not None:
            kp, kind = job
            try:
                if kind == "display":
                    self._send_display(kp)
                else:
                    self._serve(kp)
            except Exception:  # the bus supervisor: one bad turn must not end the bus
                log.exception("keypad bus %s: %s of %s failed", self.config.id, kind, kp.device_id)
                with self._cond:
                    kp.shown = self._displays.get(kp.window) if kind == "display" else kp.shown
                    kp.next_poll = time.monotonic() + self.config.poll_interval_seconds

    def _serve(self, kp: KeypadOnBus) -> None:
        try:
            for _ in range(MAX_POLLS_IN_A_ROW):
                reply = self._poll(kp)
                if kp.state == "online" and kp.needs_identify:
                    self._identify(kp)  # a press it held is offered again, in its version
                if not isinstance(reply, EventReply | KeypadEventError):
                    break
        finally:
            offline = kp.state == "offline"
            wait = (
                self.config.offline_probe_seconds if offline else self.config.poll_interval_seconds
            )
            kp.next_poll = time.monotonic() + wait

    def _poll(self, kp: KeypadOnBus) -> Reply | None:
        answer = kp.answer
        kp.counters["polls"] += 1
        found = self._request(kp, Poll(answer), quick=kp.state == "offline")
        if found is None:
            return None
        frame, reply = found
        if answer is not None and kp.answer is answer:
            kp.answer = None  # delivered; the press coming back would bring it back
        if isinstance(reply, KeypadEventError):
            self._on_broken_press(kp, reply, frame)
        elif isinstance(reply, EventReply | NoEventReply):
            self._note_status(kp, reply.status)
            if isinstance(reply, EventReply) and kp.needs_identify:
                kp.counters["held"] += 1  # its version (and so the press's age) is not known yet
            elif isinstance(reply, EventReply):
                self._on_press(kp, reply, frame)
        else:
            self._unexpected(kp, "POLL", reply)
        return reply

    def _on_press(self, kp: KeypadOnBus, reply: EventReply, frame: Frame) -> None:
        press = reply.press
        last = kp.last_answer
        # The same (boot id, seq) with a different press is the seq_reused firmware bug: the
        # handler decides it (and refuses it), it is no resend to replay (keypad-serial.md 7).
        if last is not None and kp.last_press == press:
            kp.answer = last
            kp.counters["resends"] += 1
            return
        try:
            answer: KeypadAnswer = self.handler(keypad_press(kp, reply, frame.encode().hex()))
        except Exception:  # not answered: the keypad offers it again on the next poll
            kp.counters["handler_errors"] += 1
            log.exception("keypad %s: the controller failed on press %s", kp.device_id, press.seq)
            return
        kp.answer = kp.last_answer = answer_for(press.boot_id, press.seq, answer)
        kp.last_press = press
        kp.counters["presses"] += 1

    def _on_broken_press(self, kp: KeypadOnBus, error: KeypadEventError, frame: Frame) -> None:
        log.warning("keypad %s sent a broken press: %s; %s", kp.device_id, error, _hex(frame))
        kp.counters["bad_presses"] += 1
        refusal, kp.answer = broken_press(kp, error, frame.encode().hex())
        if not log_refusal(self.handler, refusal):
            kp.counters["handler_errors"] += 1

    def _note_status(self, kp: KeypadOnBus, status: KeypadStatus) -> None:
        if kp.boot_id is not None and status.boot_id != kp.boot_id:
            log.info("keypad %s rebooted (boot %08x)", kp.device_id, status.boot_id)
            kp.counters["reboots"] += 1
            kp.needs_identify = True
            self._forget_display(kp)
        elif status.needs_display and kp.shown is not None:
            self._forget_display(kp)
        kp.boot_id = status.boot_id

    def _send_display(self, kp: KeypadOnBus) -> None:
        with self._cond:
            current = self._displays.get(kp.window)
        if current is None:
            return
        found = self._request(kp, current)
        if found is None:
            return  # offline now: resynced when it answers again
        reply = found[1]
        if isinstance(reply, Ack) and reply.function == FN_DISPLAY:
            kp.counters["displays"] += 1
        else:
            self._unexpected(kp, "DISPLAY", reply)
        with self._cond:
            kp.shown = current  # also after a NAK: sending the same state again would not help

    def _identify(self, kp: KeypadOnBus) -> None:
        found = self._request(kp, IdentifyQuery())
        if found is None:
            return
        kp.needs_identify = False
        identity = found[1]
        if not isinstance(identity, Identity):
            self._unexpected(kp, "IDENTIFY", identity)
            return
        with self._cond:
            kp.identity = identity
            kp.version = max(1, min(KEYPAD_VERSION, identity.max_version))
        if identity.device_class != DeviceClass.KEYPAD:
            log.warning(
                "keypad %s: device class %#04x answers", kp.device_id, identity.device_class
            )

    def _request(
        self, kp: KeypadOnBus, request: KeypadRequest, *, quick: bool = False
    ) -> tuple[Frame, Reply] | None:
        """Send until answered (same seq on every resend); None and offline after the last try."""
        seq = kp.next_seq()
        # IDENTIFY always in version 1, which every keypad reads (hall-bus.md section 10).
        version = 1 if isinstance(request, IdentifyQuery) else kp.version
        data = request_frame(request, kp.address, seq, version).encode()
        attempts = 1 if quick else 1 + self.config.retries
        for attempt in range(attempts):
            if attempt:
                kp.counters["retries"] += 1
            kp.counters["frames_sent"] += 1
            frame = self._line.exchange(data, kp.address, seq)
            if frame is None:
                continue
            try:
                reply: Reply = decode_reply(frame)
            except KeypadEventError as err:
                reply = err
            except HallBusError as err:
                kp.counters["bad_replies"] += 1
                log.warning("keypad %s: bad reply: %s; %s", kp.device_id, err, _hex(frame))
                continue
            self._seen(kp)
            return frame, reply
        self._mark(kp, "offline", f"no reply after {attempts} tries")
        return None

    def _seen(self, kp: KeypadOnBus) -> None:
        with self._cond:
            kp.last_seen = self.clock()
            before = kp.state
        if before != "online":
            self._mark(kp, "online", "answering")
            kp.needs_identify = True
            if before == "offline":
                self._forget_display(kp)

    def _forget_display(self, kp: KeypadOnBus) -> None:
        with self._cond:
            kp.shown = None
            kp.counters["resyncs"] += 1

    def _mark(self, kp: KeypadOnBus, state: Literal["online", "offline"], detail: str) -> None:
        with self._cond:
            before, kp.state, kp.detail = kp.state, state, detail
        if before != state:
            level = logging.WARNING if state == "offline" else logging.INFO
            log.log(
                level, "keypad %s (window %s) is now %s: %s", kp.device_id, kp.window, state, detail
            )

    def _unexpected(self, kp: KeypadOnBus, what: str, reply: Reply) -> None:
        if isinstance(reply, Nak) and reply.reason == NakReason.UNSUPPORTED_VERSION:
            # New firmware of a lower version: speak its version, and ask it again.
            kp.version = max(1, min(kp.version - 1, reply.detail))
            kp.needs_identify = True
        if isinstance(reply, Nak):
            kp.counters["naks"] += 1
            log.warning("keypad %s refused %s: %s", kp.device_id, what, reply.reason.name)
        else:
            kp.counters["bad_replies"] += 1
            log.warning("keypad %s answered %s with %r", kp.device_id, what, reply)


def open_keypad_buses(
    configs: Sequence[KeypadBusConfig],
    handler: KeypadHandler,
    *,
    clock: Callable[[], dt.datetime] = _utc_now,
) -> list[SerialKeypadBus]:
    """One started SerialKeypadBus per configured bus; KeypadBusError (none started) for a bad URL."""
    buses = [SerialKeypadBus(config, handler, clock=clock) for config in configs]
    return [bus.start() for bus in buses]


def _hex(frame: Frame) -> str:
    return "frame " + frame.encode().hex(" ")
