"""Ingest of mixed and overlapping batches: new records stored once, counted once, never a deadlock."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from controller.satisfaction import ingest
from tests.integration.satisfaction.conftest import HALL_A, HALL_B, Api, at, make_api, record
from tests.integration.satisfaction.test_hall_keys import hall_b
from tests.integration.satisfaction.test_rollups import recomputed, rollup_rows


def _bad(rating_id: str, **changes: Any) -> dict[str, Any]:
    return record(rating_id, level="dissatisfied", reasons=["R01"], **changes)


def test_a_batch_of_new_and_resent_records_stores_and_counts_only_the_new(api: Api) -> None:
    engine = api.app.state.satisfaction.engine
    first = [record("m-1"), _bad("m-2"), record("m-3", window=2, staff_id="S0201")]
    assert api.ingest(*first) == {"accepted": 3, "duplicates": 0, "work_orders_opened": 1}
    stored = rollup_rows(engine)
    # The outbox resends the first batch with new records among it, one of them a 差评,
    # one a system default, one a follow-up, and one of them twice.
    mixed = [
        _bad("m-4", window=3, staff_id="S0301"),
        *first,
        record("m-5", level="basically_satisfied", channel="7", system_default=True),
        record("m-6", level="satisfied", assess_number=2),
        record("m-5", level="basically_satisfied", channel="7", system_default=True),
    ]
    assert api.ingest(*mixed) == {"accepted": 3, "duplicates": 4, "work_orders_opened": 1}
    assert rollup_rows(engine) != stored
    assert rollup_rows(engine) == recomputed(engine)
    orders = api.get("/api/v1/work-orders")[1]["items"]
    assert sorted((o["rating_id"], o["window"], o["state"]) for o in orders) == [
        ("m-2", 1, "open"),
        ("m-4", 3, "open"),
    ]
    # Resent once more: nothing changes, the answer says so.
    assert api.ingest(*mixed) == {"accepted": 0, "duplicates": 7, "work_orders_opened": 0}
    assert rollup_rows(engine) == recomputed(engine)
    assert len(api.get("/api/v1/evaluations")[1]["items"]) == 6


def test_a_conflict_behind_new_records_stores_nothing_of_the_batch(api: Api) -> None:
    engine = api.app.state.satisfaction.engine
    api.ingest(record("k-1"), _bad("k-2"))
    before = rollup_rows(engine)
    batch = [_bad("k-0"), record("k-3"), record("k-1"), _bad("k-2", window=5)]
    status, body = api.post("/api/v1/evaluations", "hall", {"records": batch})
    assert status == 409 and body["error"] == "rating_conflict" and "k-2" in body["message"]
    assert rollup_rows(engine) == before
    assert sorted(r["rating_id"] for r in api.get("/api/v1/evaluations")[1]["items"]) == [
        "k-1",
        "k-2",
    ]
    assert [o["rating_id"] for o in api.get("/api/v1/work-orders")[1]["items"]] == ["k-2"]


def test_overlapping_batches_at_once_store_each_record_once_and_count_it_once(api: Api) -> None:
    engine = api.app.state.satisfaction.engine
    day = {"rated_at": at("2026-11-23 10:00"), "finished_at": at("2026-11-23 09:59")}
    ids = [f"o-{i:02d}" for i in range(40)]
    batches = {
        # Two connections of hall A send overlapping halves in opposite orders (an outbox
        # retrying while the first try is still in flight); hall B sends the same ids.
        "hall": [
            [_bad(i, **day) if n % 5 == 0 else record(i, **day) for n, i in enumerate(ids[:30])],
            [record(i, **day) if n % 5 else _bad(i, **day) for n, i in enumerate(ids)][::-1][:30],
        ],
        "hall_b": [[hall_b(i, **day) for i in ids]],
    }
    answers: list[tuple[str, int, Any]] = []

    def send(role: str, records: list[dict[str, Any]]) -> None:
        for _ in range(3):
            status, body = api.post("/api/v1/evaluations", role, {"records": records})
            answers.append((role, status, body))

    threads = [
        threading.Thread(target=send, args=(role, records))
        for role, lists in batches.items()
        for records in lists
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for _, status, _ in answers] == [200] * 9, answers
    taken = {role: sum(body["accepted"] for r, _, body in answers if r == role) for role in batches}
    assert taken == {"hall": 40, "hall_b": 40}
    assert sum(body["work_orders_opened"] for _, _, body in answers) == 8
    everything = api.get("/api/v1/evaluations", limit=1000)[1]["items"]
    assert sorted((r["hall_id"], r["rating_id"]) for r in everything) == sorted(
        (hall, i) for hall in (HALL_A, HALL_B) for i in ids
    )
    assert rollup_rows(engine) == recomputed(engine)


def test_batches_beyond_the_ingest_pool_wait_their_turn_outside_the_store(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most `ingest_pool_size` batches are in the store at once per process; none is refused."""
    api = make_api(database_url, ingest_pool_size=2, ingest_pool_overflow=0)
    inside: list[int] = []
    lock = threading.Lock()
    store_batch = ingest.ingest_batch

    def counted(*args: Any, **kwargs: Any) -> Any:
        with lock:
            inside.append(inside[-1] + 1 if inside else 1)
        try:
            time.sleep(0.05)  # long enough for every sender to have arrived
            return store_batch(*args, **kwargs)
        finally:
            with lock:
                inside.append(inside[-1] - 1)

    monkeypatch.setattr(ingest, "ingest_batch", counted)
    answers: list[int] = []

    def send(n: int) -> None:
        batch = {"records": [record(f"w-{n}-{i}") for i in range(5)]}
        answers.append(api.post("/api/v1/evaluations", "hall", batch)[0])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    with api.client:  # one event loop for every request, as in a uvicorn worker
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == [200] * 8
    assert max(inside) == 2, inside
