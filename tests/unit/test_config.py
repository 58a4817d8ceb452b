"""Tests of the hall configuration loader: the example loads, and every problem is reported
with its file, 1-based line and key.

Broken configurations are made by textual edits of config/hall.example.toml; the expected
line numbers are always computed from the edited text itself, never written as constants.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.domain.errors import ConfigError, ConfigProblem
from controller.settings.config_loader import load_config, locate_keys, parse_config
from controller.settings.hall_config import HallConfig

ROOT = Path(__file__).resolve().parents[2]

EXAMPLE_PATH = ROOT / "config" / "hall.example.toml"
EXAMPLE = EXAMPLE_PATH.read_text(encoding="utf-8")
FILE = "hall-under-test.toml"

# A syntactically valid token digest (sha256 of the empty string).
DIGEST = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# --------------------------------------------------------------------------- helpers


def lines_of(text: str) -> list[str]:
    """The lines of `text` as TOML counts them (only \\n ends a line)."""
    return text.split("\n")


def headers(text: str, header: str) -> list[int]:
    """1-based line numbers of every line that starts with the table header `header`."""
    return [n for n, line in enumerate(lines_of(text), start=1) if line.startswith(header)]


def block(text: str, header: str, index: int = 0) -> tuple[int, int]:
    """(first, last) 1-based lines of the `index`-th table whose header is `header`."""
    lines = lines_of(text)
    start = headers(text, header)[index]
    end = start
    while end < len(lines) and not lines[end].startswith("["):
        end += 1
    return start, end


def line_in_block(text: str, header: str, index: int, prefix: str) -> int:
    """1-based line, inside the `index`-th `header` table, of the line starting with `prefix`."""
    first, last = block(text, header, index)
    lines = lines_of(text)
    found = [n for n in range(first, last + 1) if lines[n - 1].startswith(prefix)]
    assert len(found) == 1, f"{prefix!r} is not unique in {header}#{index}: {found}"
    return found[0]


def replace_in_block(text: str, header: str, index: int, prefix: str, new: str) -> tuple[str, int]:
    """Replace the line starting with `prefix` in the `index`-th `header` table by `new`.

    Returns the edited text and the 1-based number of the edited line.
    """
    number = line_in_block(text, header, index, prefix)
    lines = lines_of(text)
    lines[number - 1] = new
    return "\n".join(lines), number


def replace_line(text: str, prefix: str, new: str) -> tuple[str, int]:
    """Replace the one line of `text` starting with `prefix` by `new` (may span lines)."""
    lines = lines_of(text)
    found = [n for n, line in enumerate(lines, start=1) if line.startswith(prefix)]
    assert len(found) == 1, f"{prefix!r} is not unique: {found}"
    lines[found[0] - 1] = new
    return "\n".join(lines), found[0]


def line_starting(text: str, prefix: str) -> int:
    """1-based number of the one line of `text` starting with `prefix`."""
    found = [n for n, line in enumerate(lines_of(text), start=1) if line.startswith(prefix)]
    assert len(found) == 1, f"{prefix!r} is not unique: {found}"
    return found[0]


def problems(text: str) -> list[ConfigProblem]:
    """The problems parse_config reports for `text` (fails if it loads)."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file=FILE)
    assert caught.value.problems, "ConfigError without problems"
    return caught.value.problems


def only_problem(text: str) -> ConfigProblem:
    found = problems(text)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def where(found: list[ConfigProblem]) -> set[tuple[int | None, str]]:
    return {(p.line, p.key) for p in found}


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


# --------------------------------------------------------------------------- locate_keys


def test_locate_keys_plain_tables_and_keys() -> None:
    text = '# comment\n\n[hall]\nname = "x"   # trailing\n  timezone = "UTC"\n[queue]\nrecall_limit = 2\n'
    assert locate_keys(text) == {
        ("hall",): 3,
        ("hall", "name"): 4,
        ("hall", "timezone"): 5,
        ("queue",): 6,
        ("queue", "recall_limit"): 7,
    }


