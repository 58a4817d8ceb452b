"""API: each role's live stream carries what its page shows (public screens: no ratings, no staff ids).

Real parts: uvicorn on a real socket, the real runtime on SQLite, presses through the real
keypad dispatcher; four streams (display, kiosk, a window's staff, the floor) follow one morning.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from controller.app.keypad_intake import KeypadDispatcher
from devices.keypad.keypad import KeypadKey, KeypadPress, RatingKey
from tests.integration.api.conftest import Hall, auth
from tests.servers import serving

PUBLIC = ("display", "kiosk")
PRIVATE_KINDS = {"KeyPressed", "RatingRecorded", "RatingFlagged", "RatingInvited"}
# Words that must never reach a public screen's stream: the staff id, the rating level and
# flag codes, and the 擅自按键 alert text.
SECRETS = ("S0101", "very_dissatisfied", "fast_after_finish", "疑似非群众本人", "差评", "R01")
SENTINEL = "今日测试通知"


@pytest.fixture
def served(hall: Hall) -> Iterator[tuple[Hall, str]]:
    with serving(hall.client.app) as base:
        yield hall, base


def _until_sentinel(lines: Iterator[str]) -> list[tuple[str, dict[str, Any]]]:
    """(kind, data) of every SSE message up to and including the sentinel notice."""
    found: list[tuple[str, dict[str, Any]]] = []
    kind = ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = json.loads(line.removeprefix("data: "))
            found.append((kind, data))
            if kind == "NoticePosted":
                return found
    raise AssertionError(f"stream ended before the sentinel notice: {[k for k, _ in found]}")


def _morning(hall: Hall, client: httpx.Client) -> None:
    """Sign in, issue, call, finish, invite, a flagged 差评 on the keypad, then a notice."""
    dispatcher = KeypadDispatcher(hall.runtime)
    signed = client.post(
        "/api/windows/1/sign-in", headers=auth("staff1"), json={"staff": "S0101", "role": "A"}
    )
    assert signed.status_code == 200, signed.text
    assert client.post("/api/tickets", headers=auth("kiosk"), json={"service": "SB"}).is_success
    presses = [
        (KeypadKey.NEXT, None, (), None),
        (KeypadKey.FINISH, None, (), "即办件"),
        (KeypadKey.INVITE_RATING, None, (), None),
        # Rated the same second as the finish: flagged fast_after_finish (擅自按键?).
        (KeypadKey.RATE, RatingKey.VERY_DISSATISFIED, ("R01",), None),
    ]
    for seq, (key, rating, reasons, argument) in enumerate(presses, start=1):
        answer = dispatcher(
            KeypadPress("kp-1", "boot-1", seq, 1, key, rating, reasons, argument, raw=key.value)
        )
        assert answer.accepted, answer
    posted = client.post(
        "/api/notices", headers=auth("floor"), json={"text": SENTINEL, "level": "normal"}
    )
    assert posted.status_code == 201, posted.text


def _streams(hall: Hall, base: str, roles: tuple[str, ...]) -> dict[str, list[Any]]:
    """Each role's stream (with_state) over the morning, up to the sentinel notice."""
    with ExitStack() as stack:
        client = stack.enter_context(httpx.Client(base_url=base, timeout=10))
        lines: dict[str, Iterator[str]] = {}
        firsts: dict[str, tuple[str, dict[str, Any]]] = {}
        for role in roles:
            response = stack.enter_context(
                client.stream(
                    "GET", "/api/events", params={"with_state": "true"}, headers=auth(role)
                )
            )
            assert response.status_code == 200
            lines[role] = response.iter_lines()
            assert next(lines[role]) == "event: snapshot"  # open before the morning begins
            firsts[role] = ("snapshot", json.loads(next(lines[role]).removeprefix("data: ")))
        _morning(hall, client)
        return {role: [firsts[role], *_until_sentinel(lines[role])] for role in roles}


def test_public_screens_get_no_ratings_presses_flags_or_staff_ids(
    served: tuple[Hall, str],
) -> None:
    hall, base = served
    streams = _streams(hall, base, (*PUBLIC, "floor", "staff1"))
    for role in PUBLIC:
        messages = streams[role]
        kinds = [kind for kind, _ in messages]
        assert not PRIVATE_KINDS & set(kinds), (role, kinds)
        text = json.dumps(messages, ensure_ascii=False)
        leaked = [secret for secret in SECRETS if secret in text]
        assert leaked == [], (role, leaked)
        # What the screen shows still arrives: the call, the finish, the notice, the staff's
        # public name (亮牌上岗) and the waiting counts.
        called = next(data for kind, data in messages if kind == "TicketCalled")
        assert (called["number"], called["window"]) == ("A001", 1)
        assert set(called) == {"kind", "at", "number", "window"}
        assert "TicketFinished" in kinds and kinds[-1] == "NoticePosted"
        states = [data for kind, data in messages if kind in ("snapshot", "state")]
        assert len(states) >= 2 and all("alerts" not in s for s in states)
        window_1 = next(w for w in states[-1]["windows"] if w["number"] == 1)
        assert window_1["staff"] == {"name": "周文", "role": "A", "post": "社保经办"}


def test_the_floor_staff_and_admin_streams_keep_the_full_events(
    served: tuple[Hall, str],
) -> None:
    hall, base = served
    streams = _streams(hall, base, ("floor", "staff1", "admin"))
    for role, messages in streams.items():
        kinds = {kind for kind, _ in messages}
        assert kinds >= PRIVATE_KINDS, (role, kinds)
        rating = next(data for kind, data in messages if kind == "RatingRecorded")
        assert (rating["staff_id"], rating["level"]) == ("S0101", "very_dissatisfied")
        flag = next(data for kind, data in messages if kind == "RatingFlagged")
        assert flag["flag"] == "fast_after_finish"
        last_state = [data for kind, data in messages if kind == "state"][-1]
        assert {a["kind"] for a in last_state["alerts"]} >= {"bad_rating", "rating_flag"}


@pytest.mark.parametrize("role", PUBLIC)
def test_public_screens_read_a_state_without_alerts_or_staff_ids(
    served: tuple[Hall, str], role: str
) -> None:
    hall, base = served
    with httpx.Client(base_url=base, timeout=10) as client:
        _morning(hall, client)
        public = client.get("/api/state", headers=auth(role)).json()
        full = client.get("/api/state", headers=auth("floor")).json()
    assert any(a["kind"] == "rating_flag" for a in full["alerts"])
    assert "alerts" not in public
    text = json.dumps(public, ensure_ascii=False)
    assert [s for s in SECRETS if s in text] == []
    assert public["services"] == full["services"] and public["notices"] == full["notices"]
