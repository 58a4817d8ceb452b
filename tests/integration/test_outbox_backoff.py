"""The outbox backs off against a real server that refuses, however many hall events arrive."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from controller.app.clock import ManualClock
from controller.app.hub import Batch
from controller.app.journal import Journal
from controller.app.outbox import RatingOutbox, RetryPolicy, http_sender
from controller.app.runtime import HallRuntime
from controller.domain.errors import ConfigError
from controller.settings.config_loader import load_config
from tests.conftest import EXAMPLE_CONFIG, hall_time
from tests.outbox_helpers import roomy_config, serve, sign_in_everyone, wait_for

POLICY = RetryPolicy(first_seconds=1.0, max_seconds=16.0, jitter=0.25)


class HandClock:
    """A monotonic clock that moves only when the outbox waits out a pause."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.frozen = False  # frozen: no time passes, a pause lasts until something wakes it

    def clock(self) -> float:
        return self.now

    def wait(self, event: threading.Event, timeout: float) -> bool:
        """Like Event.wait: at once if set, else the whole timeout passes (in no real time)."""
        if self.frozen:
            return event.wait(0.02)
        if event.is_set():
            return True
        self.now += timeout
        time.sleep(0.002)  # let the hall thread run
        return False


SERVED, RATINGS = "/api/v1/served-tickets", "/api/v1/evaluations"


class Refusing:
    """A real HTTP server answering POSTs with 503 (or `statuses[path]`), noting each one's time."""

    def __init__(self, hands: HandClock, statuses: dict[str, int] | None = None) -> None:
        posts = self.posts = list[tuple[str, float]]()
        answers = statuses or {}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                posts.append((self.path, hands.now))
                status = answers.get(self.path, 503)
                body = b'{"error": "unavailable", "message": "maintenance"}'
                if status == 200:
                    body = b'{"accepted": 1, "duplicates": 0, "work_orders_opened": 0}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/evaluations"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hands() -> HandClock:
    return HandClock()


@pytest.fixture
def refusing(hands: HandClock) -> Iterator[Refusing]:
    server = Refusing(hands)
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_backoff_doubles_to_its_cap_while_events_keep_coming(
    hands: HandClock, refusing: Refusing, tmp_path: Path
) -> None:
    config = roomy_config()
    clock = ManualClock(hall_time("08:35"))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db", durable=False), clock)
    sign_in_everyone(runtime)
    serve(runtime, clock, 1, rating="satisfied")
    outbox = RatingOutbox(
        runtime.journal,
        config,
        http_sender(refusing.url, "t", timeout=2),
        retry=POLICY,
        clock=hands.clock,
        wait=hands.wait,
        rand=random.Random(7).random,
    )
    wakes = 0

    def wake(batch: Batch) -> None:
        nonlocal wakes
        wakes += 1
        outbox.wake(batch)

    runtime.hub.subscribe("outbox", wake)
    outbox.start()
    try:
        served = 1
        while len(_tries(refusing.posts)) < 12:  # the hall keeps serving, waking the outbox
            serve(runtime, clock, 1 + served % 3, rating="satisfied" if served % 2 else None)
            served += 1
            assert served < 2000, "the outbox stopped trying"
        hands.frozen = True  # the outbox now sits in a pause that only a wake could cut short
        time.sleep(0.5)  # a send in flight lands
        posts, before = list(refusing.posts), wakes
        for n in range(20):
            serve(runtime, clock, 1 + n % 3, rating="satisfied")
        wait_for(lambda: wakes >= before + 20 * 5)  # the hub delivered every batch
        time.sleep(0.3)
        assert refusing.posts == posts  # events do not hurry a failing link
        outbox.retry_now()  # an operator does, at once
        wait_for(lambda: len(refusing.posts) > len(posts))
        forced = refusing.posts[len(posts)]
    finally:
        outbox.stop()
        runtime.hub.stop()
        runtime.journal.close()
    tries = _tries(posts)
    # Each try asks once per stream (the server answers, so a refused stream does not stop the
    # other), then the outbox pauses.
    assert [[p for p, t in posts if t == moment] for moment in tries] == [[SERVED, RATINGS]] * len(
        tries
    )
    gaps = [later - earlier for earlier, later in itertools.pairwise(tries)]
    for failures, gap in enumerate(gaps, start=1):
        ceiling = min(16.0, 2.0 ** (failures - 1))  # 1, 2, 4, 8, 16, 16, …
        assert ceiling * 0.75 <= gap <= ceiling, (failures, gaps)
    assert len([g for g in gaps if g > 8.0]) >= 6  # reached the cap and stayed there
    assert len(set(gaps[5:])) > 1  # jittered: halls that fail together do not retry in step
    assert forced == (SERVED, tries[-1])  # retry_now: at once, no time passed on the outbox's clock
    assert outbox.failures >= 12 and "503" in outbox.last_error
    assert 0 < outbox.status()["retry_in_seconds"] <= 16.0