def test_locate_keys_array_of_tables() -> None:
    text = (
        "[[windows]]\n"
        "number = 1\n"
        'services = ["SB"]\n'
        "\n"
        "[[windows]]  # second\n"
        "number = 2\n"
        'services = ["SB", "YB"]\n'
        "[[ windows ]]\n"
        'services = ["ZH"]\n'
    )
    lines = locate_keys(text)
    assert lines[("windows",)] == 1
    assert lines[("windows", 0)] == 1
    assert lines[("windows", 0, "number")] == 2
    assert lines[("windows", 0, "services")] == 3
    assert lines[("windows", 1)] == 5
    assert lines[("windows", 1, "number")] == 6
    assert lines[("windows", 1, "services")] == 7
    assert lines[("windows", 2)] == 8
    assert lines[("windows", 2, "services")] == 9


def test_locate_keys_nested_array_tables_and_sub_tables_of_elements() -> None:
    text = (
        "[[windows]]\n"  # 1
        "number = 1\n"
        "[[windows.staff]]\n"  # 3
        'id = "a"\n'
        "[[windows]]\n"  # 5
        "number = 2\n"
        "[[windows.staff]]\n"  # 7
        'id = "b"\n'
        "[[windows.staff]]\n"  # 9
        'id = "c"\n'
        "[windows.weights]\n"  # 11
        "SB = 2\n"
    )
    lines = locate_keys(text)
    assert lines[("windows", 0, "staff", 0)] == 3
    assert lines[("windows", 0, "staff", 0, "id")] == 4
    assert lines[("windows", 1)] == 5
    assert lines[("windows", 1, "number")] == 6
    assert lines[("windows", 1, "staff", 0)] == 7
    assert lines[("windows", 1, "staff", 0, "id")] == 8
    assert lines[("windows", 1, "staff", 1)] == 9
    assert lines[("windows", 1, "staff", 1, "id")] == 10
    assert lines[("windows", 1, "weights")] == 11
    assert lines[("windows", 1, "weights", "SB")] == 12
    assert tomllib.loads(text)["windows"][1]["staff"][1]["id"] == "c"  # the snippet is valid


def test_locate_keys_calendar_sub_tables() -> None:
    text = (
        "[calendar]\n"
        "holidays = [2026-01-01,\n"
        "            2026-10-01]\n"
        'extra_working_day_hours = "mon"\n'
        "[calendar.hours.mon]\n"
        'open = "08:30"\n'
        'lunch = { start = "12:00", end = "13:00" }\n'
        "[ calendar . hours . sat ]   # Saturday\n"
        'close = "12:00"\n'
    )
    lines = locate_keys(text)
    assert lines[("calendar",)] == 1
    assert lines[("calendar", "holidays")] == 2
    assert lines[("calendar", "extra_working_day_hours")] == 4
    assert lines[("calendar", "hours", "mon")] == 5
    assert lines[("calendar", "hours", "mon", "open")] == 6
    assert lines[("calendar", "hours", "mon", "lunch")] == 7
    assert lines[("calendar", "hours", "sat")] == 8
    assert lines[("calendar", "hours", "sat", "close")] == 9
    assert not any(loc[-1] == "2026-10-01" for loc in lines)


def test_locate_keys_dotted_keys() -> None:
    text = (
        'hall.name = "x"\n'
        "[calendar]\n"
        'hours.mon.open = "08:30"\n'
        'hours . mon . close = "17:30"\n'
        "[[windows]]\n"
        'weights."SB" = 2\n'
        "weights.YB = 1\n"
    )
    lines = locate_keys(text)
    assert lines[("hall", "name")] == 1
    assert lines[("calendar", "hours", "mon", "open")] == 3
    assert lines[("calendar", "hours", "mon", "close")] == 4
    assert lines[("windows", 0, "weights", "SB")] == 6
    assert lines[("windows", 0, "weights", "YB")] == 7


def test_locate_keys_inline_tables_map_to_their_key_line() -> None:
    text = (
        "[[services]]\n"
        "slot_quotas = [\n"
        '  { start = "08:30", end = "12:00", quota = 90 },\n'
        "]\n"
        'materials = ["a = b", "c"]\n'
    )
    lines = locate_keys(text)
    assert lines[("services", 0, "slot_quotas")] == 2
    assert lines[("services", 0, "materials")] == 5
    assert ("services", 0, "start") not in lines


