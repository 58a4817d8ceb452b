"""A bare FastAPI endpoint doing one durable SQLite insert: the HTTP benchmark's in-run baseline.

The same routes as the hall's issue and call-next, each a plain `def` (FastAPI runs it on its
thread pool, as a blocking database call should be) inserting one row into SQLite in WAL mode
with synchronous=FULL, committed before the answer. Served by uvicorn with httptools and
uvloop, as `hallctl up` is.

    .venv/bin/python -m benchmarks.bare_endpoint --port 8001 --db /tmp/bare.db
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class TicketBody(BaseModel):
    """What a kiosk sends."""

    service: str


def create_bare_app(db: Path) -> FastAPI:
    """Two routes, each one durable insert of the request into `db`."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS row (id INTEGER PRIMARY KEY, what TEXT)")
    lock = threading.Lock()

    def insert(what: str) -> int:
        with lock:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("INSERT INTO row (what) VALUES (?)", (what,)).lastrowid
            conn.execute("COMMIT")
        return int(row or 0)

    app = FastAPI()

    @app.post("/api/tickets", status_code=201)
    def issue(body: TicketBody) -> dict[str, Any]:
        return {"id": insert(body.service), "service": body.service}

    @app.post("/api/windows/{number}/call-next")
    def call_next(number: int) -> JSONResponse:
        return JSONResponse({"id": insert(f"call {number}"), "window": number})

    @app.get("/api/state")
    def state() -> dict[str, Any]:
        return {}

    return app


def main() -> None:
    """Command line: --port, --db."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_bare_app(args.db),
        host="127.0.0.1",
        port=args.port,
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
