"""Summarise py-spy's raw (collapsed) stacks: busy samples by thread, inclusive and self by function.

.venv/bin/python -m benchmarks.profile_summary /tmp/prof/hall.txt [--top 30] [--match TEXT]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"(?P<stack>.*) (?P<count>\d+)$")
_WHERE = re.compile(r" \((?P<file>[^:()]+):\d+\)$")


def _name(frame: str) -> str:
    # "Journal.append (controller/app/journal.py:150)" -> "Journal.append (controller/app/journal.py)"
    return _WHERE.sub(lambda m: f" ({m['file']})", frame)


def summarise(path: Path, top: int, match: str | None) -> None:
    """Print the busy samples per thread, then the functions most often on the stack."""
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        found = _LINE.match(line)
        if found is None:
            continue
        frames = found["stack"].split(";")
        if match and not any(match in f for f in frames):
            continue
        count = int(found["count"])
        total += count
        thread = re.sub(r"\(\d+\)", "", frames[0]).strip()
        threads[thread] += count
        names = [_name(f) for f in frames[1:]]
        for name in set(names):
            inclusive[name] += count
        if names:
            own[names[-1]] += count
    print(f"{path}: {total} busy samples" + (f" with {match!r} on the stack" if match else ""))
    for title, table, limit in (
        ("by thread", threads, 10),
        ("inclusive", inclusive, top),
        ("self", own, top),
    ):
        print(f"  {title}:")
        for name, count in table.most_common(limit):
            print(f"    {count / max(1, total):6.1%}  {name}")


def main() -> None:
    """Command line: the file, --top, --match."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", help="only stacks with a frame containing this text")
    args = parser.parse_args()
    summarise(args.path, args.top, args.match)


if __name__ == "__main__":
    main()
