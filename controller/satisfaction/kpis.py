"""KPIs per hall and window, staff, service or day: 评价率, 满意率 (and strict), 差评率, 差评整改率."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import ColumnElement, Engine, Table, and_, case, func, literal, or_, select
from sqlmodel import SQLModel

from controller.domain.ratings import RatingLevel
from controller.satisfaction import store
from controller.satisfaction.workorders import OVERTURNED

GroupBy = Literal["window", "staff", "service", "day"]
GROUP_COLUMNS: dict[str, str] = {
    "window": "window",
    "staff": "staff_id",
    "service": "service",
    "day": "day",
}
_SATISFIED = [level.value for level in RatingLevel if level.is_satisfied]
_STRICT = [RatingLevel.VERY_SATISFIED.value, RatingLevel.SATISFIED.value]
_BAD = [level.value for level in RatingLevel if level.is_bad]
_COUNTS = (
    "rated",
    "defaults",
    "ratings",
    "satisfied",
    "strictly_satisfied",
    "bad",
    "follow_ups",
    "bad_due",
    "bad_rectified_on_time",
)


class KpiRow(SQLModel):
    """Counts and rates of one group; a rate is None where its denominator is zero or unknown."""

    hall_id: str | None = None
    window: int | None = None
    staff_id: str | None = None
    service: str | None = None
    day: dt.date | None = None
    served: int | None = None
    rated: int = 0
    defaults: int = 0
    ratings: int = 0
    satisfied: int = 0
    strictly_satisfied: int = 0
    bad: int = 0
    follow_ups: int = 0
    bad_due: int = 0
    bad_rectified_on_time: int = 0
    rating_rate: float | None = None
    satisfaction_rate: float | None = None
    strict_satisfaction_rate: float | None = None
    bad_rate: float | None = None
    rectification_rate: float | None = None


class KpiReport(SQLModel):
    """KPI rows per group and their total, with the settings the figures depend on."""

    as_of: dt.date
    defaults_in_satisfaction: bool
    group_by: list[str]
    rows: list[KpiRow]
    total: KpiRow


def compute_kpis(
    engine: Engine,
    *,
    scope: store.Scope,
    group_by: Sequence[GroupBy],
    defaults_in_satisfaction: bool,
    as_of: dt.date,
) -> KpiReport:
    """The KPI report of `scope`, grouped by hall and `group_by`; 差评 due as of `as_of`."""
    columns = ["hall_id"] + [GROUP_COLUMNS[g] for g in dict.fromkeys(group_by)]
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    with store.reading(engine) as conn:
        for query in (
            _rating_query(scope, columns, defaults_in_satisfaction),
            _served_query(scope, columns),
            _served_tickets_query(scope, columns),
            _work_order_query(scope, columns, as_of),
        ):
            for found in conn.execute(query).mappings():
                key = tuple(found[c] for c in columns)
                row = rows.setdefault(key, dict(zip(columns, key, strict=True)))
                for name, value in found.items():
                    if name not in columns and value is not None:
                        # served comes from daily counts and from finished tickets: add them
                        row[name] = row.get(name, 0) + int(value)
    ordered = [with_rates(KpiRow(**rows[key])) for key in sorted(rows, key=_sort_key)]
    return KpiReport(
        as_of=as_of,
        defaults_in_satisfaction=defaults_in_satisfaction,
        group_by=list(dict.fromkeys(group_by)),
        rows=ordered,
        total=total_of(ordered),
    )


def with_rates(row: KpiRow) -> KpiRow:
    """The row with its rates computed from its counts."""
    row.rating_rate = _rate(row.rated, row.served)
    row.satisfaction_rate = _rate(row.satisfied, row.ratings)
    row.strict_satisfaction_rate = _rate(row.strictly_satisfied, row.ratings)
    row.bad_rate = _rate(row.bad, row.ratings)
    row.rectification_rate = _rate(row.bad_rectified_on_time, row.bad_due)
    return row


def total_of(rows: Sequence[KpiRow]) -> KpiRow:
    """All rows added up (served stays None when no row has a served count)."""
    total = KpiRow()
    halls = {r.hall_id for r in rows}
    total.hall_id = halls.pop() if len(halls) == 1 else None
    for name in _COUNTS:
        setattr(total, name, sum(getattr(r, name) for r in rows))
    served = [r.served for r in rows if r.served is not None]
    total.served = sum(served) if served else None
    return with_rates(total)


def _rate(numerator: int, denominator: int | None) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _rating_query(scope: store.Scope, columns: list[str], with_defaults: bool) -> Any:
    table = store.RATINGS
    first = table.c.assess_number == 1
    citizen = table.c.system_default.is_(False)
    counted = first if with_defaults else and_(first, citizen)
    return _grouped(
        table,
        scope,
        columns,
        rated=_count(and_(first, citizen)),
        defaults=_count(and_(first, table.c.system_default.is_(True))),
        ratings=_count(counted),
        satisfied=_count(and_(counted, table.c.level.in_(_SATISFIED))),
        strictly_satisfied=_count(and_(counted, table.c.level.in_(_STRICT))),
        bad=_count(and_(counted, table.c.level.in_(_BAD))),
        follow_ups=_count(table.c.assess_number == 2),
    )


def _served_query(scope: store.Scope, columns: list[str]) -> Any:
    return _grouped(store.SERVED, scope, columns, served=func.sum(store.SERVED.c.served))


def _served_tickets_query(scope: store.Scope, columns: list[str]) -> Any:
    return _grouped(store.SERVED_TICKETS, scope, columns, served=func.count())


def _work_order_query(scope: store.Scope, columns: list[str], as_of: dt.date) -> Any:
    table = store.WORK_ORDERS
    rectified = table.c.rectified_on.is_not(None)
    due = and_(
        table.c.state != OVERTURNED,
        or_(table.c.deadline < literal(as_of, type_=table.c.deadline.type), rectified),
    )
    on_time = and_(due, rectified, table.c.rectified_on <= table.c.deadline)
    return _grouped(
        table, scope, columns, bad_due=_count(due), bad_rectified_on_time=_count(on_time)
    )


def _grouped(table: Table, scope: store.Scope, columns: list[str], **sums: Any) -> Any:
    keys = [table.c[c] for c in columns]
    labelled = [value.label(name) for name, value in sums.items()]
    return select(*keys, *labelled).where(scope.clause(table)).group_by(*keys)


def _sort_key(key: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple(
        (part is None, str(part).zfill(12) if isinstance(part, int) else str(part)) for part in key
    )
