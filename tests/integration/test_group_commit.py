"""Group commit: commands that arrive together share one transaction; none answered before durable."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime, IdempotencyKey, Outcome
from controller.domain import commands as cmd
from controller.domain.errors import StoreError
from controller.settings.hall_config import HallConfig
from tests.conftest import hall_time

COMMANDS = 12


def _wait_until(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "still not true"
        time.sleep(0.005)


def _issue_from_threads(
    runtime: HallRuntime, replies: list[Outcome | BaseException]
) -> list[threading.Thread]:
    def issue() -> None:
        try:
            replies.append(runtime.execute(cmd.IssueTicket("SB")))
        except BaseException as err:  # the test reads it
            replies.append(err)

    threads = [threading.Thread(target=issue) for _ in range(COMMANDS)]
    for thread in threads:
        thread.start()
    return threads


def _journaled_numbers(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT json_extract(payload, '$.number') FROM journal_event "
            "WHERE kind = 'TicketIssued' ORDER BY seq"
        ).fetchall()
    return [str(number) for (number,) in rows]


def test_commands_that_arrive_together_share_one_commit_and_wait_for_it(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    runtime = HallRuntime(
        hall_config, Journal.at_path(tmp_path / "hall.db"), ManualClock(hall_time("09:00"))
    )
    runtime.execute(cmd.IssueTicket("SB"))  # the day is open: what follows is only tickets
    before = runtime.committer.groups
    replies: list[Outcome | BaseException] = []
    # The disk is slow: the writer holds its first group while the other commands arrive.
    with runtime.journal._write_lock:
        threads = _issue_from_threads(runtime, replies)
        _wait_until(lambda: runtime.engine.state.sequences["SB"] == COMMANDS + 1)  # all decided
        time.sleep(0.05)
        assert replies == []  # decided, queued, but nobody answered before the disk has it
    for thread in threads:
        thread.join(timeout=10)
    assert len(replies) == COMMANDS and all(isinstance(r, Outcome) for r in replies)
    assert runtime.committer.groups - before <= 2  # one fsync for the first, one for the rest
    numbers = sorted(r.result["number"] for r in replies if isinstance(r, Outcome))
    assert numbers == [f"A{n:03d}" for n in range(2, COMMANDS + 2)]
    # The journal holds them in the order the engine decided them.
    assert _journaled_numbers(tmp_path / "hall.db") == [f"A{n:03d}" for n in range(1, COMMANDS + 2)]
    runtime.committer.stop()
    runtime.journal.close()


def test_a_failed_group_fails_every_command_in_it_and_memory_returns_to_the_journal(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    db = tmp_path / "hall.db"
    runtime = HallRuntime(hall_config, Journal.at_path(db), ManualClock(hall_time("09:00")))
    runtime.execute(cmd.IssueTicket("SB"))
    replies: list[Outcome | BaseException] = []
    with runtime.journal._write_lock:
        with sqlite3.connect(db) as conn:
            conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON journal_event "
                "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
            )
        threads = _issue_from_threads(runtime, replies)
        _wait_until(lambda: runtime.engine.state.sequences["SB"] == COMMANDS + 1)
    for thread in threads:
        thread.join(timeout=10)
    assert len(replies) == COMMANDS
    assert all(isinstance(r, StoreError) for r in replies), replies
    assert runtime.engine.state.sequences["SB"] == 1  # nothing that failed is remembered
    assert [a["kind"] for a in runtime.snapshot()["alerts"]].count("journal_unwritable") == 1
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER refuse")
    assert runtime.execute(cmd.IssueTicket("SB")).result["number"] == "A002"
    assert _journaled_numbers(db) == ["A001", "A002"]
    assert not [a for a in runtime.snapshot()["alerts"] if a["kind"] == "journal_unwritable"]
    runtime.committer.stop()
    runtime.journal.close()


def test_the_event_loop_path_answers_once_durable_and_in_order(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    db = tmp_path / "hall.db"
    runtime = HallRuntime(hall_config, Journal.at_path(db), ManualClock(hall_time("09:00")))

    async def issue_many() -> list[Outcome]:
        return await asyncio.gather(
            *(runtime.execute_async(cmd.IssueTicket("SB")) for _ in range(COMMANDS))
        )

    replies = asyncio.run(issue_many())
    numbers = [r.result["number"] for r in replies]
    assert numbers == [f"A{n:03d}" for n in range(1, COMMANDS + 1)]
    assert _journaled_numbers(db) == numbers  # every answered ticket is on disk, in order
    runtime.committer.stop()
    runtime.journal.close()


def test_a_retry_while_the_first_is_still_on_its_way_gets_the_same_answer_once_durable(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    from controller.app.runtime import IdempotencyKey

    runtime = HallRuntime(
        hall_config, Journal.at_path(tmp_path / "hall.db"), ManualClock(hall_time("09:00"))
    )
    runtime.execute(cmd.IssueTicket("SB"))
    key = IdempotencyKey("kiosk|POST|/api/tickets|k1", "f" * 64)
    answers: list[Outcome] = []
    with runtime.journal._write_lock:
        first, durable = runtime.submit(cmd.IssueTicket("SB"), idempotency=key)
        retried = threading.Thread(
            target=lambda: answers.append(runtime.execute(cmd.IssueTicket("SB"), idempotency=key))
        )
        retried.start()
        time.sleep(0.05)
        assert answers == []  # the retry waits for the first's write
    retried.join(timeout=10)
    assert durable is not None
    durable.wait()
    assert answers[0].replayed and answers[0].result == first.result
    assert runtime.engine.state.sequences["SB"] == 2  # one ticket for both tries
    runtime.committer.stop()
    runtime.journal.close()


def test_answers_kept_for_retries_leave_memory_once_durable(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    # A hall runs for months between restarts: an answer on disk is read from the journal on a
    # retry, so memory keeps only those still on their way (it once kept every one until restart).
    runtime = HallRuntime(
        hall_config, Journal.at_path(tmp_path / "hall.db"), ManualClock(hall_time("09:00"))
    )
    keys = [IdempotencyKey(f"kiosk:POST:/api/tickets:{n}", "fingerprint") for n in range(100)]
    first = [runtime.execute(cmd.IssueTicket("SB"), idempotency=key) for key in keys]
    assert len(runtime._pending_answers) <= 2  # at most the last group still in flight
    again = [runtime.execute(cmd.IssueTicket("SB"), idempotency=key) for key in keys]
    assert [o.words for o in again] == [o.words for o in first]  # retries answered the same
    last = runtime.execute(cmd.IssueTicket("SB"))
    assert last.accepted and last.result["number"] == "A101", last.result
    runtime.committer.stop()
    runtime.hub.stop()
    runtime.journal.close()
