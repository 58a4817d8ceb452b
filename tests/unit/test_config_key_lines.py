"""Tests of `locate_keys`: every key of a hall config found on its 1-based line, in every TOML form."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.settings.config_loader import locate_keys
from tests.config_text import (
    EXAMPLE,
    FILE,
    line_in_block,
    lines_of,
    only_problem,
    replace_in_block,
)

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
