"""Tests of the hall configuration loader: the example loads, and every problem is reported
with its file, 1-based line and key.

Broken configurations are made by textual edits of config/hall.example.toml; the expected
line numbers are always computed from the edited text itself, never written as constants.
"""

from __future__ import annotations

import pytest

from controller.settings.config_loader import load_config, parse_config
from controller.settings.hall_config import HallConfig
from tests.config_text import (
    DIGEST,
    EXAMPLE,
    EXAMPLE_PATH,
    FILE,
    block,
    headers,
    line_in_block,
    line_starting,
    lines_of,
    only_problem,
    problems,
    replace_in_block,
    replace_line,
)

# --------------------------------------------------------------------------- the example


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE_PATH)

    assert isinstance(config, HallConfig)
    assert len(config.windows) == 12
    assert len(config.services) == 9
    prefixes = [s.prefix for s in config.services]
    assert len(set(prefixes)) == len(prefixes)
    assert len({s.code for s in config.services}) == 9
    assert len({w.number for w in config.windows}) == 12
    assert config.hall.timezone == "Asia/Shanghai"
    assert config.zone.key == "Asia/Shanghai"


def test_example_windows_only_serve_known_services() -> None:
    config = parse_config(EXAMPLE, file=FILE)
    codes = {s.code for s in config.services}
    assert all(set(w.services) <= codes for w in config.windows)
    assert {c for w in config.windows for c in w.services} == codes


def test_parse_config_accepts_crlf_line_endings() -> None:
    config = parse_config(EXAMPLE.replace("\n", "\r\n"), file=FILE)
    assert len(config.windows) == 12


# --------------------------------------------------------------------------- single errors


def test_window_serving_unknown_service() -> None:
    text, line = replace_in_block(
        EXAMPLE, "[[windows]]", 3, "services =", 'services = ["BDC", "NOPE"]'
    )
    problem = only_problem(text)
    assert problem.file == FILE
    assert problem.key == "windows[3].services[1]"
    assert problem.line == line
    assert "NOPE" in problem.message
    assert "window 4" in problem.message


def test_two_services_sharing_a_prefix() -> None:
    text, line = replace_in_block(EXAMPLE, "[[services]]", 1, "prefix =", 'prefix = "A"')
    problem = only_problem(text)
    assert (problem.file, problem.line, problem.key) == (FILE, line, "services[1].prefix")
    assert "'A'" in problem.message
    assert "services[0]" in problem.message


@pytest.mark.parametrize(
    "lunch",
    [
        'lunch = { start = "18:00", end = "19:00" }',  # after closing
        'lunch = { start = "07:30", end = "08:00" }',  # before opening
        'lunch = { start = "12:00", end = "18:00" }',  # runs past closing
    ],
)
def test_lunch_break_outside_opening_hours(lunch: str) -> None:
    """The check spans the whole day's table, so it is reported at `[calendar.hours.tue]`."""
    text, _ = replace_in_block(EXAMPLE, "[calendar.hours.tue]", 0, "lunch =", lunch)
    problem = only_problem(text)
    assert problem.file == FILE
    assert problem.key == "calendar.hours.tue"
    assert problem.line == line_starting(text, "[calendar.hours.tue]")
    assert "outside opening hours" in problem.message


def test_lunch_break_with_end_before_start_points_at_the_lunch_line() -> None:
    text, line = replace_in_block(
        EXAMPLE,
        "[calendar.hours.thu]",
        0,
        "lunch =",
        'lunch = { start = "13:00", end = "12:00" }',
    )
    problem = only_problem(text)
    assert (problem.line, problem.key) == (line, "calendar.hours.thu.lunch")
    assert "later than start" in problem.message


