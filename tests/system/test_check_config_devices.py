"""`hallctl check-config` refuses what `hallctl up` would stop on: a missing broker password file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE_CONFIG

ROOT = EXAMPLE_CONFIG.parent.parent
EXAMPLE_PASSWORD = 'password_file = "/etc/hall-controller/mqtt-password"'


def hallctl(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run hallctl in `cwd`; its exit code and output."""
    env = os.environ | {"HALLCTL_ADMIN_TOKEN": "check-config-test-token-00001"}
    return subprocess.run(
        [sys.executable, "-m", "controller.cli.main", *args],
        check=False,
        cwd=cwd,
        env=env | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def with_password_file(tmp_path: Path, password_file: Path) -> Path:
    """The example hall whose broker password is read from `password_file`."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    assert EXAMPLE_PASSWORD in text
    config = tmp_path / "hall.toml"
    config.write_text(
        text.replace(EXAMPLE_PASSWORD, f'password_file = "{password_file}"'), encoding="utf-8"
    )
    return config


def test_check_config_names_a_missing_broker_password_file_with_its_line(tmp_path: Path) -> None:
    missing = tmp_path / "secrets" / "mqtt-password"
    config = with_password_file(tmp_path, missing)
    result = hallctl("check-config", str(config))
    line = next(n for n, row in enumerate(config.read_text().split("\n"), 1) if str(missing) in row)
    assert result.returncode == 2, result.stdout
    expected = f"{config}:{line} [keypads.mqtt.broker.password_file]: the broker password file"
    assert expected in result.stderr and f"{missing} does not exist" in result.stderr


def test_check_config_refuses_an_empty_password_file_and_takes_a_good_one(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text("\n", encoding="utf-8")
    config = with_password_file(tmp_path, secret)
    empty = hallctl("check-config", str(config))
    assert empty.returncode == 2 and f"{secret} is empty" in empty.stderr
    secret.write_text("s3cret-for-the-test\n", encoding="utf-8")
    good = hallctl("check-config", str(config))
    assert good.returncode == 0 and "simulated: none" in good.stdout, good.stderr


def test_check_config_for_simulated_keypads_does_not_need_the_password_file(
    tmp_path: Path,
) -> None:
    config = with_password_file(tmp_path, tmp_path / "absent")
    for families in (["--simulate"], ["--simulate", "keypads,led"]):
        result = hallctl("check-config", str(config), *families)
        assert result.returncode == 0, result.stderr
    assert "simulated: led,keypads" in result.stdout
    wrong = hallctl("check-config", str(config), "--simulate", "keypad")
    assert wrong.returncode == 2 and "unknown device family keypad" in wrong.stderr


def test_up_stops_on_the_missing_password_file_before_it_opens_anything(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "mqtt-password"
    config = with_password_file(tmp_path, missing)
    data = tmp_path / "var"
    result = hallctl(
        "up", "--config", str(config), "--data", str(data), "--simulate", "printers,led,voice"
    )
    assert result.returncode == 2
    assert f"[keypads.mqtt.broker.password_file]: the broker password file {missing}" in (
        result.stderr
    )
    assert not (data / "hall.db").exists()
