"""Deliberately broken simulated twins: each breaks one clause of docs/protocols, for the kit's tests."""

from __future__ import annotations

import json

import paho.mqtt.client as mqtt

from devices.keypad.sim_keypad_model import SimKeypad
from devices.keypad.sim_keypad_mqtt import QOS, SimulatedMqttKeypad
from devices.led.sim_led_model import SimLedStrip
from firmware_protocols.hall_bus.hall_bus import (
    BROADCAST,
    FN_ACK,
    Ack,
    Frame,
    NakReason,
    RepeatFilter,
    reply_to,
)
from firmware_protocols.keypad.keypad_mqtt import KeypadAck, KeypadEvent
from firmware_protocols.keypad.keypad_mqtt_fields import KeypadMqttError
from firmware_protocols.keypad.keypad_serial import FN_POLL, PollAnswer, Press
from firmware_protocols.led.led_strip import FN_BOARD_TEXT, FN_SHOW_CALL, FN_STATUS


class _NoMemory(RepeatFilter):
    def is_repeat(self, frame: Frame) -> bool:
        return False


class _SeqOnlyMemory(RepeatFilter):
    """The classic shortcut: a frame with the last seq is a repeat, whatever it carries."""

    def __init__(self) -> None:
        super().__init__()
        self._seqs: dict[int, int] = {}

    def is_repeat(self, frame: Frame) -> bool:
        if self._seqs.get(frame.address) == frame.seq:
            return True
        self._seqs[frame.address] = frame.seq
        return False

    def forget(self) -> None:
        self._seqs.clear()


class _UnforgettingMemory(RepeatFilter):
    def forget(self) -> None:
        pass  # the bug: kept in RAM that survives a reset, or restored from flash


class CrcSwappedStrip(SimLedStrip):
    """Sends its CRC high byte first (hall-bus.md section 3)."""

    def handle(self, frame: Frame, at: float) -> bytes:
        data = super().handle(frame, at)
        return data[:-2] + data[-1:] + data[-2:-1] if data else data


class BroadcastAnsweringStrip(SimLedStrip):
    """ACKs broadcasts too (hall-bus.md section 4): every display would talk at once."""

    def handle(self, frame: Frame, at: float) -> bytes:
        data = super().handle(frame, at)
        if frame.address == BROADCAST and not frame.reply:
            own = Frame(self.address, frame.function, frame.seq, frame.payload)
            return reply_to(own, FN_ACK, Ack(frame.function).encode()).encode()
        return data


class NoRepeatFilterStrip(SimLedStrip):
    """Executes every frame, resends included (hall-bus.md section 7)."""

    def power_cycle(self) -> None:
        super().power_cycle()
        self._repeats = _NoMemory()

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self._repeats = _NoMemory()


class SeqOnlyRepeatStrip(SimLedStrip):
    """Takes any frame with the last seq for a repeat (hall-bus.md section 7: seq and content)."""

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self._repeats = _SeqOnlyMemory()


class MemoryKeptStrip(SimLedStrip):
    """Remembers the last frame across a power-up (hall-bus.md section 7)."""

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self._repeats = _UnforgettingMemory()


class BusyRememberedStrip(SimLedStrip):
    """Remembers a frame as executed before refusing it BUSY (hall-bus.md section 8)."""

    def _execute(self, frame: Frame, at: float, broadcast: bool) -> Frame | None:
        if self.faults.busy_for > 0 and FN_SHOW_CALL <= frame.function <= FN_BOARD_TEXT:
            self._repeats.is_repeat(frame)
        return super()._execute(frame, at, broadcast)


class WrongNakStrip(SimLedStrip):
    """Answers an unknown function BAD_PAYLOAD instead of UNKNOWN_FUNCTION (hall-bus.md section 8)."""

    def _nak(self, frame: Frame, reason: NakReason, detail: int = 0) -> Frame:
        if reason is NakReason.UNKNOWN_FUNCTION:
            reason = NakReason.BAD_PAYLOAD
        return super()._nak(frame, reason, detail)


class StaleStatusStrip(SimLedStrip):
    """Replays its last STATUS reply for a STATUS of the same seq (hall-bus.md section 7)."""

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self._cached: tuple[int, Frame | None] | None = None

    def _execute(self, frame: Frame, at: float, broadcast: bool) -> Frame | None:
        if frame.function == FN_STATUS and self._cached and self._cached[0] == frame.seq:
            return self._cached[1]
        reply = super()._execute(frame, at, broadcast)
        if frame.function == FN_STATUS:
            self._cached = (frame.seq, reply)
        return reply


class WrongSeqStrip(SimLedStrip):
    """Answers with the next seq instead of the request's (hall-bus.md section 2)."""

    def handle(self, frame: Frame, at: float) -> bytes:
        data = super().handle(frame, at)
        if not data:
            return data
        reply = Frame.decode(data)
        seq = (reply.seq + 1) % 256
        return Frame(reply.address, reply.function, seq, reply.payload, reply=True).encode()


class FallsSilentStrip(SimLedStrip):
    """Answers well, then stops answering anything (a firmware hang mid-run)."""

    ANSWERS = 12

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self.answered = 0

    def handle(self, frame: Frame, at: float) -> bytes:
        data = super().handle(frame, at)
        if data:
            self.answered += 1
        return data if self.answered <= self.ANSWERS else b""


