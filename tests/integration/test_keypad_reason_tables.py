"""One 差评 reason table from keypad to export: the spec's, used by the rules, records and the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Decision, Engine
from controller.domain.ratings import BAD_RATING_REASONS, REASON_TABLE_VERSION, RECORD_REASON_TABLES
from devices.mqtt_broker.mosquitto import device_username
from firmware_protocols.keypad import keypad_codes
from firmware_protocols.keypad.keypad_codes import REASON_TABLES
from tests.engine_helpers import At, issue, ok, refused, sign_in
from tests.integration.satisfaction.conftest import Api, make_api, record
from tests.mqtt_helpers import (
    DedupeHandler,
    controller_port,
    publish_as,
    running_broker,
    wait_until,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocols"
MQTT_DOC = (DOCS / "keypad-mqtt.md").read_text(encoding="utf-8")
SERIAL_DOC = (DOCS / "keypad-serial.md").read_text(encoding="utf-8")
_seq = iter(range(1, 1_000_000))


def _doc_table(text: str, heading: str, row: str) -> dict[str, str]:
    section = text.split(heading, 1)[1].split("\n#", 1)[0]
    return dict(re.findall(row, section, flags=re.MULTILINE))


def test_the_spec_documents_every_table_exactly_as_the_code_has_it() -> None:
    tables = re.findall(r"^### Reason codes \(`reasons`\), table (\d+)$", MQTT_DOC, re.MULTILINE)
    assert [int(v) for v in tables] == sorted(REASON_TABLES)
    for version, table in REASON_TABLES.items():
        mqtt = _doc_table(
            MQTT_DOC,
            f"### Reason codes (`reasons`), table {version}",
            r"^\| `(R\d\d)` \| (.+?) \|$",
        )
        assert mqtt == dict(table)
    serial = _doc_table(
        SERIAL_DOC,
        "Reason codes (`reasons`), table `01`",
        r"^\| `[0-9A-F]{2}` \| `(R\d\d)` \| (.+?) \|$",
    )
    assert serial == dict(REASON_TABLES[1])


def test_the_controller_and_the_records_use_the_spec_table() -> None:
    assert str(keypad_codes.REASON_TABLE_VERSION) == REASON_TABLE_VERSION
    assert dict(BAD_RATING_REASONS) == dict(REASON_TABLES[keypad_codes.REASON_TABLE_VERSION])
    assert {v: dict(t) for v, t in RECORD_REASON_TABLES.items() if v != "2026.1"} == {
        str(v): dict(t) for v, t in REASON_TABLES.items()
    }
    assert keypad_codes.reason_text("R05") == "未一次性告知所需材料"


def _press(engine: Engine, key: str, now: dt.datetime, **fields: Any) -> Decision:
    command = cmd.PressKey("kp-1", "boot-1", next(_seq), 1, key, raw=key, **fields)
    return engine.handle(command, now)


def _rate(
    engine: Engine, at: At, minute: int, reasons: tuple[str, ...], table: int | None
) -> Decision:
    """Serve, finish and invite one SB ticket at window 1, then rate it 不满意 with `reasons`."""
    issue(engine, "SB", at(f"09:{minute:02d}"))
    ok(_press(engine, "next", at(f"09:{minute:02d}:10")))
    ok(_press(engine, "finish", at(f"09:{minute:02d}:40"), argument="即办件"))
    ok(_press(engine, "invite_rating", at(f"09:{minute:02d}:41")))
    return _press(
        engine,
        "rate",
        at(f"09:{minute:02d}:50"),
        rating="dissatisfied",
        reasons=reasons,
        reasons_table=table,
    )


def test_every_code_of_the_keypad_table_is_accepted_and_recorded_with_its_version(
    engine: Engine, at: At
) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    codes = list(REASON_TABLES[1])
    records = []
    for n, start in enumerate(range(0, len(codes), 5)):
        decision = ok(_rate(engine, at, 1 + n, tuple(codes[start : start + 5]), 1))
        records += [e for e in decision.events if isinstance(e, ev.RatingRecorded)]
    assert [c for r in records for c in r.reasons] == codes  # R10, R11 included
    assert {r.reason_table for r in records} == {"1"}


@pytest.mark.parametrize(
    ("reasons", "table", "reason"),
    [(("R12",), 1, "unknown_reason"), (("R01",), 2, "unknown_reason_table")],
)
def test_a_code_or_a_declared_table_outside_the_spec_is_refused_by_name(
    engine: Engine, at: At, reasons: tuple[str, ...], table: int, reason: str
) -> None:
    sign_in(engine, 1, "S0101", at("09:00"))
    decision = refused(_rate(engine, at, 1, reasons, table), reason)
    assert [e.outcome for e in decision.events if isinstance(e, ev.KeyPressed)] == [reason]


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Api:
    """The satisfaction API over a fresh SQLite file."""
    return make_api(f"sqlite:///{tmp_path / 'satisfaction.db'}")


def test_the_satisfaction_api_accepts_exactly_the_keypad_table_and_exports_its_labels(
    sqlite_api: Api,
) -> None:
    table = REASON_TABLES[1]
    good = [
        record(f"r-{code}", level="dissatisfied", reasons=[code], reason_table="1")
        for code in table
    ]
    assert sqlite_api.ingest(*good)
    for outside in ("R12", "R00", "R98"):
        bad = record("r-x", level="dissatisfied", reasons=[outside], reason_table="1")
        status, body = sqlite_api.post("/api/v1/evaluations", "hall", {"records": [bad]})
        assert status == 422 and any(outside in p for p in body["problems"]), body
    status, body = sqlite_api.post(
        "/api/v1/evaluations", "hall", {"records": [record("r-y", reason_table="2")]}
    )
    assert status == 422 and any("未知的原因表版本" in p for p in body["problems"])
    # A record stored before the tables were unified stays readable under its own table.
    legacy = record("r-old", level="dissatisfied", reasons=["R05"], reason_table="2026.1")
    sqlite_api.ingest(legacy)
    response = sqlite_api.client.get(
        "/api/v1/exports/evaluations",
        headers={"Authorization": "Bearer reader-token-for-tests-0001"},
    )
    rows = {
        r["评价编号"]: r for r in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    }
    assert {rows[f"r-{code}"]["差评原因"] for code in table} == {
        f"{code} {text}" for code, text in table.items()
    }
    assert rows["r-R05"]["差评原因"] == "R05 未一次性告知所需材料"
    assert (rows["r-old"]["差评原因"], rows["r-old"]["原因表版本"]) == ("R05 业务不熟练", "2026.1")


def test_a_keypad_shipping_an_unknown_table_is_still_seen_and_its_table_is_shown(
    tmp_path: Path,
) -> None:
    state = b'{"v":1,"device_id":"K03","boot_id":"b2","state":"online","firmware":"3.0","reasons_table":9}'
    with (
        running_broker(tmp_path, {"K03": 3}) as broker,
        controller_port(broker, DedupeHandler()) as port,
    ):
        login = (device_username("K03"), broker.accounts.device_passwords["K03"])
        publish_as(broker, *login, "hall/qs/window/3/keypad/K03/state", state)
        assert wait_until(lambda: port.keypads()[0]["online"] is True)
        row = port.keypads()[0]
        assert (row["firmware"], row["reasons_table"]) == ("3.0", 9) and row["last_seen"]
        assert port.stats["unknown_reason_table"] == 1 and port.stats["bad_state"] == 0
