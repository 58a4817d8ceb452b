"""Replay is never poisoned (issue 11, item 1): a journal holding values no keypad can show still starts.

Journals written before the value vocabulary may hold a sign-in with a staff id like "T 0301",
a tabbed or 33-character name. The hall must start on them, keep every keypad in step, show a
fallback where a value cannot be sent, and raise a floor alert naming the window.
"""

from __future__ import annotations

from pathlib import Path

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.domain import commands as cmd
from controller.domain import events as ev
from tests.conftest import hall_time
from tests.integration.test_keypad_mqtt_hall import KEYPADS, hall_on_broker
from tests.mqtt_helpers import keypad, running_broker, wait_until

BAD_NAME = "临时\t工作人员" + "很" * 26  # a tab, and 33 characters


def _old_journal(db: Path) -> None:
    opened = hall_time("08:30")
    journal = Journal.at_path(db)
    try:
        journal.append(
            [
                ev.DayOpened(at=opened, day=opened.date()),
                ev.StaffSignedIn(
                    at=opened, window=3, staff_id="T 0301", staff_name=BAD_NAME, role="A", post=""
                ),
            ],
            day=opened.date(),
        )
    finally:
        journal.close()


def test_a_journal_with_a_sign_in_no_keypad_can_show_starts_and_keypads_follow(
    tmp_path: Path,
) -> None:
    db, clock = tmp_path / "hall.db", ManualClock(hall_time("09:00"))
    _old_journal(db)
    with (
        running_broker(tmp_path, KEYPADS) as broker,
        keypad(broker, "kp-03") as kp,
        hall_on_broker(broker, db, clock) as (runtime, _),
    ):
        assert runtime.engine.state.windows[3].staff_id == "T 0301"  # replayed as journaled
        assert wait_until(lambda: any(d.state == "idle" for d in kp.displays))
        shown = [d for d in kp.displays if d.state == "idle"][-1]
        assert shown.staff_photo_id is None  # the fallback leaves out what cannot be sent
        alerts = [a for a in runtime.snapshot()["alerts"] if a["kind"] == "keypad_display_fallback"]
        assert [a["window"] for a in alerts] == [3], alerts
        assert "3号窗口" in alerts[0]["message"]
        # every later event still reaches the keypad, and its presses still work
        issued = runtime.execute(cmd.IssueTicket("YB")).result
        clock.advance(60)
        ack = kp.wait_acked(kp.press("next"))
        assert ack.accepted and ack.ticket == issued["number"]
        assert wait_until(lambda: any(d.ticket == issued["number"] for d in kp.displays))
    # and the next start, a week of restarts later, is no different
    with (
        running_broker(tmp_path / "again", KEYPADS) as broker,
        hall_on_broker(broker, db, clock) as (runtime, _),
    ):
        assert runtime.engine.state.windows[3].current == issued["id"]