# --- wired keypads (keypad-serial.md) ---


class SeqStuckKeypad(SimKeypad):
    """Forgets to increment seq: every press is seq 1 (keypad-serial.md section 5)."""

    def press(
        self,
        key: str,
        *,
        rating: str | None = None,
        reasons: tuple[str, ...] = (),
        argument: str | None = None,
    ) -> Press:
        self._seq = 0
        return super().press(key, rating=rating, reasons=reasons, argument=argument)


class PollReplayKeypad(SimKeypad):
    """Treats a resent POLL as a repeat and replays its reply (keypad-serial.md section 2)."""

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self._last_poll: tuple[bytes, Frame] | None = None

    def _execute(self, frame: Frame) -> Frame:
        if frame.function == FN_POLL and self._last_poll and self._last_poll[0] == frame.encode():
            return self._last_poll[1]
        reply = super()._execute(frame)
        if frame.function == FN_POLL:
            self._last_poll = (frame.encode(), reply)
        return reply


class RefusalKeepsKeypad(SimKeypad):
    """Keeps a press answered `accepted = 00`, as if it were a transport failure (section 4)."""

    def _take_answer(self, answer: PollAnswer) -> None:
        if answer.accepted:
            super()._take_answer(answer)
        else:
            self.stray_answers.append(answer)


class TenMsTicksKeypad(SimKeypad):
    """Sends its 10 ms ticks as the press age, not milliseconds (keypad-serial.md section 7)."""

    def age_ms(self, press: Press) -> int:
        return super().age_ms(press) // 10


class UptimeAgeKeypad(SimKeypad):
    """Sends the time since power-up as the press age, not the time since the press."""

    def age_ms(self, press: Press) -> int:
        return super().age_ms(press) + 600_000


class BootKeptKeypad(SimKeypad):
    """Keeps its boot id across a power-up (keypad-serial.md section 5)."""

    def reboot(self, *, keep_queue: bool = True) -> int:
        boot_id = self._boot_id
        super().reboot(keep_queue=keep_queue)
        self._boot_id = boot_id
        return boot_id


class BroadcastAnsweringKeypad(SimKeypad):
    """Takes frames to address 00 for its own (keypad-serial.md section 1)."""

    def handle(self, frame: Frame, at: float = 0.0) -> bytes:
        if frame.address == BROADCAST and not frame.reply:
            frame = Frame(self.address, frame.function, frame.seq, frame.payload)
        return super().handle(frame, at)


class CrcSwappedKeypad(SimKeypad):
    """Sends its CRC high byte first (hall-bus.md section 3)."""

    def handle(self, frame: Frame, at: float = 0.0) -> bytes:
        data = super().handle(frame, at)
        return data[:-2] + data[-1:] + data[-2:-1] if data else data


class DisplayMemoryKeptKeypad(SimKeypad):
    """Remembers the last DISPLAY across a power-up (hall-bus.md section 7)."""

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self._repeats = _UnforgettingMemory()


# --- Wi-Fi keypads (keypad-mqtt.md) ---


class SeqStuckMqttKeypad(SimulatedMqttKeypad):
    """Forgets to increment seq: every press is seq 1 ("event": seq +1 for each press)."""

    def press(
        self,
        key: str,
        *,
        rating: str | None = None,
        reasons: tuple[str, ...] = (),
        argument: str | None = None,
    ) -> KeypadEvent:
        with self._changed:
            self._seq = 0
        return super().press(key, rating=rating, reasons=reasons, argument=argument)


class NoPeriodicResendMqttKeypad(SimulatedMqttKeypad):
    """Resends only after a reconnect, never every 5 s ("Acks and resends" rule 3)."""

    def _resend_loop(self) -> None:
        self._stop.wait()


class RetainedEventMqttKeypad(SimulatedMqttKeypad):
    """Publishes its events retained ("Topics": never retained)."""

    def _publish(self, topic: str, payload: bytes) -> None:
        client = self._client
        if client is not None:
            client.publish(topic, payload, QOS, retain=topic.endswith("/event"))
            self.published += 1


class BootKeptMqttKeypad(SimulatedMqttKeypad):
    """Keeps its boot_id across a power-on ("Acks and resends" rule 4)."""

    def _new_boot_id(self) -> str:
        return getattr(self, "_boot_id", None) or super()._new_boot_id()


class RefusalKeptMqttKeypad(SimulatedMqttKeypad):
    """Ignores an ack with `accepted: false` and resends for ever ("Acks and resends" rule 2)."""

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            ack: KeypadAck | None = KeypadAck.decode(bytes(message.payload))
        except KeypadMqttError:
            ack = None
        if ack is None or ack.accepted:
            super()._on_message(client, userdata, message)


class ExtraFieldMqttKeypad(SimulatedMqttKeypad):
    """Adds a field of its own to every event ("Payloads: common rules": no unknown fields)."""

    def _publish(self, topic: str, payload: bytes) -> None:
        if topic.endswith("/event"):
            obj = json.loads(payload)
            obj["ts"] = 1765100000
            payload = json.dumps(obj, separators=(",", ":")).encode()
        super()._publish(topic, payload)
