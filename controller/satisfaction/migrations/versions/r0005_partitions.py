"""Monthly partitions of ratings and finished tickets (PostgreSQL), and the archive ledger.

Revision ID: 0005_partitions
Revises: 0004_hall_registry

Both tables get `id_day`, the hall day their id begins with (partitions.py says why not
`day`), filled from the ids of the rows already stored. PostgreSQL rebuilds each as a table
range-partitioned by month of `id_day` with a default partition, partitions for every month
the rows hold and the next months, the primary key (hall_id, id, id_day) and the same indexes;
every row is copied, so plan a maintenance window on a big database (the copy takes about as
long as r0003's rewrite). SQLite adds the column and stays unpartitioned. Work orders stay one
table: a few per 100 ratings, changed for weeks after the rating, keyed by a serial id their
history refers to. `satisfaction_archive` records each month archived (archive.py).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from controller.satisfaction import partitions

revision = "0005_partitions"
down_revision = "0004_hall_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add id_day; partition by month on PostgreSQL; create the archive ledger."""
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute(partitions.ID_DAY_FUNCTION)
        today = dt.datetime.now(dt.UTC).date()
        for table in partitions.TABLES:
            partitions.convert(conn, table, today=today, ahead=partitions.DEFAULT_MONTHS_AHEAD)
    else:
        for table in partitions.TABLES:
            _add_id_day(conn, table)
    op.create_table(
        "satisfaction_archive",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("table_name", sa.String(64), primary_key=True),
        sa.Column("part", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
    )


def _add_id_day(conn: sa.Connection, table: partitions.Partitioned) -> None:
    """SQLite: the column (NOT NULL needs a default there), then each row's value from its id."""
    op.execute(
        f"ALTER TABLE {table.name} ADD COLUMN id_day DATE NOT NULL "
        f"DEFAULT '{partitions.UNDATED.isoformat()}'"
    )
    ids = [
        i for (i,) in conn.exec_driver_sql(f"SELECT DISTINCT {table.id_column} FROM {table.name}")
    ]
    days = [
        {"day": d.isoformat(), "id": i}
        for i in ids
        if (d := partitions.id_day(i)) != partitions.UNDATED
    ]
    if days:
        conn.execute(
            sa.text(f"UPDATE {table.name} SET id_day = :day WHERE {table.id_column} = :id"), days
        )
