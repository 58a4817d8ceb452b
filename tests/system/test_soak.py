"""Whole-hall crash soak (issue 16): the demo hall SIGKILLed at seeded random moments of a day.

`hallctl up --simulate --demo` runs the day on the hall clock (--clock, --speed); it is killed
with SIGKILL while starting, while its devices resynchronise or while the day runs, and started
again on the same data directory, its clock where the killed one stopped. After every restart
and at the end: nothing journaled or acknowledged is lost, nothing is recorded twice, every LED
display shows its current state and every keypad is back online, and the outbox has delivered
every finished ticket and rating to the satisfaction API exactly once.

CI runs the short form (a few kills early in the morning). The long form, a whole day:
HALL_SOAK_KILLS=100 HALL_SOAK_UNTIL=17:45 pytest tests/system/test_soak.py -s (about 15-25 minutes).
HALL_SOAK_SPEED (default 60), HALL_SOAK_FROM (default 08:25), HALL_SOAK_SEED change the rest.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from controller.settings.config_loader import load_config
from tests.conftest import EXAMPLE_CONFIG
from tests.soak_parts import (
    DeviceWatch,
    HallRun,
    JournalFacts,
    Resync,
    percentile,
    read_json,
    satisfaction_rows,
    spawn_hall,
    wait_ready,
    watch_resync,
)

pytestmark = [pytest.mark.slow, pytest.mark.wall_clock]  # a simulated day with kills; timed

KILLS = int(os.environ.get("HALL_SOAK_KILLS", "4"))
SPEED = float(os.environ.get("HALL_SOAK_SPEED", "60"))
FROM = dt.time.fromisoformat(os.environ.get("HALL_SOAK_FROM", "08:25"))
UNTIL = dt.time.fromisoformat(os.environ.get("HALL_SOAK_UNTIL", "09:15"))
SEED = int(os.environ.get("HALL_SOAK_SEED", "20261123"))
DAY = dt.date(2026, 11, 23)  # a Monday, a working day of the example hall
RESYNC_LIMIT = 5.0  # seconds from a restart's first answer: every display and keypad caught up
READY_LIMIT = 60.0
DRAIN_LIMIT = 120.0
ACK_LINE = re.compile(r"demo rating at window (\d+) acknowledged: ticket (\S+)")


@dataclass
class Soak:
    """What the soak saw across its runs."""

    watch: DeviceWatch
    kills: Counter[str] = field(default_factory=Counter)  # by moment: startup, resync, running
    resyncs: list[Resync] = field(default_factory=list)
    cut_short: int = 0  # restarts killed (on purpose) before their devices had caught up
    acked_ratings: set[str] = field(default_factory=set)  # ticket numbers the demo got ok for
    old_boots: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)  # every failed check, reported at the end

    def check(self, check: Callable[..., object], *args: object) -> None:
        """Run one check; a failure is noted and the soak goes on (its figures still count)."""
        try:
            check(*args)
        except AssertionError as err:
            self.problems.append(f"{check.__name__}: {err}")


def _config(tmp_path: Path) -> Path:
    """The example hall with a roomy daily quota (a day of restarts must not hit the quotas)."""
    text = re.sub(
        r"daily_quota = \d+", "daily_quota = 999", EXAMPLE_CONFIG.read_text(encoding="utf-8")
    )
    path = tmp_path / "hall.soak.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
def test_the_demo_hall_killed_at_random_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    config_path = _config(tmp_path)
    zone = load_config(config_path).zone
    data = tmp_path / "var"
    soak = Soak(DeviceWatch.of(config_path))
    start = dt.datetime.combine(DAY, FROM, tzinfo=zone)
    end = dt.datetime.combine(DAY, UNTIL, tzinfo=zone)
    stretch = (end - start) / (KILLS + 1)  # hall time each run lives, on average
    clock = start
    previous: JournalFacts | None = None
    for serial in range(KILLS):
        run = spawn_hall(data, config_path, clock, SPEED, serial)
        try:
            _until_the_kill(run, rng, clock + stretch * rng.uniform(0.3, 1.7), previous, soak)
        finally:
            killed = run.kill()
        clock = max(clock, run.hall_time(killed))
        previous = JournalFacts.read(data / "hall.db")
        soak.check(_check_acks, run, previous, soak)

    final = spawn_hall(data, config_path, clock, SPEED, KILLS)
    try:
        with httpx.Client(base_url=final.base) as client:
            assert wait_ready(final, client, time.monotonic() + READY_LIMIT), _tail(final)
            if previous is not None:
                soak.check(_check_journal_kept, data, previous)
            soak.check(_resynced, final, client, soak.watch, soak)
            _run_until(final, client, max(end, clock))
            drained = _drain(final, client, data, soak)
    finally:
        final.stop()
    journal = JournalFacts.read(data / "hall.db")
    soak.check(_check_acks, final, journal, soak)
    soak.check(_check_no_doubles, journal)
    soak.check(_check_the_day_went_on, journal, start, end)
    soak.check(_check_delivered_once, drained, journal, data / "satisfaction.db")
    _report(soak, journal, satisfaction_rows(data / "satisfaction.db"))
    assert not soak.problems, "\n".join(soak.problems)


def _until_the_kill(
    run: HallRun,
    rng: random.Random,
    target: dt.datetime,
    previous: JournalFacts | None,
    soak: Soak,
) -> None:
    """Watch one run and return at the seeded moment of its kill: starting, resyncing or later."""
    moment = rng.random()
    if moment < 0.1:  # while it starts: journal replay, broker, devices, API
        soak.kills["startup"] += 1
        time.sleep(rng.uniform(0.3, 3.0))
        return
    with httpx.Client(base_url=run.base) as client:
        assert wait_ready(run, client, time.monotonic() + READY_LIMIT), _tail(run)
        if previous is not None:
            soak.check(_check_journal_kept, run.data, previous)
        if moment < 0.25:  # while its devices catch up
            soak.kills["resync"] += 1
            cut = time.monotonic() + rng.uniform(0.0, 1.5)
            resync = watch_resync(run, client, soak.watch, soak.old_boots, cut)
            if resync.done is None:
                soak.cut_short += 1
            else:
                soak.resyncs.append(resync)
            time.sleep(max(0.0, cut - time.monotonic()))
            return
        soak.kills["running"] += 1
        soak.check(_resynced, run, client, soak.watch, soak)
        _run_until(run, client, target)


def _resynced(run: HallRun, client: httpx.Client, watch: DeviceWatch, soak: Soak) -> None:
    """Measure this restart's resync; every display and keypad within RESYNC_LIMIT of ready."""
    assert run.ready is not None
    resync = watch_resync(run, client, watch, soak.old_boots, run.ready + 3 * RESYNC_LIMIT)
    soak.resyncs.append(resync)
    assert resync.done is not None, f"devices still behind after a restart: {resync.lagging}"
    assert resync.ready is not None
    behind = resync.done - resync.ready
    assert behind <= RESYNC_LIMIT, f"devices caught up {behind:.1f} s after the hall answered"


