"""A province on one central satisfaction API (PostgreSQL): ingest under report load, reports, feed, export.

Generates a province straight into the API's tables on a PostgreSQL server started here (fsync
on): `--halls` halls × `--days` days × `--per-day` ratings a hall-day (the issue's province:
1,000 × 60 × 300 = 18M ratings), two finished tickets per rating, 1.5 % 差评 with their work
orders; rollups filled as migration r0003 fills them. Then, against the API under uvicorn with
`--workers` processes:
  - ingest: `--pushers` halls pushing batches of 100 at once, alone and while 24 province
    reports (month ranking, month by staff, KPIs without dates) run in a loop;
  - province month ranking, one hall's month, an exchange-feed page at a deep cursor;
  - a province month exported as CSV in a child process: peak RSS growth.
Figures are printed, not asserted. The CI form: BENCH_PROVINCE_SMALL=1 (40 halls × 10 days × 20).
`--reports-apart`: reports go to an API process of their own at nice 10 (docs/province.md).

    .venv/bin/python -m benchmarks.bench_province [--halls 1000] [--days 60] [--per-day 300]
        [--pushers 200] [--rounds 5] [--workers 2] [--reports-apart]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from benchmarks.common import ROOT, ms, percentile
from benchmarks.province_ingest import push_all

ZONE = ZoneInfo("Asia/Shanghai")
FIRST_DAY = dt.date(2026, 9, 1)
READER = "bench-province-reader-token-0001"
TARGETS = "ingest >= 5,000/s, p99 with reports <= 2 x alone, ranking <= 300 ms, hall month <= 50 ms, feed page <= 50 ms, export growth <= 50 MB"


def hall_ids(count: int) -> list[str]:
    """Hall ids of the generated province: 11 cities, counties within them."""
    return [f"33{1 + n % 11:02d}{1 + n // 11 % 20:02d}-H{n:04d}" for n in range(count)]


def token_of(hall: str) -> str:
    """The bench token of a hall."""
    return f"bench-province-{hall}-token"


GENERATE = """
CREATE TEMP TABLE bench_hall AS
  SELECT n, '33' || lpad((1 + n %% 11)::text, 2, '0') || lpad((1 + n / 11 %% 20)::text, 2, '0')
         AS region, '33' || lpad((1 + n %% 11)::text, 2, '0') || lpad((1 + n / 11 %% 20)::text, 2, '0')
         || '-H' || lpad(n::text, 4, '0') AS hall_id
  FROM generate_series(0, %(halls)s - 1) n;
INSERT INTO satisfaction_rating (rating_id, hall_id, ticket_id, number, "window", staff_id,
  service, item_code, case_number, outcome, department_code, region_code, reason_table,
  assess_number, device_id, free_text, level, reasons, channel, system_default, finished_at,
  rated_at, day, content_hash, received_at, id_day)
SELECT to_char(day, 'YYYYMMDD') || '-A' || lpad(i::text, 4, '0') || '-R1', h.hall_id,
  to_char(day, 'YYYYMMDD') || '-A' || lpad(i::text, 4, '0'), 'A' || lpad(i::text, 3, '0'),
  1 + i %% 12, 'S' || lpad((1 + i %% 12)::text, 2, '0') || '01',
  (ARRAY['SB', 'YB', 'QT'])[1 + i / 12 %% 3], h.region || '-SB-0001', NULL, 'immediate',
  'D' || h.n, h.region, '2026.1', 1, 'keypad-' || (1 + i %% 12), NULL,
  CASE WHEN (i * 7 + h.n) %% 200 < 3 THEN 'dissatisfied' WHEN (i + h.n) %% 5 = 0 THEN 'satisfied'
       ELSE 'very_satisfied' END,
  CASE WHEN (i * 7 + h.n) %% 200 < 3 THEN 'R01' ELSE '' END, '5', false,
  at - interval '30 seconds', at, day, md5(h.hall_id || day || i), at + interval '1 minute', day
FROM bench_hall h, generate_series(0, %(days)s - 1) d, generate_series(1, %(per_day)s) i,
  LATERAL (SELECT %(first)s::date + d AS day) dd,
  LATERAL (SELECT (dd.day + time '09:00' + i * interval '80 seconds') AT TIME ZONE
           'Asia/Shanghai' AS at) aa
