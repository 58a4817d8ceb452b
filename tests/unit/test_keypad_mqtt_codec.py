"""The keypad MQTT codec: hand-written golden payloads, the JSON Schema, round trips and fuzzing."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.keypad.keypad import KeypadKey, RatingKey
from firmware_protocols.keypad import keypad_codes as codes
from firmware_protocols.keypad.keypad_mqtt import (
    KeypadAck,
    KeypadEvent,
    KeypadScreen,
    KeypadState,
    KeypadTopic,
    TopicKind,
    subscription,
)
from firmware_protocols.keypad.keypad_mqtt_fields import KeypadMqttError
from firmware_protocols.keypad.keypad_mqtt_json import MAX_PAYLOAD_BYTES

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/protocols/keypad-mqtt.schema.json").read_text(
        encoding="utf-8"
    )
)
FUZZ_PAYLOADS = int(os.environ.get("HALL_FUZZ_FRAMES", "100000"))  # per payload kind
Payload = KeypadEvent | KeypadAck | KeypadScreen | KeypadState
KINDS: dict[str, type[Payload]] = {
    "event": KeypadEvent,
    "ack": KeypadAck,
    "display": KeypadScreen,
    "state": KeypadState,
}


def schema_errors(kind: str, payload: bytes) -> list[str]:
    """Why the payload breaks the schema's definition of `kind` (empty if it conforms)."""
    validator = jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{kind}"})
    return [error.message for error in validator.iter_errors(json.loads(payload))]


# Written by hand from docs/protocols/keypad-mqtt.md: field order and spelling are the spec's.
GOLDEN: list[tuple[str, bytes, Payload]] = [
    (  # staff presses "next" at window 3; first press of this boot
        "event",
        b'{"v":1,"device_id":"K03","boot_id":"5f1c9a20e4b7d318","seq":1,"key":"next"}',
        KeypadEvent("K03", "5f1c9a20e4b7d318", 1, "next"),
    ),
    (  # a citizen's 差评 with two reason codes from table 1
        "event",
        b'{"v":1,"device_id":"K03","boot_id":"5f1c9a20e4b7d318","seq":42,"key":"rate",'
        b'"rating":"very_dissatisfied","reasons":["R01","R05"],"reasons_table":1}',
        KeypadEvent(
            "K03",
            "5f1c9a20e4b7d318",
            42,
            "rate",
            rating="very_dissatisfied",
            reasons=("R01", "R05"),
            reasons_table=1,
        ),
    ),
    (  # transfer to another service (首问负责制)
        "event",
        b'{"v":1,"device_id":"K03","boot_id":"b2","seq":7,"key":"transfer","argument":"service:SB"}',
        KeypadEvent("K03", "b2", 7, "transfer", argument="service:SB"),
    ),
    (  # finish with a case outcome in Chinese (UTF-8, not escaped)
        "event",
        '{"v":1,"device_id":"K03","boot_id":"b2","seq":8,"key":"finish","argument":"即办件"}'.encode(),
        KeypadEvent("K03", "b2", 8, "finish", argument="即办件"),
    ),
    (
        "ack",
        '{"v":1,"device_id":"K03","boot_id":"5f1c9a20e4b7d318","seq":1,"accepted":true,'
        '"code":"ok","message":"请A001号到3号窗口","ticket":"A001"}'.encode(),
        KeypadAck("K03", "5f1c9a20e4b7d318", 1, True, "ok", "请A001号到3号窗口", "A001"),
    ),
    (
        "ack",
        b'{"v":1,"device_id":"K03","boot_id":"b2","seq":9,"accepted":false,"code":"bad_payload"}',
        KeypadAck("K03", "b2", 9, False, "bad_payload"),
    ),
    (
        "display",
        '{"v":1,"window":3,"state":"serving","ticket":"A001","staff_name":"张三",'
        '"staff_post":"社保经办","staff_photo_id":"W03A.jpg","message":"正在办理 A001"}'.encode(),
        KeypadScreen(3, "serving", "A001", "张三", "社保经办", "W03A.jpg", "正在办理 A001"),
    ),
    (
        "display",
        '{"v":1,"window":3,"state":"rating_invited","ticket":"A001","message":"请您评价",'
        '"rating_seconds":120}'.encode(),
        KeypadScreen(3, "rating_invited", "A001", message="请您评价", rating_seconds=120),
    ),
    (
        "display",
        '{"v":1,"window":12,"state":"paused","message":"暂停服务","extra":{"reason":"午休"}}'.encode(),
        KeypadScreen(12, "paused", message="暂停服务", extra={"reason": "午休"}),
    ),
    (
        "state",
        b'{"v":1,"device_id":"K03","boot_id":"5f1c9a20e4b7d318","state":"online",'
        b'"firmware":"2.4.1","model":"PJ-300W","reasons_table":1}',
        KeypadState("K03", "5f1c9a20e4b7d318", "online", "2.4.1", "PJ-300W", 1),
    ),
    (  # the last will, set at connect with the same boot id
        "state",
        b'{"v":1,"device_id":"K03","boot_id":"5f1c9a20e4b7d318","state":"offline","firmware":"2.4.1"}',
        KeypadState("K03", "5f1c9a20e4b7d318", "offline", "2.4.1"),
    ),
]


