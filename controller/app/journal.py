"""The journal: every event in order, and idempotent responses, in SQLite (WAL) via SQLModel."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import delete, func, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel, create_engine

from controller.app import event_codec
from controller.app.data_files import secure_file
from controller.app.journal_tables import EVENTS, META, RESPONSES
from controller.domain import events as ev
from controller.domain.errors import StoreError

# Event kinds whose effect outlives the day; restart replays them from all of history.
PERSISTENT_KINDS = (
    "WindowOpened",
    "WindowClosed",
    "WindowServicesChanged",
    "NoticePosted",
    "NoticeCleared",
    "DutyLeaderSet",
    "AppointmentBooked",
    "RatingDefaultsApplied",
)
SCHEMA_VERSION = "1"
SQLITE_FULL = 13  # "database or disk is full": SQLite's answer to ENOSPC on a write


@dataclass(frozen=True)
class StoredResponse:
    """A response stored for an Idempotency-Key."""

    fingerprint: str
    status: int
    body: dict[str, Any]


EventRow = tuple[str, str, str, str]  # day, at, kind, payload
AnswerRow = tuple[str, str, int, str, str]  # key, fingerprint, status, body, created_at


@dataclass(frozen=True)
class JournalRows:
    """One command's events (and idempotent answer) as table rows, ready to write."""

    events: list[EventRow]
    answer: AnswerRow | None = None


def encode_rows(
    events: Sequence[ev.Event], *, day: dt.date, response: tuple[str, StoredResponse] | None
) -> JournalRows:
    """The rows of a batch of events filed under hall day `day`, and of its response."""
    rows = [
        (_day_of(e, day), e.at.isoformat(), e.kind, event_codec.event_to_json(e)) for e in events
    ]
    answer = None
    if response is not None:
        key, stored = response
        body = json.dumps(stored.body, ensure_ascii=False)
        created = dt.datetime.now(dt.UTC).isoformat()
        answer = (key, stored.fingerprint, stored.status, body, created)
    return JournalRows(rows, answer)


