"""Hall registry on PostgreSQL: a province's halls and tokens imported, reloaded, looked up.

A config of `--halls` halls with two tokens each (a controller and a floor manager, as the
issue's 870 KB TOML with 2,002 tokens) is imported into a fresh database as an API process
does at start (first start, then a second start that finds everything there); then the time a
process takes to reload the whole registry after a change, the token lookup per request
(SHA-256 of the token, then a dict), and how long a hall added through one app takes to be
accepted by a second app on the same database (refresh 1 s). Figures only, nothing asserted.

    .venv/bin/python -m benchmarks.bench_hall_registry [--halls 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from benchmarks.common import ms
from controller.domain.calendar import HallCalendar
from controller.domain.hall_rules import CalendarConfig
from controller.satisfaction import registry_admin, schema, store
from controller.satisfaction.app import create_satisfaction_app
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole, SatisfactionTokens
from controller.satisfaction.registry import HallRegistry
from controller.satisfaction.settings import HallProfile, SatisfactionSettings

ZONE = ZoneInfo("Asia/Shanghai")
CALENDAR = HallCalendar(
    CalendarConfig.model_validate(
        {
            "hours": {
                d: {"open": "09:00", "close": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")
            }
        }
    )
)
ADMIN = "bench-province-admin-token-0001"


def main() -> None:
    """Run the bench on a throwaway PostgreSQL server and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--halls", type=int, default=1000)
    args = parser.parse_args()
    from tests.integration.satisfaction.pg_server import PostgresServer, find_postgres_bin

    bin_dir = find_postgres_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed (apt-get install -y postgresql)")
    server = PostgresServer(bin_dir).start()
    try:
        url = server.url(server.create_database())
        run(url, args.halls)
    finally:
        server.stop()


def run(url: str, halls: int) -> None:
    """The figures for `halls` halls on the database at `url`."""
    profiles = {
        f"33{n:04d}-HALL{n:04d}": HallProfile(f"33{n:04d}-HALL{n:04d}", ZONE, CALENDAR)
        for n in range(halls)
    }
    tokens = SatisfactionTokens()
    for n, hall in enumerate(profiles):
        tokens.add(f"hall-token-{n:05d}", SatisfactionCaller(hall, SatisfactionRole.HALL, hall))
        tokens.add(
            f"floor-token-{n:05d}",
            SatisfactionCaller(f"f{n}", SatisfactionRole.FLOOR_MANAGER, hall),
        )
    tokens.add(ADMIN, SatisfactionCaller("省厅", SatisfactionRole.PROVINCE_ADMIN))
    engine = store.make_engine(url)
    schema.migrate(engine)
    now = dt.datetime.now(dt.UTC)
    for label in ("first start (all new)", "second start (all there)"):
        started = time.perf_counter()
        count = registry_admin.import_static(
            engine, profiles=profiles, tokens=tokens.entries(), now=now
        )
        took = time.perf_counter() - started
        print(f"import {label}: {count.halls} halls, {count.tokens} tokens added in {ms(took)}")
    registry = HallRegistry(engine, {}, refresh_seconds=0.0)
    started = time.perf_counter()
    registry.current()
    print(
        f"registry load ({len(registry)} halls, {len(tokens.entries())} tokens): {ms(time.perf_counter() - started)}"
    )
    started = time.perf_counter()
    for _ in range(1000):
        registry.current()  # the generation unchanged: one read of the counter
    print(f"generation check (unchanged): {ms((time.perf_counter() - started) / 1000)} each")
    registry = HallRegistry(engine, {}, refresh_seconds=1.0)
    lookups = SatisfactionTokens()
    lookups.attach(registry.caller_for_digest)
    lookups.caller_for("Bearer hall-token-00000")  # the first load
    started = time.perf_counter()
    for n in range(halls):
        lookups.caller_for(f"Bearer hall-token-{n:05d}")
    per = (time.perf_counter() - started) / halls
    print(f"token lookup among {len(tokens.entries())} (refresh 1 s, loaded): {per * 1e6:.1f} µs")
    engine.dispose()
    _added_and_seen(url)


def _added_and_seen(url: str) -> None:
    admin = SatisfactionTokens()
    admin.add(ADMIN, SatisfactionCaller("省厅", SatisfactionRole.PROVINCE_ADMIN))
    settings = SatisfactionSettings(database_url=url, registry_refresh_seconds=1.0)
    apps = [
        TestClient(create_satisfaction_app(url, admin, {}, settings=settings)) for _ in range(2)
    ]
    admin_headers = {"Authorization": f"Bearer {ADMIN}"}
    assert apps[1].get("/api/v1/halls", headers=admin_headers).status_code == 200  # loaded
    reply = apps[0].post("/api/v1/halls", json={"hall_id": "339999-NEW"}, headers=admin_headers)
    started = time.perf_counter()
    token = reply.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    while apps[1].get("/api/v1/evaluations", headers=headers).status_code != 200:
        time.sleep(0.01)
    print(
        f"a hall added at one process, accepted at another after {ms(time.perf_counter() - started)}"
    )
    for app in apps:
        app.app.state.satisfaction.engine.dispose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
