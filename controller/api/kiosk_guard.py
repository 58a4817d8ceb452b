"""What a kiosk token may ask for: tickets within its issuing rate, 绿色通道 only with staff say-so.

A kiosk token sits in a public touch screen's browser: anyone who reads it off the machine can
script it. Past `[kiosk] max_tickets` per `per_seconds` its requests are refused (429) and the
floor sees an alert until it calms. A priority ticket from a kiosk needs a staff confirmation:
the hall's staff PIN (`priority_pin_sha256`) or a floor manager's token; after
`confirmation_failures` wrong ones the kiosk's priority lane locks for a while, with an alert.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable

from controller.api.auth import Caller, Role, TokenRegistry
from controller.app.burst_limit import Burst, BurstLimiter
from controller.domain.alerts import Alert, AlertKind
from controller.domain.errors import AuthError, Forbidden, RateLimited
from controller.settings.config_sections import KioskConfig

log = logging.getLogger(__name__)
CONFIRMING_ROLES = frozenset({Role.FLOOR_MANAGER, Role.ADMIN})


class KioskGuard:
    """Checks each kiosk request for a ticket against the kiosk's limits; reports floor alerts."""

    def __init__(
        self,
        config: KioskConfig,
        tokens: TokenRegistry,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._tokens = tokens
        self._issuing = BurstLimiter(
            config.max_tickets, config.per_seconds, clock=clock, on_calm=self._calm
        )
        self._failures = BurstLimiter(
            config.confirmation_failures, config.confirmation_lock_seconds, clock=clock
        )
        self._failed_tokens: set[str] = set()

    def admit_ticket(self, caller: Caller) -> None:
        """Count one ticket request of a kiosk token; RateLimited (429) past its rate."""
        if caller.role is not Role.KIOSK:
            return
        verdict = self._issuing.admit(caller.name)
        if verdict.admitted:
            return
        if verdict.burst_started:
            log.warning(
                "kiosk token %s: more than %d ticket requests in %.0f s; refused until it calms",
                caller.name,
                self.config.max_tickets,
                self.config.per_seconds,
            )
        raise RateLimited(
            "kiosk_rate_limited",
            "取号过于频繁，请稍候再试；如需帮助请咨询工作人员",
            retry_after=self._issuing.retry_after(caller.name),
        )

    def confirm_priority(self, caller: Caller, confirmation: str | None) -> None:
        """Let a kiosk take a 绿色通道 ticket only with a staff confirmation; 403 or 429 if not."""
        if caller.role is not Role.KIOSK:
            return
        if self._failures.blocked(caller.name):
            raise RateLimited(
                "staff_confirmation_locked",
                "工作人员确认码输错次数过多，本机绿色通道暂停使用，请由值班长协助取号",
                retry_after=self._failures.retry_after(caller.name),
            )
        if confirmation is None:
            raise Forbidden(
                "priority_needs_staff", "绿色通道取号需工作人员确认：请工作人员输入确认码"
            )
        if self._confirms(confirmation):
            return
        self._failures.admit(caller.name)
        self._failed_tokens.add(caller.name)
        log.warning("kiosk token %s: a wrong 绿色通道 staff confirmation", caller.name)
        raise Forbidden("staff_confirmation_invalid", "工作人员确认码错误，请重新输入")

    def alerts(self) -> list[Alert]:
        """Floor alerts: kiosk tokens past their issuing rate, kiosks whose priority lane locked."""
        found: list[Alert] = []
        for name, burst in self._issuing.bursts().items():
            found.append(
                Alert(
                    AlertKind.KIOSK_RATE_LIMITED,
                    f"取号机令牌 {name} 取号过于频繁（{self.config.per_seconds:.0f} 秒内"
                    f"超过 {self.config.max_tickets} 张）：已拒绝 {burst.refused} 次，请到取号机旁查看",
                    token=name,
                )
            )
        for name in sorted(self._failed_tokens):
            if self._failures.blocked(name):
                found.append(
                    Alert(
                        AlertKind.KIOSK_CONFIRMATION_FAILED,
                        f"取号机令牌 {name} 绿色通道工作人员确认码多次输错，"
                        "该取号机的绿色通道已暂停，请到取号机旁查看",
                        token=name,
                    )
                )
        return found

    def _confirms(self, confirmation: str) -> bool:
        if not confirmation.isprintable() or not confirmation.isascii():
            return False  # no PIN or token holds anything else (nor a lone surrogate)
        pin = self.config.priority_pin_sha256
        if pin is not None:
            digest = hashlib.sha256(confirmation.encode("ascii")).hexdigest()
            if hmac.compare_digest(digest, pin):
                return True
        try:
            confirmer = self._tokens.caller_for(f"Bearer {confirmation}")
        except AuthError:
            return False
        return confirmer.role in CONFIRMING_ROLES

    def _calm(self, name: str, burst: Burst) -> None:
        log.warning(
            "kiosk token %s calm again after %.0f s: %d ticket requests refused",
            name,
            burst.last - burst.since,
            burst.refused,
        )
