"""/api/devices, /api/keypads and the dashboard's device block: outbox backlog, displays, keypads."""

from __future__ import annotations

from controller import commands as cmd
from controller.hall_devices import HallDevices
from controller.outbox import RatingOutbox, http_sender
from devices.mosquitto import free_port
from tests.api.conftest import Hall, auth


def _rate_one(hall: Hall, window: int = 1) -> None:
    """A citizen rates a ticket served at `window`, through the keypad rules."""
    seq = iter(range(1, 100))

    def press(key: str, **extra: object) -> None:
        hall.clock.advance(30)
        reply = hall.runtime.execute(
            cmd.PressKey("kp-1", "boot-1", next(seq), window, key, raw=key, **extra)  # type: ignore[arg-type]
        )
        assert reply.status == 200, reply.body

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
