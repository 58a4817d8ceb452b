"""Rating exports in constant memory: rows fetched in chunks through a server-side cursor, written as they come.

CSV goes out chunk by chunk while the database is still read; XLSX (a zip, whose directory
comes last) is written by openpyxl's write-only mode to a temporary file (inline strings, no
shared-string table) and then sent, or kept as an export job's file. A sheet holds at most
1,048,576 rows (Excel's limit): longer exports go on to 评价记录2, 评价记录3, ….
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import ColumnElement, Select, and_, func, select, true
from sqlalchemy.engine import RowMapping

from controller.satisfaction import store
from controller.satisfaction.export import RATING_COLUMNS
from controller.satisfaction.models import RatingPublic
from controller.satisfaction.models_rollup import ROLLUP_DETAIL, ROLLUP_HALL
from controller.satisfaction.pools import ReportDatabase

REGION = r"^\d{2}(\d{2}(\d{2})?)?$"  # 行政区划代码 prefix: 2 province, 4 city, 6 county digits
FETCH_ROWS = 2_000
SHEET_ROWS = 1_048_575  # Excel's 1,048,576 less the header
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
Publish = Callable[[RowMapping], RatingPublic]
HEADER = [name for name, _ in RATING_COLUMNS]


def region_clause(region: str | None) -> ColumnElement[bool]:
    """Ratings whose 行政区划代码 starts with `region` (a province, city or county); all if None."""
    if region is None:
        return true()
    return store.RATINGS.c.region_code.like(f"{region}%")


def ratings_query(scope: store.Scope, region: str | None) -> Select[Any]:
    """Ratings in scope and region, hall by hall and day by day (the hall-and-day index's order)."""
    table = store.RATINGS
    return (
        select(table)
        .where(and_(scope.clause(table), region_clause(region)))
        .order_by(table.c.hall_id, table.c.day, table.c.rated_at, table.c.rating_id)
    )


def estimated_rows(reports: ReportDatabase, scope: store.Scope) -> int:
    """How many ratings the scope holds, from the rollups (an upper bound when a region is set)."""
    fine = any(v is not None for v in (scope.window, scope.staff_id, scope.service))
    table = ROLLUP_DETAIL if fine else ROLLUP_HALL
    total = func.coalesce(func.sum(table.c.rated + table.c.defaults + table.c.follow_ups), 0)
    with reports.reading() as conn:
        return int(conn.execute(select(total).where(scope.clause(table))).scalar_one())


def rating_lines(
    reports: ReportDatabase,
    scope: store.Scope,
    region: str | None,
    publish: Publish,
    *,
    fetch_rows: int = FETCH_ROWS,
) -> Iterator[list[Any]]:
    """Every rating in scope as an export line, read `fetch_rows` at a time."""
    with reports.reading() as conn:
        result = conn.execution_options(yield_per=fetch_rows).execute(ratings_query(scope, region))
        for row in result.mappings():
            public = publish(row)
            yield [value(public) for _, value in RATING_COLUMNS]


def csv_chunks(lines: Iterator[list[Any]], *, chunk_rows: int = 500) -> Iterator[bytes]:
    """CSV (UTF-8 with BOM, CRLF, formula-like text defused) in chunks of `chunk_rows` lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write("\ufeff")
    writer.writerow(HEADER)
    for count, line in enumerate(lines, start=1):
        writer.writerow(["" if v is None else _defused(v) for v in line])
        if count % chunk_rows == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def write_xlsx(lines: Iterator[list[Any]], target: IO[bytes], *, title: str = "评价记录") -> int:
    """Write the lines as XLSX (write-only mode) to `target`; the number of lines written."""
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    written = 0
    sheet: Any = None
    for line in lines:
        if written % SHEET_ROWS == 0:
            sheet = book.create_sheet(
                title if written == 0 else f"{title}{written // SHEET_ROWS + 1}"
            )
            sheet.append([_bold(sheet, name, bold) for name in HEADER])
        sheet.append([_xlsx_value(sheet, v) for v in line])
        written += 1
    if sheet is None:
        sheet = book.create_sheet(title)
        sheet.append([_bold(sheet, name, bold) for name in HEADER])
    book.save(target)
    return written


def xlsx_file(lines: Iterator[list[Any]], directory: Path | None = None) -> tuple[Path, int]:
    """The lines written as an XLSX temporary file (the caller removes it) and their count."""
    with tempfile.NamedTemporaryFile(
        prefix="evaluations-", suffix=".xlsx", dir=directory, delete=False
    ) as handle:
        try:
            count = write_xlsx(lines, handle)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
    return Path(handle.name), count


def file_chunks(path: Path, *, remove: bool, size: int = 256 * 1024) -> Iterator[bytes]:
    """A file's bytes in chunks; the file removed afterwards if `remove`."""
    try:
        with path.open("rb") as source:
            while chunk := source.read(size):
                yield chunk
    finally:
        if remove:
            path.unlink(missing_ok=True)


def _bold(sheet: Any, name: str, font: Font) -> Any:
    cell = WriteOnlyCell(sheet, value=name)
    cell.font = font
    return cell


def _xlsx_value(sheet: Any, value: Any) -> Any:
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # a citizen's "=…" is text, not a formula
        return cell
    return value


def _defused(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
