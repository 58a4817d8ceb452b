"""Hostile text for property and fuzz tests: lone surrogates, control characters, bidi overrides,
combining marks, astral CJK, and very long or mixed-script runs."""

from __future__ import annotations

import json
import os

from hypothesis import strategies as st

# How many examples the API property and fuzz tests run: CI-sized unless asked for a longer run.
EXAMPLES = int(os.environ.get("HALL_API_FUZZ_EXAMPLES", "25"))

TRICKY = [
    "\ud800",  # a lone high surrogate ("x\ud800y" from a JSON escape)
    "\udfff",
    "\x00",  # NUL
    "\x1b",  # ESC (ESC/POS and terminal commands)
    "\t",
    "\n",
    "\r",
    "\x7f",
    "\x85",  # C1 next line
    "\u202e",  # right-to-left override
    "\u2066",
    "\u200d",  # zero width joiner (allowed)
    "\ufeff",
    "\u0301",  # combining acute: NFC folds e + U+0301 into é
    "e",
    "张",
    "三",
    "𠀀",  # astral CJK (GB18030 four-byte)
    " ",
    "<",
    ">",
    "A",
    "0",
    "-",
]
ALPHABET = st.sampled_from(TRICKY) | st.characters(codec="utf-8")
TEXT = (
    st.text(ALPHABET, max_size=24)
    | st.text(ALPHABET, min_size=40, max_size=400)
    | st.builds(
        lambda char, n: char * n, st.sampled_from(["很", "a", "𠀀", " "]), st.integers(1, 300)
    )
)


def json_body(value: object) -> bytes:
    """`value` as JSON bytes with ASCII escapes, so lone surrogates travel as "\\ud800"."""
    return json.dumps(value).encode("ascii")
