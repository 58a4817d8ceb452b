"""The LED bus owner: one thread per serial port serving every strip and board on that line.

Frames go out one at a time from a send queue; an unanswered frame is resent (same seq, so the
display executes it once) up to `retries` times; a display that still does not answer is
marked unavailable and raises a floor alert while the others carry on. Displays are probed
(STATUS) as `devices/led/led_probes.py` plans: rationed to a share of the line's time while they
answer, every `probe_seconds` while they do not; one that answers again, or reports that it
rebooted, is resynchronised to what its window shows now, computed from the state snapshot.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

import serial

from controller.domain.alerts import Alert, AlertKind
from devices.led.hall_bus_content import encode_content
from devices.led.led_bus_display import BusDisplay, BusJob
from devices.led.led_config import BOARD, LedBusConfig
from devices.led.led_display import LedBusError, LedDisplay
from devices.led.led_probes import ProbeSchedule
from devices.rs485.master_line import QUIET_CHARS, LineSettings, MasterLine
from display.led_text import board_content, strip_content
from firmware_protocols.hall_bus.hall_bus import (
    BROADCAST,
    DeviceClass,
    IdentifyQuery,
    Identity,
    Nak,
    NakReason,
    wire_seconds,
)
from firmware_protocols.led.led_strip import (
    MAX_REPLY_BYTES,
    LedCommand,
    LedReply,
    LedRequest,
    SetBrightness,
    StatusFlags,
    StatusQuery,
    StatusReply,
    decode_reply,
    request_frame,
)

log = logging.getLogger(__name__)
SnapshotSource = Callable[[], Mapping[str, Any]]
BROADCAST_COPIES = 2
PROBE_BYTES = 11 + 17  # STATUS query and its reply; the first estimate of a probe's line time
_FAULT_TEXT = {StatusFlags.MODULE_FAULT: "灯板故障", StatusFlags.OVER_TEMPERATURE: "温度过高"}


class LedBus:
    """Owns one serial port (pyserial URL) and every LED display on it; see the module doc."""

    def __init__(self, config: LedBusConfig, snapshot: SnapshotSource) -> None:
        try:
            serial.serial_for_url(config.url, do_not_open=True)
        except ValueError as err:
            raise LedBusError(config.id, f"unsupported port URL {config.url!r}: {err}") from err
        self.config = config
        self._snapshot = snapshot
        self._strips = {s.address: BusDisplay(self, s) for s in config.strips}
        self._jobs: deque[BusJob] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._line = MasterLine(LineSettings.of("LED bus", config, MAX_REPLY_BYTES))
        self._broadcast_seq = random.randrange(256)
        self._opened_seen = 0  # MasterLine.opened when last looked at: a change is the line back
        self._probes = ProbeSchedule(
            self._strips,
            probe_seconds=config.probe_seconds,
            line_share=config.probe_line_share,
            probe_cost=wire_seconds(PROBE_BYTES + 2 * QUIET_CHARS, config.baudrate),
        )
        self._thread = threading.Thread(target=self._run, name=f"led-bus-{config.id}", daemon=True)

    @property
    def displays(self) -> list[LedDisplay]:
        """Every display on this bus, in configured order."""
        return list(self._strips.values())

    @property
    def discarded_bytes(self) -> int:
        """Bytes of noise or broken frames the bus owner skipped since it started."""
        return self._line.discarded_bytes

    @property
    def stray_frames(self) -> int:
        """Good frames that answered nothing outstanding (late replies, echoes)."""
        return self._line.stray_frames

    def display(self, address: int) -> LedDisplay:
        """The display at `address`; KeyError if none is configured there."""
        return self._strips[address]

    def start(self) -> LedBus:
        """Open the port and start serving (probe, then resync, every display); returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and close the port; safe to call twice."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._line.close()

    def __enter__(self) -> LedBus:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def broadcast(self, commands: Sequence[LedCommand]) -> None:
        """Send commands to every display at once (no reply; each frame sent twice)."""
        self._enqueue(BusJob(None, "send", tuple(commands)))

    def alerts(self) -> list[Alert]:
        """Floor alerts: displays not answering or reporting a fault, a port that will not open."""
        found: list[Alert] = []
        with self._cond:
            port_error = self._line.port_error
            if port_error:
                found.append(
                    Alert(
                        AlertKind.LED_BUS_OFFLINE,
                        f"条屏总线 {self.config.id}（{self.config.url}）无法打开：{port_error}",
                        bus=self.config.id,
                    )
                )
            for strip in self._strips.values():
                if strip.stats.state == "offline":
                    found.append(self._strip_alert(strip, AlertKind.LED_STRIP_OFFLINE, "离线"))
                elif strip.stats.faults:
                    causes = "、".join(strip.stats.faults)
                    found.append(
                        self._strip_alert(strip, AlertKind.LED_STRIP_FAULT, f"故障：{causes}")
                    )
        return found

    def _strip_alert(self, strip: BusDisplay, kind: AlertKind, trouble: str) -> Alert:
        where, window = strip.config.address, strip.config.window
        if not isinstance(window, int):  # the board (BOARD): sent as "window": null
            return Alert(
                kind,
                f"{strip.label}{trouble}",
                bus=self.config.id,
                address=where,
                details=(("window", None),),
            )
        return Alert(
            kind,
            f"{strip.label}{trouble}",
            bus=self.config.id,
            address=where,
            window=window,
        )

    # --- the bus thread ---

    def _enqueue(self, job: BusJob) -> None:
        with self._cond:
            strip = job.strip
            if strip is not None and strip.stats.state != "online":
                strip.stats.stale = True  # dropped now, shown by the resync when it answers
                return
            self._jobs.append(job)
            self._cond.notify()

    def _take(self) -> BusJob | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                online = [a for a, s in self._strips.items() if s.stats.state == "online"]
                # Commands go first, but a probe overdue by a whole period goes before them,
                # or a busy bus would never notice that an unplugged display came back.
                choice = self._probes.choose(online, now)
                if choice.address is not None and (choice.overdue or not self._jobs):
                    self._probes.begin(choice.address, now)
                    return BusJob(self._strips[choice.address], "probe")
                if self._jobs:
                    return self._jobs.popleft()
                self._cond.wait(None if choice.wake == math.inf else choice.wake - now)
            return None

    def _run(self) -> None:
        while (job := self._take()) is not None:
            try:
                if job.kind == "probe":
                    self._probe(job.strip)
                elif job.kind == "resync":
                    self._resync(job.strip)
                elif job.strip is None:
                    self._broadcast(job.commands)
                else:
                    self._send_all(job.strip, job.commands)
            except Exception:  # the bus supervisor: one bad job must not end the bus
                log.exception("LED bus %s: job failed", self.config.id)

    def _probe(self, strip: BusDisplay | None) -> None:
        assert strip is not None
        was_online = strip.stats.state == "online"
        started = time.monotonic()
        strip.stats.counters["probes"] += 1
        # One try for a display found offline (line time is shared); a display not heard since
        # start gets every retry, so a slow first answer does not cost it a probe period.
        reply = self._request(strip, StatusQuery(), quick=strip.stats.state == "offline")
        if reply is None:
            return
        if was_online:
            self._probes.charge(started, time.monotonic() - started)
        if isinstance(reply, StatusReply):
            faults = tuple(text for flag, text in _FAULT_TEXT.items() if reply.flags & flag)
            brightness = strip.config.brightness
            with self._cond:
                strip.stats.faults = faults
                # A reboot shows as BOOTED until the next content command; a command that got
                # there first leaves only the brightness back at its power-up value.
                if reply.flags & StatusFlags.BOOTED or brightness not in (None, reply.brightness):
                    strip.stats.stale = True
        if not was_online:
            identity = self._request(strip, IdentifyQuery())
            if isinstance(identity, Identity):
                self._check_identity(strip, identity)
            self._mark(strip, "online", "answering")
        if strip.stats.stale:
            self._resync(strip)

    def _resync(self, strip: BusDisplay | None) -> None:
        assert strip is not None
        with self._cond:
            if strip.stats.state != "online":
                return
            strip.stats.stale = False  # a change from now on is queued after this resync
        config = strip.config
        snapshot = self._snapshot()
        commands: list[LedCommand] = []
        if config.brightness is not None:
            commands.append(SetBrightness(config.brightness))
        if isinstance(config.window, int):
            commands += encode_content(strip_content(snapshot, config.window))
        else:
            board = board_content(snapshot, lines=config.lines, columns=config.columns)
            commands += encode_content(board)
        strip.stats.counters["resyncs"] += 1
        self._send_all(strip, commands)

    def _send_all(self, strip: BusDisplay, commands: Sequence[LedCommand]) -> None:
        for command in commands:
            reply = self._request(strip, command)
            busy = 0
            # hall-bus.md section 8: BUSY is "not now"; the same frame goes again after the
            # reply timeout (the display did not execute it, so its seq is still fresh).
            while _is_busy(reply) and busy < self.config.retries:
                busy += 1
                strip.stats.counters["naks"] += 1
                time.sleep(self.config.reply_timeout_seconds)
                reply = self._request(strip, command, seq=strip.seq)
            if reply is None:
                return
            if isinstance(reply, Nak):
                strip.stats.counters["naks"] += 1
                log.warning("LED %s refused %s: %s", strip.id, command, reply.reason.name)
                if reply.reason is NakReason.BUSY:
                    with self._cond:
                        strip.stats.stale = True  # still busy: the next probe resyncs it

    def _broadcast(self, commands: Sequence[LedCommand]) -> None:
        for command in commands:
            self._broadcast_seq = (self._broadcast_seq + 1) & 0xFF
            data = request_frame(command, BROADCAST, self._broadcast_seq).encode()
            for _ in range(BROADCAST_COPIES):  # the copy is idempotent at every display
                self._line.exchange(data, None, 0)

    def _request(
        self, strip: BusDisplay, request: LedRequest, *, quick: bool = False, seq: int | None = None
    ) -> LedReply | None:
        """Send until answered (same seq on every resend); None and offline after the last try.

        `seq` resends a frame the display refused BUSY; a new frame takes the next seq.
        """
        seq = strip.next_seq() if seq is None else seq
        data = request_frame(request, strip.config.address, seq).encode()
        attempts = 1 if quick else 1 + self.config.retries
        for attempt in range(attempts):
            if attempt:
                strip.stats.counters["retries"] += 1
            strip.stats.counters["frames_sent"] += 1
            reply = self._line.exchange_decoded(data, strip.config.address, seq, decode_reply)
            if self._line.opened != self._opened_seen:  # (re)opened: probe the silent ones now
                self._opened_seen = self._line.opened
                with self._cond:
                    self._probes.line_back(time.monotonic())
            if reply is not None:
                status = isinstance(reply, StatusReply)
                self._probes.heard(strip.config.address, time.monotonic(), status=status)
                return reply
        self._mark(strip, "offline", f"no reply after {attempts} tries")
        return None

    def _mark(self, strip: BusDisplay, state: Literal["online", "offline"], detail: str) -> None:
        with self._cond:
            before = strip.stats.state
            strip.stats.state = state
            strip.stats.detail = detail
            if state == "offline":
                self._probes.lost(strip.config.address, time.monotonic())
                strip.stats.stale = True
                strip.stats.faults = ()
                self._jobs = deque(j for j in self._jobs if j.strip is not strip)
        if before != state:
            level = logging.WARNING if state == "offline" else logging.INFO
            log.log(level, "LED %s (%s) is now %s: %s", strip.id, strip.label, state, detail)

    def _check_identity(self, strip: BusDisplay, identity: Identity) -> None:
        with self._cond:
            strip.stats.identity = identity
        wanted = DeviceClass.LED_BOARD if strip.config.window == BOARD else DeviceClass.LED_STRIP
        if identity.device_class not in (DeviceClass.LED_STRIP, DeviceClass.LED_BOARD):
            log.warning("LED %s: device class %#04x answers", strip.id, identity.device_class)
        elif identity.device_class != wanted:
            log.info("LED %s: a %s configured as %s", strip.id, identity.device_class, wanted)


def _is_busy(reply: LedReply | None) -> bool:
    return isinstance(reply, Nak) and reply.reason is NakReason.BUSY


def open_led_buses(configs: Sequence[LedBusConfig], snapshot: SnapshotSource) -> list[LedBus]:
    """One (not yet started) LedBus per configured bus; LedBusError for an unusable URL."""
    return [LedBus(config, snapshot) for config in configs]
