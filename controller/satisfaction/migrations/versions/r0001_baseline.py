"""Baseline: the satisfaction tables as release b58f477 made them with create_all.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

from alembic import op

from controller.satisfaction.schema_baseline import BASELINE, bring_to_baseline

revision = BASELINE
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the five tables (ratings keyed by rating id alone, as they were)."""
    bring_to_baseline(op.get_bind())
