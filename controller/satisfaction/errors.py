"""Satisfaction API errors: typed HallError subclasses carrying the record or order they concern."""

from __future__ import annotations

from controller.domain.errors import CommandRejected, Forbidden, InvalidRequest


class RatingConflict(CommandRejected):
    """A hall's rating id is already stored with other content: never overwritten (409)."""

    def __init__(self, hall_id: str, rating_id: str) -> None:
        self.hall_id = hall_id
        self.rating_id = rating_id
        super().__init__(
            "rating_conflict",
            f"大厅 {hall_id} 的评价 {rating_id} 已存在且内容不同；"
            "评价一经记录不可修改，原样重发才会被接受",
        )


class ServedConflict(CommandRejected):
    """A finished ticket is already stored with other content (409)."""

    def __init__(self, hall_id: str, ticket_id: str) -> None:
        self.hall_id = hall_id
        self.ticket_id = ticket_id
        super().__init__(
            "served_conflict",
            f"大厅 {hall_id} 的办件 {ticket_id} 已存在且内容不同；原样重发才会被接受",
        )


class RecordRefused(InvalidRequest):
    """A record field fails a check that needs the server (hall unknown, time in the future)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__("invalid_request", f"{field}: {message}")


class BadTransition(CommandRejected):
    """A work-order step not allowed from the order's current state (409)."""

    def __init__(self, order_id: int, state: str, action: str, message: str) -> None:
        self.order_id = order_id
        self.state = state
        self.action = action
        super().__init__("bad_transition", message)


class UnknownHall(Forbidden):
    """Records of a hall the registry does not hold (yet): 403 `unknown_hall`, for the hall to retry."""

    def __init__(self, hall_id: str, where: str) -> None:
        self.hall_id = hall_id
        super().__init__(
            "unknown_hall",
            f"{where}: 大厅 {hall_id} 未在评价系统登记；登记后自动接收（大厅端保留记录并重试）",
        )


class HallSuspended(Forbidden):
    """Records of a hall a province admin suspended: 403 `hall_suspended`, kept by the hall."""

    def __init__(self, hall_id: str, where: str) -> None:
        self.hall_id = hall_id
        super().__init__(
            "hall_suspended",
            f"{where}: 大厅 {hall_id} 已被省级管理员暂停接收；恢复后自动接收（大厅端保留记录并重试）",
        )
