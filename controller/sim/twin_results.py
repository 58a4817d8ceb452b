"""Twin results over several seeds: waits per service and per hour with 95 % confidence intervals."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from controller.sim.simulate_day import DayReport, TicketWait

# Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom; 1.96 beyond.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
STATS = ("mean", "p50", "p90", "within_target", "not_called")


def t95(degrees: int) -> float:
    """The 97.5 % quantile of Student's t with `degrees` degrees of freedom."""
    return _T95[degrees - 1] if 1 <= degrees <= len(_T95) else 1.96


def spread(
    values: Sequence[float], low: float = -math.inf, high: float = math.inf
) -> dict[str, Any]:
    """Mean over seeds and its 95 % confidence interval, kept within [low, high].

    The interval is None with fewer than two seeds.
    """
    if not values:
        return {"mean": None, "ci95": None, "seeds": 0}
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": round(mean, 4), "ci95": None, "seeds": 1}
    half = t95(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return {
        "mean": round(mean, 4),
        "ci95": [round(max(low, mean - half), 4), round(min(high, mean + half), 4)],
        "seeds": len(values),
    }


def wait_figures(waits: Sequence[float], target_minutes: float) -> dict[str, float] | None:
    """Mean, median, 90th percentile of waits (minutes) and the share within the target."""
    if not waits:
        return None
    ordered = sorted(waits)
    return {
        "mean": statistics.fmean(ordered),
        "p50": _quantile(ordered, 0.5),
        "p90": _quantile(ordered, 0.9),
        "within_target": sum(1 for w in ordered if w <= target_minutes) / len(ordered),
    }


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, `inclusive` in statistics)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def day_figures(report: DayReport, target_minutes: float) -> dict[str, Any]:
    """One day's wait figures: for all tickets, per service, and per hour of arrival.

    A ticket never called (no window on duty for it) waits until it ended or the simulation
    stopped: it counts with that wait, never as missing, and in the `not_called` share.
    """
    groups: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    hours: dict[str, list[float]] = defaultdict(list)
    for ticket in report.tickets:
        wait = waited_minutes(ticket, report.until)
        if wait is None:
            continue
        called = ticket.called_at is not None
        groups["all"].append((wait, called))
        groups[ticket.service].append((wait, called))
        hours[f"{ticket.issued_at.hour:02d}"].append(wait)
    figures: dict[str, Any] = {}
    for name, rows in groups.items():
        waits = wait_figures([w for w, _ in rows], target_minutes)
        assert waits is not None
        figures[name] = waits | {"not_called": sum(1 for _, c in rows if not c) / len(rows)}
    return {
        "groups": figures,
        "by_hour": {hour: statistics.fmean(waits) for hour, waits in sorted(hours.items())},
        "waiting_by_hour": waiting_by_hour(report.tickets, report.until),
    }


def waited_minutes(ticket: TicketWait, until: dt.datetime | None) -> float | None:
    """Minutes to the first call; never called: to its end or `until` (None: no end known)."""
    end = ticket.called_at or ticket.ended_at or until
    return None if end is None else (end - ticket.issued_at).total_seconds() / 60


def waiting_by_hour(
    tickets: Iterable[TicketWait], until: dt.datetime | None = None
) -> dict[str, float]:
    """Citizens waiting (ticket taken, not yet called) on average over each clock hour; one
    never called waits until it ended or `until`."""
    minutes: dict[dt.datetime, float] = defaultdict(float)
    for ticket in tickets:
        end = ticket.called_at or ticket.ended_at or until
        start = ticket.issued_at
        if end is None:
            continue
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour < end:
            following = hour + dt.timedelta(hours=1)
            overlap = (min(end, following) - max(start, hour)).total_seconds() / 60
            minutes[hour] += max(overlap, 0.0)
            hour = following
    return {f"{h.hour:02d}": total / 60 for h, total in sorted(minutes.items())}


def summarise(days: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Across seeds: each group's statistics, each hour's mean wait and mean number waiting,
    as mean and 95 % CI."""
    rows = list(days)
    names = sorted({n for d in rows for n in d["groups"]}, key=lambda n: (n != "all", n))
    hours = sorted({h for d in rows for h in d["by_hour"]})
    return {
        "groups": {
            name: {
                stat: spread(
                    [d["groups"][name][stat] for d in rows if d["groups"].get(name)],
                    0.0,
                    1.0 if stat in ("within_target", "not_called") else math.inf,
                )
                for stat in STATS
            }
            for name in names
        },
        "by_hour": {
            h: spread([d["by_hour"][h] for d in rows if h in d["by_hour"]], 0.0) for h in hours
        },
        # every seed's day counts, an hour with nobody waiting as 0
        "waiting_by_hour": {
            h: spread([d.get("waiting_by_hour", {}).get(h, 0.0) for d in rows], 0.0)
            for h in sorted({h for d in rows for h in d.get("waiting_by_hour", {})})
        },
    }


def paired_change(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    """After − before, seed by seed (the same citizens), as mean and 95 % CI."""
    pairs = list(zip(before, after, strict=True))
    names = sorted(
        {n for b, a in pairs for n in b["groups"] if a["groups"].get(n)},
        key=lambda n: (n != "all", n),
    )
    return {
        name: {
            stat: spread(
                [
                    a["groups"][name][stat] - b["groups"][name][stat]
                    for b, a in pairs
                    if b["groups"].get(name) and a["groups"].get(name)
                ]
            )
            for stat in STATS
        }
        for name in names
    }
