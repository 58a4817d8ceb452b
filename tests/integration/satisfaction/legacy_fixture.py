"""Databases as release b58f477 made them (create_all, rating_id alone as key): fixture dumps.

`legacy_b58f477.sqlite.sql` and `legacy_b58f477.postgresql.sql` beside this file were made by
running `make` below with the code of b58f477 (its create_all and its API), then dumping the
database with the database's own tool (`sqlite3 .dump`, `pg_dump --inserts`). `load` puts such
a dump into an empty database (a SQLite file, or a PostgreSQL schema), so migration tests start
from the schema and rows an older release left, not from anything this release builds.

    git archive b58f477 | tar -x -C /tmp/old && cd /tmp/old && \
        python -m tests.integration.satisfaction.legacy_fixture OUT_DIR
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent
DUMPS = {
    "sqlite": HERE / "legacy_b58f477.sqlite.sql",
    "postgresql": HERE / "legacy_b58f477.postgresql.sql",
}
# What the dumps hold (see `_fill`): rows per table.
ROWS = {
    "satisfaction_rating": 9,
    "satisfaction_work_order": 3,
    "satisfaction_work_order_action": 3,
    "satisfaction_served_ticket": 6,
    "satisfaction_served": 2,
}


def load(database_url: str) -> None:
    """Run the dump of the URL's kind into its (empty) database or schema."""
    if database_url.startswith("sqlite:///"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            conn.executescript(DUMPS["sqlite"].read_text(encoding="utf-8"))
        finally:
            conn.close()
        return
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    schema = re.search(r"search_path=(\w+)", str(url.query.get("options", "")))
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    ) as pg:
        if schema:
            pg.execute(f"SET search_path TO {schema.group(1)}")
        pg.execute(DUMPS["postgresql"].read_text(encoding="utf-8"))


def _fill(database_url: str) -> None:
    """Rows of two halls through the old API: ratings (差评 too), tickets, counts, order steps."""
    from tests.integration.satisfaction.conftest import HALL_B, make_api, record

    api = make_api(database_url)
    api.ingest(
        record(),  # the tests' default record: resent after the upgrade it must be a duplicate
        record("20261123-A002", level="dissatisfied", reasons=["R01", "R05"], window=2),
        record("20261123-A003", level="satisfied", outcome="promised", case_number="QS0017"),
        record("20261123-A003-2", assess_number=2, free_text='补充："很好"，谢谢'),
        record("20261123-A004", channel="7", system_default=True, device_id="system-default"),
        record("20261123-A005", level="very_dissatisfied", reasons=["R02"], window=3),
    )
    b: dict[str, Any] = {"hall_id": HALL_B, "region_code": "330102", "department_code": "XCQ"}
    api.ingest(
        record("20261123-B001", **b),
        record("20261123-B002", level="dissatisfied", reasons=["R03"], **b),
        record("20261123-B003", level="basically_satisfied", **b),
        role="hall_b",
    )
    for hall, role in ((record()["hall_id"], "hall"), (HALL_B, "hall_b")):
        tickets = [
            {
                "hall_id": hall,
                "ticket_id": f"20261123-A00{n}",  # the same ticket ids in both halls
                "number": f"A00{n}",
                "window": n,
                "staff_id": "S0101",
                "service": "SB",
                "finished_at": f"2026-11-23T09:3{n}:00+08:00",
            }
            for n in (1, 2, 3)
        ]
        assert api.post("/api/v1/served-tickets", role, {"tickets": tickets})[0] == 200
        count = {"hall_id": hall, "day": "2026-11-22", "window": 1, "staff_id": "S0101"}
        count |= {"service": "SB", "served": 40}
        assert api.post("/api/v1/served", role, {"counts": [count]})[0] == 200
    orders = api.get("/api/v1/work-orders")[1]["items"]
    first = next(o["id"] for o in orders if o["rating_id"] == "20261123-A002")
    for action, note in (("verify", "电话回访"), ("appeal", "群众误按"), ("uphold", "维持")):
        role = "supervision" if action == "uphold" else "floor"
        status, body = api.post(f"/api/v1/work-orders/{first}/{action}", role, {"note": note})
        assert status == 200, body
    api.app.state.satisfaction.engine.dispose()


def make(out_dir: Path) -> None:
    """Fill a SQLite file and a PostgreSQL schema with the old code; dump both into `out_dir`."""
    from tests.integration.satisfaction.pg_server import PostgresServer, find_postgres_bin

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "legacy.db"
    path.unlink(missing_ok=True)
    _fill(f"sqlite:///{path}")
    dump = subprocess.run(
        ["sqlite3", str(path), ".dump"], capture_output=True, text=True, check=True
    )
    (out_dir / DUMPS["sqlite"].name).write_text(dump.stdout, encoding="utf-8")
    bin_dir = find_postgres_bin()
    assert bin_dir is not None
    server = PostgresServer(bin_dir).start()
    try:
        name, url = server.create_schema()
        _fill(url)
        done = subprocess.run(
            [
                *(str(bin_dir / "pg_dump"), "--inserts", "--no-owner", "--no-privileges"),
                *("-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-n", name),
                "postgres",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        server.stop()
    lines = []
    for line in done.stdout.splitlines():
        # Unqualified names, so the dump loads into any schema; no psql meta-commands.
        if line.startswith(("\\", "CREATE SCHEMA", "SELECT pg_catalog.set_config('search_path'")):
            continue
        lines.append(line.replace(f"{name}.", ""))
    (out_dir / DUMPS["postgresql"].name).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    make(Path(sys.argv[1]))
