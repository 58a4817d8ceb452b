"""Daily rollups for reports, the ratings' arrival order for the exchange feed, export jobs.

Revision ID: 0003_rollups
Revises: 0002_hall_keys

Reports recomputed every figure from raw rows (a province month ranking scanned millions of
ratings); they now read rollups per (hall, day[, window, staff, service]) kept current at
ingest, filled here from the rows already stored. Ratings get their arrival order (feed_xid,
feed_seq): rows already stored are numbered by arrival time under transaction 0, new rows on
PostgreSQL take the writing transaction's id and a sequence by default (feed.py says why).
Indexes leading with hall and day serve one hall's month. On a big database this revision
rewrites the ratings table once and builds the rollups in one pass: plan a maintenance window
(docs/satisfaction-province.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from controller.satisfaction.rollup_rebuild import rebuild

revision = "0003_rollups"
down_revision = "0002_hall_keys"
branch_labels = None
depends_on = None

RATINGS = "satisfaction_rating"
SEQUENCE = "satisfaction_rating_feed_seq"
RATING_COUNTS = (
    "rated",
    "defaults",
    "satisfied",
    "satisfied_defaults",
    "strict",
    "strict_defaults",
    "bad",
    "bad_defaults",
    "follow_ups",
    "served_tickets",
)


def upgrade() -> None:
    """Create and fill the rollups, number the stored ratings, add the hall-and-day indexes."""
    conn = op.get_bind()
    _create_tables()
    _number_ratings(conn)
    op.create_index("ix_satisfaction_rating_hall_day", RATINGS, ["hall_id", "day"])
    op.create_index("ix_satisfaction_rating_feed", RATINGS, ["feed_xid", "feed_seq"])
    op.create_index(
        "ix_satisfaction_rating_hall_feed", RATINGS, ["hall_id", "feed_xid", "feed_seq"]
    )
    op.create_index(
        "ix_satisfaction_served_ticket_hall_day", "satisfaction_served_ticket", ["hall_id", "day"]
    )
    op.create_index(
        "ix_satisfaction_work_order_hall_day", "satisfaction_work_order", ["hall_id", "day"]
    )
    rebuild(conn)


def _keys(*, detail: bool, deadline: bool) -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = [
        sa.Column("hall_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
    ]
    if detail:
        columns += [
            sa.Column("window", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("staff_id", sa.String(32), primary_key=True),
            sa.Column("service", sa.String(16), primary_key=True),
        ]
    if deadline:
        columns.append(sa.Column("deadline", sa.Date, primary_key=True))
    return columns


def _create_tables() -> None:
    for name, detail in (("detail", True), ("hall", False)):
        op.create_table(
            f"satisfaction_rollup_{name}",
            *_keys(detail=detail, deadline=False),
            *(sa.Column(c, sa.Integer, nullable=False) for c in RATING_COUNTS),
            sa.Column("served_counts", sa.Integer, nullable=True),
        )
        op.create_table(
            f"satisfaction_rollup_order_{name}",
            *_keys(detail=detail, deadline=True),
            *(
                sa.Column(c, sa.Integer, nullable=False)
                for c in ("pending", "rectified", "on_time")
            ),
        )
    op.create_table(
        "satisfaction_rollup_month",
        sa.Column("hall_id", sa.String(64), primary_key=True),
        sa.Column("month", sa.Date, primary_key=True),
        sa.Column("window", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("staff_id", sa.String(32), primary_key=True),
        sa.Column("service", sa.String(16), primary_key=True),
        *(sa.Column(c, sa.Integer, nullable=False) for c in RATING_COUNTS),
        sa.Column("served_counts", sa.Integer, nullable=True),
    )
    op.create_table(
        "satisfaction_export_job",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("params", sa.String(2000), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("error", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_satisfaction_export_job_owner", "satisfaction_export_job", ["owner", "created_at"]
    )


def _number_ratings(conn: sa.Connection) -> None:
    """feed_xid 0 and feed_seq 1, 2, … by arrival for the rows already stored."""
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        op.execute(f"ALTER TABLE {RATINGS} ADD COLUMN feed_xid BIGINT, ADD COLUMN feed_seq BIGINT")
        op.execute(f"CREATE SEQUENCE {SEQUENCE} OWNED BY {RATINGS}.feed_seq")
    else:  # SQLite adds a NOT NULL column only with a default
        op.execute(f"ALTER TABLE {RATINGS} ADD COLUMN feed_xid BIGINT NOT NULL DEFAULT 0")
        op.execute(f"ALTER TABLE {RATINGS} ADD COLUMN feed_seq BIGINT NOT NULL DEFAULT 0")
    op.execute(
        f"UPDATE {RATINGS} SET feed_xid = 0, feed_seq = numbered.n FROM ("
        "SELECT hall_id, rating_id, "
        "row_number() OVER (ORDER BY received_at, hall_id, rating_id) AS n "
        f"FROM {RATINGS}) AS numbered "
        f"WHERE {RATINGS}.hall_id = numbered.hall_id AND {RATINGS}.rating_id = numbered.rating_id"
    )
    if postgres:
        last = conn.exec_driver_sql(f"SELECT max(feed_seq) FROM {RATINGS}").scalar()
        if last:
            op.execute(f"SELECT setval('{SEQUENCE}', {int(last)})")
        op.execute(
            f"ALTER TABLE {RATINGS} "
            "ALTER COLUMN feed_xid SET DEFAULT (pg_current_xact_id()::text)::bigint, "
            "ALTER COLUMN feed_xid SET NOT NULL, "
            f"ALTER COLUMN feed_seq SET DEFAULT nextval('{SEQUENCE}'), "
            "ALTER COLUMN feed_seq SET NOT NULL"
        )
