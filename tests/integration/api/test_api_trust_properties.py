"""Property: any sequence of API commands with hostile text leaves a hall that restarts to the same state.

Random sequences over the mutating routes (sign-in by floor and window tokens, temporary staff,
pause, notices, duty leader, tickets, finish, appointments, void), every string drawn from
tests.adversarial: lone surrogates, control characters, very long and mixed-script text. No
answer is a 5xx, the live reads keep working, and a restart from the journal gives the same
/api/state. Examples: HALL_API_FUZZ_EXAMPLES (CI-sized by default).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.app.clock import ManualClock
from tests.adversarial import EXAMPLES, TEXT, json_body
from tests.integration.api.conftest import Hall, at, auth, make_hall

Step = tuple[str, str, str, dict[str, Any]]
WINDOWS = st.sampled_from([1, 2, 3, 4])
STAFF = st.sampled_from(["S0101", "S0102", "S0201", "S0301", "S0401", "T0001", "T0002"]) | TEXT
REASONS = st.sampled_from(["午间休息", "系统故障", " 临时离开 "]) | TEXT
SERVICES = st.sampled_from(["SB", "YB", "BDC"]) | TEXT


def _step(method: str, path: str, role: str, body: dict[str, Any] | None = None) -> Step:
    return (method, path, role, body or {})


STEPS = st.one_of(
    st.builds(
        lambda w, s, r: _step(
            "POST", f"/api/windows/{w}/sign-in", "floor", {"staff": s, "role": r}
        ),
        WINDOWS,
        STAFF,
        st.sampled_from(["A", "B"]),
    ),
    st.builds(
        lambda s: _step("POST", "/api/windows/1/sign-in", "staff1", {"staff": s, "role": "A"}),
        STAFF,
    ),
    st.builds(
        lambda i, n, p, w: _step(
            "POST", "/api/roster/temporary", "floor", {"id": i, "name": n, "post": p, "window": w}
        ),
        st.sampled_from(["T0001", "T0002"]) | TEXT,
        st.sampled_from(["临时甲", "Ａｂｃ"]) | TEXT,
        st.just("") | TEXT,
        WINDOWS,
    ),
    st.builds(
        lambda w, r: _step("POST", f"/api/windows/{w}/pause", "floor", {"reason": r}),
        WINDOWS,
        REASONS,
    ),
    st.builds(lambda w: _step("POST", f"/api/windows/{w}/resume", "floor"), WINDOWS),
    st.builds(lambda w: _step("POST", f"/api/windows/{w}/call-next", "floor"), WINDOWS),
    st.builds(
        lambda w, o, c: _step(
            "POST", f"/api/windows/{w}/finish", "floor", {"outcome": o, "case_number": c}
        ),
        WINDOWS,
        st.sampled_from(["即办件", "承诺件"]) | TEXT,
        st.none() | TEXT,
    ),
    st.builds(lambda w: _step("POST", f"/api/windows/{w}/sign-out", "floor"), WINDOWS),
    st.builds(
        lambda t, lv: _step("POST", "/api/notices", "floor", {"text": t, "level": lv}),
        st.sampled_from(["今日系统升级"]) | TEXT,
        st.sampled_from(["normal", "emergency"]),
    ),
    st.builds(
        lambda n, t: _step("PUT", "/api/duty-leader", "floor", {"name": n, "title": t}),
        st.sampled_from(["欧阳建国", ""]) | TEXT,
        st.just("") | TEXT,
    ),
    st.builds(lambda s: _step("POST", "/api/tickets", "kiosk", {"service": s}), SERVICES),
    st.builds(
        lambda c, n, p: _step(
            "POST",
            "/api/appointments",
            "floor",
            {
                "code": c,
                "service": "SB",
                "slot_start": "2026-11-23T10:00:00+08:00",
                "name": n,
                "phone": p,
            },
        ),
        st.sampled_from(["BK-0001", "BK-0002"]) | TEXT,
        st.sampled_from(["张小三"]) | TEXT,
        st.sampled_from(["13800001234"]) | TEXT,
    ),
    st.builds(
        lambda r: _step("POST", "/api/tickets/20261123-A001/void", "floor", {"reason": r}), REASONS
    ),
)


def _reads(hall: Hall) -> dict[str, Any]:
    for path in ("/api/kpis", "/api/screen", "/api/dashboard", "/api/console/1"):
        response = hall.client.get(path, headers=auth("floor"))
        assert response.status_code == 200, (path, response.text)
    state = hall.client.get("/api/state", headers=auth("display"))
    assert state.status_code == 200, state.text
    return dict(state.json())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(STEPS, max_size=14))
def test_accepted_commands_with_hostile_text_restart_to_the_same_state(steps: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        hall = make_hall(Path(folder) / "hall.db", ManualClock(at("09:00")))
        try:
            for method, path, role, body in steps:
                response = hall.client.request(
                    method,
                    path,
                    content=json_body(body),
                    headers=auth(role) | {"Content-Type": "application/json"},
                )
                assert response.status_code < 500, (method, path, body, response.text)
                if response.status_code >= 400:
                    assert response.json()["message"], response.text
                hall.clock.advance(30)
            before = _reads(hall)
        finally:
            hall.runtime.hub.stop()
            hall.runtime.journal.close()
        restarted = make_hall(hall.db_path, hall.clock)
        try:
            assert _reads(restarted) == before
        finally:
            restarted.runtime.hub.stop()
            restarted.runtime.journal.close()
