"""Security headers on every response (pure ASGI): CSP, no framing, no referrer, nosniff.

A page's Content-Security-Policy allows its own inline scripts and styles by their SHA-256
hashes (the hall's pages are single files) and nothing else inline: a script injected into a
page through data would not run. JSON, the event stream and files get a policy that allows
nothing at all.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),  # for browsers older than CSP frame-ancestors (old TV sets)
)
NOTHING = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
PAGE = (
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self'{styles}; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.S | re.I)
_STYLE = re.compile(rb"<style[^>]*>(.*?)</style\s*>", re.S | re.I)
_MAX_PAGE = 4 * 1_048_576  # larger HTML is sent with no inline code allowed
_CACHE_SIZE = 64


class SecureFastAPI(FastAPI):
    """A FastAPI app whose every answer, its 500 pages too, carries the security headers."""

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack (error pages outermost) wrapped in SecurityHeaders."""
        return SecurityHeaders(super().build_middleware_stack())


class SecurityHeaders:
    """ASGI middleware adding the hall's security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._policies: dict[bytes, bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        parts: list[bytes] = []

        async def guarded_send(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                if _is_html(message):
                    held = message  # its policy needs the page
                    return
                await send(_with_headers(message, NOTHING))
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            parts.append(message.get("body", b""))
            size = sum(len(p) for p in parts)
            if message.get("more_body", False) and size <= _MAX_PAGE:
                return
            page = b"".join(parts)
            policy = (
                self._policy(page)
                if size <= _MAX_PAGE
                else PAGE.format(scripts="", styles="").encode()
            )
            start, held = held, None
            parts.clear()
            await send(_with_headers(start, policy))
            await send({**message, "body": page})

        await self.app(scope, receive, guarded_send)

    def _policy(self, page: bytes) -> bytes:
        key = hashlib.sha256(page).digest()
        found = self._policies.get(key)
        if found is None:
            if len(self._policies) >= _CACHE_SIZE:
                self._policies.clear()
            found = self._policies[key] = page_policy(page)
        return found


def page_policy(page: bytes) -> bytes:
    """The CSP of an HTML page: its own inline scripts and styles by hash, nothing else inline."""
    scripts = "".join(f" '{_digest(body)}'" for body in _SCRIPT.findall(page))
    styles = "".join(f" '{_digest(body)}'" for body in _STYLE.findall(page))
    return PAGE.format(scripts=scripts, styles=styles).encode()


def _digest(body: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def _is_html(message: Message) -> bool:
    for name, value in message.get("headers", []):
        if name.lower() == b"content-type":
            return bytes(value).lower().startswith(b"text/html")
    return False


def _with_headers(message: Message, policy: bytes) -> Message:
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    extra = [(b"content-security-policy", policy), *COMMON]
    headers += [(name, value) for name, value in extra if name not in present]
    return {**message, "headers": headers}
