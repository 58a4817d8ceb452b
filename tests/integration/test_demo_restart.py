"""The demo's simulated staff pick up a hall restarted mid-day where its windows stand.

A restarted `hallctl up --demo` starts a fresh simulation on a journal whose windows may be
serving (a ticket whose service needs its outcome recorded) or paused for lunch. Its staff
must finish that citizen and resume after lunch; they kept pressing NEXT (refused) all day,
and the citizens waiting for those windows were never called (found by the crash soak).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.settings.hall_config import HallConfig
from controller.sim.demo import DemoDriver
from tests.conftest import hall_time


def _runtime(config: HallConfig, tmp_path: Path, clock: ManualClock) -> HallRuntime:
    return HallRuntime(config, Journal.at_path(tmp_path / "hall.db", durable=False), clock)


def _ok(runtime: HallRuntime, command: cmd.Command) -> dict[str, object]:
    reply = runtime.execute(command)
    assert reply.accepted, reply.result
    return reply.result


class _Driver(DemoDriver):
    """The demo driver, keeping the staff commands the hall refused."""

    refused: list[tuple[str, str]]

    def _execute(
        self, command: cmd.Command, at: dt.datetime
    ) -> tuple[dict[str, object], str | None]:
        result, refused = super()._execute(command, at)
        if refused is not None and not isinstance(command, cmd.CallNext | cmd.IssueTicket):
            self.refused.append((type(command).__name__, refused))
        return result, refused


def _run_demo(runtime: HallRuntime, clock: ManualClock, minutes: int) -> list[ev.Event]:
    """A demo driver started now (as after a restart), stepped for `minutes` of hall time.

    Its staff press nothing the hall refuses (each refusal is a line in the press log).
    """
    driver = _Driver(runtime, seed=3)
    driver.refused = []
    before = len(list(runtime.journal.restart_events()))
    for _ in range(minutes * 6):
        clock.advance(10)
        driver.step()
    assert driver.refused == []
    return list(runtime.journal.restart_events())[before:]


def test_a_restarted_demo_finishes_the_citizen_at_a_window_needing_an_outcome(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("10:00"))
    runtime = _runtime(hall_config, tmp_path, clock)
    _ok(runtime, cmd.SignIn(4, "S0401", "A"))
    served = _ok(runtime, cmd.IssueTicket("BDC"))
    _ok(runtime, cmd.IssueTicket("BDC"))
    _ok(runtime, cmd.CallNext(4))  # the hall was killed while window 4 served this citizen
    events = _run_demo(runtime, clock, 60)
    finished = [e.ticket_id for e in events if isinstance(e, ev.TicketFinished)]
    called = [e for e in events if isinstance(e, ev.TicketCalled) and e.window == 4]
    assert served["id"] in finished, "the citizen at window 4 was never finished"
    assert called, "window 4 never called the next citizen"
    assert all(e.outcome for e in events if isinstance(e, ev.TicketFinished) and e.window == 4)


def test_a_restarted_demo_finishes_the_citizen_at_the_desk_and_invites_their_rating(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("10:00"))
    runtime = _runtime(hall_config, tmp_path, clock)
    _ok(runtime, cmd.SignIn(1, "S0101", "A"))
    served = _ok(runtime, cmd.IssueTicket("SB"))
    _ok(runtime, cmd.CallNext(1))  # killed while window 1 served this citizen
    events = _run_demo(runtime, clock, 60)
    finished = [
        e for e in events if isinstance(e, ev.TicketFinished) and e.ticket_id == served["id"]
    ]
    invited = [e for e in events if isinstance(e, ev.RatingInvited) and e.ticket_id == served["id"]]
    assert finished and finished[0].service_seconds >= 60, "finished at once by the next call"
    assert invited, "the citizen at the desk was never invited to rate"


def test_a_demo_restarted_after_lunch_resumes_a_window_paused_for_it(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("11:55"))
    runtime = _runtime(hall_config, tmp_path, clock)
    _ok(runtime, cmd.SignIn(1, "S0101", "A"))
    clock.set(hall_time("12:00:30"))
    _ok(runtime, cmd.Pause(1, "午间休息"))  # killed during lunch, started again after it
    clock.set(hall_time("12:40"))
    at_lunch = _run_demo(runtime, clock, 10)
    assert not [e for e in at_lunch if getattr(e, "window", None) == 1], "window 1 at lunch"
    clock.set(hall_time("13:05"))
    waiting = _ok(runtime, cmd.IssueTicket("SB"))
    events = _run_demo(runtime, clock, 30)
    assert any(isinstance(e, ev.WindowResumed) and e.window == 1 for e in events)
    called = [e.ticket_id for e in events if isinstance(e, ev.TicketCalled)]
    assert waiting["id"] in called, "the SB citizen waiting after lunch was never called"
    assert any(isinstance(e, ev.TicketCalled) and e.window == 1 for e in events)


def test_a_restarted_demo_does_not_sign_in_again_or_double_anyone(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("10:00"))
    runtime = _runtime(hall_config, tmp_path, clock)
    _ok(runtime, cmd.SignIn(3, "S0301", "A"))
    events = _run_demo(runtime, clock, 20)
    assert not [e for e in events if isinstance(e, ev.StaffSignedIn) and e.window == 3]
    issued = [e.number for e in events if isinstance(e, ev.TicketIssued)]
    assert len(issued) == len(set(issued)) and issued, "the demo issued nothing or a number twice"
    assert clock.now() - hall_time("10:00") == dt.timedelta(minutes=20)


def test_a_demo_started_in_the_afternoon_acts_now_not_replaying_the_morning(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("14:00"))
    runtime = _runtime(hall_config, tmp_path, clock)
    waiting = _ok(runtime, cmd.IssueTicket("SB"))
    driver = DemoDriver(runtime, seed=3)
    clock.advance(10)
    driver.step()
    # Sign in and press NEXT at each window: not a poll every 20 s since 08:30 (12,000 commands
    # that kept a restarted demo busy catching up until its next kill).
    assert driver.commands <= 3 * len(hall_config.windows), driver.commands
    assert runtime.engine.state.tickets[str(waiting["id"])].status == "called"
