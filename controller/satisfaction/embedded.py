"""The satisfaction API embedded in a hall controller: one hall, SQLite in the data directory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from controller.app.data_files import SATISFACTION_DB_NAME, secure_file
from controller.satisfaction.app import create_satisfaction_app
from controller.satisfaction.auth import SatisfactionCaller, SatisfactionRole, SatisfactionTokens
from controller.satisfaction.settings import SatisfactionSettings, hall_id_of, profile_from_config
from controller.settings.hall_config import HallConfig

DB_NAME = SATISFACTION_DB_NAME


def embedded_satisfaction_app(
    config: HallConfig,
    data_dir: Path,
    *,
    outbox_token: str,
    admin_token: str | None = None,
    settings: SatisfactionSettings | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> FastAPI:
    """The API for this hall alone, on `data_dir`/satisfaction.db.

    The controller's outbox pushes with `outbox_token` (role hall); the hall's floor_manager
    tokens act as floor managers and its admin tokens (and `admin_token`) as 督查股, all bound
    to this hall. 差评 deadlines count working days on the hall's [calendar], as many as
    [satisfaction] rectify_working_days says (else the settings' value).
    """
    hall_id = hall_id_of(config.hall)
    url = f"sqlite:///{data_dir / DB_NAME}"
    # Export job files live in the data directory beside the database, not wherever it started.
    chosen = settings or SatisfactionSettings(
        database_url=url, export_dir=data_dir / "satisfaction-exports"
    )
    tokens = SatisfactionTokens.from_hall_tokens(hall_id, list(config.auth.tokens))
    tokens.add(
        outbox_token, SatisfactionCaller("controller-outbox", SatisfactionRole.HALL, hall_id)
    )
    if admin_token:
        tokens.add(
            admin_token, SatisfactionCaller("admin-env", SatisfactionRole.SUPERVISION, hall_id)
        )
    days = config.satisfaction.rectify_working_days or chosen.rectify_working_days
    profile = profile_from_config(config, rectify_working_days=days)
    app = create_satisfaction_app(url, tokens, {hall_id: profile}, settings=chosen, clock=clock)
    secure_file(data_dir / DB_NAME)  # ratings, 差评 work orders and appeals: owner-only
    return app