ORDER BY d, i, h.n;
INSERT INTO satisfaction_served_ticket (hall_id, ticket_id, day, number, "window", staff_id,
  service, outcome, case_number, finished_at, content_hash, received_at, id_day)
SELECT hall_id, ticket_id || suffix, day, number, "window", staff_id, service, outcome,
  case_number, finished_at, content_hash, received_at, id_day
FROM satisfaction_rating, (VALUES (''), ('-2')) s(suffix);
INSERT INTO satisfaction_work_order (rating_id, hall_id, day, "window", staff_id, service,
  level, state, deadline, rectified_on, reasons, opened_at, updated_at)
SELECT rating_id, hall_id, day, "window", staff_id, service, level,
  CASE WHEN day < %(first)s::date + %(days)s - 20 THEN 'rectified' ELSE 'open' END,
  day + 21, CASE WHEN day < %(first)s::date + %(days)s - 20 THEN day + 5 END, reasons,
  received_at, received_at
FROM satisfaction_rating WHERE level = 'dissatisfied';
"""


def generate(url: str, halls: int, days: int, per_day: int) -> None:
    """Fill the province's tables by SQL and its rollups as r0003 does; prints the times."""
    from controller.satisfaction import partitions, rollup_rebuild, schema, store

    engine = store.make_engine(url)
    schema.migrate(engine)
    last = FIRST_DAY + dt.timedelta(days=days)
    ahead = (last.year - FIRST_DAY.year) * 12 + last.month - FIRST_DAY.month
    partitions.maintain(engine, today=FIRST_DAY, ahead=ahead)  # the generated months' partitions
    started = time.perf_counter()
    params = {"halls": halls, "days": days, "per_day": per_day, "first": FIRST_DAY.isoformat()}
    with engine.begin() as conn:
        for statement in GENERATE.split(";\n"):
            if statement.strip():
                conn.exec_driver_sql(statement, params)
    made = time.perf_counter()
    with engine.begin() as conn:
        rollup_rebuild.rebuild(conn)
    rolled = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        count = conn.exec_driver_sql("SELECT count(*) FROM satisfaction_rating").scalar()
        size = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
    engine.dispose()
    print(f"  generated {count:,} ratings in {made - started:.1f} s; rollups {rolled - made:.1f} s")
    print(f"  database size {int(size or 0) / 1e9:.2f} GB")


@contextlib.contextmanager
def api_server(url: str, halls: int, pushers: int, workers: int, nice: int = 0) -> Iterator[str]:
    """The API under uvicorn in a child process (at `nice`); yields its base URL."""
    from tests.integration.satisfaction.pg_server import free_port

    port = free_port()
    env = os.environ | {
        "BENCH_DATABASE_URL": url,
        "BENCH_PORT": str(port),
        "BENCH_WORKERS": str(workers),
        "BENCH_HALLS": str(halls),
        "BENCH_PUSHERS": str(pushers),
    }
    command = [sys.executable, "-m", "benchmarks.bench_province", "--serve"]
    child = subprocess.Popen(["nice", "-n", str(nice), *command], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=30)


def serve() -> None:
    """Child process: the API for the generated halls (a token each for the pushers, a reader)."""
    import uvicorn

    from controller.cli.satisfaction import worker_patience

    uvicorn.run(
        "benchmarks.bench_province:bench_app",
        factory=True,
        workers=int(os.environ["BENCH_WORKERS"]),
        **worker_patience(),
        host="127.0.0.1",
        port=int(os.environ["BENCH_PORT"]),
        log_level="warning",
        access_log=False,
    )


def bench_app() -> Any:
    """The API of one worker over BENCH_DATABASE_URL."""
    from controller.satisfaction.app import create_satisfaction_app
    from controller.satisfaction.auth import (
        SatisfactionCaller,
        SatisfactionRole,
        SatisfactionTokens,
    )
    from controller.satisfaction.settings import SatisfactionSettings, profile_from_config
    from controller.settings.config_loader import load_config

    halls = hall_ids(int(os.environ["BENCH_HALLS"]))
    tokens = SatisfactionTokens()
    for hall in halls[: int(os.environ["BENCH_PUSHERS"])]:
        tokens.add(token_of(hall), SatisfactionCaller(f"b-{hall}", SatisfactionRole.HALL, hall))
    tokens.add(READER, SatisfactionCaller("province", SatisfactionRole.READER))
    profile = profile_from_config(load_config(ROOT / "config" / "hall.example.toml"))
    url = os.environ["BENCH_DATABASE_URL"]
    return create_satisfaction_app(
        url,
        tokens,
        {hall: dataclasses.replace(profile, hall_id=hall) for hall in halls},
        settings=SatisfactionSettings(database_url=url, ingest_pool_size=8),
        clock=lambda: dt.datetime(2026, 12, 31, 18, 0, tzinfo=ZONE),
    )