@pytest.mark.parametrize(
    ("prefix", "broken"),
    [
        ("recall_limit =", "recall_limit = = 2"),
        ("max_requeues =", 'max_requeues = "1'),  # unterminated string
        ("[alerts]", "[alerts"),  # unterminated table header
        ("late_policy =", 'late_policy = "normal"\nlate_policy = "refuse"'),  # duplicate key
    ],
)
def test_toml_syntax_error_reports_the_line_of_the_error(prefix: str, broken: str) -> None:
    text, line = replace_line(EXAMPLE, prefix, broken)
    error_line = line + broken.count("\n")  # a duplicate key is an error on its second line
    problem = only_problem(text)
    assert problem.file == FILE
    assert problem.line == error_line
    assert problem.key == ""
    assert problem.message.startswith("TOML syntax error:")
    assert "(at line" not in problem.message  # the position is moved into `line`


def test_toml_syntax_error_at_end_of_document_has_a_line() -> None:
    text, line = replace_line(EXAMPLE.rstrip("\n"), "tokens = []", "tokens = [")
    problem = only_problem(text)
    assert problem.message.startswith("TOML syntax error:")
    assert problem.line == line  # the last line of the file, where the array is left open


@pytest.mark.parametrize(
    ("header", "index", "after", "key"),
    [
        ("[[windows]]", 2, "name =", "windows[2].colour"),
        ("[queue]", 0, "max_requeues =", "queue.colour"),
        ("[calendar.hours.fri]", 0, "close =", "calendar.hours.fri.colour"),
        ("[hall]", 0, "timezone =", "hall.colour"),
    ],
)
def test_unknown_key_is_forbidden(header: str, index: int, after: str, key: str) -> None:
    number = line_in_block(EXAMPLE, header, index, after)
    old = lines_of(EXAMPLE)[number - 1]
    text, _ = replace_in_block(EXAMPLE, header, index, after, f'{old}\ncolour = "red"')
    problem = only_problem(text)
    assert (problem.file, problem.line, problem.key) == (FILE, number + 1, key)
    assert "Extra inputs are not permitted" in problem.message


def test_unknown_top_level_table_is_forbidden() -> None:
    text = EXAMPLE + '\n[display]\ntheme = "dark"\n'
    problem = only_problem(text)
    assert (problem.line, problem.key) == (line_starting(text, "[display]"), "display")


@pytest.mark.parametrize(
    ("header", "prefix", "new", "key"),
    [
        ("[calendar.hours.wed]", "open =", 'open = "8:30"', "calendar.hours.wed.open"),
        ("[calendar.hours.wed]", "close =", 'close = "17:5"', "calendar.hours.wed.close"),
        ("[calendar.hours.sat]", "close =", 'close = "24:00"', "calendar.hours.sat.close"),
        (
            "[calendar.hours.mon]",
            "lunch =",
            'lunch = { start = "12:00", end = "1:00" }',
            "calendar.hours.mon.lunch.end",
        ),
    ],
)
def test_bad_time_format(header: str, prefix: str, new: str, key: str) -> None:
    text, line = replace_in_block(EXAMPLE, header, 0, prefix, new)
    problem = only_problem(text)
    assert (problem.file, problem.line, problem.key) == (FILE, line, key)
    assert "HH:MM" in problem.message


def test_bad_time_in_a_service_slot_quota() -> None:
    """Slot quotas are inline tables in a multi-line array: reported at the slot's own line."""
    first, last = block(EXAMPLE, "[[services]]", 2)
    number = next(
        n
        for n in range(first, last + 1)
        if lines_of(EXAMPLE)[n - 1].lstrip().startswith('{ start = "13:00"')
    )
    lines = lines_of(EXAMPLE)
    lines[number - 1] = lines[number - 1].replace('"13:00"', '"1300"')
    text = "\n".join(lines)
    problem = only_problem(text)
    assert problem.key == "services[2].slot_quotas[1].start"
    assert problem.line == number != line_in_block(text, "[[services]]", 2, "slot_quotas =")


def test_bad_weekday_name_key_and_message() -> None:
    text, _ = replace_line(EXAMPLE, "[calendar.hours.sat]", "[calendar.hours.saturday]")
    problem = only_problem(text)
    assert problem.file == FILE
    assert problem.key == "calendar.hours.saturday"
    assert "saturday" in problem.message or "sat" in problem.message
    assert problem.line is not None