@pytest.mark.parametrize(("kind", "payload", "value"), GOLDEN)
def test_golden_payloads_encode_decode_and_match_the_schema(
    kind: str, payload: bytes, value: Payload
) -> None:
    assert value.encode() == payload
    assert KINDS[kind].decode(payload) == value
    assert schema_errors(kind, payload) == []


def test_golden_topics() -> None:
    topic = KeypadTopic("qingshui", 3, "K03", TopicKind.EVENT)
    assert str(topic) == "hall/qingshui/window/3/keypad/K03/event"
    assert KeypadTopic.parse("hall/qingshui/window/12/keypad/K-12b/display") == KeypadTopic(
        "qingshui", 12, "K-12b", TopicKind.DISPLAY
    )
    assert subscription("qingshui", TopicKind.STATE) == "hall/qingshui/window/+/keypad/+/state"


@pytest.mark.parametrize(
    ("topic", "field"),
    [
        ("hall/qs/window/3/keypad/K03", "topic"),
        ("hall/qs/window/3/keypad/K03/event/x", "topic"),
        ("hall/other/window/3/keypad/K03/event", "topic.hall_id"),
        ("hall/qs/window/03/keypad/K03/event", "topic.window"),
        ("hall/qs/window/0/keypad/K03/event", "topic.window"),
        ("hall/qs/window/10000/keypad/K03/event", "topic.window"),
        ("hall/qs/window/3/keypad/+/event", "topic.device_id"),
        ("hall/qs/window/3/keypad/K03/events", "topic.kind"),
        ("hall/qs/window/3/keypad/" + "K" * 200 + "/event", "topic"),
    ],
)
def test_bad_topics_name_the_field(topic: str, field: str) -> None:
    with pytest.raises(KeypadMqttError) as caught:
        KeypadTopic.parse(topic, "qs")
    assert caught.value.field == field


EVENT = {"v": 1, "device_id": "K03", "boot_id": "b2", "seq": 9, "key": "next"}
RATE = {**EVENT, "key": "rate", "rating": "dissatisfied"}

