"""Live streams per token: a token holds at most N /api/events streams; past that, 429."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from controller.api.auth import Caller
from controller.domain.errors import RateLimited


class StreamSlots:
    """Counts the open live streams of each caller against one limit."""

    def __init__(self, per_token: int) -> None:
        self.per_token = per_token
        self._open: Counter[Caller] = Counter()
        self._lock = threading.Lock()

    def take(self, caller: Caller) -> Callable[[], None]:
        """Take a slot for `caller` (RateLimited when all are held); returns its release."""
        with self._lock:
            if self._open[caller] >= self.per_token:
                raise RateLimited(
                    "too_many_streams",
                    f"该令牌同时打开的实时连接已达上限（{self.per_token} 个），"
                    "请关闭不用的页面后再试",
                    retry_after=1.0,
                )
            self._open[caller] += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if not released:
                    released = True
                    self._open[caller] -= 1
                    if self._open[caller] <= 0:
                        del self._open[caller]

        return release

    def held(self, caller: Caller) -> int:
        """How many streams `caller` holds now."""
        with self._lock:
            return self._open[caller]


class SlotStreamingResponse(StreamingResponse):
    """A streaming response that gives its slot back however it ends (even before it starts)."""

    def __init__(self, *args: Any, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
