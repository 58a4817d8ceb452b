"""Request bodies under limits (pure ASGI): token checked before a body is read, size, timeout.

A request that carries a body must name a known bearer token before one byte of it is read
(every route taking a body needs a token), may not announce or send more than `max_body_bytes`
(413) and must arrive whole within `body_timeout_seconds` (408). Refusals close the connection,
so the unread rest of the body is never received.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from controller.settings.server_limits import ServerLimits

TokenCheck = Callable[[str | None], bool]
MISSING_TOKEN = "缺少访问令牌（Authorization: Bearer <token>）"
UNKNOWN_TOKEN = "访问令牌无效"


class BodyRefused(Exception):
    """A body over the size limit, too slow, or malformed: the answer to send instead."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{status} {code}")


class RequestGuard:
    """ASGI middleware: bodies only from known tokens, within size and time limits."""

    def __init__(self, app: ASGIApp, limits: ServerLimits, token_checks: list[TokenCheck]) -> None:
        self.app = app
        self.limits = limits
        self.token_checks = token_checks  # the app's own, and those of apps mounted under it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            length, chunked, authorization = _body_headers(scope)
            if not chunked and not length:
                await self.app(scope, receive, send)
                return
            if not any(check(authorization) for check in self.token_checks):
                message = UNKNOWN_TOKEN if authorization else MISSING_TOKEN
                await _refuse(send, 401, "unauthorized", message, {"www-authenticate": "Bearer"})
                return
            if length is not None and length > self.limits.max_body_bytes:
                raise self._too_large()
            body = await self._read(receive)
        except BodyRefused as refused:
            await _refuse(send, refused.status, refused.code, refused.message)
            return
        if body is None:
            return  # the client went away while sending
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.body_timeout_seconds
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                # A timeout scope, not wait_for: no task is made per body (3.11's wait_for makes one).
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError as err:
                raise BodyRefused(408, "body_timeout", "请求内容发送超时，请重试") from err
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> BodyRefused:
        limit_kb = self.limits.max_body_bytes // 1024
        return BodyRefused(413, "body_too_large", f"请求内容过大：上限 {limit_kb} KB")


def _body_headers(scope: Scope) -> tuple[int | None, bool, str | None]:
    length: int | None = None
    chunked = False
    authorization: str | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError as err:
                raise BodyRefused(400, "bad_content_length", "Content-Length 无效") from err
            if length < 0:
                raise BodyRefused(400, "bad_content_length", "Content-Length 无效")
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"authorization":
            authorization = value.decode("latin-1")
    return length, chunked, authorization


def _replay(body: bytes, receive: Receive) -> Receive:
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(
    send: Send, status: int, code: str, message: str, extra: dict[str, str] | None = None
) -> None:
    payload = json.dumps({"error": code, "message": message}, ensure_ascii=False).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),  # the unread body is never taken off the socket
    ]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": payload, "more_body": False})
