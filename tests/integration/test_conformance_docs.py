"""The conformance kit, its clauses' places in the specs and docs/protocols/certify-a-device.md stay in step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devices.conformance import keypad_mqtt, keypad_serial, led_strip
from devices.conformance.report import Clause

PROTOCOLS = Path(__file__).resolve().parents[2] / "docs" / "protocols"
KITS = {
    "led-strip": led_strip.CATALOGUE,
    "keypad-serial": keypad_serial.CATALOGUE,
    "keypad-mqtt": keypad_mqtt.CATALOGUE,
}
EVERY_CLAUSE = sorted(
    {clause for catalogue in KITS.values() for clause in catalogue}, key=lambda c: (c.label, c.key)
)


def _headings(doc: str) -> list[str]:
    text = (PROTOCOLS / doc).read_text(encoding="utf-8")
    return re.findall(r"^#{2,3} (.+)$", text, flags=re.MULTILINE)


@pytest.mark.parametrize("clause", EVERY_CLAUSE, ids=lambda c: f"{c.doc}-{c.section}-{c.key}")
def test_every_clause_names_a_section_its_spec_page_has(clause: Clause) -> None:
    headings = _headings(clause.doc)
    if clause.section.isdigit():
        found = any(h.startswith(f"{clause.section}. ") for h in headings)
    else:
        name = clause.section
        found = any(h.startswith((name, f"`{name}`")) for h in headings)
    assert found, f"{clause.label}: no such section in {clause.doc}: {headings}"


@pytest.mark.parametrize("clause", EVERY_CLAUSE, ids=lambda c: f"{c.doc}-{c.section}-{c.key}")
def test_the_certification_guide_lists_every_clause(clause: Clause) -> None:
    guide = (PROTOCOLS / "certify-a-device.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([^|]+) \|", guide, flags=re.MULTILINE)
    wanted = {f"§{clause.section} {clause.key}", f"{clause.section}: {clause.key}"}
    doc = clause.doc.removesuffix(".md")
    wanted.add(f"{doc} §{clause.section} {clause.key}")
    assert any(row.strip().endswith(tuple(wanted)) for row in rows), f"{clause.label} {clause.key}"


def test_the_guide_shows_every_kit_command() -> None:
    guide = (PROTOCOLS / "certify-a-device.md").read_text(encoding="utf-8")
    for kit in KITS:
        assert f"hallctl conformance {kit}" in guide