# (payload, field named): every one breaks the spec; `schema_sees_it` False marks the ones JSON
# Schema cannot see (bytes before JSON, duplicate keys, NaN, an integer written as 9.0).
BAD_EVENTS: list[tuple[bytes, str, bool]] = [
    (b"", "payload", False),
    (b"\xff\xfe{}", "payload", False),
    (b'{"v":1,', "payload", False),
    (b"[1,2]", "payload", True),
    (b"[" * 3000 + b"]" * 3000, "payload", False),  # over the size cap and nested too deep
    (b"[" * 2000 + b"]" * 2000, "payload", False),  # under the cap, still nested too deep
    (b'{"v":1,"v":1,"device_id":"K03"}', "v", False),
    (b'{"v":NaN}', "payload", False),
    (json.dumps({**EVENT, "v": 2}).encode(), "v", True),
    (json.dumps({**EVENT, "v": True}).encode(), "v", True),
    (json.dumps({k: v for k, v in EVENT.items() if k != "seq"}).encode(), "seq", True),
    (json.dumps({**EVENT, "seq": 0}).encode(), "seq", True),
    (json.dumps({**EVENT, "seq": 2**31}).encode(), "seq", True),
    (json.dumps({**EVENT, "seq": 9.0}).encode(), "seq", False),  # JSON Schema: 9.0 is an integer
    (json.dumps({**EVENT, "seq": True}).encode(), "seq", True),
    (json.dumps({**EVENT, "boot_id": "a/b"}).encode(), "boot_id", True),
    (json.dumps({**EVENT, "device_id": ""}).encode(), "device_id", True),
    (json.dumps({**EVENT, "key": "launch"}).encode(), "key", True),
    (json.dumps({**EVENT, "colour": "red"}).encode(), "colour", True),
    (json.dumps({**EVENT, "key": "rate"}).encode(), "rating", True),
    (json.dumps({**EVENT, "rating": "satisfied"}).encode(), "rating", True),
    (json.dumps({**RATE, "rating": "5"}).encode(), "rating", True),
    (json.dumps({**RATE, "reasons": ["R01"]}).encode(), "reasons_table", True),
    (json.dumps({**RATE, "reasons": ["R77"], "reasons_table": 1}).encode(), "reasons", True),
    (json.dumps({**RATE, "reasons": ["R01", "R01"], "reasons_table": 1}).encode(), "reasons", True),
    (json.dumps({**RATE, "reasons": [], "reasons_table": 1}).encode(), "reasons", True),
    (json.dumps({**RATE, "reasons": "R01", "reasons_table": 1}).encode(), "reasons", True),
    (json.dumps({**RATE, "reasons": ["R01"], "reasons_table": 9}).encode(), "reasons_table", True),
    (
        json.dumps(
            {**RATE, "rating": "satisfied", "reasons": ["R01"], "reasons_table": 1}
        ).encode(),
        "reasons",
        True,
    ),
    (json.dumps({**EVENT, "argument": "x"}).encode(), "argument", True),
    (json.dumps({**EVENT, "key": "transfer"}).encode(), "argument", True),
    (json.dumps({**EVENT, "key": "transfer", "argument": "desk:5"}).encode(), "argument", True),
    (json.dumps({**EVENT, "key": "pause", "argument": "   "}).encode(), "argument", True),
    (json.dumps({**EVENT, "key": "pause", "argument": "a\x1bb"}).encode(), "argument", True),
    (json.dumps({**EVENT, "key": "pause", "argument": "长" * 65}).encode(), "argument", True),
]


@pytest.mark.parametrize(("payload", "field", "schema_sees_it"), BAD_EVENTS)
def test_bad_events_are_refused_by_codec_and_schema(
    payload: bytes, field: str, schema_sees_it: bool
) -> None:
    with pytest.raises(KeypadMqttError) as caught:
        KeypadEvent.decode(payload)
    assert caught.value.field == field
    if schema_sees_it:
        assert schema_errors("event", payload)


def test_a_bad_event_still_names_the_ids_it_could_read() -> None:
    with pytest.raises(KeypadMqttError) as caught:
        KeypadEvent.decode(json.dumps({**EVENT, "key": "launch"}).encode())
    assert (caught.value.device_id, caught.value.boot_id, caught.value.seq) == ("K03", "b2", 9)
    with pytest.raises(KeypadMqttError) as caught:
        KeypadEvent.decode(json.dumps({**EVENT, "seq": "9"}).encode())
    assert caught.value.seq is None