def test_bad_weekday_name_points_at_its_table() -> None:
    text, line = replace_line(EXAMPLE, "[calendar.hours.sat]", "[calendar.hours.saturday]")
    problem = only_problem(text)
    assert problem.line == line


def test_unknown_time_zone() -> None:
    text, line = replace_in_block(EXAMPLE, "[hall]", 0, "timezone =", 'timezone = "Asia/Beijing"')
    problem = only_problem(text)
    assert (problem.file, problem.line, problem.key) == (FILE, line, "hall.timezone")
    assert "Asia/Beijing" in problem.message


def test_duplicate_window_numbers() -> None:
    text, line = replace_in_block(EXAMPLE, "[[windows]]", 5, "number =", "number = 5")
    problem, *devices = problems(text)
    assert (problem.file, problem.line, problem.key) == (FILE, line, "windows[5].number")
    assert "windows[4]" in problem.message
    # Window 6 is gone, so the LED strip above it and its keypad name an unknown window.
    strip_line = line_in_block(text, "[[led.buses.strips]]", 5, "window =")
    keypad_line = line_in_block(text, "[[keypads.serial.buses]]", 0, "keypads =")
    strip = "LED strip led-1/6 hangs above unknown window 6"
    keypad = "keypad kp-bus-6 is at unknown window 6"
    assert [(p.line, p.key, p.message) for p in devices] == [
        (strip_line, "led.buses[0].strips[5].window", strip),
        (keypad_line, "keypads.serial.buses[0].keypads.6", keypad),
    ]


def test_a_keypad_line_on_an_led_port_is_refused() -> None:
    text, line = replace_in_block(
        EXAMPLE, "[[keypads.serial.buses]]", 0, "url =", 'url = "/dev/ttyUSB2"'
    )
    problem = only_problem(text)
    assert (problem.line, problem.key) == (line, "keypads.serial.buses[0].url")
    assert "shares port /dev/ttyUSB2 with an LED bus" in problem.message


def test_a_keypad_at_an_unknown_window_is_named_with_its_line() -> None:
    text, line = replace_in_block(EXAMPLE, "[keypads.mqtt.keypads]", 0, "kp-09 =", "kp-09 = 99")
    problem = only_problem(text)
    assert (problem.line, problem.key) == (line, "keypads.mqtt.keypads.kp-09")
    assert problem.message == "keypad kp-09 is at unknown window 99"


def test_weight_for_a_service_the_window_does_not_serve() -> None:
    text, line = replace_in_block(
        EXAMPLE, "[[windows]]", 1, "weights =", "weights = { SB = 2, YB = 1, GJJ = 1 }"
    )
    problem = only_problem(text)
    assert (problem.file, problem.line, problem.key) == (FILE, line, "windows[1].weights.GJJ")
    assert "GJJ" in problem.message
    assert "window 2" in problem.message


def test_weight_written_as_a_dotted_key_points_at_that_key() -> None:
    text, line = replace_in_block(
        EXAMPLE, "[[windows]]", 1, "weights =", "weights.SB = 2\nweights.CRJ = 1\nweights.YB = 1"
    )
    problem = only_problem(text)
    assert (problem.line, problem.key) == (line + 1, "windows[1].weights.CRJ")


def test_weighted_policy_without_weights() -> None:
    """No `weights` key is written, so the problem points at the window's `[[windows]]`."""
    text, _ = replace_in_block(EXAMPLE, "[[windows]]", 1, "weights =", "# weights removed")
    problem = only_problem(text)
    assert problem.file == FILE
    assert problem.key == "windows[1].weights"
    assert problem.line == headers(text, "[[windows]]")[1]
    assert "weighted" in problem.message


