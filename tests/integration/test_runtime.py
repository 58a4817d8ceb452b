"""Runtime and journal: durable before answered, restart rebuilds state, faults stay contained."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from controller.app.clock import ManualClock
from controller.app.hub import Batch, Hub, State
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain.errors import InvalidRequest, StoreError
from controller.settings.hall_config import HallConfig
from tests.conftest import MONDAY, hall_time

TUESDAY = MONDAY.replace(day=24)


def _runtime(
    config: HallConfig, path: Path, clock: ManualClock, hub: Hub | None = None
) -> HallRuntime:
    return HallRuntime(config, Journal.at_path(path), clock, hub)


def test_events_are_on_disk_before_execute_returns(hall_config: HallConfig, tmp_path: Path) -> None:
    runtime = _runtime(hall_config, tmp_path / "hall.db", ManualClock(hall_time("09:00")))
    reply = runtime.execute(cmd.IssueTicket("SB"))
    assert reply.accepted and reply.result["number"] == "A001"
    with sqlite3.connect(tmp_path / "hall.db") as other:  # another connection sees it committed
        kinds = [r[0] for r in other.execute("SELECT kind FROM journal_event ORDER BY seq")]
    assert kinds == ["DayOpened", "TicketIssued"]
    with sqlite3.connect(tmp_path / "hall.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_restart_rebuilds_today_and_what_lasts_from_earlier_days(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("09:00"))
    runtime = _runtime(hall_config, tmp_path / "hall.db", clock)
    runtime.execute(cmd.PostNotice("周五下午系统升级"))
    runtime.execute(cmd.SetWindowServices(12, ("ZH", "SW"), "order"))
    runtime.execute(cmd.CloseWindow(3))
    runtime.execute(cmd.SetDutyLeader("值班领导乙", "主任"))
    runtime.execute(cmd.IssueTicket("SB"))
    clock.set(hall_time("09:00", TUESDAY))
    runtime.execute(cmd.IssueTicket("SB"))
    runtime.execute(cmd.IssueTicket("YB"))
    runtime.execute(cmd.SignIn(1, "S0101", "A"))
    runtime.execute(cmd.CallNext(1))
    before = runtime.snapshot()
    runtime.journal.close()

    again = _runtime(hall_config, tmp_path / "hall.db", clock)
    after = again.snapshot()
    assert after == before
    state = again.engine.state
    assert state.day == TUESDAY
    assert sorted(state.tickets) == ["20261124-A001", "20261124-B001"]
    assert state.windows[12].services == ("ZH", "SW") and not state.windows[3].open
    assert state.duty_leader == ("值班领导乙", "主任")
    assert [n.text for n in state.notices.values()] == ["周五下午系统升级"]
    assert again.execute(cmd.IssueTicket("SB")).result["number"] == "A002"


def test_a_failed_write_changes_nothing(hall_config: HallConfig, tmp_path: Path) -> None:
    runtime = _runtime(hall_config, tmp_path / "hall.db", ManualClock(hall_time("09:00")))
    runtime.execute(cmd.IssueTicket("SB"))
    with sqlite3.connect(tmp_path / "hall.db") as conn:  # a real SQLite failure on the next insert
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON journal_event "
            "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
    with pytest.raises(StoreError, match="disk trouble"):
        runtime.execute(cmd.IssueTicket("SB"))
    assert runtime.engine.state.sequences["SB"] == 1
    assert list(runtime.engine.state.tickets) == ["20261123-A001"]
    with sqlite3.connect(tmp_path / "hall.db") as conn:
        conn.execute("DROP TRIGGER refuse")
    assert runtime.execute(cmd.IssueTicket("SB")).result["number"] == "A002"


def test_an_unstorable_value_changes_nothing_and_memory_stays_the_journal(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    """A text no journal can hold (a lone surrogate) from any edge: refused, memory rebuilt."""
    clock = ManualClock(hall_time("09:00"))
    runtime = _runtime(hall_config, tmp_path / "hall.db", clock)
    ticket = runtime.execute(cmd.IssueTicket("SB", needs_print=True)).result["id"]
    with pytest.raises(InvalidRequest, match="unstorable_value"):
        runtime.execute(cmd.RecordPrintFailure(ticket, "entrance-1", "cutter \ud800 jam"))
    assert runtime.engine.state.tickets[ticket].print_failure is None
    assert runtime.snapshot() == _runtime(hall_config, tmp_path / "hall.db", clock).snapshot()
    assert runtime.execute(cmd.IssueTicket("SB")).result["number"] == "A002"


def test_rejections_write_nothing(hall_config: HallConfig, tmp_path: Path) -> None:
    runtime = _runtime(hall_config, tmp_path / "hall.db", ManualClock(hall_time("09:00")))
    runtime.execute(cmd.IssueTicket("SB"))
    count = runtime.journal.count()
    reply = runtime.execute(cmd.CallNext(1))
    assert reply.reason == "not_signed_in"
    assert runtime.journal.count() == count


def test_a_failing_or_blocked_subscriber_cannot_stop_the_hall(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    hub = Hub()
    release = threading.Event()
    seen: list[str] = []

    def explode(batch: object) -> None:
        raise ZeroDivisionError("division by zero")

    def hang(batch: object) -> None:
        release.wait(30)

    broken = hub.subscribe("broken-led", explode)
    stuck = hub.subscribe("stuck-printer", hang, capacity=5)
    hub.subscribe("screen", lambda batch: seen.extend(e.kind for e in batch))
    runtime = _runtime(hall_config, tmp_path / "hall.db", ManualClock(hall_time("09:00")), hub)
    started = time.monotonic()
    for _ in range(30):
        runtime.execute(cmd.IssueTicket("SB"))
    assert time.monotonic() - started < 10  # not blocked by the stuck subscriber
    deadline = time.monotonic() + 5
    # Each subscriber has its own thread: wait for both to have handled the last batch.
    while (seen.count("TicketIssued") < 30 or broken.failures < 31) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen.count("TicketIssued") == 30
    assert broken.failures == 31 and "ZeroDivisionError" in broken.last_error  # day opening + 30
    failing = [a for a in runtime.snapshot()["alerts"] if a["kind"] == "subscriber_failed"]
    assert [a["subscriber"] for a in failing] == ["broken-led"]
    assert stuck.dropped > 0 and stuck.needs_resync
    release.set()
    hub.stop()


def test_tick_rolls_the_day_over_and_old_kpis_come_from_the_journal(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    clock = ManualClock(hall_time("09:00"))
    runtime = _runtime(hall_config, tmp_path / "hall.db", clock)
    runtime.execute(cmd.SignIn(1, "S0101", "A"))
    for _ in range(3):
        runtime.execute(cmd.IssueTicket("SB"))
    clock.set(hall_time("09:12"))
    runtime.execute(cmd.CallNext(1))
    clock.set(hall_time("09:20"))
    runtime.execute(cmd.Finish(1))
    monday = runtime.kpis()
    clock.set(hall_time("00:00:01", TUESDAY))
    runtime.tick()
    assert runtime.engine.state.day == TUESDAY
    assert runtime.engine.state.windows[1].staff_id is None  # signed out at day end
    recorded = runtime.kpis(MONDAY)
    assert recorded["issued"] == monday["issued"] == 3
    assert recorded["served"] == 1 and recorded["expired"] == 2
    assert recorded["average_wait_minutes"] == monday["average_wait_minutes"] == 12.0
    assert recorded["by_staff"]["S0101"]["sign_ins"][0]["automatic_sign_out"] is True


def test_journal_refuses_a_newer_schema(tmp_path: Path) -> None:
    Journal.at_path(tmp_path / "hall.db").close()
    with sqlite3.connect(tmp_path / "hall.db") as conn:
        conn.execute("UPDATE journal_meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StoreError, match="schema 99"):
        Journal.at_path(tmp_path / "hall.db")


def test_an_in_memory_journal_works_through_sqlalchemy(hall_config: HallConfig) -> None:
    journal = Journal("sqlite://")
    runtime = HallRuntime(hall_config, journal, ManualClock(hall_time("09:00")))
    runtime.execute(cmd.IssueTicket("SB"))
    runtime.execute(cmd.IssueTicket("SB"))
    assert journal.count() == 3
    again = HallRuntime(hall_config, journal, ManualClock(hall_time("09:00")))
    assert again.engine.state.sequences["SB"] == 2


def test_a_subscriber_that_shows_state_is_handed_the_state_right_after_each_batch(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    hub = Hub()
    runtime = _runtime(hall_config, tmp_path / "hall.db", ManualClock(hall_time("09:00")), hub)
    serving: list[str] = []  # window 1's ticket in the state handed with each call

    def shows(batch: Batch, state: State) -> None:
        if any(e.kind == "TicketCalled" for e in batch):
            view = next(w for w in state["windows"] if w["number"] == 1)
            serving.append(view["current"]["number"])

    assert not hub.wants_state  # nobody shows state yet: no snapshot is built per command
    hub.subscribe_with_state("test", shows)
    assert hub.wants_state
    runtime.execute(cmd.IssueTicket("SB"))
    runtime.execute(cmd.IssueTicket("SB"))
    runtime.execute(cmd.SignIn(1, "S0101", "A"))
    runtime.execute(cmd.CallNext(1))
    runtime.execute(cmd.Finish(1))
    runtime.execute(cmd.CallNext(1))  # the later call's state must not show in the first's
    deadline = time.monotonic() + 5
    while len(serving) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    hub.stop()
    assert serving == ["A001", "A002"]