@pytest.mark.parametrize(
    ("kind", "obj", "field"),
    [
        (
            "ack",
            {"device_id": "K03", "boot_id": "b", "seq": 1, "accepted": 1, "code": "ok"},
            "accepted",
        ),
        (
            "ack",
            {"device_id": "K03", "boot_id": "b", "seq": 1, "accepted": True, "code": "OK"},
            "code",
        ),
        ("ack", {"device_id": "K03", "boot_id": "b", "seq": 1, "accepted": True}, "code"),
        ("display", {"window": 3, "state": "busy"}, "state"),
        ("display", {"window": 3, "state": "serving", "rating_seconds": 5}, "rating_seconds"),
        ("display", {"window": 3, "state": "idle", "staff_photo_id": "a b"}, "staff_photo_id"),
        ("display", {"window": 3, "state": "idle", "extra": {"k": 1}}, "extra.k"),
        ("display", {"window": 3, "state": "idle", "extra": ["k"]}, "extra"),
        ("display", {"window": 3, "state": "idle", "message": "长" * 201}, "message"),
        (
            "state",
            {"device_id": "K03", "boot_id": "b", "state": "asleep", "firmware": "1"},
            "state",
        ),
        ("state", {"device_id": "K03", "boot_id": "b", "state": "online"}, "firmware"),
        (
            "state",
            {"device_id": "K03", "boot_id": "b", "state": "online", "firmware": "v 1"},
            "firmware",
        ),
    ],
)
def test_bad_acks_displays_and_states_name_the_field(
    kind: str, obj: dict[str, Any], field: str
) -> None:
    payload = json.dumps({"v": 1, **obj}, ensure_ascii=False).encode()
    with pytest.raises(KeypadMqttError) as caught:
        KINDS[kind].decode(payload)
    assert caught.value.field == field
    assert schema_errors(kind, payload)


def test_encoders_refuse_what_decoders_refuse() -> None:
    with pytest.raises(KeypadMqttError, match="rating"):
        KeypadEvent("K03", "b", 1, "rate")
    with pytest.raises(KeypadMqttError, match="boot_id"):
        KeypadAck("K03", "", 1, True, "ok")


def test_the_largest_legal_display_fits_the_size_cap_and_one_byte_more_is_refused() -> None:
    largest = KeypadScreen(
        9999,
        "rating_invited",
        "长" * 16,
        "长" * 32,
        "长" * 32,
        "p" * 64,
        "长" * 200,
        3600,
        {f"{i}".rjust(32, "k"): "长" * 64 for i in range(8)},
    ).encode()
    assert len(largest) < MAX_PAYLOAD_BYTES == 4096
    fill = MAX_PAYLOAD_BYTES - len(largest)
    assert KeypadScreen.decode(largest[:-1] + b" " * fill + b"}")  # exactly 4096 bytes
    with pytest.raises(KeypadMqttError) as caught:
        KeypadScreen.decode(largest[:-1] + b" " * (fill + 1) + b"}")
    assert caught.value.field == "payload"


def test_vocabulary_matches_the_keypad_role_and_the_schema() -> None:
    assert set(codes.KEYS) == {key.value for key in KeypadKey}
    assert set(codes.RATINGS) == {rating.value for rating in RatingKey}
    event = SCHEMA["$defs"]["event"]["properties"]
    assert event["key"]["enum"] == list(codes.KEYS)
    assert event["rating"]["enum"] == list(codes.RATINGS)
    known = sorted({code for table in codes.REASON_TABLES.values() for code in table})
    assert event["reasons"]["items"]["enum"] == known
    assert codes.reason_text("R01") == "服务态度不好"
    for version in range(1, codes.REASON_TABLE_VERSION):  # later tables keep earlier codes
        assert set(codes.REASON_TABLES[version]) <= set(codes.REASON_TABLES[version + 1])


# --- property round trips ---

ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,32}\Z")
texts = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x7f"), max_size=16
)
words = texts.filter(lambda t: t.strip() != "")
seqs = st.integers(1, 2**31 - 1)


