"""A province deployment: two API processes behind nginx, PgBouncer (transaction mode), PostgreSQL.

A hall added through the registry (at either process, through the balancer) is accepted by
both processes within seconds, with no restart; a suspension reaches both the same way; a
hall of the config file (a controller of the previous release) keeps working throughout.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.satisfaction import schema, store
from controller.settings.hall_config import token_digest
from tests.integration.satisfaction.conftest import ROOT, record
from tests.integration.satisfaction.pg_server import PostgresServer
from tests.integration.satisfaction.province_parts import (
    NGINX_HINT,
    PGBOUNCER_HINT,
    Nginx,
    PgBouncer,
    nginx_path,
    pgbouncer_path,
)
from tests.required_parts import require_part
from tests.servers import free_port

ADMIN_TOKEN = "province-admin-token-of-the-deploy-test"
OLD_HALL, OLD_TOKEN = "330102-XCQZWFW", "xcq-controller-token-of-the-previous-release"
NEW_HALL = "330106-XHQZWFW"
WITHIN_SECONDS = 20.0  # generous on a loaded 2-core machine; the refresh is 1 s
CONFIG = """
[settings]
registry_refresh_seconds = 1.0

[[halls]]
id = "{old}"
[halls.calendar]
[halls.calendar.hours.mon]
open = "09:00"
close = "17:00"

[[tokens]]
name = "xcq-controller"
role = "hall"
hall_id = "{old}"
sha256 = "{old_digest}"

[[tokens]]
name = "省厅"
role = "province_admin"
sha256 = "{admin_digest}"
"""


@pytest.fixture
def province(postgres: PostgresServer, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """PostgreSQL ← PgBouncer ← two `hallctl satisfaction-api` processes ← nginx."""
    bouncer_bin, nginx_bin = pgbouncer_path(), nginx_path()
    require_part("PgBouncer", bouncer_bin is not None, PGBOUNCER_HINT)
    require_part("nginx", nginx_bin is not None, NGINX_HINT)
    assert bouncer_bin is not None and nginx_bin is not None
    database = postgres.create_database()
    engine = store.make_engine(postgres.url(database))  # migrations go to the primary directly
    schema.migrate(engine)
    engine.dispose()
    bouncer = PgBouncer(bouncer_bin, postgres.port).start()
    config = tmp_path / "province.toml"
    config.write_text(
        CONFIG.format(
            old=OLD_HALL,
            old_digest=token_digest(OLD_TOKEN),
            admin_digest=token_digest(ADMIN_TOKEN),
        ),
        encoding="utf-8",
    )
    env = os.environ | {"HALLCTL_SATISFACTION_DATABASE_URL": bouncer.url(database)}
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"api-{n}.log" for n in range(2)]
    processes = []
    for port, log in zip(ports, logs, strict=True):
        argv = [sys.executable, "-m", "controller.cli.main", "satisfaction-api"]
        argv += ["--config", str(config), "--port", str(port)]
        with log.open("wb") as sink:
            processes.append(
                subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
            )
    balancer = None
    try:
        for port, log, process in zip(ports, logs, processes, strict=True):
            _wait_healthy(f"http://127.0.0.1:{port}", process, log)
        balancer = Nginx(nginx_bin, ports).start()
        yield {
            "balancer": balancer.base,
            "backends": [f"http://127.0.0.1:{p}" for p in ports],
            "bouncer": bouncer,
            "database": database,
        }
    finally:
        if balancer is not None:
            balancer.stop()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        bouncer.stop()
        postgres.drop_database(database)
    for log in logs:
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text()


def test_a_hall_added_through_the_registry_is_accepted_by_both_processes_within_seconds(
    province: dict[str, Any],
) -> None:
    balancer, backends = province["balancer"], province["backends"]
    for base in [balancer, *backends]:  # a controller of the previous release, as configured
        assert _push(base, OLD_TOKEN, OLD_HALL).status_code == 200
    for base in backends:
        assert _push(base, "a-token-nobody-issued-yet", NEW_HALL).status_code == 401
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    added = httpx.post(
        f"{balancer}/api/v1/halls", json={"hall_id": NEW_HALL, "name": "西湖区"}, headers=admin
    )
    assert added.status_code == 201, added.text
    token = added.json()["token"]
    waits = [_until(base, token, NEW_HALL, 200) for base in backends]
    print(f"new hall accepted by each process after {[f'{w:.2f} s' for w in waits]}")
    # Round robin: both processes, many times each; the same statements again and again on
    # pooled connections that PgBouncer hands to other server connections at every transaction.
    answers = [_push(balancer, token, NEW_HALL) for _ in range(60)]
    assert [a.status_code for a in answers] == [200] * 60, {a.text for a in answers}

    suspended = httpx.post(f"{balancer}/api/v1/halls/{NEW_HALL}/suspend", headers=admin)
    assert suspended.status_code == 200, suspended.text
    waits = [_until(base, token, NEW_HALL, 403) for base in backends]
    print(f"suspension reached each process after {[f'{w:.2f} s' for w in waits]}")
    refused = _push(backends[0], token, NEW_HALL).json()
    assert refused["error"] == "hall_suspended"
    assert _push(balancer, OLD_TOKEN, OLD_HALL).status_code == 200  # the other hall unaffected
    assert f"db={province['database']}" in province["bouncer"].log()  # it went through PgBouncer


_serial = iter(range(1, 10_000))


def _push(base: str, token: str, hall: str) -> httpx.Response:
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    rating_id = f"{moment:%Y%m%d}-A{next(_serial):03d}"
    fields = {
        "hall_id": hall,
        "region_code": hall.split("-", maxsplit=1)[0],
        "rated_at": moment.isoformat(),
        "finished_at": (moment - dt.timedelta(seconds=30)).isoformat(),
    }
    body = {"records": [record(rating_id, **fields)]}
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{base}/api/v1/evaluations", json=body, headers=headers, timeout=10)


def _until(base: str, token: str, hall: str, status: int) -> float:
    """Seconds until `base` answers `status` to a push (fails after WITHIN_SECONDS)."""
    started = time.monotonic()
    while (answer := _push(base, token, hall)).status_code != status:
        assert time.monotonic() - started < WITHIN_SECONDS, (base, answer.text)
        time.sleep(0.1)
    return time.monotonic() - started


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120  # imports and start-up on a loaded 2-core machine
    while True:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.2)
