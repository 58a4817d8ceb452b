"""Exports of ratings and KPIs as CSV (UTF-8 with BOM, for Excel) and XLSX, with Chinese headers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from controller.domain.ratings import reason_label
from controller.satisfaction.exchange import ASSESS_TIME_FORMAT
from controller.satisfaction.kpis import KpiRow
from controller.satisfaction.models import RatingPublic

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHANNELS = {"4": "大厅平板", "5": "窗口评价器", "7": "系统默认"}

RATING_COLUMNS: list[tuple[str, Callable[[RatingPublic], Any]]] = [
    ("评价编号", lambda r: r.rating_id),
    ("大厅", lambda r: r.hall_id),
    ("评价日期", lambda r: r.day.isoformat()),
    ("评价时间", lambda r: r.rated_at.strftime(ASSESS_TIME_FORMAT)),
    ("办结时间", lambda r: r.finished_at.strftime(ASSESS_TIME_FORMAT)),
    ("票号", lambda r: r.number),
    ("取号记录", lambda r: r.ticket_id),
    ("窗口", lambda r: r.window),
    ("工作人员", lambda r: r.staff_id),
    ("业务", lambda r: r.service),
    ("事项编码", lambda r: r.item_code),
    ("办件编号", lambda r: r.case_number or ""),
    ("办件类型", lambda r: r.outcome_label or ""),
    ("部门编码", lambda r: r.department_code),
    ("区划代码", lambda r: r.region_code),
    ("评价等级", lambda r: r.level_label),
    (
        "差评原因",
        lambda r: "；".join(reason_label(r.reason_table, c) for c in r.reasons),
    ),
    ("原因表版本", lambda r: r.reason_table),
    ("评价渠道", lambda r: f"{r.channel} {_CHANNELS[r.channel]}"),
    ("评价次数", lambda r: r.assess_number),
    ("设备", lambda r: r.device_id),
    ("系统默认", lambda r: "是" if r.system_default else "否"),
    ("文字评价", lambda r: r.free_text or ""),
]

_KEY_COLUMNS: list[tuple[str, str]] = [
    ("大厅", "hall_id"),
    ("窗口", "window"),
    ("工作人员", "staff_id"),
    ("业务", "service"),
    ("日期", "day"),
]
_COUNT_COLUMNS: list[tuple[str, str]] = [
    ("办件量", "served"),
    ("群众评价数", "rated"),
    ("系统默认评价数", "defaults"),
    ("计入满意率的评价数", "ratings"),
    ("满意数", "satisfied"),
    ("非常满意与满意数", "strictly_satisfied"),
    ("差评数", "bad"),
    ("追评数", "follow_ups"),
    ("应整改差评数", "bad_due"),
    ("按期整改数", "bad_rectified_on_time"),
]
_RATE_COLUMNS: list[tuple[str, str]] = [
    ("评价率", "rating_rate"),
    ("满意率", "satisfaction_rate"),
    ("满意率（严格）", "strict_satisfaction_rate"),
    ("差评率", "bad_rate"),
    ("差评整改率", "rectification_rate"),
]


def ratings_table(records: Iterable[RatingPublic]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a ratings export."""
    header = [name for name, _ in RATING_COLUMNS]
    return header, [[value(r) for _, value in RATING_COLUMNS] for r in records]


def kpi_table(rows: Sequence[KpiRow], group_by: Sequence[str]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a KPI export: the group keys used, counts, then rates (0..1), 合计 last."""
    keys = [
        (label, field)
        for label, field in _KEY_COLUMNS
        if field == "hall_id" or _grouped(field, group_by)
    ]
    columns = keys + _COUNT_COLUMNS + _RATE_COLUMNS
    body = [[_plain(getattr(row, field)) for _, field in columns] for row in rows]
    return [label for label, _ in columns], body


def total_line(total: KpiRow, group_by: Sequence[str]) -> list[Any]:
    """The 合计 line of a KPI export, aligned with `kpi_table`'s header."""
    line = kpi_table([total], group_by)[1][0]
    line[0] = "合计"
    return line


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV bytes, UTF-8 with a BOM so Excel reads the Chinese; formula-like text defused."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _defuse(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(
    sheet_title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    percent_columns: Sequence[str] = (),
) -> bytes:
    """XLSX bytes of one sheet; text stays text (never a formula), rates as percentages."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title)
    bold = Font(bold=True)
    heads = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        heads.append(cell)
    sheet.append(heads)
    percent = {i for i, name in enumerate(header) if name in percent_columns}
    for row in rows:
        cells = []
        for index, value in enumerate(row):
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # a citizen's "=…" is text, not a formula
            elif index in percent and value is not None:
                cell.number_format = "0.00%"
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


RATE_HEADERS = [label for label, _ in _RATE_COLUMNS]


def _grouped(field: str, group_by: Sequence[str]) -> bool:
    names = {"window": "window", "staff_id": "staff", "service": "service", "day": "day"}
    return names[field] in group_by


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _defuse(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
