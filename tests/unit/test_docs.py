"""Documentation stays in step with the code it describes."""

from __future__ import annotations

import re
from pathlib import Path

from controller.cli.main import _parser
from controller.domain import events as ev

ROOT = Path(__file__).resolve().parents[2]


def test_every_event_kind_is_documented() -> None:
    text = (ROOT / "docs" / "engine-and-journal.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(\w+)` \|", text, flags=re.MULTILINE))
    kinds = {cls.kind for cls in ev.Event.__subclasses__()}
    assert kinds <= documented, f"undocumented events: {sorted(kinds - documented)}"


def test_readme_quick_start_has_exactly_two_commands_and_names_every_subcommand() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    first_block = quick.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line.strip()]
    assert [c.split()[0] for c in commands] == ["./scripts/demo.sh", "./scripts/test.sh"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test.sh" in ci
    actions = _parser()._subparsers._group_actions  # type: ignore[union-attr]
    subcommands = list(actions[0].choices or ())
    assert "up" in subcommands
    for name in subcommands:
        assert f"hallctl {name}" in readme, f"README does not show `hallctl {name}`"
