"""Satisfaction API ingest throughput: ratings/s through HTTP in batches of 100, SQLite and PostgreSQL.

For each backend a fresh database is made (a SQLite file with synchronous=FULL, as embedded;
a PostgreSQL server started here on a temp dir with its default durability, fsync on), the API
runs under uvicorn in a child process, and one keep-alive HTTP client posts `--ratings` new
records (4 % 差评, each opening a work order) in batches of `--batch`. Then the same batches are
sent again (every record a duplicate, as after an outbox retry), then `--clients` halls push at
once, against one server process and against `--workers` processes (a central deployment).
Each of those halls has its own id and token and gives the same ticket and rating ids as the
others (every hall numbers its day A001, A002 …): rating ids are hall-local, so nothing may be
refused as a conflict; the bench checks every hall's ratings arrived.
Baseline in the same run: a bare DBAPI executemany of the same rows into the same table, one
transaction per batch. Targets: >= 2,000 ratings/s on SQLite (the embedded API: one hall, one
process) and >= 5,000 on PostgreSQL (a central API: several halls, a process per core).

    .venv/bin/python -m benchmarks.bench_satisfaction_ingest [--ratings 20000] [--batch 100]
        [--backends sqlite,postgresql] [--clients 4] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from benchmarks.common import ROOT, ms, percentile
from controller.satisfaction.models import RatingCreate
from controller.satisfaction.partitions import id_day

TARGETS = {"sqlite": 2_000.0, "postgresql": 5_000.0}
HALL_ID = "330199-QSXZWFWZX"
TOKEN = "bench-hall-token-000000000001"
MAX_HALLS = 16
# The halls pushing at once: the example hall and others under the same calendar; each its token.
HALLS = [HALL_ID] + [f"3301{n:02d}-BENCH{n:02d}" for n in range(1, MAX_HALLS)]
TOKENS = {hall: f"bench-hall-token-{n:012d}" for n, hall in enumerate(HALLS, start=1)}
TOKENS[HALL_ID] = TOKEN
ZONE = ZoneInfo("Asia/Shanghai")
LEVELS = ["very_satisfied"] * 18 + ["satisfied"] * 4 + ["basically_satisfied"] * 2
RUN_DAY = dt.datetime(2026, 11, 23, 8, 30, tzinfo=ZONE)


def make_records(count: int, prefix: str, hall_id: str = HALL_ID) -> list[dict[str, Any]]:
    """`count` valid records of a hall, one day, about 4 % 差评; the same ids for every hall."""
    records = []
    for i in range(count):
        finished = RUN_DAY + dt.timedelta(seconds=2 * i)
        bad = i % 25 == 7
        records.append(
            {
                "rating_id": f"{prefix}-{i:07d}",
                "hall_id": hall_id,
                "ticket_id": f"20261123-{prefix}-{i:07d}",
                "number": f"A{i % 1000:03d}",
                "window": 1 + i % 12,
                "staff_id": f"S{1 + i % 12:02d}01",
                "service": "SB",
                "item_code": "330199-SB-0001",
                "case_number": None,
                "department_code": "QSXZWFWZX",
                "region_code": "330199",
                "level": "dissatisfied" if bad else LEVELS[i % len(LEVELS)],
                "reasons": ["R02"] if bad else [],
                "reason_table": "2026.1",
                "channel": "5",
                "assess_number": 1,
                "device_id": f"keypad-{1 + i % 12:02d}",
                "rated_at": (finished + dt.timedelta(seconds=15)).isoformat(),
                "finished_at": finished.isoformat(),
                "system_default": False,
            }
        )
    return records


def batches(records: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """The records cut into batches of `size`."""
    return [records[i : i + size] for i in range(0, len(records), size)]


@contextlib.contextmanager
def api_server(database_url: str, workers: int = 1) -> Iterator[str]:
    """The API under uvicorn (`workers` processes) in a child process; yields its base URL."""
    from tests.integration.satisfaction.pg_server import free_port

    port = free_port()
    env = os.environ | {
        "BENCH_DATABASE_URL": database_url,
        "BENCH_PORT": str(port),
        "BENCH_WORKERS": str(workers),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_satisfaction_ingest", "--serve"],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.1)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=15)


def serve() -> None:
    """Child process: run the API on BENCH_DATABASE_URL and BENCH_PORT (clock: the bench day)."""
    import uvicorn

    port, workers = int(os.environ["BENCH_PORT"]), int(os.environ["BENCH_WORKERS"])
    if workers == 1:
        uvicorn.run(bench_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return
    from controller.cli.satisfaction import worker_patience

    uvicorn.run(
        "benchmarks.bench_satisfaction_ingest:bench_app",
        factory=True,
        workers=workers,
        **worker_patience(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def bench_app() -> Any:
    """The API of one server process, with the bench hall's token and a clock on the bench day."""
    from controller.satisfaction.app import create_satisfaction_app
    from controller.satisfaction.auth import (
        SatisfactionCaller,
        SatisfactionRole,
        SatisfactionTokens,
    )
    from controller.satisfaction.settings import profile_from_config
    from controller.settings.config_loader import load_config

    tokens = SatisfactionTokens()
    for hall, token in TOKENS.items():
        tokens.add(token, SatisfactionCaller(f"bench-{hall}", SatisfactionRole.HALL, hall))
    profile = profile_from_config(load_config(ROOT / "config" / "hall.example.toml"))
    profiles = {hall: dataclasses.replace(profile, hall_id=hall) for hall in HALLS}
    return create_satisfaction_app(
        os.environ["BENCH_DATABASE_URL"],
        tokens,
        profiles,
        clock=lambda: RUN_DAY + dt.timedelta(days=2),
    )


