"""The exchange feed: ratings in the order they arrived, paged by a cursor, late uploads included.

A page is `?after=CURSOR` → the next ratings stored after it, at any depth by one index range
scan (feed_xid, feed_seq). A rating uploaded days late, for a day already forwarded, arrives
after the cursor and so is in a later page.

On PostgreSQL each row carries the id of the transaction that wrote it (feed_xid) and a
sequence number. Sequence numbers are taken before commit, so a batch committing late could
hold a number below one already read. The feed therefore orders by (transaction id, sequence)
and serves only rows of transactions older than every transaction still running
(pg_snapshot_xmin): those are all committed or gone, and any transaction yet to commit has a
larger id, so it sorts after the cursor. A long write transaction (a migration) holds the
feed back until it ends; reads do not. SQLite writers take turns, so the sequence alone
(feed_xid 0) is already in commit order.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import and_, literal, select, text, tuple_
from sqlalchemy.engine import RowMapping

from controller.domain.errors import InvalidRequest
from controller.satisfaction import store
from controller.satisfaction.export_stream import region_clause
from controller.satisfaction.pools import ReportDatabase

CURSOR = r"^\d{1,19}\.\d{1,19}$"
START = "0.0"
_BIGGEST = 2**63 - 1  # BIGINT
_SETTLED = text("(SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint)")


def parse_cursor(cursor: str | None) -> tuple[int, int]:
    """(transaction id, sequence) of a cursor; the feed's start for None."""
    given = START if cursor is None else cursor
    if not re.fullmatch(CURSOR, given):
        raise InvalidRequest("invalid_cursor", f"游标 {given!r} 无效，应为上一页返回的 next")
    xid, seq = (int(part) for part in given.split("."))
    if max(xid, seq) > _BIGGEST:
        raise InvalidRequest("invalid_cursor", f"游标 {given!r} 超出范围，应为上一页返回的 next")
    return xid, seq


def cursor_of(row: RowMapping) -> str:
    """The cursor just after `row`."""
    return f"{row['feed_xid']}.{row['feed_seq']}"


def page(
    reports: ReportDatabase,
    *,
    scope: store.Scope,
    region: str | None,
    after: str | None,
    limit: int,
) -> tuple[list[RowMapping], str]:
    """Up to `limit` ratings in scope stored after `after`, and the cursor after the last of them."""
    xid, seq = parse_cursor(after)
    table = store.RATINGS
    position = tuple_(table.c.feed_xid, table.c.feed_seq)
    query: Any = select(table).where(
        and_(
            position > tuple_(literal(xid), literal(seq)),
            scope.clause(table),
            region_clause(region),
        )
    )
    with reports.reading() as conn:
        if conn.dialect.name == "postgresql":
            query = query.where(table.c.feed_xid < _SETTLED)
        query = query.order_by(table.c.feed_xid, table.c.feed_seq).limit(limit)
        rows = list(conn.execute(query).mappings())
    return rows, cursor_of(rows[-1]) if rows else f"{xid}.{seq}"
