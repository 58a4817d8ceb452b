"""Trust at the hall (issue 11, items 1-4): what the API accepts, every other edge and a restart accept.

Each test goes through the real API (TestClient on a real SQLite journal) and then restarts the
hall from the same journal: nothing accepted may break the live state or the next start.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.api.conftest import Hall, auth, make_hall

LONE_SURROGATE = '"x\\ud800y"'  # JSON text: a valid escape that decodes to a lone surrogate


def _raw(hall: Hall, method: str, path: str, role: str, body: str) -> tuple[int, dict[str, Any]]:
    response = hall.client.request(
        method,
        path,
        content=body.encode(),
        headers=auth(role) | {"Content-Type": "application/json"},
    )
    return response.status_code, response.json()


def _reads_work(hall: Hall) -> dict[str, Any]:
    for path in ("/api/kpis", "/api/screen", "/api/dashboard"):
        response = hall.client.get(path, headers=auth("floor"))
        assert response.status_code == 200, (path, response.text)
    state = hall.client.get("/api/state", headers=auth("display"))
    assert state.status_code == 200, state.text
    return dict(state.json())


def _restarted(hall: Hall) -> Hall:
    hall.runtime.journal.close()
    return make_hall(hall.db_path, hall.clock)


@pytest.mark.parametrize(
    ("staff", "problem"),
    [
        ("T 0301", "staff"),  # a space
        ("临时01", "staff"),  # Chinese characters: the satisfaction API's proManager refuses them
        ("S0101\t", "staff"),  # a tab
        ("张三 <b>", "staff"),
        ("S" * 33, "staff"),  # longer than any keypad can show as a photo id
        ("x\ud800y", "staff"),
    ],
)
def test_a_staff_id_outside_the_vocabulary_is_refused_by_name(
    hall: Hall, staff: str, problem: str
) -> None:
    sign_in = json.dumps({"staff": staff, "role": "A"})  # ASCII escapes carry the surrogate
    status, body = _raw(hall, "POST", "/api/windows/1/sign-in", "staff1", sign_in)
    assert status == 422, body
    assert any(line.startswith(problem) for line in body["problems"]), body
    assert hall.runtime.engine.state.windows[1].staff_id is None


def test_sign_in_takes_no_made_up_name(hall: Hall) -> None:
    """A name comes from the roster; a 33-character or tabbed name cannot ride in with a sign-in."""
    for name in ("周" * 33, "周\t文"):
        status, body = hall.post(
            "/api/windows/1/sign-in", "staff1", {"staff": "S0101", "role": "A", "name": name}
        )
        assert status == 422, body
        assert any(line.startswith("name") for line in body["problems"]), body


def test_a_window_token_signs_in_only_its_own_windows_roster(hall: Hall) -> None:
    status, body = hall.post("/api/windows/1/sign-in", "staff1", {"staff": "S0301", "role": "A"})
    assert (status, body["error"]) == (403, "not_rostered_here"), body
    status, body = hall.post("/api/windows/1/sign-in", "staff1", {"staff": "T9999", "role": "A"})
    assert (status, body["error"]) == (404, "not_on_roster"), body
    # S0301's own window is still free for them
    status, _ = hall.post("/api/windows/3/sign-in", "floor", {"staff": "S0301", "role": "A"})
    assert status == 200
    # the B staff of window 1 may sign in there with a window-1 token
    assert hall.post("/api/windows/1/sign-in", "staff1", {"staff": "S0102", "role": "B"})[0] == 200


def test_a_floor_manager_signs_anyone_on_the_roster_in_anywhere_but_not_strangers(
    hall: Hall,
) -> None:
    assert hall.post("/api/windows/1/sign-in", "floor", {"staff": "S0301", "role": "B"})[0] == 200
    status, body = hall.post("/api/windows/2/sign-in", "floor", {"staff": "T9999", "role": "A"})
    assert (status, body["error"]) == (404, "not_on_roster"), body


def test_a_temporary_staff_member_is_journaled_shown_and_survives_a_restart(hall: Hall) -> None:
    member = {"id": "T0001", "name": "临时工作人员", "post": "社保经办", "window": 1}
    status, body = hall.post("/api/roster/temporary", "staff1", member)
    assert status == 403, body  # only a floor manager adds to the roster
    status, body = hall.post("/api/roster/temporary", "floor", member)
    assert status == 201, body
    assert hall.post("/api/windows/4/sign-in", "staff4", {"staff": "T0001", "role": "A"})[0] == 403
    status, body = hall.post("/api/windows/1/sign-in", "staff1", {"staff": "T0001", "role": "B"})
    assert status == 200, body
    assert body["staff"] == "临时工作人员"
    before = _reads_work(hall)
    assert before["temporary_staff"] == [member]
    console = hall.client.get("/api/console/1", headers=auth("staff1")).json()
    temporary = {"id": "T0001", "name": "临时工作人员", "role": "B", "post": "社保经办"}
    assert [m for m in console["roster"] if m["temporary"]] == [temporary | {"temporary": True}]
    assert not any(
        m["temporary"]
        for m in hall.client.get("/api/console/4", headers=auth("staff4")).json()["roster"]
    )
    restarted = _restarted(hall)
    assert _reads_work(restarted) == before
    restarted.runtime.journal.close()


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "T 0001", "name": "临时", "window": 1},
        {"id": "T0001", "name": "周" * 17, "window": 1},
        {"id": "T0001", "name": "周\t文", "window": 1},
        {"id": "T0001", "name": "   ", "window": 1},
        {"id": "S0101", "name": "周文二", "window": 1},  # already on the roster
        {"id": "T0001", "name": "临时", "window": 99},
    ],
)
def test_a_temporary_staff_member_outside_the_vocabulary_is_refused(
    hall: Hall, bad: dict[str, Any]
) -> None:
    status, body = hall.post("/api/roster/temporary", "floor", bad)
    assert status in (404, 409, 422), body
    assert body["message"]
    assert hall.client.get("/api/state", headers=auth("floor")).json()["temporary_staff"] == []


@pytest.mark.parametrize(
    ("method", "path", "role", "body"),
    [
        ("POST", "/api/windows/1/pause", "staff1", '{"reason": %s}'),
        ("POST", "/api/notices", "floor", '{"text": %s}'),
        ("PUT", "/api/duty-leader", "floor", '{"name": %s}'),
        ("PUT", "/api/duty-leader", "floor", '{"name": "值班领导", "title": %s}'),
        ("POST", "/api/roster/temporary", "floor", '{"id": "T0002", "window": 1, "name": %s}'),
        ("POST", "/api/tickets/20261123-A001/void", "floor", '{"reason": %s}'),
    ],
)
@pytest.mark.parametrize(
    "text",
    [LONE_SURROGATE, '"a\\u0000b"', '"a\\u001b[2Jb"', '"a\\tb"', '"\\u202eevil"'],
)
def test_free_text_with_a_lone_surrogate_or_control_character_is_a_422_and_the_hall_goes_on(
    hall: Hall, *, method: str, path: str, role: str, body: str, text: str
) -> None:
    assert hall.post("/api/windows/1/sign-in", "staff1", {"staff": "S0101", "role": "A"})[0] == 200
    before = _reads_work(hall)
    status, answer = _raw(hall, method, path, role, body % text)
    assert status == 422, answer
    assert answer["problems"], answer
    assert _reads_work(hall) == before
    restarted = _restarted(hall)
    assert _reads_work(restarted) == before
    restarted.runtime.journal.close()


def test_text_is_stored_nfc_normalised_and_trimmed(hall: Hall) -> None:
    decomposed = "e\u0301 公告 "  # é as e + combining acute
    status, body = hall.post("/api/notices", "floor", {"text": decomposed})
    assert status == 201, body
    notices = _reads_work(hall)["notices"]
    assert [n["text"] for n in notices] == ["\u00e9 公告"]
