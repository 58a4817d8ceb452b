"""A full disk: the kiosk gets a clear 503 that names no file, the floor gets an alert, and the
hall carries on once there is room again. SQLite's max_page_count makes the journal's writes fail
with SQLITE_FULL, the very error a full disk gives (ENOSPC on the WAL)."""

from __future__ import annotations

from typing import Any

from tests.integration.api.conftest import Hall, auth


def _fill_the_disk(hall: Hall, full: bool) -> None:
    writer = hall.runtime.journal._writer  # the one connection that writes the journal
    assert writer is not None
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count = {pages if full else 1_000_000_000}")


def _alerts(hall: Hall) -> list[dict[str, Any]]:
    state = hall.client.get("/api/state", headers=auth("floor")).json()
    return [a for a in state["alerts"] if a["kind"] in ("disk_full", "journal_unwritable")]


def _issue_until_refused(hall: Hall) -> Any:
    for _ in range(200):  # the last free page fills within a few tickets
        response = hall.client.post("/api/tickets", headers=auth("kiosk"), json={"service": "SB"})
        if response.status_code != 201:
            return response
    raise AssertionError("the journal never filled up")


def test_a_full_disk_answers_503_without_a_path_and_raises_a_floor_alert(hall: Hall) -> None:
    assert hall.post("/api/tickets", "kiosk", {"service": "SB"})[0] == 201
    assert _alerts(hall) == []
    _fill_the_disk(hall, full=True)
    refused = _issue_until_refused(hall)
    assert refused.status_code == 503
    body = refused.json()
    assert body["error"] == "store_unavailable"
    assert "磁盘已满" in body["message"]
    text = refused.text
    assert "/" not in body["message"] and ".db" not in text and "sqlite" not in text.lower()
    assert str(hall.db_path) not in text and hall.db_path.parent.name not in text
    [alert] = _alerts(hall)
    assert alert["kind"] == "disk_full" and "数据盘已满" in alert["message"]
    issued = len(hall.runtime.engine.state.tickets)

    _fill_the_disk(hall, full=False)  # the technician made room
    again = hall.client.post("/api/tickets", headers=auth("kiosk"), json={"service": "SB"})
    assert again.status_code == 201, again.text
    assert len(hall.runtime.engine.state.tickets) == issued + 1  # nothing half-kept
    assert _alerts(hall) == []
