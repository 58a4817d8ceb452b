"""Bearer tokens with roles; tokens are kept only as SHA-256 digests."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum

from controller.domain.errors import AuthError, NotPermitted
from controller.settings.hall_config import TokenConfig, token_digest


class Role(StrEnum):
    """Who is calling the API."""

    ADMIN = "admin"
    FLOOR_MANAGER = "floor_manager"
    WINDOW_STAFF = "window_staff"
    KIOSK = "kiosk"
    DISPLAY = "display"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: token name, role, and the window a staff token is bound to."""

    name: str
    role: Role
    window: int | None = None


class TokenRegistry:
    """Looks callers up by token digest."""

    def __init__(self, tokens: list[TokenConfig], admin_token: str | None = None) -> None:
        self._by_digest: dict[str, Caller] = {
            t.sha256: Caller(t.name, Role(t.role), t.window) for t in tokens
        }
        if admin_token:
            if len(admin_token) < 16:
                raise AuthError("HALLCTL_ADMIN_TOKEN must be at least 16 characters")
            self._by_digest[token_digest(admin_token)] = Caller("admin-env", Role.ADMIN)

    def add(self, token: str, caller: Caller) -> None:
        """Register one more token (generated tokens in simulate mode)."""
        self._by_digest[token_digest(token)] = caller

    def caller_for(self, authorization: str | None) -> Caller:
        """The caller behind an `Authorization: Bearer …` header, or AuthError (401)."""
        if not authorization:
            raise AuthError("缺少访问令牌（Authorization: Bearer <token>）")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("访问令牌格式应为 Authorization: Bearer <token>")
        digest = token_digest(token.strip())
        for known, caller in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                return caller
        raise AuthError("访问令牌无效")


def require(caller: Caller, *roles: Role, window: int | None = None) -> None:
    """AuthError (403) unless the caller has one of `roles` (staff only for their own window)."""
    if caller.role is Role.ADMIN or (caller.role in roles and caller.role is not Role.WINDOW_STAFF):
        return
    if caller.role is Role.WINDOW_STAFF and Role.WINDOW_STAFF in roles:
        if window is None or caller.window == window:
            return
        raise NotPermitted(f"该令牌只能操作 {caller.window} 号窗口")
    raise NotPermitted(f"角色 {caller.role.value} 无权执行此操作")
