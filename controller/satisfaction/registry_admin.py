"""Changing the hall registry: add a hall, suspend or resume it, rotate its token, import the config.

Every change bumps the registry generation in its own transaction, so every API process
sees it within its refresh interval. A new token is 256 random bits shown once; only its
SHA-256 is stored.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from controller.domain.errors import CommandRejected, NotFound
from controller.domain.hall_rules import CalendarConfig
from controller.satisfaction import store
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole
from controller.satisfaction.registry import (
    ACTIVE,
    GENERATION,
    HALLS,
    SUSPENDED,
    TOKENS,
    calendar_json,
)
from controller.satisfaction.settings import HallProfile
from controller.settings.hall_config import token_digest

# A hall added without a calendar: Monday to Friday, 09:00-17:00 (its 差评 deadlines count
# working days on it; a hall with holidays or 调休 gives its own).
DEFAULT_CALENDAR = CalendarConfig.model_validate(
    {"hours": {d: {"open": "09:00", "close": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")}}
)


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: the secret (shown once), its name and the hall it is bound to."""

    token: str
    name: str
    hall_id: str


@dataclass(frozen=True)
class ImportCount:
    """What an import of the config file added (rows already present are left as they are)."""

    halls: int
    tokens: int


def add_hall(
    engine: Engine,
    *,
    hall_id: str,
    name: str,
    timezone: str,
    calendar: CalendarConfig | None,
    rectify_working_days: int | None,
    now: dt.datetime,
) -> IssuedToken:
    """Register a hall (active) and issue its first hall token; 409 `hall_exists` if known."""
    row = {
        "hall_id": hall_id,
        "name": name,
        "timezone": timezone,
        "calendar": calendar_json(calendar or DEFAULT_CALENDAR),
        "rectify_working_days": rectify_working_days,
        "status": ACTIVE,
        "source": "api",
        "created_at": store.as_utc(now),
        "updated_at": store.as_utc(now),
    }
    with store.writing(engine) as conn:
        if _inserted(conn, HALLS, [row], "hall_id") == 0:
            raise HallExists(hall_id)
        issued = _issue(conn, hall_id, now)
        _bump(conn)
    return issued


def set_status(engine: Engine, *, hall_id: str, status: str, now: dt.datetime) -> dict[str, Any]:
    """Suspend or resume a hall; its row after the change (404 for an unknown hall)."""
    assert status in (ACTIVE, SUSPENDED)
    with store.writing(engine) as conn:
        changed = conn.execute(
            sa.update(HALLS)
            .where(HALLS.c.hall_id == hall_id)
            .values(status=status, updated_at=store.as_utc(now))
        ).rowcount
        if changed == 0:
            raise NotFound("no_such_hall", f"大厅 {hall_id} 未登记")
        _bump(conn)
        return dict(
            conn.execute(sa.select(HALLS).where(HALLS.c.hall_id == hall_id)).mappings().one()
        )


def rotate_token(
    engine: Engine, *, hall_id: str, grace: dt.timedelta, now: dt.datetime
) -> tuple[IssuedToken, int]:
    """Issue a new hall token; the hall's older ones stop after `grace`. (token, how many retire)."""
    until = store.as_utc(now + grace)
    with store.writing(engine) as conn:
        if (
            conn.execute(sa.select(HALLS.c.hall_id).where(HALLS.c.hall_id == hall_id)).first()
            is None
        ):
            raise NotFound("no_such_hall", f"大厅 {hall_id} 未登记")
        live = sa.or_(TOKENS.c.expires_at.is_(None), TOKENS.c.expires_at > until)
        retired = conn.execute(
            sa.update(TOKENS)
            .where(TOKENS.c.hall_id == hall_id, TOKENS.c.role == SatisfactionRole.HALL.value, live)
            .values(expires_at=until)
        ).rowcount
        issued = _issue(conn, hall_id, now)
        _bump(conn)
    return issued, retired


