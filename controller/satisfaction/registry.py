"""The hall registry: halls and their tokens in the database, read by every API process.

Each process keeps the registry in memory (a dict by hall id, a dict by token digest: a token
is found by its SHA-256, never compared with every token) and checks a one-row generation
counter at most every `refresh_seconds`; a change (a hall added, suspended, a token rotated,
by any process) bumps it in the same transaction, and every process reloads within that
time. A poll rather than LISTEN/NOTIFY: notifications do not pass PgBouncer in transaction
mode, and SQLite has none.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import RowMapping

from controller.domain.calendar import HallCalendar
from controller.domain.hall_rules import CalendarConfig
from controller.satisfaction import store
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole
from controller.satisfaction.settings import DEFAULT_RECTIFY_WORKING_DAYS, HallProfile

log = logging.getLogger(__name__)
ACTIVE, SUSPENDED = "active", "suspended"
METADATA = sa.MetaData()
HALLS = sa.Table(
    "satisfaction_hall",
    METADATA,
    sa.Column("hall_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("calendar", sa.Text(), nullable=False),  # CalendarConfig as JSON
    sa.Column("rectify_working_days", sa.Integer(), nullable=True),  # None: the settings' value
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # "config" (imported) or "api"
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
TOKENS = sa.Table(
    "satisfaction_token",
    METADATA,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("hall_id", sa.String(64), nullable=True, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Rotated out: refused from this moment (a grace period lets a hall switch over). The row
    # stays, so a config file re-imported at start cannot bring a rotated token back.
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
)
GENERATION = sa.Table(
    "satisfaction_registry_generation",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("generation", sa.BigInteger(), nullable=False),
)
DEFAULT_REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class RegisteredToken:
    """A token row as held in memory: who it stands for and until when."""

    caller: SatisfactionCaller
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class Snapshot:
    """The registry as read at one generation."""

    generation: int
    profiles: dict[str, HallProfile]
    names: dict[str, str]
    tokens: dict[str, RegisteredToken]


class HallRegistry(Mapping[str, HallProfile]):
    """Hall profiles (static ones from the app factory, then the database's) and token lookup."""

    def __init__(
        self,
        engine: Engine,
        static: Mapping[str, HallProfile],
        *,
        default_rectify_days: int = DEFAULT_RECTIFY_WORKING_DAYS,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._engine = engine
        self._static = dict(static)
        self._default_days = default_rectify_days
        self._refresh = refresh_seconds
        self._clock, self._now = clock, now
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._snapshot = Snapshot(-1, {}, {}, {})

    def caller_for_digest(self, digest: str) -> SatisfactionCaller | None:
        """The caller whose token has this SHA-256 hex digest, unless unknown or rotated out."""
        found = self.current().tokens.get(digest)
        if found is None:
            return None
        if found.expires_at is not None and self._now() >= found.expires_at:
            return None
        return found.caller

    def name_of(self, hall_id: str) -> str:
        """The hall's display name ("" when it has none or is not registered)."""
        return self.current().names.get(hall_id, "")

    def current(self) -> Snapshot:
        """The registry, re-read when another process changed it (checked every refresh_seconds)."""
        if self._clock() - self._checked < self._refresh:
            return self._snapshot
        # While one thread reloads (a province's registry takes ~0.25 s), the others serve the
        # snapshot they have; only before the first load do they wait for it.
        if self._lock.acquire(blocking=self._snapshot.generation < 0):
            try:
                if self._clock() - self._checked >= self._refresh:
                    self._reload_if_changed()
            finally:
                self._lock.release()
        return self._snapshot

    def changed(self) -> None:
        """This process changed the registry: read it again on the next look."""
        self._checked = float("-inf")

    def __getitem__(self, hall_id: str) -> HallProfile:
        found = self.current().profiles.get(hall_id)
        if found is not None:
            return found
        return self._static[hall_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._static.keys() | self.current().profiles.keys())

    def __len__(self) -> int:
        return len(self._static.keys() | self.current().profiles.keys())

    def _reload_if_changed(self) -> None:
        try:
            with store.reading(self._engine) as conn:
                generation = conn.execute(sa.select(GENERATION.c.generation)).scalar() or 0
                if generation != self._snapshot.generation:
                    self._snapshot = self._read(conn, generation)
        except Exception:  # the store is down: serve what we had, look again next time
            log.exception("cannot read the hall registry; keeping the one read before")
        self._checked = self._clock()

    def _read(self, conn: sa.Connection, generation: int) -> Snapshot:
        profiles: dict[str, HallProfile] = {}
        names: dict[str, str] = {}
        for row in conn.execute(sa.select(HALLS)).mappings():
            profiles[row["hall_id"]] = profile_of(row, self._default_days)
            names[row["hall_id"]] = row["name"]
        tokens = {
            row["sha256"]: RegisteredToken(
                SatisfactionCaller(row["name"], SatisfactionRole(row["role"]), row["hall_id"]),
                _aware(row["expires_at"]),
            )
            for row in conn.execute(sa.select(TOKENS)).mappings()
        }
        log.info(
            "hall registry generation %d: %d halls, %d tokens",
            generation,
            len(profiles),
            len(tokens),
        )
        return Snapshot(generation, profiles, names, tokens)


def profile_of(row: RowMapping, default_days: int) -> HallProfile:
    """The profile of a registry row."""
    calendar = CalendarConfig.model_validate_json(str(row["calendar"]))
    days = row["rectify_working_days"]
    return HallProfile(
        str(row["hall_id"]),
        ZoneInfo(str(row["timezone"])),
        HallCalendar(calendar),
        days if isinstance(days, int) else default_days,
        suspended=row["status"] == SUSPENDED,
    )


def calendar_json(config: CalendarConfig) -> str:
    """A calendar as stored: its config's JSON, times written HH:MM as a hall config has them."""
    return json.dumps(_hhmm(config.model_dump(mode="json")), ensure_ascii=False)


def _hhmm(value: object) -> object:
    if isinstance(value, dict):
        return {key: _hhmm(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_hhmm(item) for item in value]
    if isinstance(value, str) and len(value) == 8 and value.endswith(":00") and value[2] == ":":
        return value[:5]  # a dt.time dumped as "09:00:00"; the config reads "09:00"
    return value


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC
