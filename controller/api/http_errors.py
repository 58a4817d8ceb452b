"""The one translation of the hall's errors and refusals into HTTP statuses (and only here)."""

from __future__ import annotations

from controller.domain.errors import (
    AuthError,
    CommandRejected,
    Forbidden,
    HallError,
    InvalidRequest,
    NotFound,
    NotPermitted,
    PrinterUnavailable,
    RateLimited,
    StoreError,
    Unavailable,
)

# Most specific first: a subclass's status wins over its parent's.
_STATUS: tuple[tuple[type[HallError], int], ...] = (
    (NotFound, 404),
    (InvalidRequest, 422),
    (Forbidden, 403),
    (RateLimited, 429),
    (Unavailable, 503),
    (CommandRejected, 409),
    (NotPermitted, 403),
    (AuthError, 401),
    (PrinterUnavailable, 503),
    (StoreError, 503),
)


def http_status(error: HallError) -> int:
    """The HTTP status that answers `error`; 400 for a hall error with no kind of its own."""
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 400)
