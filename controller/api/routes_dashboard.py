"""The floor dashboard and window console: their pages and the two reads they need beyond /api/state."""

from __future__ import annotations

import datetime as dt
import json
import threading
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from controller.api.auth import Role, require
from controller.api.deps import CallerDep, RuntimeDep
from controller.api.shared_reads import SharedReads
from controller.app import event_codec
from controller.app.dashboard_figures import (
    FOLDED_KINDS,
    DayFigures,
    wait_histogram,
    waiting_history,
)
from controller.app.journal import Journal
from controller.app.journal_tables import EVENTS
from controller.app.runtime import HallRuntime
from controller.domain.alerts import AlertKind, Severity
from controller.domain.errors import NotFound
from controller.domain.state import CallingPolicy, Outcome

router = APIRouter(tags=["dashboard"])
# Reasons offered on the console's pause dialog; staff may also type their own.
PAUSE_REASONS = ("临时离开", "午间休息", "业务咨询", "会议培训", "系统故障")
_BATCH = 5000
# Filled from the domain's enums when the page is served, so the page cannot fall behind them.
_POLICY_NAMES_SLOT = "/*CallingPolicy names*/{}"
_URGENT_SLOT = "/*urgent AlertKinds*/[]"
_URGENT_KINDS = {kind.value for kind in AlertKind if kind.severity is Severity.URGENT}


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page() -> HTMLResponse:
    """The floor manager's dashboard (phone and PC); #token=… gives it a floor_manager token."""
    page = _page("dashboard.html").replace(_POLICY_NAMES_SLOT, _policy_names())
    return HTMLResponse(page.replace(_URGENT_SLOT, json.dumps(sorted(_URGENT_KINDS))))


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
def console_page() -> HTMLResponse:
    """The window console, /console?window=N; #token=… gives it that window's staff token."""
    return HTMLResponse(_page("console.html"))


@router.get("/api/dashboard", response_model=dict[str, Any])
async def dashboard_figures(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    step: Annotated[int, Query(ge=1, le=60, description="minutes per history slot")] = 5,
) -> Response:
    """Today's waiting count over the day, wait-time histogram, since-when of each window's state."""
    require(caller, Role.FLOOR_MANAGER)
    reads: SharedReads = request.app.state.shared_reads
    return await reads.answer_async(f"dashboard:{step}", lambda: _figures(request, runtime, step))


def _figures(request: Request, runtime: HallRuntime, step: int) -> dict[str, Any]:
    zone = runtime.config.zone
    now = runtime.clock.now().astimezone(zone)
    day = runtime.engine.state.day or now.date()
    hours = runtime.engine.calendar.hours_on(day)
    opening = dt.datetime.combine(day, hours.open if hours else dt.time(8, 0), tzinfo=zone)
    with _tracker(request, runtime.journal).today(day) as figures:
        first = figures.waiting_points[0][0] if figures.waiting_points else opening
        start = _floor(min(opening, first).astimezone(zone), step)
        return {
            "day": day.isoformat(),
            "now": now.isoformat(),
            "step_minutes": step,
            "waiting_history": waiting_history(
                figures.waiting_points, start, max(now, start), step
            ),
            "wait_histogram": {
                "threshold_minutes": runtime.config.alerts.max_wait_minutes,
                "called": len(figures.waits_minutes),
                "bins": wait_histogram(
                    figures.waits_minutes, runtime.config.alerts.max_wait_minutes
                ),
            },
            "window_since": {
                str(number): at.isoformat() for number, at in sorted(figures.window_since.items())
            },
            "window_weights": _window_weights(runtime),
            "devices": _devices(request),
        }