@st.composite
def events(draw: st.DrawFn) -> KeypadEvent:
    key = draw(st.sampled_from(codes.KEYS))
    rating = draw(st.sampled_from(codes.RATINGS)) if key == "rate" else None
    reasons: tuple[str, ...] = ()
    if rating in codes.BAD_RATINGS:
        table = codes.REASON_TABLES[1]
        reasons = tuple(draw(st.lists(st.sampled_from(sorted(table)), max_size=5, unique=True)))
    argument = None
    if key == "transfer":
        argument = draw(st.from_regex(r"\A(service:[A-Z]{1,16}|window:[1-9][0-9]{0,3})\Z"))
    elif key in ("pause", "finish"):
        argument = draw(st.none() | words)
    return KeypadEvent(
        draw(ids), draw(ids), draw(seqs), key, rating, reasons, 1 if reasons else None, argument
    )


acks = st.builds(
    KeypadAck,
    ids,
    ids,
    seqs,
    st.booleans(),
    st.from_regex(r"\A[a-z0-9_]{1,32}\Z"),
    texts,
    st.none() | words,
)
screens = st.builds(
    KeypadScreen,
    st.integers(1, 9999),
    st.sampled_from([s for s in ("idle", "serving", "paused", "thanks", "closed")]),
    st.none() | words,
    st.none() | words,
    st.none() | words,
    st.none() | st.from_regex(r"\A[A-Za-z0-9_.-]{1,64}\Z"),
    texts,
    st.none(),
    st.dictionaries(ids, texts, max_size=8),
) | st.builds(
    KeypadScreen,
    st.integers(1, 9999),
    st.just("rating_invited"),
    rating_seconds=st.integers(0, 3600),
)
states = st.builds(
    KeypadState,
    ids,
    ids,
    st.sampled_from(["online", "offline"]),
    st.from_regex(r"\A[A-Za-z0-9_.+-]{1,32}\Z"),
    st.none() | words,
    st.none() | st.just(1),
)


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        events().map(lambda e: ("event", e)),
        acks.map(lambda a: ("ack", a)),
        screens.map(lambda s: ("display", s)),
        states.map(lambda s: ("state", s)),
    )
)
def test_round_trip_and_schema(item: tuple[str, Payload]) -> None:
    kind, value = item
    payload = value.encode()
    assert KINDS[kind].decode(payload) == value
    assert schema_errors(kind, payload) == []


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 9999), ids, ids, st.sampled_from(list(TopicKind)))
def test_topic_round_trip(window: int, hall_id: str, device_id: str, kind: TopicKind) -> None:
    topic = KeypadTopic(hall_id, window, device_id, kind)
    assert KeypadTopic.parse(str(topic), hall_id) == topic


# --- fuzzing: only KeypadMqttError may come out ---


def _mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(4)
        at = rng.randrange(len(out) + 1)
        if op == 0 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif op == 1:
            out[at:at] = rng.choice(
                [b",", b"}", b'"', b"\\u", b"[", b"null", b"1e9", b"\xe5", b"-"]
            )
        elif op == 2:
            del out[at : at + rng.randrange(1, 8)]
        else:
            out = out[:at]
    return bytes(out)


_JUNK_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**31,
    2**64,
    1.5,
    "",
    " ",
    "x" * 70,
    "\ud800",
    [],
    {},
    ["R01"],
    {"a": "b"},
    "rate",
    "R01",
    1,
]


def _twist(rng: random.Random, payload: bytes) -> bytes:
    obj = json.loads(payload)
    for _ in range(rng.randrange(1, 3)):
        name = rng.choice([*obj, "extra", "rating", "reasons", "v", "zz"])
        if rng.random() < 0.2:
            obj.pop(name, None)
        else:
            obj[name] = rng.choice(_JUNK_VALUES)
    return json.dumps(obj).encode()


