"""The embedded API takes its 差评 rectify deadline and holiday calendar from the hall config."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from controller.domain.errors import ConfigError
from controller.satisfaction.embedded import embedded_satisfaction_app
from controller.settings.config_loader import load_config
from tests.conftest import EXAMPLE_CONFIG
from tests.integration.satisfaction.conftest import NOW, at, record

TOKEN = "outbox-token-for-tests-0001"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
ENV = "HALLCTL_SATISFACTION_RECTIFY_WORKING_DAYS"


def _hall_file(tmp_path: Path, satisfaction_lines: str) -> Path:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    marker, example = "[satisfaction]\n", "rectify_working_days = 15\n"
    assert marker in text and example in text  # the example says it, with the default
    text = text.replace(example, "")
    path = tmp_path / "hall.toml"
    path.write_text(text.replace(marker, marker + satisfaction_lines), encoding="utf-8")
    return path


def _deadline_of_a_bad_rating_on_30_september(hall_file: Path, data: Path) -> str:
    app = embedded_satisfaction_app(
        load_config(hall_file), data, outbox_token=TOKEN, clock=lambda: NOW
    )
    try:
        client = TestClient(app)
        bad = record(
            "20260930-A001",
            level="dissatisfied",
            reasons=["R01"],
            finished_at=at("2026-09-30 10:00"),
            rated_at=at("2026-09-30 10:01"),
        )
        reply = client.post("/api/v1/evaluations", json={"records": [bad]}, headers=HEADERS)
        assert reply.status_code == 200, reply.text
        orders = client.get("/api/v1/work-orders", headers=HEADERS).json()["items"]
        return str(orders[0]["deadline"])
    finally:
        app.state.satisfaction.engine.dispose()


def test_the_hall_config_sets_the_rectify_days_counted_on_its_holiday_calendar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "7")  # the hall's own rule wins over the process-wide setting
    hall_file = _hall_file(tmp_path, "rectify_working_days = 5\n")
    # The example hall works Mon-Sat; National Day 10-01, 10-02, 10-05..07 are holidays.
    # From Wed 09-30: Sat 10-03 (1), Thu 10-08 (2), Fri 10-09 (3), Sat 10-10 (4), Mon 10-12 (5).
    assert _deadline_of_a_bad_rating_on_30_september(hall_file, tmp_path) == "2026-10-12"


def test_without_the_key_the_setting_or_15_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hall_file = _hall_file(tmp_path, "")
    monkeypatch.setenv(ENV, "1")
    assert _deadline_of_a_bad_rating_on_30_september(hall_file, tmp_path / "a") == "2026-10-03"
    monkeypatch.delenv(ENV)
    # 10-03 (1), 10-08..10 (2-4), 10-12..17 (5-10), 10-19..23 (11-15).
    assert _deadline_of_a_bad_rating_on_30_september(hall_file, tmp_path / "b") == "2026-10-23"


@pytest.mark.parametrize("value", ["0", "61", '"a fortnight"'])
def test_a_bad_rectify_value_names_the_file_and_key(tmp_path: Path, value: str) -> None:
    hall_file = _hall_file(tmp_path, f"rectify_working_days = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(hall_file)
    message = str(caught.value)
    assert "satisfaction.rectify_working_days" in message and str(hall_file) in message
