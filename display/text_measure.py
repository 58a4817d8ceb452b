"""Text measurement for screen layouts without a font: CJK is 1 em wide, other characters 0.5 em.

The widths match "WenQuanYi Zen Hei Mono" exactly (half-width ASCII, full-width CJK) and
over-estimate proportional fonts slightly; the drawer still shrinks any run that does not fit.
"""

from __future__ import annotations

import math
import unicodedata

ELLIPSIS = "…"
# Characters that must not start a line (避头标点): they stay at the end of the line before.
_NO_LINE_START = frozenset("，。、；：！？）》」』】〕,.;:!?)")


def text_em(text: str) -> float:
    """Width of `text` in ems: wide, full-width and ambiguous characters 1, the rest 0.5."""
    return sum(_char_em(char) for char in text)


def text_px(text: str, size: int) -> int:
    """Width of `text` drawn at `size` pixels per em, rounded up."""
    return math.ceil(text_em(text) * size)


def fit_text(text: str, size: int, width: int) -> str:
    """`text` if it fits `width` at `size`; otherwise its longest prefix that fits, plus "…"."""
    if text_px(text, size) <= width:
        return text
    budget = width / size - text_em(ELLIPSIS)
    used = 0.0
    for index, char in enumerate(text):
        used += _char_em(char)
        if used > budget:
            return text[:index].rstrip() + ELLIPSIS if index else ELLIPSIS
    return text


def fit_size(text: str, width: int, largest: int, smallest: int) -> int:
    """The largest size in [smallest, largest] at which `text` fits `width` (else `smallest`)."""
    em = text_em(text)
    if em <= 0:
        return largest
    return max(smallest, min(largest, math.floor(width / em)))


def wrap_text(text: str, size: int, width: int) -> list[str]:
    """Break `text` into lines no wider than `width` at `size`; newlines are kept as breaks."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(_wrap_paragraph(paragraph.strip(), width / size))
    return lines


def wrap_to_box(
    text: str,
    width: int,
    height: int,
    largest: int,
    smallest: int,
    *,
    line_spacing: float = 1.3,
) -> tuple[int, list[str]]:
    """The largest size (down to `smallest`) whose wrapped lines fit the box, and those lines.

    At `smallest` the lines that do not fit are dropped and the last one ends with "…".
    """
    size = largest
    while True:
        lines = wrap_text(text, size, width)
        fits = len(lines) * size * line_spacing <= height
        if fits or size <= smallest:
            break
        size = max(smallest, int(size * 0.9))
    room = max(1, int(height // (size * line_spacing)))
    if len(lines) > room:
        lines = lines[:room]
        lines[-1] = _end_with_ellipsis(lines[-1], size, width)
    return size, lines


def _end_with_ellipsis(text: str, size: int, width: int) -> str:
    budget = width / size - text_em(ELLIPSIS)
    while text and text_em(text) > budget:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


def _wrap_paragraph(paragraph: str, width_em: float) -> list[str]:
    lines: list[str] = []
    line, used = "", 0.0
    for char in paragraph:
        em = _char_em(char)
        if used + em > width_em and line and char not in _NO_LINE_START:
            lines.append(line.rstrip())
            line, used = "", 0.0
            if char == " ":
                continue
        line += char
        used += em
    lines.append(line.rstrip())
    return lines


def _char_em(char: str) -> float:
    if unicodedata.combining(char):
        return 0.0
    return 1.0 if unicodedata.east_asian_width(char) in ("W", "F", "A") else 0.5