def test_an_api_without_served_tickets_still_gets_the_ratings(
    hands: HandClock, tmp_path: Path
) -> None:
    # A central API older than /served-tickets answers 404 there and takes ratings.
    older = Refusing(hands, {SERVED: 404, RATINGS: 200})
    clock = ManualClock(hall_time("08:35"))
    runtime = HallRuntime(
        roomy_config(), Journal.at_path(tmp_path / "hall.db", durable=False), clock
    )
    try:
        sign_in_everyone(runtime)
        for window in (1, 2, 3):
            serve(runtime, clock, window, rating="satisfied")
        outbox = RatingOutbox(runtime.journal, runtime.config, http_sender(older.url, "t"))
        runtime.add_alert_source(outbox.alerts)
        assert outbox.flush() is False
        assert outbox.backlog_of() == {"served-tickets": 3, "evaluations": 0}
        assert outbox.parked() == []  # a wrong URL is the link's fault: kept and retried
        assert "served-tickets: HTTP 404" in outbox.last_error
        alerts = [a for a in runtime.snapshot()["alerts"] if a["kind"] == "outbox_backlog"]
        assert alerts and "办件 3 条、评价 0 条" in alerts[0]["message"]
        assert [p for p, _ in older.posts] == [SERVED, RATINGS]
    finally:
        older.server.shutdown()
        older.server.server_close()
        runtime.hub.stop()
        runtime.journal.close()


def test_the_retry_policy_never_waits_past_its_cap() -> None:
    waits = [POLICY.delay(n, lambda: 0.0) for n in (1, 2, 3, 4, 5, 6, 100, 10_000)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0, 16.0]
    assert POLICY.delay(3, lambda: 1.0) == 3.0  # the most jitter takes a quarter off


def test_retry_settings_come_from_the_hall_config_and_bad_ones_name_the_key(
    tmp_path: Path,
) -> None:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    assert "retry_first_seconds = 1.0\n" in text and "retry_jitter = 0.2\n" in text
    good = tmp_path / "good.toml"
    good.write_text(
        text.replace("retry_first_seconds = 1.0", "retry_first_seconds = 2").replace(
            "retry_max_seconds = 300.0", "retry_max_seconds = 60"
        ),
        encoding="utf-8",
    )
    push = load_config(good).satisfaction
    assert (push.retry_first_seconds, push.retry_max_seconds, push.retry_jitter) == (2, 60, 0.2)
    for wrong, key in (
        ("retry_jitter = 1.5", "satisfaction.retry_jitter"),
        ("retry_max_seconds = 0.5", "satisfaction"),  # below the first wait
    ):
        bad = tmp_path / "bad.toml"
        name = wrong.split(" =")[0]
        line = next(line for line in text.splitlines() if line.startswith(name + " ="))
        bad.write_text(text.replace(line, wrong), encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_config(bad)
        assert key in str(caught.value) and str(bad) in str(caught.value)


def _tries(posts: list[tuple[str, float]]) -> list[float]:
    """The hand-clock moments of the outbox's tries: one per pause, each starting with SERVED."""
    return [moment for path, moment in posts if path == SERVED]