def test_slot_quotas_above_daily_quota() -> None:
    text, _ = replace_in_block(EXAMPLE, "[[services]]", 2, "daily_quota =", "daily_quota = 100")
    problem = only_problem(text)
    assert problem.file == FILE
    assert problem.key == "services[2].slot_quotas"
    assert problem.line == line_in_block(text, "[[services]]", 2, "slot_quotas =")
    assert "150" in problem.message
    assert "100" in problem.message


def test_window_staff_token_without_window_inline() -> None:
    token = f'{{ name = "w3", role = "window_staff", sha256 = "{DIGEST}" }}'
    text, line = replace_line(EXAMPLE, "tokens = []", f"tokens = [{token}]")
    problem = only_problem(text)
    assert (problem.file, problem.line, problem.key) == (FILE, line, "auth.tokens[0]")
    assert "window_staff" in problem.message


def test_window_staff_token_without_window_in_array_tables() -> None:
    tables = (
        f'[[auth.tokens]]\nname = "front desk"\nrole = "kiosk"\nsha256 = "{DIGEST}"\n\n'
        f'[[auth.tokens]]\nname = "w3"\nrole = "window_staff"\nsha256 = "{"0" * 64}"\n'
    )
    text, _ = replace_line(EXAMPLE, "tokens = []", tables)
    problem = only_problem(text)
    assert problem.key == "auth.tokens[1]"
    assert problem.line == headers(text, "[[auth.tokens]]")[1]
    assert "window_staff" in problem.message


def test_token_for_an_unknown_window() -> None:
    tables = (
        f'[[auth.tokens]]\nname = "w99"\nrole = "window_staff"\nwindow = 99\nsha256 = "{DIGEST}"\n'
    )
    text, _ = replace_line(EXAMPLE, "tokens = []", tables)
    problem = only_problem(text)
    assert problem.key == "auth.tokens[0].window"
    assert problem.line == line_starting(text, "window = 99")


def test_holiday_that_is_also_an_extra_working_day() -> None:
    """A whole-calendar check: reported at the `[calendar]` header, naming the date."""
    text, _ = replace_in_block(
        EXAMPLE, "[calendar]", 0, "holidays =", "holidays = [2026-10-10, 2026-01-01,"
    )
    problem = only_problem(text)
    assert problem.file == FILE
    assert problem.key == "calendar"
    assert problem.line == line_starting(text, "[calendar]")
    assert "2026-10-10" in problem.message


def test_staff_error_on_a_continuation_line_points_at_that_line() -> None:
    first, last = block(EXAMPLE, "[[windows]]", 0)
    lines = lines_of(EXAMPLE)
    number = next(n for n in range(first, last + 1) if 'role = "B"' in lines[n - 1])
    lines[number - 1] = lines[number - 1].replace('role = "B"', 'role = "C"')
    problem = only_problem("\n".join(lines))
    assert problem.key == "windows[0].staff[1].role"
    assert problem.line == number


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ('id = "S0101"', 'id = "S 0101"', "windows[0].staff[0].id", "1-32 位"),
        ('id = "S0101"', 'id = "临时01"', "windows[0].staff[0].id", "1-32 位"),
        ('name = "周文"', 'name = "周文\\t"', "windows[0].staff[0].name", "U+0009"),
        ('name = "周文"', f'name = "{"周" * 17}"', "windows[0].staff[0].name", "1-16"),
        ('post = "社保经办"', 'post = "社保\\u202e经办"', "windows[0].staff[0].post", "U+202E"),
    ],
)
def test_a_roster_entry_outside_the_value_rules_is_named_with_its_line(
    old: str, new: str, key: str, problem: str
) -> None:
    """The config takes exactly the staff ids and names the API, keypads and satisfaction API take."""
    first, last = block(EXAMPLE, "[[windows]]", 0)
    lines = lines_of(EXAMPLE)
    number = next(n for n in range(first, last + 1) if old in lines[n - 1])
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    found = only_problem("\n".join(lines))
    assert (found.key, found.line) == (key, number)
    assert problem in found.message
