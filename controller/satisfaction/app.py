"""The satisfaction API app factory: embedded in a controller or alone for many halls."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from controller.api.docs_pages import self_hosted_docs
from controller.api.http_errors import http_status
from controller.api.request_guard import RequestGuard
from controller.api.security_headers import SecureFastAPI
from controller.api.validation_errors import validation_error
from controller.domain.errors import AuthError, CommandRejected, HallError, NotPermitted, StoreError
from controller.satisfaction import (
    partitions,
    pools,
    registry_admin,
    routes_halls,
    routes_province,
    routes_province_reports,
    routes_records,
    routes_reports,
    routes_work_orders,
    schema,
)
from controller.satisfaction.auth import SatisfactionTokens
from controller.satisfaction.deps import SatisfactionContext
from controller.satisfaction.registry import HallRegistry
from controller.satisfaction.settings import HallProfile, SatisfactionSettings
from controller.settings.server_limits import ServerLimits

log = logging.getLogger(__name__)
# A batch may hold 500 records with free text: more room than the hall's own API needs.
BODY_LIMITS = ServerLimits(max_body_bytes=4 * 1_048_576)


def create_satisfaction_app(
    database_url: str,
    tokens: SatisfactionTokens,
    profiles: Mapping[str, HallProfile],
    *,
    settings: SatisfactionSettings | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    import_into_registry: bool = False,
) -> FastAPI:
    """The API over `database_url` (migrated to this release's schema first) for `profiles`' halls.

    Halls and tokens of the database's registry are served too. With `import_into_registry`
    (a central API) `tokens` and `profiles` are added to the registry and served from there,
    so that a province admin can suspend such a hall or rotate its token.
    """
    chosen = settings or SatisfactionSettings(database_url=database_url)
    now = clock or (lambda: dt.datetime.now(dt.UTC))
    engine, reports = pools.make_engines(database_url, chosen)
    try:
        schema.migrate(engine)
        partitions.maintain(
            engine,
            today=now().astimezone(chosen.zone).date(),
            ahead=chosen.partition_months_ahead,
        )
        if import_into_registry:
            registry_admin.import_static(
                engine, profiles=profiles, tokens=tokens.entries(), now=now()
            )
            tokens, profiles = SatisfactionTokens(), {}
    except BaseException:
        pools.dispose(engine, reports)
        raise
    registry = HallRegistry(
        engine,
        profiles,
        default_rectify_days=chosen.rectify_working_days,
        refresh_seconds=chosen.registry_refresh_seconds,
        now=now,
    )
    tokens.attach(registry.caller_for_digest)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        pools.dispose(engine, reports)

    app = SecureFastAPI(
        title="好差评 评价数据接口",
        version="1",
        description="Satisfaction API: rating records, KPIs, 差评 work orders, exports.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    self_hosted_docs(app)
    app.state.satisfaction = SatisfactionContext(
        engine=engine,
        tokens=tokens,
        profiles=registry,
        settings=chosen,
        clock=now,
        report_db=reports,
    )
    app.state.registry = registry
    for module in (
        routes_records,
        routes_reports,
        routes_work_orders,
        routes_province_reports,
        routes_halls,
        routes_province,
    ):
        app.include_router(module.router)
    app.add_exception_handler(HallError, _hall_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.state.token_checks = [_knows(tokens)]
    app.add_middleware(RequestGuard, limits=BODY_LIMITS, token_checks=app.state.token_checks)
    return app


def _knows(tokens: SatisfactionTokens) -> Callable[[str | None], bool]:
    def check(authorization: str | None) -> bool:
        try:
            tokens.caller_for(authorization)
        except AuthError:
            return False
        return True

    return check


async def _hall_error(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, CommandRejected):
        return JSONResponse(
            {"error": exc.reason, "message": exc.message}, status_code=http_status(exc)
        )
    if isinstance(exc, AuthError):
        denied = isinstance(exc, NotPermitted)
        return JSONResponse(
            {"error": "forbidden" if denied else "unauthorized", "message": exc.message},
            status_code=http_status(exc),
            headers=None if denied else {"WWW-Authenticate": "Bearer"},
        )
    if isinstance(exc, StoreError):
        # The driver's text (SQL, parameters, file names) goes to the log, not to the client.
        log.error("answered 503: %s", exc)
        return JSONResponse(
            {"error": "store_unavailable", "message": "评价数据库暂不可用，请稍后重试"},
            status_code=503,
        )
    return JSONResponse({"error": "hall_error", "message": str(exc)}, status_code=400)
