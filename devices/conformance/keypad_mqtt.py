"""`hallctl conformance keypad-mqtt`: keypad-mqtt.md checked against one Wi-Fi keypad on a broker.

The kit takes the controller's side (`MqttWatch`): it watches the keypad's `state` and `event`
topics and publishes acks. With hands pressing keys and cycling the power it checks the online
state, the last will, the schema of every payload, QoS and retain flags, seq, the resend rule
(unchanged, every 5 s, after each reconnect), the ack rule and a new boot after power-on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from devices.conformance.hands import Hands
from devices.conformance.mqtt_watch import QOS, MqttWatch, Seen
from devices.conformance.report import Clause, Report
from firmware_protocols.keypad.keypad_mqtt import KeypadAck, KeypadEvent, KeypadState, TopicKind
from firmware_protocols.keypad.keypad_mqtt_fields import KeypadMqttError

DOC = "keypad-mqtt.md"
ONLINE = Clause(
    DOC, "Connecting", "online", "After connecting: the `online` state, QoS 1, retained"
)
WILL = Clause(
    DOC, "Connecting", "will", "Last will: `offline` with this boot's id, QoS 1, retained"
)
RECONNECT = Clause(
    DOC, "Connecting", "reconnect", "After each CONNACK: `online`, then unacked events resent"
)
EVENT_TOPIC = Clause(DOC, "Topics", "event-qos", "Events are published at QoS 1, never retained")
EVENT = Clause(
    DOC, "event", "event", "Events follow the schema: own device_id, this boot's boot_id"
)
SEQ = Clause(DOC, "event", "seq", "seq counts +1 per press within a boot")
STATE = Clause(DOC, "state", "state", "States follow the schema: own device_id, boot_id, firmware")
ACK = Clause(
    DOC, "Acks and resends", "ack", "Rule 2: an ack ends the resends, `accepted: false` too"
)
RESEND = Clause(DOC, "Acks and resends", "resend", "Rule 3: an unacked event is resent unchanged")
BOOT = Clause(DOC, "Acks and resends", "boot", "Rule 4: after power-on a new boot_id, seq from 1")
CATALOGUE = (ONLINE, WILL, RECONNECT, EVENT_TOPIC, EVENT, SEQ, STATE, ACK, RESEND, BOOT)
NEEDS_HANDS = (WILL, RECONNECT, EVENT_TOPIC, EVENT, SEQ, ACK, RESEND, BOOT)
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "protocols" / "keypad-mqtt.schema.json"
_IN_FLIGHT = 0.5  # a resend already on its way when the ack left is no evidence


class _Stop(Exception):
    """The keypad stopped taking part: the rest of the run cannot tell anything."""


@dataclass(frozen=True)
class Pressed:
    """An event as it first arrived, with its ids and fields (read leniently when it broke the spec)."""

    seen: Seen
    boot_id: str
    seq: int
    fields: dict[str, Any]


class KeypadMqttKit:
    """One run against keypad `device_id`, watched through `watch` (started)."""

    def __init__(
        self,
        watch: MqttWatch,
        device_id: str,
        *,
        hands: Hands | None = None,
        action_seconds: float = 60.0,
        resend_seconds: float = 5.0,
        will_seconds: float = 150.0,
    ) -> None:
        self.watch = watch
        self.device_id = device_id
        self.hands = hands
        self.action_seconds = action_seconds
        self.resend_window = resend_seconds * 1.5 + 1.0
        self.will_seconds = will_seconds  # power-off noticed after 1.5 x keep alive (<= 60 s)
        self.report = Report(f"Wi-Fi keypad {device_id}", CATALOGUE)
        self.boot_id = ""
        self._schema = _load_schema()
        self._pending: list[Pressed] = []  # unacked, or still resent after their ack
        self._before: set[tuple[object, object]] = set()  # (boot_id, seq) left from before the run

    def run(self) -> Report:
        """Every clause of the catalogue once; the report."""
        if self._schema is None:
            self.report.notes.append(f"{SCHEMA_PATH} not found: payloads checked by the codec only")
        try:
            self._check_online()
            if self.hands is None:
                for clause in NEEDS_HANDS:
                    self.report.skip(
                        clause, "needs key presses and a power cycle: run with an operator"
                    )
            else:
                self._drain()
                self._check_presses()
                self._check_power_cycle(self.hands)
        except _Stop as err:
            self.report.stop(str(err))
        self.report.finish("not run")
        return self.report

    # --- clauses ---

    def _check_online(self) -> None:
        seen = self.watch.wait(_is_state("online"), self.action_seconds)
        if seen is None:
            states = [s for s in self.watch.since(0) if s.kind is TopicKind.STATE]
            last = ""
            if states:
                self._state(states[-1])
                last = f"; its last state: {_show(states[-1])}"
            self.report.record(
                ONLINE, False, f"no `online` within {self.action_seconds:.0f} s{last}"
            )
            raise _Stop("the keypad never said it is online: hall, window, device id, password?")
        state = self._state(seen)
        ok = state is not None and state.online and seen.retained and seen.qos == QOS
        self.report.record(ONLINE, ok, f"state {_show(seen)}")
        if state is not None:
            self.boot_id = state.boot_id
            self.report.notes.append(f"firmware {state.firmware!r}, model {state.model!r}")

    def _drain(self) -> None:
        """Answer presses left unacked from before the run (a keypad resends them on connect)."""
        mark = self.watch.mark()
        time.sleep(self.resend_window)
        answered = self._before
        for seen in self.watch.since(mark):
            fields = _fields(seen.payload) or {}
            ids = (fields.get("boot_id"), fields.get("seq"))
            if seen.kind is TopicKind.EVENT and ids not in answered:
                answered.add(ids)
                boot_id, seq = ids
                if isinstance(boot_id, str) and isinstance(seq, int):
                    ack = KeypadAck(self.device_id, boot_id, seq, False, "error", "测试前遗留")
                    self.watch.publish(TopicKind.ACK, ack.encode())
        if answered:
            self.report.notes.append(f"{len(answered)} presses from before the run were answered")
            time.sleep(_IN_FLIGHT)

    def _check_presses(self) -> None:
        first = self._press("next")
        mark = self.watch.mark()
        again = self.watch.wait(lambda s: _same(s, first), self.resend_window, after=mark)
        if again is None:
            self.report.record(
                RESEND, False, f"no resend within {self.resend_window:.0f} s, no ack"
            )
        else:
            same = _fields(again.payload) == first.fields
            waited = again.at - first.seen.at
            self.report.record(
                RESEND, same, f"resent as {_show(again)}", evidence=f"resent after {waited:.1f} s"
            )
        self._ack(first, accepted=True)
        second = self._press("next")
        same_boot = second.boot_id == first.boot_id
        ok = same_boot and second.seq == first.seq + 1
        self.report.record(SEQ, ok, f"seq {first.seq}, then {second.seq} (boot {second.boot_id})")
        self._ack(second, accepted=False)

    def _check_power_cycle(self, hands: Hands) -> None:
        third = self._press("next")
        old_boot, mark = self.boot_id, self.watch.mark()
        hands.power_cycle()
        offline = self.watch.wait(_is_state("offline"), self.will_seconds, after=mark)
        if offline is None:
            self.report.record(WILL, False, f"no `offline` state within {self.will_seconds:.0f} s")
        else:
            state = self._state(offline)
            ok = state is not None and state.boot_id == old_boot
            ok = ok and offline.retained and offline.qos == QOS
            self.report.record(WILL, ok, f"will {_show(offline)}, boot {old_boot}")
            mark = self.watch.after(offline)  # `online` may be in already: the hands can be slow
        online = self.watch.wait(_is_state("online"), self.action_seconds, after=mark)
        if online is None:
            raise _Stop(f"not online again within {self.action_seconds:.0f} s of the power cycle")
        state = self._state(online)
        if state is not None:
            self.boot_id = state.boot_id
        self.report.record(
            BOOT, self.boot_id != old_boot, f"boot_id {old_boot} again after power-on"
        )
        self.report.record(ONLINE, online.retained and online.qos == QOS, f"state {_show(online)}")
        resent = self.watch.wait(lambda s: _same(s, third), self.resend_window, after=mark)
        if resent is None:
            self.report.skip(
                RECONNECT, "the unacked event was lost with the power (no flash: allowed)"
            )
        else:
            ok = resent.at >= online.at and _fields(resent.payload) == third.fields
            self.report.record(RECONNECT, ok, f"resent {_show(resent)} before `online` or changed")
        self._ack(third, accepted=True)
        fourth = self._press("next")
        fresh = fourth.boot_id == self.boot_id and fourth.seq == 1
        self.report.record(
            BOOT, fresh, f"first press after power-on: boot {fourth.boot_id} seq {fourth.seq}"
        )
        self._ack(fourth, accepted=True)

    # --- helpers ---

    def _press(self, key: str) -> Pressed:
        assert self.hands is not None
        mark = self.watch.mark()
        self.hands.press(key)
        seen = self.watch.wait(self._new_event, self.action_seconds, after=mark)
        if seen is None:
            raise _Stop(f"no event within {self.action_seconds:.0f} s of asking for a press")
        self.report.record(
            EVENT_TOPIC, seen.qos == QOS and not seen.retained, f"event {_show(seen)}"
        )
        fields = _fields(seen.payload) or {}
        try:
            event = KeypadEvent.decode(seen.payload)
        except KeypadMqttError as err:
            self.report.record(EVENT, False, f"{err}: {_show(seen)}")
            if err.boot_id is None or err.seq is None:
                raise _Stop(
                    f"an event whose boot_id and seq cannot be read: {_show(seen)}"
                ) from err
            return self._remember(Pressed(seen, err.boot_id, err.seq, fields))
        problems = self._schema_errors("event", seen.payload)
        if event.device_id != self.device_id:
            problems.append(f"device_id {event.device_id!r} on {self.device_id}'s topic")
        if event.boot_id != self.boot_id:
            problems.append(f"boot_id {event.boot_id!r}, the state says {self.boot_id!r}")
        self.report.record(EVENT, not problems, "; ".join(problems) + f": {_show(seen)}")
        return self._remember(Pressed(seen, event.boot_id, event.seq, fields))

    def _new_event(self, seen: Seen) -> bool:
        if seen.kind is not TopicKind.EVENT or any(_same(seen, p) for p in self._pending):
            return False
        fields = _fields(seen.payload) or {}
        return (fields.get("boot_id"), fields.get("seq")) not in self._before

    def _remember(self, pressed: Pressed) -> Pressed:
        self._pending.append(pressed)
        return pressed

    def _ack(self, pressed: Pressed, *, accepted: bool) -> None:
        code, message = ("ok", "请A001号到3号窗口") if accepted else ("not_invited", "当前无需评价")
        ack = KeypadAck(self.device_id, pressed.boot_id, pressed.seq, accepted, code, message)
        self.watch.publish(TopicKind.ACK, ack.encode())
        time.sleep(_IN_FLIGHT)
        mark = self.watch.mark()
        late = self.watch.wait(lambda s: _same(s, pressed), self.resend_window, after=mark)
        self.report.record(ACK, late is None, f"resent after an ack with accepted={accepted}")
        if late is None:
            self._pending.remove(pressed)

    def _state(self, seen: Seen) -> KeypadState | None:
        try:
            state = KeypadState.decode(seen.payload)
        except KeypadMqttError as err:
            self.report.record(STATE, False, f"{err}: {_show(seen)}")
            return None
        problems = self._schema_errors("state", seen.payload)
        if state.device_id != self.device_id:
            problems.append(f"device_id {state.device_id!r} on {self.device_id}'s topic")
        self.report.record(STATE, not problems, "; ".join(problems))
        return state

    def _schema_errors(self, kind: str, payload: bytes) -> list[str]:
        if self._schema is None:
            return []
        validator = jsonschema.Draft202012Validator({**self._schema, "$ref": f"#/$defs/{kind}"})
        return [f"schema: {error.message}" for error in validator.iter_errors(json.loads(payload))]


def _load_schema() -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    except OSError:
        return None
    return loaded


def _fields(payload: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _same(seen: Seen, pressed: Pressed) -> bool:
    if seen.kind is not TopicKind.EVENT:
        return False
    fields = _fields(seen.payload) or {}
    return (fields.get("boot_id"), fields.get("seq")) == (pressed.boot_id, pressed.seq)


def _is_state(state: str) -> Callable[[Seen], bool]:
    def check(seen: Seen) -> bool:
        return seen.kind is TopicKind.STATE and (_fields(seen.payload) or {}).get("state") == state

    return check


def _show(seen: Seen) -> str:
    text = seen.payload.decode("utf-8", "replace")
    if len(text) > 160:
        text = text[:157] + "…"
    return f"{text} (QoS {seen.qos}{', retained' if seen.retained else ''})"