def post_all(
    base: str, work: list[list[dict[str, Any]]], key: str, token: str = TOKEN
) -> tuple[float, list[float]]:
    """Post every batch in order as the hall of `token`; (total s, per-batch s). Checks answers."""
    latencies = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        client.get("/api/v1/health")  # connect (not timed)
        started = time.perf_counter()
        for batch in work:
            begun = time.perf_counter()
            reply = client.post("/api/v1/evaluations", json={"records": batch})
            latencies.append(time.perf_counter() - begun)
            if reply.status_code != 200 or reply.json()[key] != len(batch):
                raise RuntimeError(f"unexpected answer: {reply.status_code} {reply.text[:300]}")
        return time.perf_counter() - started, latencies


def post_concurrently(base: str, ratings: int, size: int, clients: int, prefix: str) -> float:
    """`clients` halls push `ratings` in all at once, each its own records under the same ids; s."""
    halls = HALLS[:clients]
    shares = {hall: batches(make_records(ratings // clients, prefix, hall), size) for hall in halls}
    errors: list[BaseException] = []

    def push(hall: str) -> None:
        try:
            post_all(base, shares[hall], "accepted", TOKENS[hall])
        except BaseException as err:  # reported after the join
            errors.append(err)

    threads = [threading.Thread(target=push, args=(hall,)) for hall in halls]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    elapsed = time.perf_counter() - started
    for hall in halls:
        check_hall(base, hall, [shares[hall][0][0], shares[hall][-1][-1]])
    return elapsed


def check_hall(base: str, hall: str, records: list[dict[str, Any]]) -> None:
    """The hall's token reads these records back as the hall's own (ids are alike in every hall)."""
    headers = {"Authorization": f"Bearer {TOKENS[hall]}"}
    for record in records:
        reply = httpx.get(f"{base}/api/v1/evaluations/{record['rating_id']}", headers=headers)
        if reply.status_code != 200 or reply.json()["hall_id"] != hall:
            raise RuntimeError(f"hall {hall}, {record['rating_id']}: {reply.text[:300]}")


def bare_rows(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The table rows of the records, as plain tuples for a DBAPI executemany."""
    rows = []
    for raw in records:
        r = RatingCreate.model_validate(raw)
        rows.append(
            (r.rating_id, r.hall_id, r.ticket_id, r.number, r.window, r.staff_id, r.service,
             r.item_code, r.case_number, r.department_code, r.region_code, r.reason_table,
             r.assess_number, r.device_id, r.free_text, r.level.value, ",".join(r.reasons),
             r.channel, r.system_default, r.finished_at.astimezone(dt.UTC),
             r.rated_at.astimezone(dt.UTC), r.rated_at.date(), "0" * 64,
             dt.datetime.now(dt.UTC), id_day(r.rating_id))
        )  # fmt: skip
    return rows


_INSERT = (
    'INSERT INTO satisfaction_rating (rating_id, hall_id, ticket_id, number, "window", '
    "staff_id, service, item_code, case_number, department_code, region_code, reason_table, "
    "assess_number, device_id, free_text, level, reasons, channel, system_default, "
    "finished_at, rated_at, day, content_hash, received_at, id_day) VALUES ({marks})"
)


def bare_sqlite(path: Path, rows: list[tuple[Any, ...]], size: int) -> float:
    """Seconds for sqlite3 executemany of the rows, one FULL-synchronous commit per batch."""
    text_rows = [tuple(v.isoformat() if isinstance(v, dt.date) else v for v in row) for row in rows]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    statement = _INSERT.format(marks=", ".join("?" * 25))
    started = time.perf_counter()
    for first in range(0, len(text_rows), size):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(statement, text_rows[first : first + size])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def bare_postgres(url: str, rows: list[tuple[Any, ...]], size: int) -> float:
    """Seconds for psycopg executemany of the rows, one commit per batch."""
    import psycopg

    statement = _INSERT.format(marks=", ".join(["%s"] * 25))
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for first in range(0, len(rows), size):
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(statement, rows[first : first + size])
        return time.perf_counter() - started


def fresh_tables(url: str) -> None:
    """Migrate an empty database to the satisfaction schema."""
    from controller.satisfaction import schema, store

    engine = store.make_engine(url)
    schema.migrate(engine)
    engine.dispose()


def run_backend(name: str, urls: dict[str, str], args: argparse.Namespace) -> None:
    """Time the API and the bare baseline on one backend and print the figures."""
    records = make_records(args.ratings, "R")
    work = batches(records, args.batch)
    fresh_tables(urls["api"])  # not timed (worker processes would wait on the migration lock)
    with api_server(urls["api"]) as base:
        post_all(base, batches(make_records(5 * args.batch, "W"), args.batch), "accepted")
        seconds, latencies = post_all(base, work, "accepted")
        resend_seconds, _ = post_all(base, work, "duplicates")
        together_seconds = post_concurrently(base, args.ratings, args.batch, args.clients, "C")
    with api_server(urls["api"], workers=args.workers) as base:
        spread_seconds = post_concurrently(base, args.ratings, args.batch, args.clients, "D")
    base_url = urls["bare"]
    fresh_tables(base_url)
    rows = bare_rows(records)
    if name == "sqlite":
        bare = bare_sqlite(Path(base_url.removeprefix("sqlite:///")), rows, args.batch)
    else:
        bare = bare_postgres(
            base_url.replace("postgresql://", "postgresql://", 1), rows, args.batch
        )
    rate, bare_rate = len(records) / seconds, len(records) / bare
    together_rate, spread_rate = args.ratings / together_seconds, args.ratings / spread_seconds
    latencies.sort()
    print(f"\n{name}: {len(records)} ratings in {len(work)} batches of {args.batch}")
    print(f"  API ingest (HTTP, new)      {rate:10,.0f} ratings/s   {seconds:6.2f} s")
    print(
        f"  batch latency p50 / p99     {ms(percentile(latencies, 0.5))} / {ms(percentile(latencies, 0.99))}"
    )
    print(f"  API resend (all duplicates) {len(records) / resend_seconds:10,.0f} ratings/s")
    print(
        f"  API ingest, {args.clients} halls at once {together_rate:8,.0f} ratings/s   (same ids in every hall)"
    )
    print(f"  same, {args.workers} server processes {spread_rate:8,.0f} ratings/s")
    print(f"  bare executemany baseline   {bare_rate:10,.0f} ratings/s   {bare:6.2f} s")
    print(f"  API / bare = {rate / bare_rate:.2f}")
    # The embedded API (SQLite) serves one hall's outbox: one client, one process. A central
    # API (PostgreSQL) serves many halls at once and runs a process per core.
    judged, how = (
        (rate, "one hall, one process")
        if name == "sqlite"
        else (spread_rate, f"{args.clients} halls, {args.workers} processes")
    )
    verdict = "met" if judged >= TARGETS[name] else "MISSED"
    print(
        f"  ratio to target {TARGETS[name]:,.0f}/s ({how}): {judged / TARGETS[name]:.2f} ({verdict})"
    )


def main() -> None:
    """Run the chosen backends, each on fresh databases in temporary directories."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings", type=int, default=20_000, help="new ratings to post")
    parser.add_argument("--batch", type=int, default=100, help="ratings per request")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--clients",
        type=int,
        default=4,
        help=f"halls pushing at once in the concurrent phase (2-{MAX_HALLS}; same ids in each)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="server processes in the last phase (one per core)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.clients <= MAX_HALLS:
        parser.error(f"--clients must be 1-{MAX_HALLS}")
    if args.serve:
        serve()
        return
    for name in args.backends.split(","):
        if name == "sqlite":
            with tempfile.TemporaryDirectory(prefix="hall-bench-") as tmp:
                urls = {kind: f"sqlite:///{tmp}/{kind}.db" for kind in ("api", "bare")}
                run_backend(name, urls, args)
        elif name == "postgresql":
            from tests.integration.satisfaction.pg_server import PostgresServer, find_postgres_bin

            bin_dir = find_postgres_bin()
            if bin_dir is None:
                print("\npostgresql: skipped, no server binaries (apt-get install postgresql)")
                continue
            server = PostgresServer(bin_dir, durable=True).start()
            try:
                urls = {kind: server.url(server.create_database()) for kind in ("api", "bare")}
                run_backend(name, urls, args)
            finally:
                server.stop()
        else:
            parser.error(f"unknown backend {name!r}")


if __name__ == "__main__":
    main()
