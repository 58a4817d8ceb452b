"""Streaming exports: memory stays flat as the export grows; region filters; big XLSX as a job."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from controller.satisfaction import export_stream, ingest, store
from controller.satisfaction.models import RatingCreate
from tests.integration.satisfaction.conftest import (
    HALL_A,
    HALL_B,
    NOW,
    PROFILES,
    TOKENS,
    ZONE,
    Api,
    make_api,
    record,
)
from tests.integration.satisfaction.test_hall_keys import hall_b

FETCH = 200  # rows per fetch: 600 rows are 3 fetches, 6,000 are 30
FIRST = dt.datetime(2026, 10, 1, 9, 0, tzinfo=ZONE)


def generate(api: Api, count: int, prefix: str) -> None:
    """`count` generated ratings of hall A over October, stored as ingest stores them."""
    engine = api.app.state.satisfaction.engine
    batch = []
    for i in range(count):
        rated = FIRST + dt.timedelta(minutes=7 * i)
        given = record(
            f"{prefix}-{i:06d}",
            window=1 + i % 8,
            staff_id=f"S0{1 + i % 8}01",
            free_text=f"第 {i} 位群众的文字评价" * 3,
            rated_at=rated.isoformat(),
            finished_at=(rated - dt.timedelta(seconds=30)).isoformat(),
        )
        batch.append(ingest.rating_row(RatingCreate.model_validate(given), PROFILES[HALL_A], NOW))
        if len(batch) == 500:
            store.insert_ratings(engine, rows=batch, work_orders={})
            batch = []
    if batch:
        store.insert_ratings(engine, rows=batch, work_orders={})


def peak_growth(run: Callable[[], int]) -> tuple[int, int]:
    """Rows `run` exported and the peak memory it allocated above the start (tracemalloc)."""
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        rows = run()
        return rows, tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def export_csv(api: Api) -> int:
    context = api.app.state.satisfaction
    lines = export_stream.rating_lines(
        context.reports, store.Scope(), None, context.public, fetch_rows=FETCH
    )
    size = 0
    for chunk in export_stream.csv_chunks(lines):
        size += chunk.count(b"\r\n")
    return size - 1


def export_xlsx(api: Api, target: Path) -> int:
    context = api.app.state.satisfaction
    lines = export_stream.rating_lines(
        context.reports, store.Scope(), None, context.public, fetch_rows=FETCH
    )
    with target.open("wb") as out:
        return export_stream.write_xlsx(lines, out)


def test_export_memory_stays_flat_as_the_export_grows_tenfold(
    database_url: str, tmp_path: Path
) -> None:
    small = make_api(database_url)
    try:
        generate(small, 600, "s")
        export_csv(small)  # warm up: imports, plans, caches
        small_csv = peak_growth(lambda: export_csv(small))
        small_xlsx = peak_growth(lambda: export_xlsx(small, tmp_path / "s.xlsx"))
        generate(small, 5_400, "b")  # ten times the rows
        big_csv = peak_growth(lambda: export_csv(small))
        big_xlsx = peak_growth(lambda: export_xlsx(small, tmp_path / "b.xlsx"))
    finally:
        small.app.state.satisfaction.engine.dispose()
    assert (small_csv[0], big_csv[0], big_xlsx[0]) == (600, 6_000, 6_000)
    # 5,400 more rows are ~5 MB of CSV text; held in memory they would be far more.
    assert big_csv[1] - small_csv[1] < 1_000_000, (small_csv, big_csv)
    assert big_xlsx[1] - small_xlsx[1] < 1_000_000, (small_xlsx, big_xlsx)
    sheet: Any = load_workbook(tmp_path / "b.xlsx", read_only=True).active
    assert sum(1 for _ in sheet.iter_rows(values_only=True)) == 6_001


def _csv_rows(api: Api, **params: Any) -> list[dict[str, str]]:
    response = api.client.get(
        "/api/v1/exports/evaluations",
        params=params,
        headers={"Authorization": f"Bearer {_reader()}"},
    )
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _reader() -> str:
    return TOKENS["reader"][0]


def test_exports_filter_by_region_city_and_hall(api: Api) -> None:
    api.ingest(record("a1"), record("a2"))
    api.ingest(hall_b("b1"), role="hall_b")
    assert {r["评价编号"] for r in _csv_rows(api)} == {"a1", "a2", "b1"}
    assert {r["大厅"] for r in _csv_rows(api, region="330102")} == {HALL_B}  # a county
    assert len(_csv_rows(api, region="3301")) == 3  # the city
    assert [r["评价编号"] for r in _csv_rows(api, hall_id=HALL_A)] == ["a1", "a2"]
    status, body = api.get("/api/v1/exports/evaluations", "reader", region="3")
    assert status == 422 and "region" in body["message"]


def test_an_xlsx_past_the_inline_limit_is_refused_by_name_and_made_by_a_job(
    database_url: str, tmp_path: Path
) -> None:
    api = make_api(database_url, export_max_rows=2, export_dir=tmp_path / "exports")
    try:
        api.ingest(record("a1"), record("a2"), record("a3"))
        status, body = api.get("/api/v1/exports/evaluations", "reader", format="xlsx")
        assert (status, body["error"]) == (422, "export_too_large")
        assert "/api/v1/exports/jobs" in body["message"]
        status, job = api.post("/api/v1/exports/jobs?format=xlsx&region=3301", "reader")
        assert status == 202 and job["state"] == "running", job
        for _ in range(200):  # bounded: the job runs in a thread of the app
            job = api.get(f"/api/v1/exports/jobs/{job['id']}", "reader")[1]
            if job["state"] != "running":
                break
            time.sleep(0.05)
        assert (job["state"], job["rows"]) == ("ready", 3), job
        made = tmp_path / "exports" / f"{job['id']}.xlsx"
        assert made.stat().st_mode & 0o077 == 0  # ratings: owner-only, like the database
        # Another caller does not see it; the owner downloads it.
        assert api.get(f"/api/v1/exports/jobs/{job['id']}", "supervision")[0] == 404
        response = api.client.get(job["download"], headers={"Authorization": f"Bearer {_reader()}"})
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        rows = list(book.active.iter_rows(values_only=True))  # type: ignore[union-attr]
        assert [r[0] for r in rows[1:]] == ["a1", "a2", "a3"]
    finally:
        api.app.state.satisfaction.engine.dispose()
