"""The satisfaction tables as release b58f477 made them (create_all, before migrations): frozen.

The first migration creates these; a database an older release made (no alembic_version table)
is brought to them and stamped. Never change this module: later schema changes are revisions
in migrations/versions/.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy import Connection

log = logging.getLogger(__name__)
BASELINE = "0001_baseline"
# Nullable columns added after their table first shipped (create_all never adds a column):
# a database made before them gets them when it is adopted.
LEGACY_COLUMNS = (("satisfaction_rating", "outcome", "VARCHAR(16)"),)


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def baseline_metadata() -> sa.MetaData:
    """The five tables of b58f477, column for column, with their keys and indexes."""
    meta = sa.MetaData()
    sa.Table(
        "satisfaction_rating",
        meta,
        sa.Column("rating_id", sa.String(64), primary_key=True),
        sa.Column("hall_id", sa.String(64), nullable=False, index=True),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("window", sa.Integer, nullable=False),
        sa.Column("staff_id", sa.String(32), nullable=False),
        sa.Column("service", sa.String(16), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("case_number", sa.String(64)),
        sa.Column("outcome", sa.String(16)),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("reason_table", sa.String(16), nullable=False),
        sa.Column("assess_number", sa.Integer, nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("free_text", sa.String(500)),
        sa.Column("level", sa.String(24), nullable=False),
        sa.Column("reasons", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(1), nullable=False),
        sa.Column("system_default", sa.Boolean, nullable=False),
        sa.Column("finished_at", _when(), nullable=False),
        sa.Column("rated_at", _when(), nullable=False),
        sa.Column("day", sa.Date, nullable=False, index=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("received_at", _when(), nullable=False),
    )
    sa.Table(
        "satisfaction_served",
        meta,
        sa.Column("hall_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("window", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("staff_id", sa.String(32), primary_key=True),
        sa.Column("service", sa.String(16), primary_key=True),
        sa.Column("served", sa.Integer, nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
    )
    sa.Table(
        "satisfaction_work_order",
        meta,
        sa.Column("rating_id", sa.String(64), nullable=False, unique=True),
        sa.Column("hall_id", sa.String(64), nullable=False, index=True),
        sa.Column("day", sa.Date, nullable=False, index=True),
        sa.Column("window", sa.Integer, nullable=False),
        sa.Column("staff_id", sa.String(32), nullable=False),
        sa.Column("service", sa.String(16), nullable=False),
        sa.Column("level", sa.String(24), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("rectified_on", sa.Date),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reasons", sa.String(200), nullable=False),
        sa.Column("opened_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
    )
    sa.Table(
        "satisfaction_work_order_action",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("work_order_id", sa.Integer, nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("note", sa.String(1000), nullable=False),
        sa.Column("at", _when(), nullable=False),
    )
    sa.Table(
        "satisfaction_served_ticket",
        meta,
        sa.Column("hall_id", sa.String(64), primary_key=True),
        sa.Column("ticket_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, nullable=False, index=True),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("window", sa.Integer, nullable=False),
        sa.Column("staff_id", sa.String(32), nullable=False),
        sa.Column("service", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("case_number", sa.String(64)),
        sa.Column("finished_at", _when(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("received_at", _when(), nullable=False),
    )
    return meta


TABLE_NAMES = tuple(baseline_metadata().tables)


def bring_to_baseline(conn: Connection) -> None:
    """Create the baseline tables missing on `conn` and add the columns older releases lacked."""
    baseline_metadata().create_all(conn, checkfirst=True)
    inspector = sa.inspect(conn)
    for table, column, sql_type in LEGACY_COLUMNS:
        present = {c["name"] for c in inspector.get_columns(table)}
        if column not in present:
            log.info("adding column %s.%s (made by a release before it)", table, column)
            conn.exec_driver_sql(f'ALTER TABLE {table} ADD COLUMN "{column}" {sql_type}')
