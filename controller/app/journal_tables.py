"""The journal's SQLite tables: events in order, idempotent answers, and facts about the journal."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlmodel import Field, SQLModel


class JournalEvent(SQLModel, table=True):
    """One journaled event; `day` is the hall day it belongs to."""

    __tablename__ = "journal_event"
    seq: int | None = Field(default=None, primary_key=True)
    day: str = Field(index=True)
    at: str
    kind: str = Field(index=True)
    payload: str


class IdempotentResponse(SQLModel, table=True):
    """The response given to a request carrying an Idempotency-Key, kept for retries."""

    __tablename__ = "idempotent_response"
    key: str = Field(primary_key=True)
    fingerprint: str
    status: int
    body: str
    created_at: str


class JournalMeta(SQLModel, table=True):
    """Key/value facts about the journal itself (schema version, hall name)."""

    __tablename__ = "journal_meta"
    key: str = Field(primary_key=True)
    value: str


EVENTS = cast(Table, JournalEvent.__table__)  # type: ignore[attr-defined]
RESPONSES = cast(Table, IdempotentResponse.__table__)  # type: ignore[attr-defined]
META = cast(Table, JournalMeta.__table__)  # type: ignore[attr-defined]
