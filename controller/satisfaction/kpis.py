"""KPIs per hall and window, staff, service or day: 评价率, 满意率 (and strict), 差评率, 差评整改率."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from sqlmodel import SQLModel

from controller.satisfaction import rollup_reads, store
from controller.satisfaction.pools import ReportDatabase

GroupBy = Literal["window", "staff", "service", "day"]
GROUP_COLUMNS: dict[str, str] = {
    "window": "window",
    "staff": "staff_id",
    "service": "service",
    "day": "day",
}
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
    reports: ReportDatabase,
    *,
    scope: store.Scope,
    group_by: Sequence[GroupBy],
    defaults_in_satisfaction: bool,
    as_of: dt.date,
) -> KpiReport:
    """The KPI report of `scope`, grouped by hall and `group_by`, from the daily rollups.

    rollup_reads picks the grain (hall and day, or window, staff and service, whole months from
    the month rollup). 差评 are due as of `as_of`.
    """
    columns = ["hall_id"] + [GROUP_COLUMNS[g] for g in dict.fromkeys(group_by)]
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    with reports.reading() as conn:
        for key, counts in rollup_reads.rating_counts(conn, scope, columns).items():
            rows[key] = dict(zip(columns, key, strict=True)) | _figures(
                counts, defaults_in_satisfaction
            )
        for key, (due, on_time) in rollup_reads.order_counts(conn, scope, columns, as_of).items():
            row = rows.setdefault(key, dict(zip(columns, key, strict=True)))
            row["bad_due"], row["bad_rectified_on_time"] = due, on_time
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


def _figures(found: Mapping[str, int | None], with_defaults: bool) -> dict[str, Any]:
    """A KPI row's counts from summed rollup counts (defaults counted in 满意率 or not)."""

    def n(name: str) -> int:
        return int(found[name] or 0)

    def counted(name: str) -> int:
        return n(name) + (n(f"{name}_defaults") if with_defaults else 0)

    served_counts, tickets = found["served_counts"], n("served_tickets")
    served = None if served_counts is None and not tickets else int(served_counts or 0) + tickets
    return {
        "served": served,
        "rated": n("rated"),
        "defaults": n("defaults"),
        "ratings": n("rated") + (n("defaults") if with_defaults else 0),
        "satisfied": counted("satisfied"),
        "strictly_satisfied": counted("strict"),
        "bad": counted("bad"),
        "follow_ups": n("follow_ups"),
    }


def _sort_key(key: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple(
        (part is None, str(part).zfill(12) if isinstance(part, int) else str(part)) for part in key
    )