@pytest.mark.parametrize("kind", list(KINDS))
def test_fuzz_only_the_declared_error_comes_out(kind: str) -> None:
    rng = random.Random(20261123 + len(kind))
    decode = KINDS[kind].decode
    seeds = [payload for k, payload, _ in GOLDEN if k == kind]
    accepted = 0
    for i in range(FUZZ_PAYLOADS):
        roll = i % 3
        if roll == 0:
            data = rng.randbytes(rng.randrange(0, 64))
        elif roll == 1:
            data = _mutate(rng, rng.choice(seeds))
        else:
            data = _twist(rng, rng.choice(seeds))
        try:
            decode(data)
            accepted += 1
        except KeypadMqttError:
            pass
    assert accepted < FUZZ_PAYLOADS  # most junk is refused; none of it raised anything else


def test_fuzz_topics() -> None:
    rng = random.Random(5)
    parts = [
        "hall",
        "qs",
        "window",
        "3",
        "keypad",
        "K03",
        "event",
        "",
        "+",
        "#",
        "0",
        "03",
        "é",
        "/",
    ]
    for _ in range(FUZZ_PAYLOADS // 5):
        topic = "/".join(rng.choice(parts) for _ in range(rng.randrange(0, 9)))
        with contextlib.suppress(KeypadMqttError):
            KeypadTopic.parse(topic, rng.choice([None, "qs"]))


def test_every_example_in_the_spec_is_a_valid_payload_as_written() -> None:
    spec = (Path(__file__).resolve().parents[2] / "docs/protocols/keypad-mqtt.md").read_text(
        encoding="utf-8"
    )
    examples = re.findall(r"```json (event|ack|display|state)\n(.*?)\n```", spec, flags=re.DOTALL)
    assert {kind for kind, _ in examples} == set(KINDS) and len(examples) >= 10
    for kind, text in examples:
        payload = text.encode()
        assert KINDS[kind].decode(payload).encode() == payload, text
        assert schema_errors(kind, payload) == [], text


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (json.dumps({**EVENT, "v": 2}).encode(), "v"),  # a newer keypad: not "controller down"
        (json.dumps({**EVENT, "v": "1"}).encode(), "v"),
        (b'{"v":1,"device_id":"K03","boot_id":"b2","seq":9,"key":"next","key":"finish"}', "key"),
        (b'{"v":1,"v":1,"device_id":"K03","boot_id":"b2","seq":9,"key":"next"}', "v"),
    ],
)
def test_a_wrong_version_or_a_duplicated_field_still_names_the_ids_so_the_keypad_is_answered(
    payload: bytes, field: str
) -> None:
    # keypad-mqtt.md "What the controller does with a bad message": boot_id and seq readable
    # means an ack with bad_payload; before, these were refused with no ids and so no ack, and
    # the keypad resent for ever.
    with pytest.raises(KeypadMqttError) as caught:
        KeypadEvent.decode(payload)
    assert caught.value.field == field
    assert (caught.value.device_id, caught.value.boot_id, caught.value.seq) == ("K03", "b2", 9)
    assert caught.value.code == "bad_payload"


def test_a_duplicated_id_field_is_not_read_as_an_id() -> None:
    payload = b'{"v":1,"device_id":"K03","boot_id":"b2","seq":9,"seq":10,"key":"next"}'
    with pytest.raises(KeypadMqttError) as caught:
        KeypadEvent.decode(payload)
    assert (caught.value.field, caught.value.seq) == ("seq", None)


@pytest.mark.parametrize(
    ("obj", "code"),
    [
        ({**EVENT, "key": "launch"}, "unknown_key"),
        (
            {**RATE, "rating": "satisfied", "reasons": ["R01"], "reasons_table": 1},
            "reasons_for_good_rating",
        ),
        ({**RATE, "reasons": ["R01"], "reasons_table": 9}, "unknown_reason_table"),
        ({**EVENT, "colour": "red"}, "bad_payload"),
    ],
)
def test_a_refused_event_carries_the_answer_code_the_spec_lists(
    obj: dict[str, object], code: str
) -> None:
    # The same refusal answers the same code on both transports: unknown_key and
    # reasons_for_good_rating came back as bad_payload over MQTT.
    with pytest.raises(KeypadMqttError) as caught:
        KeypadEvent.decode(json.dumps(obj).encode())
    assert caught.value.code == code