def _run_until(run: HallRun, client: httpx.Client, target: dt.datetime) -> None:
    """Let the hall run until its clock reaches `target`, reading its state now and then."""
    while run.hall_time(time.monotonic()) < target:
        assert run.process.poll() is None, _tail(run)
        state = read_json(client, "/api/state")
        if state is not None:
            run.polled = (time.monotonic(), dt.datetime.fromisoformat(state["hall"]["now"]))
        time.sleep(0.25)


def _drain(run: HallRun, client: httpx.Client, data: Path, soak: Soak) -> JournalFacts:
    """Wait until the satisfaction API holds every record journaled so far; that journal."""
    deadline = time.monotonic() + DRAIN_LIMIT
    devices, journal = None, JournalFacts.read(data / "hall.db")
    while time.monotonic() < deadline:
        devices = read_json(client, "/api/devices")
        journal = JournalFacts.read(data / "hall.db")
        served, rated = satisfaction_rows(data / "satisfaction.db")
        finished = {p["ticket_id"] for _, p in journal.of_kind("TicketFinished")}
        ratings = {p["rating_id"] for _, p in journal.of_kind("RatingRecorded")}
        if finished <= set(served) and ratings <= {r for r, _ in rated}:
            return journal
        time.sleep(0.5)
    soak.problems.append(f"the outbox did not deliver in {DRAIN_LIMIT:.0f} s: {devices}")
    return journal


def _check_journal_kept(data: Path, before: JournalFacts) -> None:
    """Every event journaled before the kill is still in the journal after the restart."""
    after = JournalFacts.read(data / "hall.db")
    kept = after.count_up_to(before.last_seq)
    assert kept == before.events, f"{before.events - kept} journaled events lost in a restart"
    assert after.rows[: before.events] == before.rows, "journaled events changed in a restart"


def _check_acks(run: HallRun, journal: JournalFacts, soak: Soak) -> None:
    """Every rating press the demo's keypad got `ok` for is journaled once."""
    rated = Counter(p["number"] for _, p in journal.of_kind("RatingRecorded"))
    for line in run.log_lines():
        found = ACK_LINE.search(str(line.get("message", "")))
        if found is None:
            continue
        number = found.group(2)
        assert rated[number] == 1, f"rating of {number} acknowledged, journaled {rated[number]}x"
        soak.acked_ratings.add(number)