class Journal:
    """Append-only event store; a batch of events and its response commit in one transaction."""

    def __init__(self, url: str, *, durable: bool = True) -> None:
        self.url = url
        self._engine = _make_engine(url, durable=durable)
        try:
            # Only the journal's own tables: other SQLModel tables (the satisfaction API's) live
            # in their own database.
            SQLModel.metadata.create_all(self._engine, tables=[EVENTS, RESPONSES, META])
            with self._engine.begin() as conn:
                found = conn.execute(
                    select(META.c.value).where(META.c.key == "schema_version")
                ).scalar()
                if found is None:
                    conn.execute(insert(META), [{"key": "schema_version", "value": SCHEMA_VERSION}])
                elif found != SCHEMA_VERSION:
                    raise StoreError(
                        f"journal schema {found}, this controller reads {SCHEMA_VERSION}", url
                    )
        except SQLAlchemyError as err:
            raise StoreError(f"cannot open journal: {err}", url) from err
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._answers_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None  # WAL: reads never wait for the writer
        # The event loop's own (stored responses): never queued behind the outbox's reads.
        self._answers: sqlite3.Connection | None = None
        database = self._engine.url.database
        if self._engine.dialect.name == "sqlite" and database and database != ":memory:":
            try:
                self._writer = sqlite3.connect(
                    database, timeout=10, isolation_level=None, check_same_thread=False
                )
                _sqlite_pragmas(self._writer, durable=durable)
                self._reader = sqlite3.connect(
                    database, timeout=10, isolation_level=None, check_same_thread=False
                )
                self._answers = sqlite3.connect(
                    database, timeout=10, isolation_level=None, check_same_thread=False
                )
            except sqlite3.Error as err:
                raise StoreError(f"cannot open journal for writing: {err}", url) from err

    @classmethod
    def at_path(cls, path: str | Path, *, durable: bool = True) -> Journal:
        """A journal in a SQLite file (created, with its directory, if missing), owner-only (0600)."""
        Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        journal = cls(f"sqlite:///{Path(path)}", durable=durable)
        secure_file(Path(path))
        return journal

    @property
    def sql_engine(self) -> SqlEngine:
        """The SQLAlchemy engine (for backup and tests)."""
        return self._engine

    def append(
        self,
        events: Sequence[ev.Event],
        *,
        day: dt.date,
        response: tuple[str, StoredResponse] | None = None,
    ) -> None:
        """Write events (and an idempotent response) durably in one transaction."""
        self.append_rows([encode_rows(events, day=day, response=response)])

    def append_rows(self, groups: Sequence[JournalRows]) -> None:
        """Write several commands' rows durably in one transaction (one fsync), in order."""
        rows = [row for group in groups for row in group.events]
        answers = [group.answer for group in groups if group.answer is not None]
        if self._writer is not None:
            self._append_sqlite(rows, answers)
        else:
            self._append_sqlalchemy(rows, answers)

    def _append_sqlite(self, rows: list[EventRow], answers: list[AnswerRow]) -> None:
        # One long-lived stdlib connection: SQLAlchemy's per-call overhead would triple the
        # latency of a durable commit on a fast disk (benchmarks/bench_journal_latency.py).
        assert self._writer is not None
        with self._write_lock:
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                try:
                    self._writer.executemany(
                        "INSERT INTO journal_event (day, at, kind, payload) VALUES (?, ?, ?, ?)",
                        rows,
                    )
                    if answers:
                        self._writer.executemany(
                            "INSERT INTO idempotent_response (key, fingerprint, status, body, "
                            "created_at) VALUES (?, ?, ?, ?, ?)",
                            answers,
                        )
                except BaseException:
                    # On SQLITE_FULL (a full disk) SQLite has rolled back already: a second
                    # ROLLBACK would fail and hide the cause.
                    if self._writer.in_transaction:
                        self._writer.execute("ROLLBACK")
                    raise
                self._writer.execute("COMMIT")
            except sqlite3.Error as err:
                if self._writer.in_transaction:  # a COMMIT that failed: leave no open transaction
                    with contextlib.suppress(sqlite3.Error):
                        self._writer.execute("ROLLBACK")
                raise _write_error(f"cannot write {len(rows)} events", err, self.url) from err

    def _append_sqlalchemy(self, rows: list[EventRow], answers: list[AnswerRow]) -> None:
        names = ("key", "fingerprint", "status", "body", "created_at")
        try:
            with self._engine.begin() as conn:
                if rows:
                    conn.execute(
                        insert(EVENTS),
                        [{"day": d, "at": a, "kind": k, "payload": p} for d, a, k, p in rows],
                    )
                if answers:
                    conn.execute(
                        insert(RESPONSES), [dict(zip(names, a, strict=True)) for a in answers]
                    )
        except SQLAlchemyError as err:
            raise _write_error(f"cannot write {len(rows)} events", err, self.url) from err

    def stored_response(self, key: str) -> StoredResponse | None:
        """The response stored under an Idempotency-Key, or None."""
        if self._answers is not None:  # every command with a key asks: the lean stdlib path
            try:
                with self._answers_lock:
                    found = self._answers.execute(
                        "SELECT fingerprint, status, body FROM idempotent_response WHERE key = ?",
                        (key,),
                    ).fetchone()
            except sqlite3.Error as err:
                raise StoreError(f"cannot read a stored response: {err}", self.url) from err
            return (
                None if found is None else StoredResponse(found[0], found[1], json.loads(found[2]))
            )
        with self._engine.connect() as conn:
            row = conn.execute(
                select(
                    RESPONSES.c.fingerprint,
                    RESPONSES.c.status,
                    RESPONSES.c.body,
                ).where(RESPONSES.c.key == key)
            ).first()
        if row is None:
            return None
        return StoredResponse(row[0], row[1], json.loads(row[2]))

    def restart_events(self) -> Iterator[ev.Event]:
        """Events that rebuild the live state: lasting ones from history, then the current day."""
        with self._engine.connect() as conn:
            start = conn.execute(
                select(EVENTS.c.seq)
                .where(EVENTS.c.kind == "DayOpened")
                .order_by(EVENTS.c.seq.desc())
                .limit(1)
            ).scalar()
            if start is None:
                return
            lasting = (
                conn.execute(
                    select(EVENTS.c.payload)
                    .where(EVENTS.c.seq < start, EVENTS.c.kind.in_(PERSISTENT_KINDS))
                    .order_by(EVENTS.c.seq)
                )
                .scalars()
                .all()
            )
            today = (
                conn.execute(
                    select(EVENTS.c.payload).where(EVENTS.c.seq >= start).order_by(EVENTS.c.seq)
                )
                .scalars()
                .all()
            )
        for payload in (*lasting, *today):
            yield event_codec.event_from_json(payload)

    def events_of_day(self, day: dt.date) -> list[ev.Event]:
        """Every event journaled for one hall day, in order."""
        with self._engine.connect() as conn:
            payloads = (
                conn.execute(
                    select(EVENTS.c.payload)
                    .where(EVENTS.c.day == day.isoformat())
                    .order_by(EVENTS.c.seq)
                )
                .scalars()
                .all()
            )
        return [event_codec.event_from_json(p) for p in payloads]

    def events_after(
        self, after_seq: int, kinds: Sequence[str], limit: int
    ) -> list[tuple[int, ev.Event]]:
        """Up to `limit` events of these kinds with seq > `after_seq`, oldest first, with seq."""
        if self._reader is not None:  # the outbox asks after every burst: the lean stdlib path
            marks = ", ".join("?" * len(kinds))
            try:
                with self._read_lock:
                    found = self._reader.execute(
                        "SELECT seq, payload FROM journal_event WHERE seq > ? AND kind IN "
                        f"({marks}) ORDER BY seq LIMIT ?",
                        (after_seq, *kinds, limit),
                    ).fetchall()
            except sqlite3.Error as err:
                raise StoreError(f"cannot read events: {err}", self.url) from err
            return [(int(seq), event_codec.event_from_json(payload)) for seq, payload in found]
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(EVENTS.c.seq, EVENTS.c.payload)
                .where(EVENTS.c.seq > after_seq, EVENTS.c.kind.in_(kinds))
                .order_by(EVENTS.c.seq)
                .limit(limit)
            ).all()
        return [(int(seq), event_codec.event_from_json(payload)) for seq, payload in rows]

    def count_after(self, after_seq: int, kinds: Sequence[str]) -> int:
        """How many events of these kinds have seq > `after_seq`."""
        with self._engine.connect() as conn:
            value = conn.execute(
                select(func.count())
                .select_from(EVENTS)
                .where(EVENTS.c.seq > after_seq, EVENTS.c.kind.in_(kinds))
            ).scalar()
        return int(value or 0)

    def meta(self, key: str) -> str | None:
        """A journal_meta value (e.g. an outbox cursor), or None."""
        with self._engine.connect() as conn:
            value = conn.execute(select(META.c.value).where(META.c.key == key)).scalar()
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        """Set a journal_meta value durably."""
        try:
            with self._engine.begin() as conn:
                conn.execute(delete(META).where(META.c.key == key))
                conn.execute(insert(META), [{"key": key, "value": value}])
        except SQLAlchemyError as err:
            raise _write_error(f"cannot write {key}", err, self.url) from err

    def days(self) -> list[dt.date]:
        """The hall days present in the journal, oldest first."""
        with self._engine.connect() as conn:
            values = (
                conn.execute(select(EVENTS.c.day).distinct().order_by(EVENTS.c.day)).scalars().all()
            )
        return [dt.date.fromisoformat(v) for v in values]

    def count(self) -> int:
        """How many events the journal holds."""
        with self._engine.connect() as conn:
            value = conn.exec_driver_sql("SELECT count(*) FROM journal_event").scalar()
        return int(value or 0)

    def close(self) -> None:
        """Release connections."""
        if self._writer is not None:
            with self._write_lock:
                self._writer.close()
                self._writer = None
        if self._reader is not None:
            with self._read_lock:
                self._reader.close()
                self._reader = None
        if self._answers is not None:
            with self._answers_lock:
                self._answers.close()
                self._answers = None
        self._engine.dispose()


