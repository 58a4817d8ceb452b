"""The hall's roster (名册): each window's configured A/B staff, plus today's temporary staff."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain import values
from controller.domain.errors import CommandRejected, Forbidden, NotFound
from controller.domain.hall_rules import HallRules
from controller.domain.state import HallState

if TYPE_CHECKING:
    from controller.domain.step import Step


@dataclass(frozen=True)
class RosterMember:
    """Someone who may sign in: public name and post, and the windows they are rostered for."""

    id: str
    name: str
    post: str
    windows: tuple[int, ...]
    temporary: bool = False


def member(config: HallRules, state: HallState, staff_id: str) -> RosterMember | None:
    """The roster entry for `staff_id` (configured first, then today's temporaries), or None."""
    found = [(w.number, m) for w in config.windows for m in w.staff if m.id == staff_id]
    if found:
        first = found[0][1]
        return RosterMember(first.id, first.name, first.post, tuple(n for n, _ in found))
    extra = state.temporary_staff.get(staff_id)
    if extra is None:
        return None
    return RosterMember(extra.id, extra.name, extra.post, (extra.window,), temporary=True)


def window_roster(config: HallRules, state: HallState, number: int) -> list[dict[str, Any]]:
    """Who may sign in at window `number` with its own token: id, name, role, post, temporary."""
    window = config.window(number)
    rows: list[dict[str, Any]] = [
        {"id": m.id, "name": m.name, "role": m.role, "post": m.post, "temporary": False}
        for m in (window.staff if window else [])
    ]
    rows += [
        {"id": t.id, "name": t.name, "role": "B", "post": t.post, "temporary": True}
        for t in state.temporary_staff.values()
        if t.window == number
    ]
    return rows


def temporary_view(state: HallState) -> list[dict[str, Any]]:
    """Today's temporary staff, in the order they were added (dashboard and /api/state)."""
    return [
        {"id": t.id, "name": t.name, "post": t.post, "window": t.window}
        for t in state.temporary_staff.values()
    ]


def add_temporary(step: Step, command: cmd.AddTemporaryStaff, now: dt.datetime) -> dict[str, Any]:
    """Put a temporary staff member on today's roster; refused if the id is already rostered."""
    staff_id = values.require(values.staff_id, command.staff_id, code="bad_staff_id", label="工号")
    name = values.require(values.staff_name, command.name, code="bad_staff_name", label="姓名")
    post = values.require(values.staff_post, command.post, code="bad_staff_post", label="岗位")
    step.window_state(command.window)
    existing = member(step.config, step.state, staff_id)
    if existing is not None:
        raise CommandRejected(
            "already_on_roster", f"工号 {staff_id} 已在名册中（{existing.name}），无需重复添加"
        )
    step.emit(
        ev.TemporaryStaffAdded(
            at=now, staff_id=staff_id, name=name, post=post, window=command.window
        )
    )
    return {"id": staff_id, "name": name, "post": post, "window": command.window}


def signing_in(step: Step, command: cmd.SignIn) -> RosterMember:
    """The roster entry a sign-in names; refused unless on the roster (and here, for a window token)."""
    staff_id = values.require(values.staff_id, command.staff_id, code="bad_staff_id", label="工号")
    found = member(step.config, step.state, staff_id)
    if found is None:
        raise NotFound(
            "not_on_roster", f"名册中没有工号 {staff_id}；临时人员请由大厅管理员先加入名册"
        )
    if command.own_roster_only and command.window not in found.windows:
        raise Forbidden(
            "not_rostered_here",
            f"{found.name}不在 {command.window} 号窗口名册中；请使用本人窗口或由大厅管理员签到",
        )
    return found
