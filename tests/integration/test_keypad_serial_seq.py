"""RS-485 keypads that reuse a seq (keypad-serial.md sections 4 and 7): refused, never carried out."""

from __future__ import annotations

from pathlib import Path

from controller.app.clock import ManualClock
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.settings.hall_config import HallConfig
from tests.conftest import hall_time
from tests.integration.test_keypad_serial import journal_events, keypad_line, run, serial_hall


def test_a_different_press_reusing_the_last_seq_is_refused_seq_reused_and_not_carried_out(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    db, clock = tmp_path / "hall.db", ManualClock(hall_time("09:00"))
    with keypad_line(tmp_path) as line, serial_hall(hall_config, db, clock, line) as (runtime, bus):
        kp = line.keypad(3)
        run(runtime, clock, cmd.SignIn(3, "S0301", "A"))
        run(runtime, clock, cmd.IssueTicket("YB"))
        clock.advance(30)
        first = kp.press("next")
        assert kp.wait_acked(first).accepted
        kp.faults.reuse_seq = 1  # the firmware forgot to increment
        kp.faults.lose_acks = 2  # and the refusal is lost twice: the same press comes again
        reused = kp.press("recall")
        assert reused.seq == first.seq and reused != first
        answer = kp.wait_acked(reused)
        later = kp.wait_acked(kp.press("recall"))  # the next press, seq + 1, is carried out
        resends = bus.counters(3)["resends"]
    assert (answer.accepted, answer.code) == (False, "seq_reused")
    assert set(kp.faults.lost_acks) == {answer}  # the same press resent got the same answer
    assert resends >= 2
    assert later.accepted and later.seq == first.seq + 1
    events = journal_events(db)
    recalls = [e for e in events if isinstance(e, ev.TicketRecalled)]
    assert len(recalls) == 1  # only the later recall
    logged = [(e.seq, e.key, e.outcome) for e in events if isinstance(e, ev.KeyPressed)]
    assert logged[:2] == [(first.seq, "next", "ok"), (first.seq, "recall", "seq_reused")]


def test_the_same_press_resent_after_a_lost_answer_still_gets_the_first_answer(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    db, clock = tmp_path / "hall.db", ManualClock(hall_time("09:00"))
    with keypad_line(tmp_path) as line, serial_hall(hall_config, db, clock, line) as (runtime, _):
        kp = line.keypad(3)
        run(runtime, clock, cmd.SignIn(3, "S0301", "A"))
        run(runtime, clock, cmd.IssueTicket("YB"))
        clock.advance(30)
        kp.faults.lose_acks = 2
        press = kp.press("next")
        answer = kp.wait_acked(press)
    assert answer.accepted and set(kp.faults.lost_acks) == {answer}
    calls = [e for e in journal_events(db) if isinstance(e, ev.TicketCalled)]
    assert len(calls) == 1