def _write_error(what: str, err: Exception, url: str) -> StoreError:
    """A StoreError for a failed write, marked disk_full when SQLite or the OS said so."""
    cause = getattr(err, "orig", None) or err  # SQLAlchemy wraps the driver's error
    full = getattr(cause, "sqlite_errorcode", None) == SQLITE_FULL
    full = full or (isinstance(cause, OSError) and cause.errno == errno.ENOSPC)
    return StoreError(f"{what}: {err}", url, disk_full=full)


def _day_of(event: ev.Event, current: dt.date) -> str:
    if isinstance(event, ev.DayClosed | ev.DayOpened):
        return event.day.isoformat()
    return current.isoformat()


def _make_engine(url: str, *, durable: bool) -> SqlEngine:
    is_sqlite = url.startswith("sqlite")
    connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": 10} if is_sqlite else {}
    in_memory = is_sqlite and url.rstrip("/") in (
        "sqlite:",
        "sqlite:/:memory:",
        "sqlite://:memory:",
    )
    # An in-memory database lives in one connection: every checkout must get that one.
    extra: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    engine = create_engine(url, connect_args=connect_args, **extra)
    if is_sqlite:

        @sa_event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            _sqlite_pragmas(dbapi_conn, durable=durable)

    return engine


def _sqlite_pragmas(conn: sqlite3.Connection, *, durable: bool) -> None:
    cursor = conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before the controller answers (no ticket before durable).
    cursor.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