def list_halls(engine: Engine) -> list[dict[str, Any]]:
    """Every registered hall with its count of live hall tokens, by hall id."""
    live = sa.select(sa.func.count()).where(
        TOKENS.c.hall_id == HALLS.c.hall_id,
        TOKENS.c.role == SatisfactionRole.HALL.value,
        TOKENS.c.expires_at.is_(None),
    )
    query = sa.select(HALLS, live.scalar_subquery().label("tokens")).order_by(HALLS.c.hall_id)
    with store.reading(engine) as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def import_static(
    engine: Engine,
    *,
    profiles: Mapping[str, HallProfile],
    tokens: Iterable[tuple[str, SatisfactionCaller]],
    now: dt.datetime,
) -> ImportCount:
    """Add the config file's halls and tokens (digest, caller) the registry lacks.

    Run at every start by every process (INSERT … ON CONFLICT DO NOTHING: races are harmless).
    A hall that came from the file takes the file's zone, calendar and deadline again (edit
    the file, restart: as before the registry); its status stays, and so does every token
    row: a hall suspended or a token rotated through the API stays so.
    """
    moment = store.as_utc(now)
    halls = [
        {
            "hall_id": p.hall_id,
            "name": "",
            "timezone": str(p.zone.key),
            "calendar": calendar_json(p.calendar.config),
            "rectify_working_days": p.rectify_working_days,
            "status": ACTIVE,
            "source": "config",
            "created_at": moment,
            "updated_at": moment,
        }
        for p in profiles.values()
    ]
    rows = [
        {
            "sha256": digest,
            "name": caller.name,
            "role": caller.role.value,
            "hall_id": caller.hall_id,
            "created_at": moment,
            "expires_at": None,
        }
        for digest, caller in tokens
    ]
    with store.writing(engine) as conn:
        count = ImportCount(
            _inserted(conn, HALLS, halls, "hall_id"), _inserted(conn, TOKENS, rows, "sha256")
        )
        updated = _refreshed(conn, halls, moment)
        if count.halls or count.tokens or updated:
            _bump(conn)
    return count


def _refreshed(conn: Connection, halls: Sequence[dict[str, Any]], moment: dt.datetime) -> int:
    """Bring halls that came from the file to the file's zone, calendar and deadline."""
    fields = ("timezone", "calendar", "rectify_working_days")
    query = sa.select(HALLS.c.hall_id, *(HALLS.c[f] for f in fields)).where(
        HALLS.c.source == "config"
    )
    stored = {row["hall_id"]: row for row in conn.execute(query).mappings()}
    changed = 0
    for hall in halls:
        row = stored.get(hall["hall_id"])
        if row is None or all(row[f] == hall[f] for f in fields):
            continue
        values = {f: hall[f] for f in fields} | {"updated_at": moment}
        conn.execute(sa.update(HALLS).where(HALLS.c.hall_id == hall["hall_id"]).values(values))
        changed += 1
    return changed


class HallExists(CommandRejected):
    """A hall id already registered (a conflict: 409)."""

    def __init__(self, hall_id: str) -> None:
        self.hall_id = hall_id
        super().__init__(
            "hall_exists",
            f"hall_id: 大厅 {hall_id} 已登记；要换令牌请用 rotate，要停用请用 suspend",
        )


def _issue(conn: Connection, hall_id: str, now: dt.datetime) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    name = f"{hall_id[:40]}-{now.astimezone(dt.UTC):%Y%m%d%H%M%S}"
    conn.execute(
        sa.insert(TOKENS).values(
            sha256=token_digest(token),
            name=name,
            role=SatisfactionRole.HALL.value,
            hall_id=hall_id,
            created_at=store.as_utc(now),
            expires_at=None,
        )
    )
    return IssuedToken(token, name, hall_id)


def _inserted(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], key: str) -> int:
    """Insert the rows whose key is absent; how many were absent."""
    if not rows:
        return 0
    column = table.c[key]
    wanted = [row[key] for row in rows]
    present: set[str] = set()
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        present.update(conn.execute(sa.select(column).where(column.in_(chunk))).scalars())
    missing = [row for row in rows if row[key] not in present]
    if missing:  # DO NOTHING: another process importing the same file at once is harmless
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).on_conflict_do_nothing(index_elements=[key])
        conn.execute(statement, missing)
    return len(missing)


def _bump(conn: Connection) -> None:
    conn.execute(sa.update(GENERATION).values(generation=GENERATION.c.generation + 1))
