"""The MQTT keypad driver against its simulated twin, through a real Mosquitto with ACLs."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr, ValidationError

from devices.keypad.keypad import KeypadKey, RatingKey
from devices.keypad.keypad_mqtt import MqttKeypadPort, open_keypad_port
from devices.keypad.keypad_mqtt_local import start_local_keypad_hall
from devices.keypad.mqtt_config import KeypadLinkError, KeypadMqttConfig, MqttBrokerConfig
from devices.mqtt_broker.mosquitto import BrokerAccounts, BrokerError, acl_text, device_username
from display.keypad_text import KeypadDisplay
from firmware_protocols.keypad.keypad_mqtt import KeypadEvent
from tests.mqtt_helpers import (
    DedupeHandler,
    connect_reason,
    controller_port,
    keypad,
    publish_as,
    require_mosquitto,
    running_broker,
    wait_until,
)

KEYPADS = {"K03": 3, "K05": 5}


def test_a_press_reaches_the_handler_and_the_keypad_gets_the_answer(tmp_path: Path) -> None:
    handler = DedupeHandler()
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        controller_port(broker, handler),
        keypad(broker, "K03") as k03,
    ):
        event = k03.press("rate", rating="very_dissatisfied", reasons=("R01", "R05"))
        ack = k03.wait_acked(event)
    press = handler.calls[0]
    assert (press.device_id, press.boot_id, press.seq, press.window) == ("K03", k03.boot_id, 1, 3)
    assert press.key is KeypadKey.RATE and press.rating is RatingKey.VERY_DISSATISFIED
    assert press.reasons == ("R01", "R05") and press.raw.startswith('{"v":1,')
    assert (ack.accepted, ack.code, ack.ticket, ack.message) == (True, "ok", "A001", "请A001号办理")


def test_a_lost_ack_means_a_resend_with_the_same_triple_applied_once(tmp_path: Path) -> None:
    handler = DedupeHandler()
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        controller_port(broker, handler),
        keypad(broker, "K03") as k03,
    ):
        k03.faults.lose_acks = 1
        event = k03.press("next")
        ack = k03.wait_acked(event)
    assert len(k03.faults.lost_acks) == 1 and k03.faults.lost_acks[0] == ack
    triples = [(p.device_id, p.boot_id, p.seq) for p in handler.calls]
    assert len(triples) >= 2 and set(triples) == {("K03", event.boot_id, 1)}
    assert len(handler.applied) == 1  # the handler de-duplicated on the triple the driver passed


def test_a_reboot_brings_a_new_boot_id_and_kept_events_keep_their_triple(tmp_path: Path) -> None:
    handler = DedupeHandler()
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        controller_port(broker, handler),
        keypad(broker, "K03") as k03,
    ):
        k03.faults.resend_paused = True
        k03.faults.lose_acks = 1
        old = k03.press("next")
        assert wait_until(lambda: len(k03.faults.lost_acks) == 1)
        old_boot = k03.boot_id
        new_boot = k03.reboot()  # kept in "flash": resent on connect with its old triple
        k03.faults.resend_paused = False
        k03.wait_acked(old)
        new = k03.press("next")
        k03.wait_acked(new)
    assert new_boot != old_boot and (new.boot_id, new.seq) == (new_boot, 1)
    assert [(p.boot_id, p.seq) for p in handler.applied] == [(old_boot, 1), (new_boot, 1)]


def test_a_press_made_while_the_controller_is_away_survives_a_broker_restart(
    tmp_path: Path,
) -> None:
    handler = DedupeHandler()
    with running_broker(tmp_path, KEYPADS) as broker:
        with controller_port(broker, handler):
            pass  # creates the controller's persistent session and its subscriptions
        with keypad(broker, "K03") as k03:
            k03.faults.resend_paused = True  # only the broker's queue can deliver it
            event = k03.press("finish", argument="即办件")
            assert wait_until(lambda: k03.published == 1)
            broker.restart()  # SIGTERM saves the queue; the keypad reconnects by itself
            with controller_port(broker, handler):
                ack = k03.wait_acked(event, timeout=10)
    assert [p.seq for p in handler.calls] == [1] and handler.calls[0].argument == "即办件"
    assert ack.accepted


def test_the_controller_reconnects_after_a_broker_restart(tmp_path: Path) -> None:
    handler = DedupeHandler()
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        controller_port(broker, handler) as port,
        keypad(broker, "K03") as k03,
    ):
        k03.wait_acked(k03.press("next"))
        broker.stop()
        assert wait_until(lambda: not port.connected)
        assert all(row["online"] is None for row in port.keypads())  # unknown, not "offline"
        offline_press = k03.press("recall")  # kept by the keypad while the broker is down
        broker.start()
        assert port.wait_ready(10)
        k03.wait_acked(offline_press, timeout=10)
        assert wait_until(lambda: port.keypads()[0]["online"] is True)
    assert [p.key for p in handler.applied] == [KeypadKey.NEXT, KeypadKey.RECALL]


def test_window_3_credentials_cannot_publish_for_window_5(tmp_path: Path) -> None:
    handler = DedupeHandler()
    with running_broker(tmp_path, KEYPADS) as broker, controller_port(broker, handler) as port:
        k03 = (device_username("K03"), broker.accounts.device_passwords["K03"])
        rating = KeypadEvent("K05", "b1", 1, "rate", rating="very_satisfied").encode()
        # K03's login on K05's own event topic, and on a window-5 topic in its own name: the
        # broker acknowledges both (MQTT 3.1.1 has no way to say no) and delivers neither.
        publish_as(broker, *k03, "hall/qs/window/5/keypad/K05/event", rating)
        publish_as(
            broker, *k03, "hall/qs/window/5/keypad/K03/event", rating.replace(b"K05", b"K03")
        )
        publish_as(broker, *k03, "hall/qs/window/5/keypad/K05/state", b'{"v":1}')
        with keypad(broker, "K05") as k05:  # the real window-5 keypad gets through
            k05.wait_acked(k05.press("next"))
        assert port.stats["events"] == 1 and port.stats["bad_state"] == 0
    assert [(p.device_id, p.key) for p in handler.calls] == [("K05", KeypadKey.NEXT)]


def test_anonymous_clients_and_wrong_passwords_are_refused(tmp_path: Path) -> None:
    with running_broker(tmp_path, KEYPADS) as broker:
        assert connect_reason(broker, None, None) == "Not authorized"
        assert connect_reason(broker, device_username("K03"), "guess") == "Not authorized"
        good = broker.accounts.device_passwords["K03"]
        assert connect_reason(broker, device_username("K03"), good) == "Success"


def test_a_keypad_never_receives_another_keypads_acks_or_displays(tmp_path: Path) -> None:
    received: list[str] = []
    subscribed = threading.Event()
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        controller_port(broker, DedupeHandler()) as port,
    ):
        snoop = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="kp-K03")
        snoop.username_pw_set("kp-K03", broker.accounts.device_passwords["K03"])
        snoop.on_message = lambda client, userdata, message: received.append(message.topic)
        snoop.on_subscribe = lambda *args: subscribed.set()
        snoop.connect(broker.host, broker.port)
        snoop.loop_start()
        try:
            # Mosquitto 2.0 grants the subscription and applies the read ACL on delivery.
            snoop.subscribe([("hall/qs/#", 1)])
            assert subscribed.wait(5)
            with keypad(broker, "K05") as k05:
                k05.wait_acked(k05.press("next"))
                port.show(KeypadDisplay(5, "serving", ticket="A001"))
                port.show(KeypadDisplay(3, "idle"))
                assert k05.wait_for(lambda: bool(k05.displays))
                assert wait_until(lambda: received == ["hall/qs/window/3/keypad/K03/display"])
        finally:
            snoop.disconnect()
            snoop.loop_stop()


def test_retained_online_state_and_the_last_will(tmp_path: Path) -> None:
    with running_broker(tmp_path, KEYPADS) as broker, keypad(broker, "K03") as k03:
        with controller_port(broker, DedupeHandler()) as port:
            assert wait_until(lambda: port.keypads()[0]["online"] is True)
            row = port.keypads()[0]
            assert (row["device_id"], row["window"], row["firmware"]) == ("K03", 3, "sim-1.0")
            assert row["boot_id"] == k03.boot_id and row["last_seen"] is not None
            assert port.keypads()[1]["online"] is None  # K05 never connected: unknown
            k03.go_offline()  # no DISCONNECT: the broker publishes the will
            assert wait_until(lambda: port.keypads()[0]["online"] is False)
        with controller_port(broker, DedupeHandler()) as later:  # the retained will
            assert wait_until(lambda: later.keypads()[0]["online"] is False)
            k03.go_online()
            assert wait_until(lambda: later.keypads()[0]["online"] is True)


def test_garbage_is_logged_answered_when_possible_and_never_stops_the_driver(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    handler = DedupeHandler()
    caplog.set_level(logging.WARNING, logger="devices.keypad.keypad_mqtt")
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        controller_port(broker, handler) as port,
        keypad(broker, "K03") as k03,
    ):
        k03.send_garbage(b"\xff\x00\x13")
        k03.send_garbage(b'{"v":1,"device_id":"K03","boot_id":"' + k03.boot_id.encode() + b'",')
        readable = f'{{"v":1,"device_id":"K03","boot_id":"{k03.boot_id}","seq":77,"key":"rate"}}'
        k03.send_garbage(readable.encode())
        for _ in range(20):
            k03.send_garbage()
        assert k03.wait_for(lambda: any(a.seq == 77 for a in k03.stray_acks))
        event = k03.press("next")  # the driver still works
        k03.wait_acked(event)
        assert port.stats["bad_payload"] == 23
    bad = next(a for a in k03.stray_acks if a.seq == 77)
    assert (bad.accepted, bad.code) == (False, "bad_payload")
    assert [p.seq for p in handler.calls] == [1]
    assert "bad_payload: keypad K03" in caplog.text and "rating:" in caplog.text
    assert "hex ff 00 13" in caplog.text


def test_an_event_from_a_window_the_keypad_is_not_configured_at_is_refused(
    tmp_path: Path,
) -> None:
    handler = DedupeHandler()
    with (
        running_broker(tmp_path, {"K03": 3, "K09": 9}) as broker,
        # The controller thinks K03 sits at window 4 and does not know K09 at all.
        controller_port(broker, handler, keypads={"K03": 4}),
        keypad(broker, "K03") as k03,
        keypad(broker, "K09") as k09,
    ):
        wrong = k03.wait_acked(k03.press("next"))
        unknown = k09.wait_acked(k09.press("next"))
    assert (wrong.accepted, wrong.code) == (False, "wrong_window")
    assert (unknown.accepted, unknown.code) == (False, "unknown_device")
    assert handler.calls == []


def test_a_failing_handler_gets_no_ack_and_the_resend_succeeds(tmp_path: Path) -> None:
    handler = DedupeHandler()
    handler.fail_next = 1
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        controller_port(broker, handler) as port,
        keypad(broker, "K03") as k03,
    ):
        ack = k03.wait_acked(k03.press("pause", argument="午休"))
        assert port.stats["handler_errors"] == 1
    assert ack.accepted and len(handler.calls) >= 2 and len(handler.applied) == 1


def test_a_flood_is_handled_once_per_press_and_all_acked(tmp_path: Path) -> None:
    handler = DedupeHandler()
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        controller_port(broker, handler),
        keypad(broker, "K03") as k03,
        keypad(broker, "K05") as k05,
    ):
        k03.flood(100)
        k05.flood(100, key="recall")
        assert k03.wait_all_acked(10) and k05.wait_all_acked(10)
    assert len(handler.applied) == 200
    assert sorted(p.seq for p in handler.applied if p.device_id == "K03") == list(range(1, 101))


def test_show_publishes_a_retained_display_to_the_windows_keypads(tmp_path: Path) -> None:
    display = KeypadDisplay(
        3,
        "rating_invited",
        ticket="A001",
        staff_name="张三",
        message="请您评价",
        rating_seconds=120,
    )
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        controller_port(broker, DedupeHandler()) as port,
    ):
        with keypad(broker, "K03") as k03, keypad(broker, "K05") as k05:
            port.show(display)
            assert k03.wait_for(lambda: len(k03.displays) == 1)
            assert (k03.displays[0].ticket, k03.displays[0].rating_seconds) == ("A001", 120)
            port.show(KeypadDisplay(3, "thanks", message="感谢您的评价"))
            assert k03.wait_for(lambda: len(k03.displays) == 2)
            assert k05.displays == []
        with keypad(broker, "K03") as again:  # reconnecting: the latest state is retained
            assert again.wait_for(lambda: bool(again.displays))
            assert again.displays[-1].state == "thanks"


def test_the_acl_file_gives_each_keypad_only_its_own_topics() -> None:
    accounts = BrokerAccounts("qs", {"K05": 5, "K03": 3}, "c", {"K03": "p3", "K05": "p5"})
    assert acl_text(accounts).splitlines()[2:] == [
        "user hall-controller",
        "topic readwrite hall/qs/#",
        "",
        "user kp-K03",
        "topic write hall/qs/window/3/keypad/K03/event",
        "topic write hall/qs/window/3/keypad/K03/state",
        "topic read hall/qs/window/3/keypad/K03/ack",
        "topic read hall/qs/window/3/keypad/K03/display",
        "",
        "user kp-K05",
        "topic write hall/qs/window/5/keypad/K05/event",
        "topic write hall/qs/window/5/keypad/K05/state",
        "topic read hall/qs/window/5/keypad/K05/ack",
        "topic read hall/qs/window/5/keypad/K05/display",
    ]
    with pytest.raises(BrokerError, match="no password for keypad K05"):
        BrokerAccounts("qs", {"K05": 5}, "c", {})


def test_the_controller_password_comes_from_the_config_or_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt.secret"
    secret.write_text("s3cret\n", encoding="utf-8")
    assert MqttBrokerConfig(password_file=secret).resolved_password() == "s3cret"
    assert "s3cret" not in repr(MqttBrokerConfig(password=SecretStr("s3cret")))
    with pytest.raises(ValidationError, match="exactly one"):
        MqttBrokerConfig()
    with pytest.raises(KeypadLinkError, match="missing"):
        MqttBrokerConfig(password_file=tmp_path / "missing").resolved_password()
    config = KeypadMqttConfig(hall_id="qs", keypads={"K03": 3, "K03b": 3, "K05": 5})
    assert config.client_id == "hall-qs-controller" and config.devices_at(3) == ["K03", "K03b"]
    with pytest.raises(KeypadLinkError, match="no MQTT broker"):
        MqttKeypadPort(config, DedupeHandler())
    with pytest.raises(ValidationError):
        KeypadMqttConfig(hall_id="qs", keypads={"K/03": 3})


def test_a_local_keypad_hall_for_simulate_mode(tmp_path: Path) -> None:
    require_mosquitto()
    handler = DedupeHandler()
    with start_local_keypad_hall("qs", KEYPADS, tmp_path / "broker") as hall:
        port = open_keypad_port(hall.config, handler)
        try:
            assert port.wait_ready(10)
            for sim in hall.keypads.values():
                sim.wait_acked(sim.press("next"))
            assert wait_until(lambda: all(row["online"] for row in port.keypads()))
        finally:
            port.close()
    assert not hall.broker.running
    assert sorted(p.window for p in handler.applied) == [3, 5]


@pytest.mark.parametrize(
    ("template", "code"),
    [
        ('{{"v":2,"device_id":"K03","boot_id":"{boot}","seq":{seq},"key":"next"}}', "bad_payload"),
        (
            '{{"v":"1","device_id":"K03","boot_id":"{boot}","seq":{seq},"key":"next"}}',
            "bad_payload",
        ),
        (
            '{{"v":1,"device_id":"K03","boot_id":"{boot}","seq":{seq},"key":"next","key":"finish"}}',
            "bad_payload",
        ),
        (
            '{{"v":1,"device_id":"K03","boot_id":"{boot}","seq":{seq},"key":"launch"}}',
            "unknown_key",
        ),
        (
            '{{"v":1,"device_id":"K03","boot_id":"{boot}","seq":{seq},"key":"rate",'
            '"rating":"satisfied","reasons":["R01"],"reasons_table":1}}',
            "reasons_for_good_rating",
        ),
    ],
)
def test_a_refused_event_whose_ids_are_readable_is_answered_with_the_documented_code(
    tmp_path: Path, template: str, code: str
) -> None:
    # A newer keypad ("v":2) must hear "not spoken here", not silence it reads as a dead
    # controller; an unknown key or reasons on a good rating get the codes the spec lists.
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        controller_port(broker, DedupeHandler()),
        keypad(broker, "K03") as k03,
    ):
        k03.send_garbage(template.format(boot=k03.boot_id, seq=91).encode())
        assert k03.wait_for(lambda: any(a.seq == 91 for a in k03.stray_acks))
    answer = next(a for a in k03.stray_acks if a.seq == 91)
    assert (answer.accepted, answer.code) == (False, code)
