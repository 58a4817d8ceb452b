"""The exchange feed by cursor: every rating once, in arrival order, late uploads and late commits included."""

from __future__ import annotations

from typing import Any

import pytest

from controller.satisfaction import ingest, store
from controller.satisfaction.models import RatingCreate
from tests.integration.satisfaction.conftest import (
    HALL_A,
    HALL_B,
    NOW,
    PROFILES,
    Api,
    at,
    make_api,
    record,
)
from tests.integration.satisfaction.test_hall_keys import hall_b


def read_feed(api: Api, after: str | None, role: str = "reader", **params: Any) -> dict[str, Any]:
    query = dict(params) | ({"after": after} if after is not None else {})
    status, body = api.get("/api/v1/exchange/feed", role, **query)
    assert status == 200, body
    result: dict[str, Any] = body
    return result


def drain(api: Api, after: str | None, limit: int = 2, **params: Any) -> tuple[list[str], str]:
    """Every (hall:rating) after `after`, page by page; and the cursor at the end."""
    seen: list[str] = []
    cursor = after
    for _ in range(100):
        page = read_feed(api, cursor, limit=limit, **params)
        seen += [f"{i['hall_id']}:{i['rating_id']}" for i in page["items"]]
        if page["count"] == 0:
            return seen, page["next"]
        cursor = page["next"]
    raise AssertionError("the feed never ended")


def test_a_late_upload_for_a_day_already_forwarded_is_in_the_next_page(api: Api) -> None:
    api.ingest(record("d1-1"), record("d1-2"), record("d1-3"))
    api.ingest(hall_b("d1-1"), role="hall_b")
    seen, cursor = drain(api, None)
    assert seen == [f"{HALL_A}:d1-1", f"{HALL_A}:d1-2", f"{HALL_A}:d1-3", f"{HALL_B}:d1-1"]
    # A week late, for 11-16, long forwarded by day: the feed by arrival still brings it.
    late = record("late", rated_at=at("2026-11-16 10:00"), finished_at=at("2026-11-16 09:59"))
    api.ingest(late)
    again, _end = drain(api, cursor)
    assert again == [f"{HALL_A}:late"]
    first = read_feed(api, cursor)["items"][0]
    assert first["record"]["assessTime"] == "2026-11-16 10:00:00"
    # A hall's floor manager reads its own hall only.
    mine = read_feed(api, None, role="floor_b", limit=50)
    assert [i["hall_id"] for i in mine["items"]] == [HALL_B]


def test_a_bad_cursor_is_refused_by_name(api: Api) -> None:
    for bad in ("abc", "1", "99999999999999999999.1", "9223372036854775808.0"):
        status, body = api.get("/api/v1/exchange/feed", "reader", after=bad)
        assert status == 422, (bad, body)
        assert "after" in body["message"] or body["error"] == "invalid_cursor", body


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_batch_committing_after_a_later_one_is_not_skipped(database_url: str) -> None:
    """PostgreSQL: a batch that took its sequence numbers first but commits last still comes."""
    api = make_api(database_url)
    try:
        api.ingest(record("r0"))
        _seen, cursor = drain(api, None)
        engine = store.make_engine(database_url)
        slow = RatingCreate.model_validate(record("slow"))
        rows = [ingest.rating_row(slow, PROFILES[HALL_A], NOW)]
        with engine.begin() as conn:  # this batch takes its numbers and waits to commit
            store.bulk_insert(
                conn,
                store.RATINGS,
                [{k: v for k, v in r.items() if k != "bare_hash"} for r in rows],
            )
            api.ingest(record("quick"))  # another batch, numbered after it, commits first
            while_open, cursor_open = drain(api, cursor)
            assert while_open == []  # held back: an older batch is still open
        after_commit, _ = drain(api, cursor_open)
        assert after_commit == [f"{HALL_A}:slow", f"{HALL_A}:quick"]
        engine.dispose()
    finally:
        api.app.state.satisfaction.engine.dispose()
