"""Alembic environment of the satisfaction store: runs on the connection `schema.migrate` passes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "the satisfaction migrations run through `hallctl satisfaction-migrate` or at API start "
        "(controller.satisfaction.schema.migrate), on a connection under the migration lock"
    )
context.configure(connection=connection, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
