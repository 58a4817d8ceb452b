"""/api/devices, /api/keypads and the dashboard's device block: outbox backlog, displays, keypads."""

from __future__ import annotations

from pathlib import Path

from controller.app.device_wiring import HallDevices
from controller.app.outbox import RatingOutbox, http_sender
from controller.domain import commands as cmd
from devices.mqtt_broker.mosquitto import free_port
from tests.integration.api.conftest import Hall, auth
from tests.outbox_helpers import parking_api, stored


def _rate_one(hall: Hall, window: int = 1) -> None:
    """A citizen rates a ticket served at `window`, through the keypad rules."""
    seq = iter(range(1, 100))

    def press(key: str, **extra: object) -> None:
        hall.clock.advance(30)
        reply = hall.runtime.execute(
            cmd.PressKey("kp-1", "boot-1", next(seq), window, key, raw=key, **extra)  # type: ignore[arg-type]
        )
        assert reply.accepted, reply.result

    hall.runtime.execute(cmd.SignIn(window, "S0101", "A"))
    hall.runtime.execute(cmd.IssueTicket("SB"))
    press("next")
    press("finish", argument="即办件")
    press("invite_rating")
    press("rate", rating="satisfied")


def test_without_devices_the_reads_say_so(hall: Hall) -> None:
    assert hall.client.get("/api/keypads", headers=auth("floor")).json() == {"keypads": []}
    body = hall.client.get("/api/devices", headers=auth("floor")).json()
    assert body == {"keypads": [], "led": [], "voice": None, "outbox": None}
    assert hall.client.get("/api/dashboard", headers=auth("floor")).json()["devices"] is None


def test_the_outbox_backlog_shows_on_the_dashboard_devices_and_metrics(hall: Hall) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}/api/v1/evaluations"
    outbox = RatingOutbox(hall.runtime.journal, hall.runtime.config, http_sender(unreachable, "t"))
    devices = HallDevices(hall.runtime)
    devices.attach_outbox(outbox)
    hall.client.app.state.devices = devices  # type: ignore[attr-defined]
    hall.runtime.add_gauge_source(devices.gauges)
    _rate_one(hall)
    assert outbox.flush() is False  # nobody listens: the finished ticket and its rating wait
    figures = hall.client.get("/api/dashboard", headers=auth("floor")).json()
    assert figures["devices"]["outbox"]["backlog"] == 2
    assert figures["devices"]["outbox"]["backlog_by_stream"] == {
        "served-tickets": 1,
        "evaluations": 1,
    }
    assert "ConnectError" in figures["devices"]["outbox"]["last_error"]
    assert hall.client.get("/api/devices", headers=auth("floor")).json()["outbox"]["backlog"] == 2
    metrics = hall.client.get("/metrics", headers=auth("floor")).text
    assert "hall_outbox_backlog 2.0" in metrics
    kinds = [a["kind"] for a in hall.runtime.snapshot()["alerts"]]
    assert "outbox_backlog" in kinds


def test_device_reads_are_for_floor_managers(hall: Hall) -> None:
    for path in ("/api/keypads", "/api/devices"):
        assert hall.client.get(path).status_code == 401
        refused = hall.client.get(path, headers=auth("kiosk"))
        assert refused.status_code == 403
        assert refused.json()["error"] == "forbidden"


def test_a_floor_manager_resends_parked_records_once_the_cause_is_fixed(
    hall: Hall, tmp_path: Path
) -> None:
    # The satisfaction server's clock is a day behind: every record is "rated in the future",
    # refused for good (422) and parked. Its clock is put right; the floor manager resends.
    with parking_api(hall.runtime, tmp_path) as api:
        outbox, url = api.outbox, api.url
        hall.client.app.state.devices = api.devices  # type: ignore[attr-defined]
        _rate_one(hall)
        assert outbox.flush() is True  # nothing left to send: both records parked
        assert outbox.status()["parked"] == 2 and stored(url) == []
        kinds = [a["kind"] for a in hall.runtime.snapshot()["alerts"]]
        assert "outbox_parked" in kinds
        # Still wrong: they stay parked with the API's new answer.
        response = hall.client.post("/api/outbox/retry", headers=auth("floor"))
        assert response.status_code == 200 and response.json() == {"resent": 0, "parked": 2}
        api.clock.set(hall.clock.now())
        response = hall.client.post("/api/outbox/retry", headers=auth("floor"))
        assert response.json() == {"resent": 2, "parked": 0}
        [rating] = stored(url)
        again = hall.client.post("/api/outbox/retry", headers=auth("floor")).json()
    assert rating["level"] == "satisfied" and again == {"resent": 0, "parked": 0}
    kinds = [a["kind"] for a in hall.runtime.snapshot()["alerts"]]
    assert "outbox_parked" not in kinds


def test_retrying_a_hall_without_an_outbox_is_a_plain_404(hall: Hall) -> None:
    response = hall.client.post("/api/outbox/retry", headers=auth("floor"))
    assert response.status_code == 404 and response.json()["error"] == "no_outbox"
