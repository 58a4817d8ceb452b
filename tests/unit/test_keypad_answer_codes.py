"""The engine's side of the keypad answer codes: a walk that reaches the rules' refusals.

Each spec's table is checked per transport in tests/test_keypad_answer_codes_by_transport.py.

The controller's side is found by driving the real engine: a seeded random walk of key presses
(every key, good and bad arguments, ratings, reason codes and tables) between sign-ins,
sign-outs, closings and tickets, collecting every refusal; plus the codes the drivers and the
dispatcher answer themselves.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

import pytest

from controller.domain import commands as cmd
from controller.domain.engine import Engine
from controller.settings.hall_config import HallConfig
from devices.keypad.keypad import REFUSAL_MESSAGES
from firmware_protocols.keypad.keypad_codes import KEYS, RATINGS, REASON_TABLES
from tests.conftest import hall_time

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocols"
UNSENDABLE = "error"  # devices/keypad/keypad_serial_fit.py, devices/keypad/keypad_mqtt.py: an answer that breaks the spec
STEPS = 60_000
WINDOWS = (1, 2, 3, 4, 5)  # SB; SB+YB; YB; BDC and BDC (outcome required) in the example hall
ARGUMENTS = (
    None,
    "",
    "即办件",
    "bogus",
    "午休",
    "长" * 60,
    "somewhere",
    "service:SB",
    "service:YB",
    "service:XX",
    "service:BDC",
    "service:QYKB",
    "window:1",
    "window:2",
    "window:3",
    "window:4",
    "window:99",
)
REASONS = (*REASON_TABLES[1], "R12")


def engine_refusals(config: HallConfig, seed: int = 5) -> set[str]:
    """Every refusal code the engine gave a key press in a seeded random walk of the hall."""
    rng, engine, now = random.Random(seed), Engine(config), hall_time("08:31")
    found: set[str] = set()
    for step in range(STEPS):
        now += dt.timedelta(seconds=rng.choice((0, 1, 5, 30, 90, 200)))
        if now.hour >= 16:  # the next working morning (the example hall opens Mon-Sat)
            now = hall_time("08:31", now.date() + dt.timedelta(days=1 if now.weekday() < 5 else 2))
        window, roll = rng.choice(WINDOWS), rng.random()
        command: cmd.Command
        if roll < 0.05:
            command = cmd.SignIn(window, rng.choice(("S0101", "S0201", "S0301")), "A")
        elif roll < 0.07:
            command = cmd.SignOut(window)
        elif roll < 0.08:
            command = cmd.CloseWindow(window)
        elif roll < 0.10:
            command = cmd.OpenWindow(window)
        elif roll < 0.20:
            command = cmd.IssueTicket(rng.choice(("SB", "YB", "BDC")))
        else:
            key = rng.choice((*KEYS, "dance", "rate", "rate", "invite_rating"))
            command = cmd.PressKey(
                "kp",
                "boot",
                step,
                window,
                key,
                rng.choice((*RATINGS, *RATINGS, "great")) if key == "rate" else None,
                tuple(rng.sample(REASONS, rng.choice((0, 0, 0, 0, 1, 2, 6)))),
                rng.choice(ARGUMENTS),
                reasons_table=rng.choice((None, 1, 1, 2)),
            )
        decision = engine.handle(command, now)
        if isinstance(command, cmd.PressKey) and decision.rejection is not None:
            found.add(decision.rejection.reason)
    return found


def documented_codes(doc: str) -> list[str]:
    """The codes of the answer-code table in a spec (the table after the `code` heading)."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    section = re.split(r"Answer codes \(`code`\)", text)[1]
    table = re.search(r"^\| code \|.*?(?=\n\n|\Z)", section, flags=re.MULTILINE | re.DOTALL)
    assert table is not None, f"no answer-code table in {doc}"
    return re.findall(r"^\| `([a-z0-9_]+)` \|", table[0], flags=re.MULTILINE)


@pytest.fixture(scope="module")
def sent_codes(hall_config: HallConfig) -> set[str]:
    """What a keypad can be answered: ok, the engine's refusals, the drivers' own codes."""
    return {"ok", UNSENDABLE} | set(REFUSAL_MESSAGES) | engine_refusals(hall_config)


def test_the_walk_reaches_the_rating_rules_and_the_window_rules(sent_codes: set[str]) -> None:
    rating_rules = {"not_invited", "invitation_expired", "already_rated", "nothing_to_rate"}
    window_rules = {"queue_empty", "not_signed_in", "window_paused", "no_current_ticket"}
    assert rating_rules | window_rules <= sent_codes
    assert not {"rating_not_invited", "rating_late"} & sent_codes
