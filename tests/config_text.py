"""Broken hall configs made by textual edits of config/hall.example.toml, and their problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.domain.errors import ConfigError, ConfigProblem
from controller.settings.config_loader import parse_config

ROOT = Path(__file__).resolve().parents[1]

EXAMPLE_PATH = ROOT / "config" / "hall.example.toml"
EXAMPLE = EXAMPLE_PATH.read_text(encoding="utf-8")
FILE = "hall-under-test.toml"

# A syntactically valid token digest (sha256 of the empty string).
DIGEST = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


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
