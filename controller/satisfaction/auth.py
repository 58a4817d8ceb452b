"""Satisfaction API callers: bearer tokens (kept as SHA-256 digests) with a role and a hall."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from controller.domain.errors import AuthError, NotPermitted
from controller.settings.hall_config import TokenConfig, token_digest


class SatisfactionRole(StrEnum):
    """Who calls: a hall controller, its floor manager, 督查股, a read-only integrator, or the
    province admin who keeps the hall registry."""

    HALL = "hall"
    FLOOR_MANAGER = "floor_manager"
    SUPERVISION = "supervision"
    READER = "reader"
    PROVINCE_ADMIN = "province_admin"


ROLE_LABELS = {
    SatisfactionRole.HALL: "大厅上报",
    SatisfactionRole.FLOOR_MANAGER: "大厅管理员",
    SatisfactionRole.SUPERVISION: "督查股",
    SatisfactionRole.READER: "只读",
    SatisfactionRole.PROVINCE_ADMIN: "省级管理员",
}


@dataclass(frozen=True)
class SatisfactionCaller:
    """An authenticated caller; `hall_id` None means every hall (督查股, province)."""

    name: str
    role: SatisfactionRole
    hall_id: str | None = None

    def may_see(self, hall_id: str) -> bool:
        """True when the caller may read (or act on) this hall's records."""
        return self.hall_id is None or self.hall_id == hall_id


class SatisfactionTokenConfig(BaseModel):
    """A token in the central config: its digest, role and (for hall and floor roles) hall."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    role: SatisfactionRole
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    hall_id: str | None = None

    @model_validator(mode="after")
    def _hall_bound(self) -> SatisfactionTokenConfig:
        bound = (SatisfactionRole.HALL, SatisfactionRole.FLOOR_MANAGER)
        if self.role in bound and self.hall_id is None:
            raise ValueError(f"a {self.role.value} token must name its hall_id")
        return self


class SatisfactionTokens:
    """Looks callers up by token digest: the given tokens, then the hall registry if attached."""

    def __init__(self, tokens: list[SatisfactionTokenConfig] | None = None) -> None:
        self._by_digest: dict[str, SatisfactionCaller] = {
            t.sha256: SatisfactionCaller(t.name, t.role, t.hall_id) for t in tokens or []
        }
        self._registry: Callable[[str], SatisfactionCaller | None] = lambda _digest: None

    def attach(self, lookup: Callable[[str], SatisfactionCaller | None]) -> None:
        """Look digests the given tokens lack up in `lookup` (the hall registry)."""
        self._registry = lookup

    def entries(self) -> list[tuple[str, SatisfactionCaller]]:
        """The given tokens as (SHA-256 digest, caller), for the registry's import."""
        return list(self._by_digest.items())

    @classmethod
    def from_hall_tokens(cls, hall_id: str, tokens: list[TokenConfig]) -> SatisfactionTokens:
        """Embedded mode: the hall's floor manager and admin tokens, bound to this hall."""
        registry = cls()
        roles = {"floor_manager": SatisfactionRole.FLOOR_MANAGER}
        roles["admin"] = SatisfactionRole.SUPERVISION
        for token in tokens:
            if token.role in roles:
                caller = SatisfactionCaller(token.name, roles[token.role], hall_id)
                registry._by_digest[token.sha256] = caller
        return registry

    def add(self, token: str, caller: SatisfactionCaller) -> None:
        """Register one more token (the controller's own outbox token, generated at start)."""
        self._by_digest[token_digest(token)] = caller

    def caller_for(self, authorization: str | None) -> SatisfactionCaller:
        """The caller behind an `Authorization: Bearer …` header, or AuthError (401)."""
        if not authorization:
            raise AuthError("缺少访问令牌（Authorization: Bearer <token>）")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("访问令牌格式应为 Authorization: Bearer <token>")
        # Found by its digest in a dict: an attacker who could time the lookup learns bits of
        # the SHA-256 of the token they sent, which tells nothing about any other token.
        digest = token_digest(token.strip())
        found = self._by_digest.get(digest) or self._registry(digest)
        if found is None:
            raise AuthError("访问令牌无效")
        return found


def require_role(caller: SatisfactionCaller, *roles: SatisfactionRole) -> None:
    """AuthError (403) unless the caller has one of `roles`."""
    if caller.role not in roles:
        allowed = "、".join(ROLE_LABELS[r] for r in roles)
        raise NotPermitted(
            f"角色 {ROLE_LABELS[caller.role]}（{caller.role.value}）无权执行此操作，需要：{allowed}"
        )


def require_hall(caller: SatisfactionCaller, hall_id: str, where: str = "hall_id") -> None:
    """AuthError (403) naming the hall unless the caller may see `hall_id`."""
    if not caller.may_see(hall_id):
        raise NotPermitted(
            f"令牌 {caller.name} 只能访问大厅 {caller.hall_id}，不能访问大厅 {hall_id}（{where}）"
        )