def push(base: str, halls: list[str], rounds: int, tag: str) -> tuple[float, list[float]]:
    """Every hall pushes `rounds` batches of 100 at once: (ratings/s, sorted batch latencies)."""
    rate, latencies, errors = push_all(base, {hall: token_of(hall) for hall in halls}, rounds, tag)
    if errors:
        print(f"  ingest errors: {len(errors)}, first: {errors[0]}")
    return rate, latencies


def timed(call: Callable[[], httpx.Response], times: int = 7) -> float:
    """Median seconds of `call` (checked 200) over `times` runs after one warm-up."""
    call().raise_for_status()
    spans = []
    for _ in range(times):
        begun = time.perf_counter()
        call().raise_for_status()
        spans.append(time.perf_counter() - begun)
    return statistics.median(spans)


def month_params(days: int) -> dict[str, str]:
    """A province month: the first calendar month generated (September), or the days made."""
    last = min(dt.date(2026, 9, 30), FIRST_DAY + dt.timedelta(days=days - 1))
    return {"from": FIRST_DAY.isoformat(), "to": last.isoformat()}


def report_load(base: str, month: dict[str, str], stop: threading.Event) -> dict[str, int]:
    """24 clients running province reports in a loop until `stop`; answers by status."""
    paths = [
        ("/api/v1/rankings/halls", month),
        ("/api/v1/kpis", month | {"group_by": "staff"}),
        ("/api/v1/kpis", {}),
    ]
    answers: dict[str, int] = {}
    lock = threading.Lock()

    def run(n: int) -> None:
        path, params = paths[n % len(paths)]
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {READER}"}, timeout=120
        ) as client:
            while not stop.is_set():
                status = str(client.get(path, params=params).status_code)
                with lock:
                    answers[status] = answers.get(status, 0) + 1

    threads = [threading.Thread(target=run, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join()
    return answers


def export_child(url: str, start: str, end: str) -> None:
    """Child process: export a province month as CSV in constant memory; prints rows, s, RSS."""
    from controller.satisfaction import export_stream, store
    from controller.satisfaction.auth import SatisfactionTokens
    from controller.satisfaction.deps import SatisfactionContext
    from controller.satisfaction.pools import ReportDatabase
    from controller.satisfaction.settings import SatisfactionSettings

    def rss_kb(field: str) -> int:
        for line in open("/proc/self/status", encoding="ascii"):  # noqa: SIM115
            if line.startswith(field):
                return int(line.split()[1])
        return 0

    engine = store.make_engine(url)
    reports = ReportDatabase(engine, 3_600_000)
    scope = store.Scope(day_from=dt.date.fromisoformat(start), day_to=dt.date.fromisoformat(end))
    context = SatisfactionContext(
        engine=engine,
        tokens=SatisfactionTokens(),
        profiles={},
        settings=SatisfactionSettings(database_url=url),
        clock=lambda: dt.datetime.now(dt.UTC),
    )
    publish = context.public
    before = rss_kb("VmRSS:")
    begun = time.perf_counter()
    size = rows = 0
    for chunk in export_stream.csv_chunks(
        export_stream.rating_lines(reports, scope, None, publish)
    ):
        size += len(chunk)
        rows += chunk.count(b"\r\n")
    elapsed = time.perf_counter() - begun
    print(json.dumps({"rows": rows - 1, "seconds": elapsed, "bytes": size,
                      "growth_mb": (rss_kb("VmHWM:") - before) / 1024}))  # fmt: skip
    engine.dispose()


def deep_cursor(url: str) -> str:
    """The feed cursor 90 % of the way through the stored ratings."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        total = conn.execute("SELECT count(*) FROM satisfaction_rating").fetchone()
        skip = int((total or (0,))[0] * 0.9)
        row = conn.execute(
            "SELECT feed_xid, feed_seq FROM satisfaction_rating ORDER BY feed_xid, feed_seq "
            "OFFSET %s LIMIT 1",
            (skip,),
        ).fetchone()
    return f"{row[0]}.{row[1]}" if row else "0.0"


def run(url: str, args: argparse.Namespace) -> None:
    """Generate, serve, measure, print."""
    print(f"province: {args.halls} halls x {args.days} days x {args.per_day} ratings a hall-day")
    generate(url, args.halls, args.days, args.per_day)
    halls = hall_ids(args.halls)
    month = month_params(args.days)
    reader = {"Authorization": f"Bearer {READER}"}
    with contextlib.ExitStack() as servers:
        base = servers.enter_context(api_server(url, args.halls, args.pushers, args.workers))
        reports = base
        if args.reports_apart:
            reports = servers.enter_context(api_server(url, args.halls, 0, 1, nice=10))
            print("  reports on an API process of their own at nice 10")
        client = servers.enter_context(httpx.Client(base_url=base, headers=reader, timeout=300))
        pushers = halls[: args.pushers]
        push(base, pushers, 1, "warm")
        rate, alone = push(base, pushers, args.rounds, "alone")
        print(f"  ingest alone: {rate:,.0f} ratings/s ({args.pushers} halls x {args.rounds} "
              f"batches of 100); batch p50 / p99 {ms(percentile(alone, 0.5))} / "
              f"{ms(percentile(alone, 0.99))}")  # fmt: skip
        stop = threading.Event()
        answers: dict[str, int] = {}
        load = threading.Thread(target=lambda: answers.update(report_load(reports, month, stop)))
        load.start()
        time.sleep(2)
        rate_loaded, loaded = push(base, pushers, args.rounds, "loaded")
        stop.set()
        load.join()
        print(f"  ingest with 24 reports: {rate_loaded:,.0f} ratings/s; batch p50 / p99 "
              f"{ms(percentile(loaded, 0.5))} / {ms(percentile(loaded, 0.99))} "
              f"(p99 ratio {percentile(loaded, 0.99) / percentile(alone, 0.99):.2f}); "
              f"report answers {answers}")  # fmt: skip
        ranking = timed(lambda: client.get("/api/v1/rankings/halls", params=month))
        by_staff = timed(
            lambda: client.get("/api/v1/kpis", params=month | {"group_by": "staff"}), 3
        )
        no_dates = timed(lambda: client.get("/api/v1/kpis"), 3)
        one = halls[len(halls) // 2]
        hall_month = timed(
            lambda: client.get("/api/v1/kpis", params=month | {"hall_id": one, "group_by": "day"})
        )
        cursor = deep_cursor(url)
        feed = timed(lambda: client.get("/api/v1/exchange/feed", params={"after": cursor}))
        print(f"  province month ranking        {ms(ranking)}")
        print(f"  province month by staff       {ms(by_staff)}")
        print(f"  province KPIs, no dates       {ms(no_dates)}")
        print(f"  one hall's month by day       {ms(hall_month)}")
        print(f"  feed page (100) at 90 % depth {ms(feed)}")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_province", "--export-child", url,
         month["from"], month["to"]],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  province month CSV export: {figures['rows']:,} rows, {figures['bytes'] / 1e6:.0f} MB "
          f"in {figures['seconds']:.1f} s; peak RSS growth {figures['growth_mb']:.1f} MB")  # fmt: skip
    print(f"  targets: {TARGETS}")


def main() -> None:
    """Parse the options and run (or serve / export as a child)."""
    if "--serve" in sys.argv:
        serve()
        return
    if "--export-child" in sys.argv:
        at = sys.argv.index("--export-child")
        export_child(*sys.argv[at + 1 : at + 4])
        return
    small = os.environ.get("BENCH_PROVINCE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--halls", type=int, default=40 if small else 1_000)
    parser.add_argument("--days", type=int, default=10 if small else 60)
    parser.add_argument("--per-day", type=int, default=20 if small else 300)
    parser.add_argument("--pushers", type=int, default=20 if small else 200)
    parser.add_argument("--rounds", type=int, default=2 if small else 5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reports-apart", action="store_true")
    args = parser.parse_args()
    args.pushers = min(args.pushers, args.halls)
    from tests.integration.satisfaction.pg_server import PostgresServer, find_postgres_bin

    bin_dir = find_postgres_bin()
    if bin_dir is None:
        print("postgresql: skipped, no server binaries (apt-get install postgresql)")
        return
    server = PostgresServer(bin_dir, durable=True).start()
    try:
        run(server.url(server.create_database()), args)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
