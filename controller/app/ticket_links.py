"""Unguessable ticket status tokens: HMAC-SHA256 of the ticket id under the hall's own secret.

The token is derived, never stored with the ticket: every journal replays as before, and a
ticket issued by an older controller gets its token like any other. The secret lives in the
journal's meta rows (created on first start), so a backup or restore of the journal keeps every
printed QR code working, and two halls never share tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable

from controller.app.journal import Journal
from controller.domain.errors import StoreError

log = logging.getLogger(__name__)

SECRET_META_KEY = "ticket_link_secret"
TOKEN_CHARS = 20  # base32: 100 bits, far beyond guessing among a day's tickets
TOKEN_PATTERN = re.compile(rf"[a-z2-7]{{{TOKEN_CHARS}}}")
_MEMO_LIMIT = 50_000  # ids remembered for lookups; a day has at most a few thousand tickets


class TicketLinks:
    """Tokens for ticket ids under one secret, and the way back from a token to its ticket."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("a ticket link secret needs at least 16 bytes")
        self._secret = secret
        self._ids: dict[str, str] = {}  # token -> ticket id, for the ids seen so far
        self._tokens: dict[str, str] = {}  # ticket id -> token, the same pairs

    @classmethod
    def of_journal(cls, journal: Journal) -> TicketLinks:
        """The hall's links under the secret kept in `journal` (created there on first use)."""
        stored = journal.meta(SECRET_META_KEY)
        if stored is None:
            stored = secrets.token_hex(32)
            try:
                journal.set_meta(SECRET_META_KEY, stored)
            except StoreError as err:  # a full disk must not stop the hall from starting
                log.error("ticket link secret not saved (QR codes change at restart): %s", err)
        return cls(bytes.fromhex(stored))

    def token(self, ticket_id: str) -> str:
        """The ticket's status token (lower-case base32, TOKEN_CHARS long)."""
        digest = hmac.new(self._secret, ticket_id.encode("utf-8"), hashlib.sha256).digest()
        return base64.b32encode(digest).decode("ascii").lower()[:TOKEN_CHARS]

    def find(self, token: str, ticket_ids: Iterable[str]) -> str | None:
        """The id among `ticket_ids` whose token is `token`, or None."""
        if not TOKEN_PATTERN.fullmatch(token):
            return None
        known = self._ids.get(token)
        if known is not None:
            return known
        if len(self._ids) > _MEMO_LIMIT:
            self._ids.clear()
            self._tokens.clear()
        found = None
        for ticket_id in ticket_ids:
            if ticket_id in self._tokens:
                continue
            mine = self.token(ticket_id)
            self._ids[mine] = ticket_id
            self._tokens[ticket_id] = mine
            if mine == token:
                found = ticket_id
        return found
