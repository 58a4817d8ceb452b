"""Export jobs: a big export written in the background to a file, downloaded when ready.

The job's row (satisfaction_export_job) says where it stands, so any API process can answer
"ready?"; the file lands in `export_dir` (shared storage when several hosts serve downloads).
One job runs at a time per process; others queue. A job whose process stopped stays
`running`: ask again for a new one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlmodel import SQLModel

from controller.domain.errors import HallError, NotFound
from controller.satisfaction import export, export_stream, store
from controller.satisfaction.auth import SatisfactionCaller
from controller.satisfaction.models_rollup import EXPORT_JOBS
from controller.satisfaction.pools import ReportDatabase

log = logging.getLogger(__name__)
Format = Literal["csv", "xlsx"]
RUNNING, READY, FAILED = "running", "ready", "failed"
MEDIA_TYPES = {"csv": export.CSV_MEDIA_TYPE, "xlsx": export.XLSX_MEDIA_TYPE}


class ExportJobPublic(SQLModel):
    """Where an export job stands; `download` is the file's path once it is ready."""

    id: str
    state: str
    format: str
    rows: int
    created_at: dt.datetime
    finished_at: dt.datetime | None
    error: str
    download: str | None


def start(
    *,
    engine: Engine,
    reports: ReportDatabase,
    directory: Path,
    caller: SatisfactionCaller,
    scope: store.Scope,
    region: str | None,
    fmt: Format,
    publish: export_stream.Publish,
    now: dt.datetime,
) -> ExportJobPublic:
    """Record a new job and queue it; its state at once (running)."""
    job_id = secrets.token_hex(12)
    params = {k: str(v) if v is not None else None for k, v in asdict(scope).items()}
    params["region"] = region
    with store.writing(engine) as conn:
        conn.execute(
            insert(EXPORT_JOBS).values(
                id=job_id,
                owner=caller.name,
                format=fmt,
                params=json.dumps(params, ensure_ascii=False),
                state=RUNNING,
                rows=0,
                file_name="",
                error="",
                created_at=store.as_utc(now),
            )
        )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # ratings: owner-only, like the DB
    _pool().submit(
        _run,
        engine=engine,
        reports=reports,
        directory=directory,
        job_id=job_id,
        scope=scope,
        region=region,
        fmt=fmt,
        publish=publish,
    )
    found = status(engine, job_id=job_id, caller=caller)
    return found


def status(engine: Engine, *, job_id: str, caller: SatisfactionCaller) -> ExportJobPublic:
    """A job of this caller's (404 for anyone else's)."""
    row = _row(engine, job_id, caller)
    ready = row["state"] == READY
    return ExportJobPublic(
        id=row["id"],
        state=row["state"],
        format=row["format"],
        rows=row["rows"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        error=row["error"],
        download=f"/api/v1/exports/jobs/{row['id']}/file" if ready else None,
    )


def ready_file(
    engine: Engine, directory: Path, *, job_id: str, caller: SatisfactionCaller
) -> tuple[Path, str]:
    """A ready job's file and its media type; 404 while it is not ready or for another's job."""
    row = _row(engine, job_id, caller)
    path = directory / row["file_name"]
    if row["state"] != READY or not path.is_file():
        raise NotFound("export_not_ready", f"导出任务 {job_id} 尚未完成（{row['state']}）")
    return path, MEDIA_TYPES[row["format"]]


def _row(engine: Engine, job_id: str, caller: SatisfactionCaller) -> RowMapping:
    query = select(EXPORT_JOBS).where(
        EXPORT_JOBS.c.id == job_id, EXPORT_JOBS.c.owner == caller.name
    )
    with store.reading(engine) as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound("no_such_export_job", f"导出任务 {job_id} 不存在")
    return row


@cache
def _pool() -> ThreadPoolExecutor:
    """One job at a time per process: the others queue."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-job")


def _run(
    *,
    engine: Engine,
    reports: ReportDatabase,
    directory: Path,
    job_id: str,
    scope: store.Scope,
    region: str | None,
    fmt: Format,
    publish: export_stream.Publish,
) -> None:
    name = f"{job_id}.{fmt}"
    partial = directory / f"{name}.partial"
    done: dict[str, Any]
    counted = [0]

    def lines() -> Iterator[list[Any]]:
        for line in export_stream.rating_lines(reports, scope, region, publish):
            counted[0] += 1
            yield line

    try:
        with os.fdopen(
            os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb"
        ) as target:
            if fmt == "xlsx":
                export_stream.write_xlsx(lines(), target)
            else:
                for chunk in export_stream.csv_chunks(lines()):
                    target.write(chunk)
        partial.replace(directory / name)
        done = {"state": READY, "file_name": name, "rows": counted[0]}
    except (HallError, OSError) as err:
        log.error("export job %s failed: %s", job_id, err)
        partial.unlink(missing_ok=True)
        done = {"state": FAILED, "error": str(err)[:500]}
    except Exception as err:  # a job thread is a supervisor: a bug fails the job, not silently
        log.exception("export job %s failed unexpectedly", job_id)
        partial.unlink(missing_ok=True)
        done = {"state": FAILED, "error": f"{type(err).__name__}: {err}"[:500]}
    done["finished_at"] = dt.datetime.now(dt.UTC)
    with store.writing(engine) as conn:
        conn.execute(update(EXPORT_JOBS).where(EXPORT_JOBS.c.id == job_id).values(**done))
