"""Key ratings and 差评 work orders by (hall, rating id): rating ids are hall-local.

Revision ID: 0002_hall_keys
Revises: 0001_baseline

Every hall numbers its ratings 20261123-A001-R1, so with the rating id alone as key a second
hall's rating was refused (409) once the first hall's was stored. Ratings get the primary key
(hall_id, rating_id) and work orders the unique key (hall_id, rating_id); the hall_id indexes
they made redundant go. Every row is kept as it is, work-order ids included. PostgreSQL
changes the keys in place; SQLite cannot, so each table is rebuilt (copy, drop, rename).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_hall_keys"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

RATINGS, ORDERS = "satisfaction_rating", "satisfaction_work_order"
ORDER_KEY = "uq_satisfaction_work_order_hall_rating"
DROPPED_INDEXES = {"ix_satisfaction_rating_hall_id", "ix_satisfaction_work_order_hall_id"}


def upgrade() -> None:
    """Re-key ratings and work orders by (hall_id, rating_id), keeping every row."""
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        _in_place(conn)
    else:
        _rebuild(conn, RATINGS, [sa.PrimaryKeyConstraint("hall_id", "rating_id")])
        _rebuild(
            conn,
            ORDERS,
            [
                sa.PrimaryKeyConstraint("id"),
                sa.UniqueConstraint("hall_id", "rating_id", name=ORDER_KEY),
            ],
        )


def _in_place(conn: sa.Connection) -> None:
    inspector = sa.inspect(conn)
    pk = inspector.get_pk_constraint(RATINGS)["name"] or f"{RATINGS}_pkey"
    op.execute(
        f'ALTER TABLE {RATINGS} DROP CONSTRAINT "{pk}", '
        f'ADD CONSTRAINT "{pk}" PRIMARY KEY (hall_id, rating_id)'
    )
    for unique in inspector.get_unique_constraints(ORDERS):
        if unique["column_names"] == ["rating_id"] and unique["name"]:
            op.drop_constraint(unique["name"], ORDERS, type_="unique")
    op.create_unique_constraint(ORDER_KEY, ORDERS, ["hall_id", "rating_id"])
    for table in (RATINGS, ORDERS):
        for index in inspector.get_indexes(table):
            if index["name"] in DROPPED_INDEXES:
                op.drop_index(index["name"], table_name=table)


def _rebuild(conn: sa.Connection, name: str, keys: list[sa.Constraint]) -> None:
    """SQLite: the same columns under new keys, rows copied, indexes made again (less the dropped)."""
    inspector = sa.inspect(conn)
    old = sa.Table(name, sa.MetaData(), autoload_with=conn)
    indexes = [i for i in inspector.get_indexes(name) if i["name"] not in DROPPED_INDEXES]
    temporary = f"{name}_rekeyed"
    columns = [
        sa.Column(c.name, c.type, nullable=c.nullable if c.name != "id" else False)
        for c in old.columns
    ]
    sa.Table(temporary, sa.MetaData(), *columns, *keys).create(conn)
    names = ", ".join(f'"{c.name}"' for c in old.columns)
    conn.exec_driver_sql(f"INSERT INTO {temporary} ({names}) SELECT {names} FROM {name}")
    conn.exec_driver_sql(f"DROP TABLE {name}")
    conn.exec_driver_sql(f"ALTER TABLE {temporary} RENAME TO {name}")
    for index in indexes:
        assert index["name"] is not None
        op.create_index(index["name"], name, [c for c in index["column_names"] if c])