def _check_no_doubles(journal: JournalFacts) -> None:
    """No ticket number issued twice, no call or rating recorded twice."""
    issued = Counter((day, p["number"]) for day, p in journal.of_kind("TicketIssued"))
    assert not [k for k, n in issued.items() if n > 1], "a ticket number issued twice"
    calls = Counter(p["ticket_id"] for _, p in journal.of_kind("TicketCalled"))
    again = Counter(p["ticket_id"] for _, p in journal.of_kind("TicketNoShow") if p["requeue_at"])
    again.update(p["ticket_id"] for _, p in journal.of_kind("TicketTransferred"))
    doubled = {t: n for t, n in calls.items() if n > 1 + again[t]}
    assert not doubled, f"tickets called more often than re-queued: {doubled}"
    rated = Counter(
        (p["ticket_id"], p["assess_number"]) for _, p in journal.of_kind("RatingRecorded")
    )
    assert not [k for k, n in rated.items() if n > 1], "a ticket rated twice"
    presses = Counter(
        (p["device_id"], p["boot_id"], p["seq"])
        for _, p in journal.of_kind("KeyPressed")
        if p["outcome"] == "ok"
    )
    assert not [k for k, n in presses.items() if n > 1], "a key press applied twice"


def _check_the_day_went_on(journal: JournalFacts, start: dt.datetime, end: dt.datetime) -> None:
    """Citizens were called in every stretch of the soaked day (outside lunch): restarts did
    not leave the demo idle (a restarted demo that never caught up lost the afternoon)."""
    called = [dt.datetime.fromisoformat(p["at"]) for _, p in journal.of_kind("TicketCalled")]
    moment = max(start + dt.timedelta(minutes=35), start.replace(hour=9, minute=0))
    end = min(end, end.replace(hour=17, minute=0))  # the example hall takes tickets until 17:00
    while moment < end - dt.timedelta(minutes=10):
        until = min(moment + dt.timedelta(hours=1), end)
        if moment.hour != 12:
            assert any(moment <= at < until for at in called), (
                f"nobody called {moment:%H:%M}-{until:%H:%M}"
            )
        moment = until


def _check_delivered_once(drained: JournalFacts, journal: JournalFacts, db: Path) -> None:
    """Each finished ticket and rating journaled by the drain is in the satisfaction API once;
    it holds nothing the journal does not (records journaled after the drain may still wait)."""
    served, rated = satisfaction_rows(db)
    assert len(served) == len(set(served)) and len(rated) == len({r for r, _ in rated})
    for facts, whole in ((drained, False), (journal, True)):
        finished = {p["ticket_id"] for _, p in facts.of_kind("TicketFinished")}
        ratings = {p["rating_id"] for _, p in facts.of_kind("RatingRecorded")}
        if whole:
            assert set(served) <= finished, "delivered finished tickets the journal lacks"
            assert {r for r, _ in rated} <= ratings, "delivered ratings the journal lacks"
        else:
            assert finished <= set(served), "finished tickets not delivered"
            assert ratings <= {r for r, _ in rated}, "journaled ratings not delivered"
    per_ticket = Counter(t for _, t in rated)
    assert not [t for t, n in per_ticket.items() if n > 1], "a ticket's rating delivered twice"


def _report(
    soak: Soak, journal: JournalFacts, delivered: tuple[list[str], list[tuple[str, str]]]
) -> None:
    refused = Counter(
        p["outcome"]
        for _, p in journal.of_kind("KeyPressed")
        if p["key"] == "rate" and p["outcome"] != "ok"
    )
    staff_refused = Counter(
        f"{p['key']}:{p['outcome']}"
        for _, p in journal.of_kind("KeyPressed")
        if p["key"] != "rate" and p["outcome"] != "ok"
    )
    led = [r.led - r.ready for r in soak.resyncs if r.led is not None and r.ready is not None]
    keypads = [
        r.keypads - r.ready for r in soak.resyncs if r.keypads is not None and r.ready is not None
    ]
    ready = [r.ready for r in soak.resyncs if r.ready is not None]
    spawned = [r.done for r in soak.resyncs if r.done is not None]
    print(
        f"\nsoak: {sum(soak.kills.values())} kills {dict(soak.kills)} at speed {SPEED:g}, "
        f"{FROM:%H:%M}-{UNTIL:%H:%M}; {len(journal.of_kind('TicketIssued'))} tickets, "
        f"{len(journal.of_kind('TicketCalled'))} calls, "
        f"{len(journal.of_kind('TicketFinished'))} finished, "
        f"{len(journal.of_kind('RatingRecorded'))} ratings ({len(soak.acked_ratings)} acked in "
        f"the demo's log), refused rating presses {dict(refused)}; delivered "
        f"{len(delivered[0])} finished tickets and {len(delivered[1])} ratings; "
        f"{len(soak.problems)} problems"
    )
    named = [("answering (from spawn)", ready), ("LED (from answering)", led)]
    named += [("keypads (from answering)", keypads), ("all caught up (from spawn)", spawned)]
    for name, values in named:
        if values:
            print(
                f"  {name}: p50 {percentile(values, 0.5):.2f} s, p99 {percentile(values, 0.99):.2f}"
                f" s, max {max(values):.2f} s over {len(values)} restarts"
            )
    print(f"  refused staff presses: {dict(staff_refused)}")
    print(f"  restarts killed before their devices caught up (on purpose): {soak.cut_short}")


def _tail(run: HallRun) -> str:
    return run.stderr.read_text(encoding="utf-8", errors="replace")[-3000:]
