"""Load a hall configuration file, reporting every problem with file, line and key."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import ValidationError

from controller.domain.errors import ConfigError, ConfigProblem
from controller.domain.state import CallingPolicy
from controller.settings.config_sections import device_references
from controller.settings.hall_config import HallConfig

Loc = tuple[str | int, ...]

_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)|\(at end of document\)")
_ARRAY_TABLE = re.compile(r"^\[\[\s*(.+?)\s*\]\]")
_TABLE = re.compile(r"^\[\s*(.+?)\s*\]")
_INLINE_KEY = re.compile(
    r'\s*((?:"[^"]*"|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|[A-Za-z0-9_\-]+))*)\s*='
)
_KEY = re.compile(
    r'^((?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|[A-Za-z0-9_\-]+))*)\s*='
)


def load_config(path: str | Path) -> HallConfig:
    """Read, parse and validate a hall config; raise ConfigError listing every problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as err:
        raise ConfigError([ConfigProblem(file, None, "", "file not found")]) from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError([ConfigProblem(file, None, "", f"cannot read file: {err}")]) from err
    return parse_config(text, file=file)


def parse_config(text: str, *, file: str = "<config>") -> HallConfig:
    """Parse and validate config text; raise ConfigError listing every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        match = _TOML_POSITION.search(str(err))
        line = int(match.group(1)) if match and match.group(1) else None
        if match is not None and match.group(1) is None:
            line = max(1, len(text.split("\n")))
        message = _TOML_POSITION.sub("", str(err)).strip()
        raise ConfigError([ConfigProblem(file, line, "", f"TOML syntax error: {message}")]) from err
    lines = locate_keys(text)
    try:
        config = HallConfig.model_validate(raw)
    except ValidationError as err:
        problems = [
            _problem(
                file,
                lines,
                tuple(p for p in e["loc"] if p != "[key]"),
                e["msg"].removeprefix("Value error, "),
            )
            for e in err.errors()
        ]
        problems += [_problem(file, lines, loc, msg) for loc, msg in cross_check_raw(raw)]
        raise ConfigError(problems) from err
    problems = [_problem(file, lines, loc, msg) for loc, msg in cross_check(config)]
    if problems:
        raise ConfigError(problems)
    return config


def cross_check(config: HallConfig) -> list[tuple[Loc, str]]:
    """Rules that span several sections: references, uniqueness, quotas inside hours."""
    found: list[tuple[Loc, str]] = []
    found += _duplicates("services", "code", [s.code for s in config.services])
    found += _duplicates("services", "prefix", [s.prefix for s in config.services])
    found += _duplicates("windows", "number", [w.number for w in config.windows])
    codes = {s.code for s in config.services}
    staff_ids: Counter[str] = Counter()
    for w_index, window in enumerate(config.windows):
        for s_index, code in enumerate(window.services):
            if code not in codes:
                found.append(
                    (
                        ("windows", w_index, "services", s_index),
                        f"window {window.number} serves unknown service {code!r}",
                    )
                )
        if len(set(window.services)) != len(window.services):
            found.append((("windows", w_index, "services"), "a service is listed twice"))
        for code in window.weights:
            if code not in window.services:
                found.append(
                    (
                        ("windows", w_index, "weights", code),
                        f"weight for {code!r}, which window {window.number} does not serve",
                    )
                )
        if window.policy is CallingPolicy.WEIGHTED and not window.weights:
            found.append((("windows", w_index, "weights"), "policy 'weighted' needs weights"))
        roles = Counter(member.role for member in window.staff)
        for role, count in roles.items():
            if count > 1:
                found.append((("windows", w_index, "staff"), f"more than one {role} role"))
        staff_ids.update(member.id for member in window.staff)
    for staff_id, count in staff_ids.items():
        if count > 1:
            found.append((("windows",), f"staff id {staff_id!r} is on {count} windows' rosters"))
    served = {code for w in config.windows for code in w.services}
    for s_index, service in enumerate(config.services):
        if service.code not in served:
            found.append((("services", s_index, "code"), f"no window serves {service.code!r}"))
        slot_total = sum(slot.quota for slot in service.slot_quotas)
        if slot_total > service.daily_quota:
            found.append(
                (
                    ("services", s_index, "slot_quotas"),
                    f"slot quotas add up to {slot_total}, above daily_quota {service.daily_quota}",
                )
            )
    for index, token in enumerate(config.auth.tokens):
        if token.window is not None and config.window(token.window) is None:
            found.append((("auth", "tokens", index, "window"), f"unknown window {token.window}"))
    found += _duplicates("auth.tokens", "sha256", [t.sha256 for t in config.auth.tokens])
    found += _duplicates("printers", "id", [p.id for p in config.printers])
    found += device_references(config)
    return found


def cross_check_raw(raw: dict[str, object]) -> list[tuple[Loc, str]]:
    """The reference checks that still make sense on a config that failed the schema."""
    services = [s for s in _table_list(raw.get("services")) if isinstance(s.get("code"), str)]
    codes = {s["code"] for s in services}
    found: list[tuple[Loc, str]] = []
    found += _duplicates("services", "prefix", [s.get("prefix") for s in services])
    for w_index, window in enumerate(_table_list(raw.get("windows"))):
        listed = window.get("services")
        if not isinstance(listed, list):
            continue
        for s_index, code in enumerate(listed):
            if isinstance(code, str) and code not in codes:
                found.append(
                    (
                        ("windows", w_index, "services", s_index),
                        f"window {window.get('number')} serves unknown service {code!r}",
                    )
                )
    return found


def _table_list(value: object) -> list[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def locate_keys(text: str) -> dict[Loc, int]:
    """Map each key path in TOML text (("windows", 2, "services")) to its 1-based line."""
    lines: dict[Loc, int] = {}
    counts: dict[Loc, int] = {}
    current: Loc = ()

    def resolve(parts: Sequence[str]) -> Loc:
        path: Loc = ()
        for part in parts:
            path = (*path, part)
            if path in counts:
                path = (*path, counts[path])
        return path

    in_multiline = False
    rows = text.split("\n")
    skip_to = 0  # rows up to this one continue an array value already scanned
    for number, raw in enumerate(rows, start=1):
        if number <= skip_to:
            continue
        line = raw.strip()
        quotes = line.count('"""') + line.count("'''")
        if in_multiline:
            in_multiline = quotes % 2 == 0
            continue
        if not line or line.startswith("#"):
            continue
        if quotes % 2 == 1:
            in_multiline = True
        if match := _ARRAY_TABLE.match(line):
            parts = _split_dotted(match.group(1))
            base = (*resolve(parts[:-1]), parts[-1])
            counts[base] = counts.get(base, -1) + 1
            current = (*base, counts[base])
            lines.setdefault(base, number)
            lines[current] = number
        elif match := _TABLE.match(line):
            current = resolve(_split_dotted(match.group(1)))
            for end in range(1, len(current) + 1):
                lines.setdefault(current[:end], number)
        elif match := _KEY.match(line):
            key = (*current, *_split_dotted(match.group(1)))
            lines.setdefault(key, number)
            value = line[match.end() :].lstrip()
            if value.startswith("[") and not in_multiline:
                skip_to = _array_lines(key, rows, number, value, lines)
    return lines


