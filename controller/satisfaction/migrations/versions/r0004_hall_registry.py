"""The hall registry: halls, their tokens (SHA-256 only), a generation counter, live summaries.

Revision ID: 0004_hall_registry
Revises: 0002_hall_keys

Halls and tokens used to live in the central config file alone, read at start. They now live
here, managed through /api/v1/halls by a province admin; the config file's halls and tokens
are imported at start (rows already present are left alone). Every change bumps the one-row
generation counter, which each API process polls to reload. Each hall's latest live summary
(waiting, oldest wait, windows, alerts; pushed on change and every minute) is one row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_hall_registry"
down_revision = "0003_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the registry tables, the counter's one row and the live summaries' table."""
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "satisfaction_hall",
        sa.Column("hall_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("calendar", sa.Text(), nullable=False),
        sa.Column("rectify_working_days", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("updated_at", moment, nullable=False),
    )
    op.create_table(
        "satisfaction_token",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("hall_id", sa.String(64), nullable=True),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("expires_at", moment, nullable=True),
    )
    op.create_index("ix_satisfaction_token_hall_id", "satisfaction_token", ["hall_id"])
    generation = op.create_table(
        "satisfaction_registry_generation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(generation, [{"id": 1, "generation": 0}])
    op.create_table(
        "satisfaction_hall_live",
        sa.Column("hall_id", sa.String(64), primary_key=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("hall_time", moment, nullable=False),
        sa.Column("received_at", moment, nullable=False),
    )
