"""Window commands (窗口): sign-in/out, call, recall, no-show, pause, transfer, finish, rating."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain import roster, values
from controller.domain.calling import calling_order, pick_next
from controller.domain.errors import CommandRejected, InvalidRequest
from controller.domain.state import CallingPolicy, Outcome, Ticket, WindowState

if TYPE_CHECKING:
    from controller.domain.step import Step


def handle(step: Step, command: cmd.WindowCommand, now: dt.datetime) -> dict[str, Any]:
    """Run one window command; raises CommandRejected before emitting anything it refuses."""
    window = step.window_state(command.window)
    match command:
        case cmd.SignIn():
            return _sign_in(step, window, command, now)
        case cmd.OpenWindow():
            if not window.open:
                step.emit(ev.WindowOpened(at=now, window=window.number))
            return _window_result(window)
        case cmd.CloseWindow():
            return _close(step, window, now)
        case cmd.SetWindowServices():
            return _set_services(step, window, command, now)
    _require_staff(window)
    match command:
        case cmd.SignOut():
            _require_idle(step, window)
            step.emit(
                ev.StaffSignedOut(at=now, window=window.number, staff_id=window.staff_id or "")
            )
            return _window_result(window)
        case cmd.CallNext():
            return _call_next(step, window, now)
        case cmd.Recall():
            return _recall(step, window, now)
        case cmd.NoShow():
            return _no_show(step, window, _current(step, window), now, automatic=False)
        case cmd.Pause():
            return _pause(step, window, command, now)
        case cmd.Resume():
            if not window.paused:
                raise CommandRejected("not_paused", f"{window.number}号窗口未暂停")
            step.emit(ev.WindowResumed(at=now, window=window.number))
            return _window_result(window)
        case cmd.Transfer():
            return _transfer(step, window, command, now)
        case cmd.Finish():
            case_number = parse_case_number(command.case_number)
            ticket = _current(step, window)
            return _finish(step, window, ticket, command.outcome, now, case_number=case_number)
        case cmd.InviteRating():
            return _invite_rating(step, window, now)
    raise InvalidRequest("unknown_command", f"无法处理的窗口指令 {type(command).__name__}")


def parse_outcome(text: str) -> Outcome:
    """An outcome from its Chinese name (即办件) or English name (immediate)."""
    try:
        return Outcome(text.strip())
    except ValueError:
        pass
    try:
        return Outcome[text.strip().upper()]
    except KeyError as err:
        allowed = "、".join(o.value for o in Outcome)
        raise InvalidRequest("bad_outcome", f"办件类型应为：{allowed}") from err


def _sign_in(
    step: Step, window: WindowState, command: cmd.SignIn, now: dt.datetime
) -> dict[str, Any]:
    if command.role not in ("A", "B"):
        raise InvalidRequest("bad_role", "岗位角色应为 A 或 B（AB角）")
    if not window.open:
        raise CommandRejected("window_closed", f"{window.number}号窗口已关闭，无法签到")
    member = roster.signing_in(step, command)
    if window.staff_id == command.staff_id:
        return _window_result(window)
    if window.staff_id is not None:
        raise CommandRejected(
            "window_occupied", f"{window.number}号窗口已由{window.staff_name}签到，请先签退"
        )
    for other in step.state.windows.values():
        if other.staff_id == command.staff_id:
            raise CommandRejected("staff_elsewhere", f"该工作人员已在{other.number}号窗口签到")
    step.emit(
        ev.StaffSignedIn(
            at=now,
            window=window.number,
            staff_id=member.id,
            staff_name=member.name,
            role=command.role,
            post=member.post,
        )
    )
    return _window_result(window)


def _close(step: Step, window: WindowState, now: dt.datetime) -> dict[str, Any]:
    if not window.open:
        return _window_result(window)
    _require_idle(step, window)
    if window.staff_id is not None:
        step.emit(
            ev.StaffSignedOut(
                at=now, window=window.number, staff_id=window.staff_id, automatic=True
            )
        )
    step.emit(ev.WindowClosed(at=now, window=window.number))
    return _window_result(window)


def _set_services(
    step: Step, window: WindowState, command: cmd.SetWindowServices, now: dt.datetime
) -> dict[str, Any]:
    services = tuple(command.services)
    if not services or len(set(services)) != len(services):
        raise InvalidRequest("bad_services", "窗口业务列表不能为空或重复")
    for code in services:
        step.service_config(code)
    if command.policy not in set(CallingPolicy):
        *first, last = CallingPolicy
        raise InvalidRequest("bad_policy", f"叫号策略应为 {'、'.join(first)} 或 {last}")
    weights = dict(command.weights)
    if any(code not in services or weight < 1 for code, weight in weights.items()):
        raise InvalidRequest("bad_weights", "权重只能设置给本窗口的业务，且至少为 1")
    step.emit(
        ev.WindowServicesChanged(
            at=now, window=window.number, services=services, policy=command.policy, weights=weights
        )
    )
    return _window_result(window)


def _call_next(step: Step, window: WindowState, now: dt.datetime) -> dict[str, Any]:
    if window.paused:
        raise CommandRejected("window_paused", f"{window.number}号窗口暂停服务中，请先恢复服务")
    finished: str | None = None
    if window.current is not None:
        current = step.state.tickets[window.current]
        service = step.config.service(current.service)
        if service is not None and service.outcome_required:
            raise CommandRejected("outcome_required", f"请先办结 {current.number} 并登记办件类型")
        _finish(step, window, current, None, now)
        finished = current.number
    picked = pick_next(step.state, window, now, step.config.queue.escalation)
    if picked is None:
        message = "当前没有等候的群众"
        if finished:
            message = f"{finished} 已办结；{message}"
        raise CommandRejected("queue_empty", message)
    ticket, rule = picked
    step.emit(
        ev.TicketCalled(
            at=now, ticket_id=ticket.id, number=ticket.number, window=window.number, rule=rule
        )
    )
    return _ticket_result(ticket) | {"rule": rule, "finished": finished}


def _recall(step: Step, window: WindowState, now: dt.datetime) -> dict[str, Any]:
    ticket = _current(step, window)
    count = ticket.recall_count + 1
    if count > step.config.queue.recall_limit:
        return _no_show(step, window, ticket, now, automatic=True)
    step.emit(
        ev.TicketRecalled(
            at=now,
            ticket_id=ticket.id,
            number=ticket.number,
            window=window.number,
            recall_count=count,
        )
    )
    return _ticket_result(ticket) | {"recall_count": count}


def _no_show(
    step: Step, window: WindowState, ticket: Ticket, now: dt.datetime, *, automatic: bool
) -> dict[str, Any]:
    rules = step.config.queue
    requeue_at: dt.datetime | None = None
    follows: str | None = None
    if rules.no_show_policy == "requeue" and ticket.no_show_count < rules.max_requeues:
        queue = calling_order(step.state, ticket.service, now, rules.escalation)
        if rules.requeue_after == 0:
            requeue_at = ticket.queue_at
        elif len(queue) >= rules.requeue_after:
            leader = queue[rules.requeue_after - 1]
            requeue_at, follows = leader.queue_at, leader.id
        else:
            requeue_at = now
    step.emit(
        ev.TicketNoShow(
            at=now,
            ticket_id=ticket.id,
            number=ticket.number,
            window=window.number,
            requeue_at=requeue_at,
            automatic=automatic,
            follows=follows,
        )
    )
    return _ticket_result(ticket) | {"no_show": True, "requeued": requeue_at is not None}


def _pause(step: Step, window: WindowState, command: cmd.Pause, now: dt.datetime) -> dict[str, Any]:
    reason = values.require(values.reason, command.reason, code="reason_required", label="暂停原因")
    if window.paused:
        raise CommandRejected("already_paused", f"{window.number}号窗口已暂停")
    _require_idle(step, window)
    waiting = sum(
        1
        for code in window.services
        for t in step.state.waiting.get(code, {}).values()
        if t.target_window in (None, window.number)
    )
    step.emit(ev.WindowPaused(at=now, window=window.number, reason=reason, waiting=waiting))
    return _window_result(window) | {"waiting": waiting}


def _transfer(
    step: Step, window: WindowState, command: cmd.Transfer, now: dt.datetime
) -> dict[str, Any]:
    ticket = _current(step, window)
    if command.to_service is None and command.to_window is None:
        raise InvalidRequest("transfer_target", "转办需要指定业务或窗口")
    to_service = command.to_service
    if command.to_window is not None:
        target = step.window_state(command.to_window)
        if not target.open:
            raise CommandRejected("window_closed", f"{target.number}号窗口已关闭")
        if to_service is None:
            to_service = ticket.service if ticket.service in target.services else target.services[0]
        if to_service not in target.services:
            raise CommandRejected("window_not_serving", f"{target.number}号窗口不办理该业务")
    assert to_service is not None
    target_service = step.service_config(to_service)
    if command.to_window is None:
        step.require_open_window(target_service)
    if to_service == ticket.service and command.to_window in (None, window.number):
        raise CommandRejected("same_place", "转办目标与当前业务和窗口相同")
    step.emit(
        ev.TicketTransferred(
            at=now,
            ticket_id=ticket.id,
            number=ticket.number,
            from_window=window.number,
            to_service=to_service,
            to_window=command.to_window,
        )
    )
    return _ticket_result(ticket)


def parse_case_number(text: str | None) -> str | None:
    """A 办件编号: 1-64 letters, digits or - _ . / (None when blank); InvalidRequest otherwise."""
    if text is None or not text.strip():
        return None
    number = text.strip()
    if len(number) > 64 or not all(c.isascii() and (c.isalnum() or c in "-_./") for c in number):
        raise InvalidRequest("bad_case_number", "办件编号应为 1-64 位字母、数字或 - _ . /")
    return number


def _finish(
    step: Step,
    window: WindowState,
    ticket: Ticket,
    outcome_text: str | None,
    now: dt.datetime,
    *,
    case_number: str | None = None,
) -> dict[str, Any]:
    outcome = parse_outcome(outcome_text) if outcome_text else None
    service = step.config.service(ticket.service)
    if outcome is None and service is not None and service.outcome_required:
        raise InvalidRequest("outcome_required", f"{service.name}办结时须登记办件类型")
    started = ticket.first_called_at or now
    step.emit(
        ev.TicketFinished(
            at=now,
            ticket_id=ticket.id,
            number=ticket.number,
            window=window.number,
            staff_id=window.staff_id or "",
            outcome=outcome.value if outcome else None,
            service_seconds=max(0, int((now - started).total_seconds())),
            case_number=case_number,
        )
    )
    return _ticket_result(ticket) | {"outcome": ticket.outcome, "case_number": case_number}


def _invite_rating(step: Step, window: WindowState, now: dt.datetime) -> dict[str, Any]:
    ticket_id = window.current or window.last_finished
    if ticket_id is None:
        raise CommandRejected("nothing_to_rate", "当前没有可邀请评价的办件")
    ticket = step.state.tickets[ticket_id]
    if ticket.rating_invited_until is not None and ticket.rating_invited_until > now:
        return _ticket_result(ticket) | {"rating_until": ticket.rating_invited_until.isoformat()}
    until = now + dt.timedelta(seconds=step.config.queue.rating_invitation_seconds)
    step.emit(ev.RatingInvited(at=now, ticket_id=ticket.id, window=window.number, until=until))
    return _ticket_result(ticket) | {"rating_until": until.isoformat()}


def _require_staff(window: WindowState) -> None:
    if not window.open:
        raise CommandRejected("window_closed", f"{window.number}号窗口已关闭")
    if window.staff_id is None:
        raise CommandRejected("not_signed_in", f"{window.number}号窗口无人签到，请先签到")


def _require_idle(step: Step, window: WindowState) -> None:
    if window.current is not None:
        number = step.state.tickets[window.current].number
        raise CommandRejected(
            "window_busy", f"{window.number}号窗口正在办理 {number}，请先办结或过号"
        )


def _current(step: Step, window: WindowState) -> Ticket:
    if window.current is None:
        raise CommandRejected("no_current_ticket", f"{window.number}号窗口当前没有正在办理的票号")
    return step.state.tickets[window.current]


def _ticket_result(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service,
        "status": ticket.status.value,
        "window": ticket.window,
    }


def _window_result(window: WindowState) -> dict[str, Any]:
    return {"window": window.number, "state": window.status, "staff": window.staff_name}
