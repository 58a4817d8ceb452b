"""Sample halls for the TV screen tests: real engine snapshots at fixed moments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from controller.app.snapshot import build_snapshot
from controller.domain import commands as cmd
from controller.domain.engine import Engine
from controller.settings.config_loader import load_config
from controller.sim.simulate_day import with_extra_windows
from tests.conftest import EXAMPLE_CONFIG, hall_time

LONG_NOTICE = "因系统升级，今天 16:00 至 17:00 不动产登记业务暂停受理，请合理安排办事时间，敬请谅解"
EMERGENCY_TEXT = "大厅发生紧急情况，请听从工作人员指挥，有序从最近的安全出口撤离，不要乘坐电梯"


@dataclass
class SampleHall:
    """An engine and the time its last command ran at."""

    engine: Engine
    now: dt.datetime

    def run(self, command: cmd.Command, seconds: float = 1.0) -> dict[str, Any]:
        """Run a command (which must be accepted) `seconds` after the previous one."""
        self.now += dt.timedelta(seconds=seconds)
        decision = self.engine.handle(command, self.now)
        assert decision.rejection is None, f"{command}: {decision.rejection}"
        return decision.result

    def snapshot(self) -> dict[str, Any]:
        """The public snapshot right now."""
        return build_snapshot(self.engine, self.now)


def busy_hall(extra_windows: int = 0) -> SampleHall:
    """Mid-morning in the example hall: queues, calls, a recall, a paused and a closed window."""
    config = with_extra_windows(load_config(EXAMPLE_CONFIG), extra_windows)
    hall = SampleHall(Engine(config), hall_time("09:20"))
    for round_ in range(4):
        for service in config.services:
            if round_ < 2 or service.code in ("SB", "YB", "BDC"):
                hall.run(cmd.IssueTicket(service.code), 5)
    for _ in range(extra_windows):
        hall.run(cmd.IssueTicket("ZH"), 5)
    for window in config.windows:
        if window.number in (11, 12):
            continue
        hall.run(cmd.SignIn(window.number, window.staff[0].id, "A"), 3)
    hall.run(cmd.CloseWindow(12))
    hall.run(cmd.SetDutyLeader("王建国", "副主任"))
    hall.run(cmd.PostNotice("请携带本人有效身份证件办理业务，代办请携带委托书"))
    hall.run(cmd.PostNotice(LONG_NOTICE))
    callers = [w.number for w in config.windows if w.number not in (5, 11, 12)]
    for number in callers:
        hall.run(cmd.CallNext(number), 20)
    hall.run(cmd.Pause(5, "临时离开"), 5)
    hall.run(cmd.Recall(3), 30)
    if extra_windows:
        hall.run(cmd.IssueTicket("SB"), 5)
    hall.run(cmd.CallNext(1), 40)
    hall.now += dt.timedelta(seconds=1)
    return hall


def emergency_hall() -> SampleHall:
    """The busy hall with an emergency notice posted."""
    hall = busy_hall()
    hall.run(cmd.PostNotice(EMERGENCY_TEXT, "emergency"), 10)
    return hall


def fresh_hall() -> SampleHall:
    """The example hall before anyone is called."""
    return SampleHall(Engine(load_config(EXAMPLE_CONFIG)), hall_time("08:35"))
