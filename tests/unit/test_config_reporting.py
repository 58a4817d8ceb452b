"""Tests of how the hall config loader reports: every problem at once, and files it cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.domain.errors import ConfigError
from controller.settings.config_loader import load_config
from tests.config_text import (
    EXAMPLE,
    FILE,
    line_in_block,
    lines_of,
    problems,
    replace_in_block,
    where,
)

# --------------------------------------------------------------------------- many at once


def test_several_schema_problems_are_all_reported() -> None:
    text, tz_line = replace_in_block(EXAMPLE, "[hall]", 0, "timezone =", 'timezone = "Mars/Base"')
    text, open_line = replace_in_block(text, "[calendar.hours.wed]", 0, "open =", 'open = "8:30"')
    text, colour_line = replace_in_block(text, "[queue]", 0, "max_requeues =", 'colour = "red"')
    role_line = line_in_block(text, "[[windows]]", 11, "staff =")
    staff = lines_of(text)[role_line - 1].replace('role = "A"', 'role = "X"')
    text, _ = replace_in_block(text, "[[windows]]", 11, "staff =", staff)
    found = problems(text)
    assert all(p.file == FILE for p in found)
    assert where(found) == {
        (tz_line, "hall.timezone"),
        (open_line, "calendar.hours.wed.open"),
        (colour_line, "queue.colour"),
        (role_line, "windows[11].staff[0].role"),
    }


def test_several_cross_section_problems_are_all_reported() -> None:
    text, svc_line = replace_in_block(
        EXAMPLE, "[[windows]]", 0, "services =", 'services = ["SB", "NOPE"]'
    )
    text, prefix_line = replace_in_block(text, "[[services]]", 4, "prefix =", 'prefix = "D"')
    text, number_line = replace_in_block(text, "[[windows]]", 10, "number =", "number = 10")
    text, _ = replace_in_block(text, "[[services]]", 2, "daily_quota =", "daily_quota = 10")
    quota_line = line_in_block(text, "[[services]]", 2, "slot_quotas =")
    strip_line = line_in_block(text, "[[led.buses.strips]]", 10, "window =")
    keypad_line = line_in_block(text, "[keypads.mqtt.keypads]", 0, "kp-11 =")
    found = problems(text)
    assert all(p.file == FILE for p in found)
    assert where(found) == {
        (svc_line, "windows[0].services[1]"),
        (prefix_line, "services[4].prefix"),
        (number_line, "windows[10].number"),
        (strip_line, "led.buses[0].strips[10].window"),  # window 11 is gone: its devices
        (keypad_line, "keypads.mqtt.keypads.kp-11"),
        (quota_line, "services[2].slot_quotas"),
    }


def test_schema_and_cross_section_problems_are_reported_together() -> None:
    text, tz_line = replace_in_block(EXAMPLE, "[hall]", 0, "timezone =", 'timezone = "Mars/Base"')
    text, svc_line = replace_in_block(
        text, "[[windows]]", 0, "services =", 'services = ["SB", "NOPE"]'
    )
    found = problems(text)
    assert where(found) == {(tz_line, "hall.timezone"), (svc_line, "windows[0].services[1]")}


# --------------------------------------------------------------------------- reading files


def test_load_config_reports_the_path_it_was_given(tmp_path: Path) -> None:
    text, line = replace_in_block(EXAMPLE, "[hall]", 0, "timezone =", 'timezone = "Nowhere/X"')
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.key) == (str(path), line, "hall.timezone")
    assert str(problem).startswith(f"{path}:{line} [hall.timezone]: ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "no-such-hall.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [problem] = caught.value.problems
    assert problem.file == str(path)
    assert problem.line is None
    assert "not found" in problem.message
    assert str(path) in str(caught.value)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "hall-gbk.toml"
    path.write_bytes(EXAMPLE.encode("gbk"))  # a Chinese Windows editor's usual encoding
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [problem] = caught.value.problems
    assert problem.file == str(path)
    assert problem.line is None
    assert "cannot read file" in problem.message
    assert "utf-8" in problem.message.lower()


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    [problem] = caught.value.problems
    assert problem.file == str(tmp_path)
    assert "cannot read file" in problem.message


def test_utf8_file_with_bom_loads_or_says_so(tmp_path: Path) -> None:
    path = tmp_path / "hall-bom.toml"
    path.write_bytes(EXAMPLE.encode("utf-8-sig"))  # as saved by Windows Notepad
    try:
        config = load_config(path)
    except ConfigError as err:
        assert "BOM" in str(err) or "byte order mark" in str(err).lower()
    else:
        assert len(config.windows) == 12
