"""docs/architecture.md names only files that exist, and every layer the contracts hold."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
PATH = re.compile(
    r"`((?:controller|devices|display|firmware_protocols|tests|docs)/[\w/.<>-]*?)(?:`|\s)"
)


def test_every_file_the_architecture_page_names_exists() -> None:
    named = {m for m in PATH.findall(DOC.read_text(encoding="utf-8")) if "<" not in m}
    assert len(named) > 30, "the page names the files of each layer and path"
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists())
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_every_controller_layer_in_the_contracts_is_on_the_page() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    packages = {p.strip() for layer in layers for p in layer.split("|")}
    text = DOC.read_text(encoding="utf-8")
    for package in packages:
        assert package.replace(".", "/") + "/" in text, f"{package} is not on the page"
