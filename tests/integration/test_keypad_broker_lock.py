"""A locked broker: a keypad's password cannot take another client's id (issue: Devices keep
their documented promises, item 5).

Before, any keypad's password connected with another keypad's client id (that keypad was kicked
off and its last will fired) or with the controller's (its persistent session, the queue of
presses made during a restart, was wiped). The broker now binds the client id to the user name.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.keypad.sim_keypad_mqtt import SimulatedMqttKeypad
from devices.mqtt_broker.mosquitto import (
    BrokerAccounts,
    MosquittoBroker,
    TlsListener,
    device_username,
)
from tests.mqtt_helpers import (
    HALL,
    DedupeHandler,
    controller_config,
    controller_port,
    keypad,
    require_mosquitto,
    running_broker,
    wait_until,
)


def _impostor(broker: MosquittoBroker, device_id: str, client_id: str) -> mqtt.Client:
    """Log in with `device_id`'s own password but claim `client_id`; connected, looping."""
    connected = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(device_username(device_id), broker.accounts.device_passwords[device_id])
    client.on_connect = lambda *_: connected.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert connected.wait(5), "the impostor's own credentials should still log in"
    return client


def test_a_keypad_password_cannot_kick_another_keypad_off(tmp_path: Path) -> None:
    with (
        running_broker(tmp_path, {"K01": 1, "K02": 2}) as broker,
        controller_port(broker, DedupeHandler()),
        keypad(broker, "K01") as victim,
    ):
        assert wait_until(lambda: victim.connected)
        impostor = _impostor(broker, "K02", client_id=device_username("K01"))
        try:
            time.sleep(1.0)
            assert victim.connected, "K02's password took K01's client id and kicked it off"
            ack = victim.wait_acked(victim.press("next"), 5)
            assert ack.accepted
        finally:
            impostor.disconnect()
            impostor.loop_stop()


def test_a_keypad_password_cannot_take_the_controllers_session(tmp_path: Path) -> None:
    handler = DedupeHandler()
    with (
        running_broker(tmp_path, {"K01": 1, "K02": 2}) as broker,
        controller_port(broker, handler) as port,
        keypad(broker, "K01") as k01,
    ):
        impostor = _impostor(broker, "K02", client_id=controller_config(broker).client_id)
        try:
            time.sleep(1.0)
            assert port.connected, "K02's password took the controller's client id"
            ack = k01.wait_acked(k01.press("next"), 5)
            assert ack.accepted and len(handler.applied) == 1
        finally:
            impostor.disconnect()
            impostor.loop_stop()


def test_keypads_on_wifi_use_the_tls_listener_with_the_hall_ca(tmp_path: Path) -> None:
    # The plain listener stays on 127.0.0.1 for the controller; keypads on the hall network
    # connect over TLS, trusting the hall CA that write-config makes.
    require_mosquitto()
    accounts = BrokerAccounts.generate(HALL, {"K01": 1})
    tls = TlsListener(port=0, bind="127.0.0.1", names=("localhost", "127.0.0.1"))
    with MosquittoBroker(accounts, tmp_path / "broker", tls=tls) as broker:
        assert broker.tls is not None
        conf = (broker.data_dir / "mosquitto.conf").read_text(encoding="utf-8")
        assert f"listener {broker.port} 127.0.0.1" in conf
        assert f"listener {broker.tls.port} 127.0.0.1" in conf
        assert oct((broker.data_dir / "tls" / "server.key").stat().st_mode & 0o777) == "0o600"
        handler = DedupeHandler()
        with controller_port(broker, handler):
            sim = SimulatedMqttKeypad(
                HALL,
                "K01",
                1,
                accounts.device_passwords["K01"],
                host="127.0.0.1",
                port=broker.tls.port,
                tls_ca=broker.ca_path,
            ).start()
            try:
                assert sim.wait_acked(sim.press("next"), 5).accepted
            finally:
                sim.stop()
        # Plain MQTT on the TLS port gets no CONNACK; TLS without the hall CA fails to verify.
        assert _plain_refused(broker.host, broker.tls.port)
        stranger = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="stranger")
        stranger.tls_set()  # the system's CAs, which never signed the hall's broker
        try:
            stranger.connect(broker.host, broker.tls.port)
            raise AssertionError("a certificate not from the hall CA was accepted")
        except ssl.SSLError as err:
            assert "CERTIFICATE_VERIFY_FAILED" in str(err)
        # The CA is kept across a rewrite: keypads already given ca.crt keep trusting it.
        first = broker.ca_path.read_bytes()
        broker.restart()
        assert broker.ca_path.read_bytes() == first


def _plain_refused(host: str, port: int) -> bool:
    with socket.create_connection((host, port), 2) as sock:
        sock.sendall(bytes.fromhex("101000044d5154540402003c0004746573740000"))  # a CONNECT
        sock.settimeout(2)
        try:
            reply = sock.recv(4)
        except (TimeoutError, ConnectionError):
            return True
        return reply[:1] != b"\x20"  # no CONNACK
