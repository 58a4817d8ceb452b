"""Finished tickets (评价率's denominator): once per hall and ticket id; the case outcome; old rows."""

from __future__ import annotations

import csv
import io
from typing import Any, get_args

from controller.domain.state import Outcome
from controller.satisfaction.models import CaseOutcome
from controller.satisfaction.models_served import OUTCOME_LABELS, outcome_name
from controller.satisfaction.store import make_engine
from tests.integration.satisfaction import legacy_fixture
from tests.integration.satisfaction.conftest import HALL_A, HALL_B, Api, at, auth, make_api, record


def ticket(ticket_id: str = "20261123-A001", **changes: Any) -> dict[str, Any]:
    """A finished ticket of hall A (window 1, 即办件), with `changes` applied."""
    base: dict[str, Any] = {
        "hall_id": HALL_A,
        "ticket_id": ticket_id,
        "number": ticket_id.rsplit("-", 1)[-1],
        "window": 1,
        "staff_id": "S0101",
        "service": "SB",
        "finished_at": at("2026-11-23 09:30:40"),
        "outcome": "immediate",
        "case_number": None,
    }
    return base | changes


def _push(api: Api, *tickets: dict[str, Any], role: str = "hall") -> tuple[int, Any]:
    return api.post("/api/v1/served-tickets", role, {"tickets": list(tickets)})


def test_finished_tickets_count_once_and_give_the_rating_rate(api: Api) -> None:
    first = [ticket(f"20261123-A00{i}") for i in range(1, 5)]
    assert _push(api, *first) == (200, {"accepted": 4, "duplicates": 0})
    # The outbox resends after a crash, with one new ticket at window 2: only that one counts.
    again = [*first, ticket("20261123-B001", window=2, staff_id="S0201")]
    assert _push(api, *again) == (200, {"accepted": 1, "duplicates": 4})
    api.ingest(record("20261123-A001-R1", ticket_id="20261123-A001"))
    default = record("20261123-A002-D", ticket_id="20261123-A002", channel="7", system_default=True)
    api.ingest(default | {"level": "basically_satisfied", "device_id": "system-default"})
    report = api.get("/api/v1/kpis", group_by="window")[1]
    w1, w2 = report["rows"]
    # 4 finished at window 1, 1 citizen rating (the default is not one): 1 / 4.
    assert (w1["served"], w1["rated"], w1["defaults"], w1["rating_rate"]) == (4, 1, 1, 0.25)
    assert (w2["served"], w2["rated"], w2["rating_rate"]) == (1, 0, 0.0)
    assert (report["total"]["served"], report["total"]["rating_rate"]) == (5, 0.2)


def test_daily_counts_and_finished_tickets_add_up(api: Api) -> None:
    count = {"hall_id": HALL_A, "day": "2026-11-23", "window": 1}
    count |= {"staff_id": "S0101", "service": "SB", "served": 3}
    assert api.post("/api/v1/served", "hall", {"counts": [count]})[0] == 200
    assert _push(api, ticket())[0] == 200
    assert api.get("/api/v1/kpis")[1]["total"]["served"] == 4


def test_a_changed_resend_is_a_conflict_and_bad_fields_are_named(api: Api) -> None:
    assert _push(api, ticket())[0] == 200
    status, body = _push(api, ticket(outcome="promised"))
    assert status == 409 and body["error"] == "served_conflict"
    assert "20261123-A001" in body["message"] and HALL_A in body["message"]
    status, body = _push(api, ticket(outcome="即办件"))
    assert status == 422 and body["problems"][0].startswith("tickets.0.outcome")
    status, body = _push(api, ticket(finished_at="2026-11-23T09:30:40"))
    assert status == 422 and body["problems"][0].startswith("tickets.0.finished_at")
    status, body = _push(api, ticket(finished_at=at("2026-11-24 19:00")))  # after now + 10 min
    assert status == 422 and body["message"].startswith("tickets.0.finished_at")
    status, body = _push(api, ticket(hall_id=HALL_B))
    assert status == 403 and "tickets.0.hall_id" in body["message"]
    status, body = _push(api, ticket(), role="floor")
    assert status == 403
    assert api.get("/api/v1/kpis")[1]["total"]["served"] == 1  # nothing else was stored


def test_the_day_is_the_halls_date_of_the_finish(api: Api) -> None:
    late = ticket("20261123-A009", finished_at="2026-11-23T16:30:00+00:00")  # 00:30 on the 24th
    assert _push(api, late)[0] == 200
    days = api.get("/api/v1/kpis", group_by="day")[1]["rows"]
    assert [(r["day"], r["served"]) for r in days] == [("2026-11-24", 1)]


def test_the_rating_carries_the_case_outcome_into_reads_and_exports(api: Api) -> None:
    api.ingest(record(outcome="promised"), record("20261123-A002", number="A002"))
    body = api.get("/api/v1/evaluations/20261123-A001", "reader", hall_id=HALL_A)[1]
    assert (body["outcome"], body["outcome_label"]) == ("promised", "承诺件")
    assert api.get("/api/v1/evaluations/20261123-A002", hall_id=HALL_A)[1]["outcome"] is None
    exported = api.client.get("/api/v1/exports/evaluations", headers=auth("reader"))
    csv_text = exported.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [r["办件类型"] for r in rows] == ["承诺件", ""]
    status, body = api.post("/api/v1/evaluations", "hall", {"records": [record(outcome="done")]})
    assert status == 422 and body["problems"][0].startswith("records.0.outcome")


def test_ratings_stored_before_the_outcome_column_stay_readable_and_resendable(
    database_url: str,
) -> None:
    url = database_url
    legacy_fixture.load(url)  # a database of release b58f477 (no migrations), record() in it
    # The table as a still older release made it: no outcome column.
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE satisfaction_rating DROP COLUMN outcome")
    engine.dispose()
    upgraded = make_api(url)  # adds the column on start, then migrates
    try:
        body = upgraded.get("/api/v1/evaluations/20261123-A001", hall_id=HALL_A)[1]
        assert (body["rating_id"], body["outcome"], body["outcome_label"]) == (
            "20261123-A001",
            None,
            None,
        )
        assert upgraded.ingest(record()) == {
            "accepted": 0,
            "duplicates": 1,
            "work_orders_opened": 0,
        }
        # The upgraded controller resends it with the outcome it now reads from its journal
        # (an answer lost before the upgrade): the same rating, not a conflict.
        assert upgraded.ingest(record(outcome="immediate"))["duplicates"] == 1
        assert (
            upgraded.post(  # other content under the same id is still refused
                "/api/v1/evaluations", "hall", {"records": [record(outcome="immediate", window=5)]}
            )[0]
            == 409
        )
        assert upgraded.ingest(record("20261123-A009", outcome="joint"))["accepted"] == 1
    finally:
        upgraded.app.state.satisfaction.engine.dispose()


def test_every_outcome_the_engine_records_has_a_wire_name() -> None:
    assert set(get_args(CaseOutcome)) == set(OUTCOME_LABELS)
    assert [outcome_name(o.value) for o in Outcome] == list(OUTCOME_LABELS)
    assert outcome_name("承诺件") == "promised" and outcome_name(None) is None
