"""Deployment: the central config file, the embedded app, and the controller outbox's records."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from controller.cli.satisfaction import add_satisfaction_commands
from controller.domain import events as ev
from controller.domain.errors import ConfigError
from controller.satisfaction.embedded import embedded_satisfaction_app
from controller.satisfaction.settings import load_central_config
from tests.integration.satisfaction.conftest import EXAMPLE, HALL_A, NOW, ROOT, ZONE

CENTRAL = ROOT / "config" / "satisfaction.example.toml"


def test_the_example_central_config_loads_both_kinds_of_hall() -> None:
    loaded = load_central_config(CENTRAL)
    assert set(loaded.profiles) == {HALL_A, "330102-XCQZWFW"}
    inline = loaded.profiles["330102-XCQZWFW"]
    assert inline.rectify_working_days == 7
    assert inline.calendar.is_working_day(dt.date(2026, 9, 27))  # 调休 Sunday
    assert not inline.calendar.is_working_day(dt.date(2026, 10, 1))
    assert loaded.profiles[HALL_A].rectify_working_days == 15
    assert [t.role.value for t in loaded.tokens] == [
        "hall",
        "floor_manager",
        "supervision",
        "reader",
        "province_admin",
    ]


def test_the_environment_wins_over_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALLCTL_SATISFACTION_DATABASE_URL", "postgresql://h@db:5432/s")
    monkeypatch.setenv("HALLCTL_SATISFACTION_DEFAULTS_IN_SATISFACTION", "true")
    settings = load_central_config(CENTRAL).settings
    assert settings.database_url == "postgresql://h@db:5432/s"
    assert settings.defaults_in_satisfaction is True


def test_a_broken_config_names_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text(
        '[[halls]]\nid = "A-1"\ntimezone = "Mars/Olympus"\n[halls.calendar.hours.mon]\n'
        'open = "09:00"\nclose = "17:00"\n[[tokens]]\nname = "x"\nrole = "hall"\n'
        'hall_id = "B-2"\nsha256 = "' + "0" * 64 + '"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_central_config(bad)
    text = str(caught.value)
    assert str(bad) in text and "halls.0.timezone" in text and "Mars/Olympus" in text


def test_hallctl_satisfaction_api_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HALLCTL_SATISFACTION_DATABASE_URL", f"sqlite:///{tmp_path}/c.db")
    parser = argparse.ArgumentParser()
    add_satisfaction_commands(parser.add_subparsers())
    args = parser.parse_args(["satisfaction-api", "--config", str(CENTRAL), "--check"])
    assert args.run(args) == 0
    assert "2 个大厅" in capsys.readouterr().out and (tmp_path / "c.db").exists()


def test_the_outbox_records_of_a_controller_are_accepted_by_the_embedded_api(
    tmp_path: Path,
) -> None:
    from controller.app.outbox_records import rating_record

    app = embedded_satisfaction_app(
        EXAMPLE, tmp_path, outbox_token="outbox-token-for-tests-01", clock=lambda: NOW
    )
    finished = dt.datetime(2026, 11, 23, 9, 30, tzinfo=ZONE)
    event = ev.RatingRecorded(
        at=finished + dt.timedelta(seconds=20),
        rating_id="20261123-A001-1",
        ticket_id="20261123-A001",
        number="A001",
        window=1,
        staff_id="S0101",
        service="SB",
        item_code="330199-SB-0001",
        department_code="QSXZWFWZX",
        region_code="330199",
        level="dissatisfied",
        reasons=("R02",),
        reason_table="2026.1",
        channel="5",
        assess_number=1,
        device_id="keypad-01",
        finished_at=finished,
    )
    records = [rating_record(EXAMPLE, event)]
    client = TestClient(app)
    headers = {"Authorization": "Bearer outbox-token-for-tests-01"}
    reply = client.post("/api/v1/evaluations", json={"records": records}, headers=headers)
    assert reply.json() == {"accepted": 1, "duplicates": 0, "work_orders_opened": 1}
    again = client.post("/api/v1/evaluations", json={"records": records}, headers=headers)
    assert again.json()["duplicates"] == 1
    listed = client.get("/api/v1/work-orders", headers=headers).json()
    assert listed["items"][0]["deadline"] == "2026-12-10"
    app.state.satisfaction.engine.dispose()


def test_hallctl_satisfaction_api_serves_from_several_worker_processes(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    import httpx

    from tests.integration.satisfaction.pg_server import free_port

    port = free_port()
    env = os.environ | {"HALLCTL_SATISFACTION_DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller.cli.main",
            "satisfaction-api",
            "--config",
            str(CENTRAL),
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Two worker processes start slowly on a loaded machine.
        deadline, answered = time.monotonic() + 90, 0
        while time.monotonic() < deadline and answered == 0:
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code
            except httpx.TransportError:
                time.sleep(0.2)
        assert answered == 200
        token = {"Authorization": "Bearer example-reader-token-1"}
        reply = httpx.get(f"http://127.0.0.1:{port}/api/v1/evaluations", headers=token)
        assert reply.status_code == 200 and reply.json()["count"] == 0
    finally:
        child.terminate()
        _, err = child.communicate(timeout=20)
    assert "Traceback" not in err, err