def test_locate_keys_on_the_example_finds_every_windows_services_line() -> None:
    lines = locate_keys(EXAMPLE)
    for index in range(12):
        expected = line_in_block(EXAMPLE, "[[windows]]", index, "services =")
        assert lines[("windows", index, "services")] == expected
    for index in range(9):
        expected = line_in_block(EXAMPLE, "[[services]]", index, "prefix =")
        assert lines[("services", index, "prefix")] == expected


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_locate_keys_counts_only_newlines(separator: str) -> None:
    text = f'[hall]   # 青山县{separator}政务服务中心\nname = "x"\ntimezone = "UTC"\n'
    assert tomllib.loads(text)["hall"]["timezone"] == "UTC"
    assert locate_keys(text)[("hall", "timezone")] == 3


def test_line_after_a_name_containing_a_line_separator() -> None:
    text, _ = replace_in_block(EXAMPLE, "[[windows]]", 0, "name =", 'name = "社保\u2028窗口"')
    text, line = replace_in_block(text, "[[windows]]", 9, "services =", 'services = ["SWX"]')
    problem = only_problem(text)
    assert (problem.line, problem.key) == (line, "windows[9].services[0]")


def test_locate_keys_ignores_multi_line_string_content() -> None:
    text = '[hall]\nname = """\n[note]\nsee = 1\n"""\ntimezone = "UTC"\n'
    assert tomllib.loads(text)["hall"]["timezone"] == "UTC"
    lines = locate_keys(text)
    assert lines.get(("hall", "timezone")) == 6
    assert ("note",) not in lines


# --------------------------------------------------------------------------- property

KNOWN_CODES = {s["code"] for s in tomllib.loads(EXAMPLE)["services"]}
WINDOW_COUNT = len(tomllib.loads(EXAMPLE)["windows"])

unknown_codes = st.one_of(
    st.from_regex(r"[A-Z0-9_]{1,16}", fullmatch=True),
    st.text(
        # TOML basic-string safe; line/paragraph separators are covered by the test above
        alphabet=st.characters(
            exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters='"\\'
        ),
        min_size=1,
        max_size=12,
    ),
).filter(lambda code: code not in KNOWN_CODES)


@settings(deadline=None, max_examples=150)
@given(
    index=st.integers(min_value=0, max_value=WINDOW_COUNT - 1),
    code=unknown_codes,
    position=st.integers(min_value=0, max_value=10),
)
def test_unknown_service_is_reported_on_the_windows_services_line(
    index: int, code: str, position: int
) -> None:
    number = line_in_block(EXAMPLE, "[[windows]]", index, "services =")
    old = lines_of(EXAMPLE)[number - 1]
    services = tomllib.loads(old)["services"]
    position = min(position, len(services))
    services.insert(position, code)
    listed = ", ".join(f'"{s}"' for s in services)
    text, line = replace_in_block(
        EXAMPLE, "[[windows]]", index, "services =", f"services = [{listed}]"
    )
    assert line == number

    problem = only_problem(text)
    assert problem.file == FILE
    assert problem.key == f"windows[{index}].services[{position}]"
    assert problem.line == line
    assert repr(code) in problem.message


def test_locate_keys_finds_each_inline_table_of_an_array_and_its_keys() -> None:
    text = "\n".join(
        [
            "[[windows]]",  # 1
            'staff = [{ id = "S1", name = "甲 [A] {x} #1", role = "A" },',  # 2
            "  # a comment line inside the array",  # 3
            '         { id = "S2", post = "he said \\"hi\\"", role = "B" }]  # end',  # 4
            'services = ["SB", "YB"]',  # 5
            "slots = [ { start = '09:00', days = [1, 2] }, { start = '13:00' } ]",  # 6
            "after = 1",  # 7
        ]
    )
    lines = locate_keys(text)
    assert lines[("windows", 0, "staff")] == 2
    assert lines[("windows", 0, "staff", 0)] == lines[("windows", 0, "staff", 0, "role")] == 2
    assert lines[("windows", 0, "staff", 1)] == lines[("windows", 0, "staff", 1, "role")] == 4
    assert lines[("windows", 0, "staff", 1, "post")] == 4
    assert ("windows", 0, "staff", 2) not in lines  # the "{x}" in a string is no table
    assert lines[("windows", 0, "services")] == 5
    assert lines[("windows", 0, "slots", 1, "start")] == 6
    assert lines[("windows", 0, "after")] == 7  # the rows after the array are read as before
