"""Ingest: check a batch against the caller and the clock, normalise it, store it idempotently."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine

from controller.domain.errors import NotPermitted
from controller.domain.ratings import RatingLevel
from controller.satisfaction import store
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole, require_role
from controller.satisfaction.errors import HallSuspended, RecordRefused, UnknownHall
from controller.satisfaction.models import IngestReply, RatingCreate, ServedCountCreate
from controller.satisfaction.models_served import ServedTicketCreate, ServedTicketsReply
from controller.satisfaction.partitions import id_day
from controller.satisfaction.settings import HallProfile
from controller.satisfaction.workorders import OPEN

_COPIED = tuple(f for f in RatingCreate.model_fields if f not in ("rated_at", "finished_at"))
# Fields added after records were first stored enter the hash only when set, so a record
# stored before them keeps its hash and its resend stays a duplicate.
_ADDED_LATER = ("outcome",)
_HASHED = tuple(sorted(f for f in _COPIED if f not in _ADDED_LATER))
_SERVED_HASHED = tuple(sorted(f for f in ServedTicketCreate.model_fields if f != "finished_at"))


def ingest_batch(
    engine: Engine,
    *,
    caller: SatisfactionCaller,
    records: Sequence[RatingCreate],
    profiles: Mapping[str, HallProfile],
    now: dt.datetime,
    max_future: dt.timedelta,
) -> IngestReply:
    """Store a batch all or nothing; a resent record is a duplicate, a changed one a 409."""
    require_role(caller, SatisfactionRole.HALL)
    rows: list[dict[str, Any]] = []
    orders: dict[tuple[str, str], dict[str, Any]] = {}
    received = store.as_utc(now)
    for index, record in enumerate(records):
        where = f"records.{index}"
        profile = _profile_for(caller, profiles, record.hall_id, where, "评价")
        if record.rated_at > now + max_future:
            raise RecordRefused(f"{where}.rated_at", "评价时间晚于当前时间")
        row = rating_row(record, profile, received)
        rows.append(row)
        if RatingLevel(record.level).is_bad:
            orders[store.rating_key(row)] = work_order_row(row, profile, received)
    outcome = store.insert_ratings(engine, rows=rows, work_orders=orders)
    return IngestReply(
        accepted=outcome.accepted,
        duplicates=outcome.duplicates,
        work_orders_opened=outcome.work_orders_opened,
    )


def rating_row(record: RatingCreate, profile: HallProfile, received: dt.datetime) -> dict[str, Any]:
    """The table row of a validated record, with its hall-local day and content hash."""
    row: dict[str, Any] = {name: getattr(record, name) for name in _COPIED}
    row["level"] = RatingLevel(record.level).value
    rated, finished = store.as_utc(record.rated_at), store.as_utc(record.finished_at)
    row["content_hash"] = content_hash(row, rated, finished)
    # A rating stored before a later field existed, resent now with that field filled in
    # (its outcome, read from the journal), is the same rating: compared without them too.
    bare = {name: None if name in _ADDED_LATER else value for name, value in row.items()}
    row["bare_hash"] = content_hash(bare, rated, finished)
    row["rated_at"], row["finished_at"] = rated, finished
    row["reasons"] = ",".join(record.reasons)
    row["day"] = record.rated_at.astimezone(profile.zone).date()
    row["received_at"] = received
    row["id_day"] = id_day(record.rating_id)
    return row


def content_hash(row: Mapping[str, Any], rated: dt.datetime, finished: dt.datetime) -> str:
    """SHA-256 of a record's content (fields by name, times in UTC): equal content, equal hash."""
    parts = [row[name] for name in _HASHED]
    parts += [rated.isoformat(), finished.isoformat()]
    parts += [f"{name}={row[name]}" for name in _ADDED_LATER if row.get(name) is not None]
    return _digest(parts)


def work_order_row(
    row: Mapping[str, Any], profile: HallProfile, received: dt.datetime
) -> dict[str, Any]:
    """The work order a 差评 opens: assigned to the serving staff, due in working days."""
    return {
        "rating_id": row["rating_id"],
        "hall_id": row["hall_id"],
        "day": row["day"],
        "window": row["window"],
        "staff_id": row["staff_id"],
        "service": row["service"],
        "level": row["level"],
        "reasons": row["reasons"],
        "state": OPEN,
        "deadline": profile.deadline(row["day"]),
        "rectified_on": None,
        "opened_at": received,
        "updated_at": received,
    }


def store_served_counts(
    engine: Engine,
    *,
    caller: SatisfactionCaller,
    counts: Sequence[ServedCountCreate],
    profiles: Mapping[str, HallProfile],
    now: dt.datetime,
) -> int:
    """Store a hall's daily served counts (later pushes replace earlier ones)."""
    require_role(caller, SatisfactionRole.HALL)
    rows = []
    for index, count in enumerate(counts):
        where = f"counts.{index}"
        _profile_for(caller, profiles, count.hall_id, where, "办件量")
        rows.append(count.model_dump() | {"updated_at": store.as_utc(now)})
    keys = {(r["hall_id"], r["day"], r["window"], r["staff_id"], r["service"]) for r in rows}
    if len(keys) != len(rows):
        raise RecordRefused("counts", "同一大厅、日期、窗口、人员、事项出现多次")
    return store.upsert_served(engine, rows=rows)


def store_served_tickets(
    engine: Engine,
    *,
    caller: SatisfactionCaller,
    tickets: Sequence[ServedTicketCreate],
    profiles: Mapping[str, HallProfile],
    now: dt.datetime,
    max_future: dt.timedelta,
) -> ServedTicketsReply:
    """Store finished tickets all or nothing, once per hall and ticket id (a resend is a duplicate)."""
    require_role(caller, SatisfactionRole.HALL)
    rows: list[dict[str, Any]] = []
    received = store.as_utc(now)
    for index, ticket in enumerate(tickets):
        where = f"tickets.{index}"
        profile = _profile_for(caller, profiles, ticket.hall_id, where, "办件")
        if ticket.finished_at > now + max_future:
            raise RecordRefused(f"{where}.finished_at", "办结时间晚于当前时间")
        row: dict[str, Any] = ticket.model_dump()
        finished = store.as_utc(ticket.finished_at)
        row["content_hash"] = _digest(
            [row[name] for name in _SERVED_HASHED] + [finished.isoformat()]
        )
        row["finished_at"] = finished
        row["day"] = ticket.finished_at.astimezone(profile.zone).date()
        row["received_at"] = received
        row["id_day"] = id_day(ticket.ticket_id)
        rows.append(row)
    accepted, duplicates = store.insert_served_tickets(engine, rows=rows)
    return ServedTicketsReply(accepted=accepted, duplicates=duplicates)


def _digest(parts: list[Any]) -> str:
    """SHA-256 of the parts as compact JSON: equal content, equal hash."""
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _profile_for(
    caller: SatisfactionCaller,
    profiles: Mapping[str, HallProfile],
    hall_id: str,
    where: str,
    what: str,
) -> HallProfile:
    """The registered hall `hall_id` of `where`, if `caller` may report `what` for it."""
    if not caller.may_see(hall_id):
        raise NotPermitted(
            f"令牌 {caller.name} 只能上报大厅 {caller.hall_id} 的{what}，{where}.hall_id 为 {hall_id}"
        )
    profile = profiles.get(hall_id)
    if profile is None:
        raise UnknownHall(hall_id, f"{where}.hall_id")
    if profile.suspended:
        raise HallSuspended(hall_id, f"{where}.hall_id")
    return profile