def _array_lines(
    key: Loc, rows: Sequence[str], number: int, value: str, lines: dict[Loc, int]
) -> int:
    """Lines of an array value's inline tables and their keys (key[i], key[i].name); last row.

    The array starts with `value` on row `number` and may run over the following rows.
    """
    depth, braces, index, quote, want_key = 0, 0, -1, "", False
    text, row = value, number
    while True:
        position = 0
        while position < len(text):
            char = text[position]
            if quote:
                if quote == '"' and char == "\\":
                    position += 1  # an escaped character in a basic string
                quote = "" if char == quote else quote
            elif char in "\"'":
                quote = char
            elif char == "#":
                break  # a comment ends the row
            elif char == "[":
                depth += 1
            elif char == "]":
                depth -= 1
                if depth == 0:
                    return row
            elif char == "{":
                braces += 1
                if depth == 1 and braces == 1:
                    index += 1
                    lines.setdefault((*key, index), row)
                    want_key = True
            elif char == "}":
                braces -= 1
            elif char == "," and depth == 1 and braces == 1:
                want_key = True
            elif want_key and (name := _INLINE_KEY.match(text, position)):
                lines.setdefault((*key, index, *_split_dotted(name.group(1))), row)
                want_key = False
                position = name.end()
                continue
            position += 1
        if row >= len(rows):
            return row
        row += 1
        text = rows[row - 1]


def _split_dotted(key: str) -> list[str]:
    return [
        part.strip().strip("\"'") for part in re.split(r"\.(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", key)
    ]


def _problem(file: str, lines: dict[Loc, int], loc: Loc, message: str) -> ConfigProblem:
    key = _format_loc(loc)
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return ConfigProblem(file, lines[loc[:end]], key, message)
    return ConfigProblem(file, None, key, message)


def _format_loc(loc: Iterable[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _duplicates(section: str, field: str, values: Sequence[object]) -> list[tuple[Loc, str]]:
    seen: dict[object, int] = {}
    found: list[tuple[Loc, str]] = []
    head: Loc = tuple(section.split("."))
    for index, value in enumerate(values):
        if value in seen:
            found.append(
                (
                    (*head, index, field),
                    f"{field} {value!r} is already used by {section}[{seen[value]}]",
                )
            )
        else:
            seen[value] = index
    return found