@router.get("/api/console/{number}")
def console_setup(
    number: Annotated[int, Path(ge=1, le=999)], runtime: RuntimeDep, caller: CallerDep
) -> dict[str, Any]:
    """What a window console needs besides /api/state: roster, services' rules, transfer targets."""
    require(caller, Role.WINDOW_STAFF, Role.FLOOR_MANAGER, window=number)
    config = runtime.config
    window = config.window(number)
    if window is None:
        raise NotFound("unknown_window", f"没有 {number} 号窗口")
    return {
        "window": {"number": window.number, "name": window.name},
        "roster": runtime.roster_at(number),
        "services": [
            {
                "code": s.code,
                "name": s.name,
                "materials": list(s.materials),
                "outcome_required": s.outcome_required,
            }
            for s in config.services
        ],
        "windows": [{"number": w.number, "name": w.name} for w in config.windows],
        "outcomes": [o.value for o in Outcome],
        "pause_reasons": list(PAUSE_REASONS),
        "recall_limit": config.queue.recall_limit,
        "rating_invitation_seconds": config.queue.rating_invitation_seconds,
    }


class DayFiguresTracker:
    """Folds the journal's events of the current day into DayFigures, reading only new rows."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._lock = threading.Lock()
        self._figures = DayFigures()
        self._seq = 0

    def today(self, day: dt.date) -> _Locked:
        """The figures of `day`, brought up to date; hold them only inside the `with`."""
        self._lock.acquire()
        try:
            if self._figures.day != day:
                self._figures, self._seq = DayFigures(day=day), 0
            self._catch_up(day)
        except BaseException:
            self._lock.release()
            raise
        return _Locked(self._figures, self._lock)

    def _catch_up(self, day: dt.date) -> None:
        query = (
            select(EVENTS.c.seq, EVENTS.c.payload)
            .where(EVENTS.c.day == day.isoformat(), EVENTS.c.kind.in_(FOLDED_KINDS))
            .order_by(EVENTS.c.seq)
            .limit(_BATCH)
        )
        while True:
            with self._journal.sql_engine.connect() as conn:
                rows = conn.execute(query.where(EVENTS.c.seq > self._seq)).all()
            for seq, payload in rows:
                self._figures.fold(event_codec.event_from_json(payload))
                self._seq = int(seq)
            if len(rows) < _BATCH:
                return


class _Locked:
    """Context manager handing out figures while their tracker's lock is held."""

    def __init__(self, figures: DayFigures, lock: threading.Lock) -> None:
        self._figures, self._lock = figures, lock

    def __enter__(self) -> DayFigures:
        return self._figures

    def __exit__(self, *_exc: object) -> None:
        self._lock.release()


_TRACKERS_LOCK = threading.Lock()


def _tracker(request: Request, journal: Journal) -> DayFiguresTracker:
    with _TRACKERS_LOCK:
        tracker: DayFiguresTracker | None = getattr(request.app.state, "day_figures", None)
        if tracker is None:
            tracker = DayFiguresTracker(journal)
            request.app.state.day_figures = tracker
        return tracker


def _devices(request: Request) -> dict[str, Any] | None:
    """Outbox backlog, LED displays, keypads and voice of the running hall (None: no devices)."""
    devices = request.app.state.devices
    if devices is None:
        return None
    return {"keypads": devices.keypads(), **devices.status()}


def _window_weights(runtime: HallRuntime) -> dict[str, dict[str, int]]:
    # The reducer replaces a window's weights dict rather than mutating it, and copying a
    # str->int dict holds the GIL throughout, so this read needs no runtime lock.
    windows = list(runtime.engine.state.windows.values())
    return {str(w.number): dict(w.weights) for w in sorted(windows, key=lambda w: w.number)}


def _floor(moment: dt.datetime, step_minutes: int) -> dt.datetime:
    minutes = (moment.hour * 60 + moment.minute) // step_minutes * step_minutes
    return moment.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)


def _policy_names() -> str:
    """The calling policies and their Chinese names, as the JavaScript object the page uses."""
    names = {policy.value: policy.label for policy in CallingPolicy}
    return json.dumps(names, ensure_ascii=False)


def _page(name: str) -> str:
    return resources.files("controller.api").joinpath("pages", name).read_text(encoding="utf-8")
