"""One error root for the hall controller, with typed subclasses that carry their fields."""

from __future__ import annotations

from dataclasses import dataclass, field


class HallError(Exception):
    """Root of every error the hall controller raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a hall configuration file: where it is and what is wrong."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        key = f" [{self.key}]" if self.key else ""
        return f"{where}{key}: {self.message}"


class ConfigError(HallError):
    """The hall configuration is broken; carries every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class CommandRejected(HallError):
    """A command refused because it conflicts with the hall's state; `reason` a code, `message` Chinese.

    The subclass says what kind of refusal it is; each boundary (HTTP in controller/api, a
    keypad's answer code) translates the kind once.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(f"{reason}: {message}")


class NotFound(CommandRejected):
    """A ticket, window, service or appointment named in a command does not exist."""


class InvalidRequest(CommandRejected):
    """A command's fields are malformed (unknown outcome, bad lane, empty reason)."""


class Forbidden(CommandRejected):
    """A rule of the hall forbids this caller this command (not rostered here, no staff PIN)."""


class Unavailable(CommandRejected):
    """Refused for now, not for good: a busy or timed-out resource; the same request may succeed later."""


class RateLimited(CommandRejected):
    """A caller is past a rate limit; `retry_after` seconds until it may try again."""

    def __init__(self, reason: str, message: str, *, retry_after: float) -> None:
        super().__init__(reason, message)
        self.retry_after = retry_after


class PrinterUnavailable(HallError):
    """No printer of a ticket machine printed the ticket; the number stays reserved, flagged."""

    def __init__(self, message: str, *, ticket_id: str, number: str, detail: str) -> None:
        self.message = message
        self.ticket_id = ticket_id
        self.number = number
        self.detail = detail  # device paths and driver errors: for the floor, not for a kiosk
        super().__init__(f"ticket {ticket_id} not printed: {detail}")


@dataclass
class StoreError(HallError):
    """The journal could not be read or written; the command was not applied."""

    detail: str
    path: str = field(default="")
    disk_full: bool = field(default=False)  # SQLITE_FULL / ENOSPC: the disk has no room left

    def __str__(self) -> str:
        return f"journal {self.path}: {self.detail}" if self.path else f"journal: {self.detail}"


@dataclass
class BackupError(HallError):
    """A backup could not be made, or a file offered for restore is not a sound hall journal."""

    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


class AuthError(HallError):
    """A request carried no token, or a token nobody issued."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class NotPermitted(AuthError):
    """A known token whose role (or window) may not do this."""
