"""Exports: CSV and XLSX of ratings and KPIs, read back."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

from openpyxl import load_workbook

from tests.integration.satisfaction.conftest import HALL_A, Api, at, record


def _seed(api: Api) -> None:
    api.ingest(
        record("r-1"),
        record(
            "r-2",
            number="A002",
            level="very_dissatisfied",
            reasons=["R02", "R01"],
            free_text='=HYPERLINK("http://x")',
            case_number="QS-17",
            rated_at="2026-11-23T02:10:00Z",
            finished_at=at("2026-11-23 10:05"),
        ),
    )
    counts = [
        {
            "hall_id": HALL_A,
            "day": "2026-11-23",
            "window": 1,
            "staff_id": "S0101",
            "service": "SB",
            "served": 4,
        }
    ]
    api.post("/api/v1/served", "hall", {"counts": counts})


def test_ratings_csv_has_chinese_headers_hall_times_and_no_formulas(api: Api) -> None:
    _seed(api)
    response = api.client.get(
        "/api/v1/exports/evaluations",
        params={"from": "2026-11-23"},
        headers={"Authorization": "Bearer reader-token-for-tests-0001"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "评价记录-2026-11-23_今.csv"
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["评价编号"] for r in rows] == ["r-1", "r-2"]
    second = rows[1]
    assert second["评价时间"] == "2026-11-23 10:10:00"
    assert second["评价等级"] == "非常不满意"
    assert second["差评原因"] == "R01 服务态度不好；R02 等候时间过长"
    assert second["评价渠道"] == "5 窗口评价器" and second["办件编号"] == "QS-17"
    assert second["文字评价"] == '\'=HYPERLINK("http://x")'  # defused for spreadsheets
    assert rows[0]["系统默认"] == "否" and rows[0]["办件编号"] == ""


def test_ratings_xlsx_reads_back_with_text_kept_as_text(api: Api) -> None:
    _seed(api)
    response = api.client.get(
        "/api/v1/exports/evaluations",
        params={"format": "xlsx"},
        headers={"Authorization": "Bearer floor-a-token-for-tests-001"},
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["评价记录"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("评价编号", "大厅", "评价日期", "评价时间")
    header = list(rows[0])
    second = dict(zip(header, rows[2], strict=True))
    assert second["文字评价"] == '=HYPERLINK("http://x")'
    assert sheet.cell(3, header.index("文字评价") + 1).data_type == "s"
    assert second["窗口"] == 1 and second["评价等级"] == "非常不满意"


def test_kpi_exports_carry_counts_rates_and_a_total(api: Api) -> None:
    _seed(api)
    headers = {"Authorization": "Bearer supervision-token-for-tests"}
    params = {"group_by": "window", "hall_id": HALL_A, "as_of": "2026-11-24"}
    response = api.client.get("/api/v1/exports/kpis", params=params, headers=headers)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["大厅"] for r in rows] == [HALL_A, "合计"]
    assert rows[0]["窗口"] == "1" and rows[0]["办件量"] == "4" and rows[0]["群众评价数"] == "2"
    assert rows[0]["评价率"] == "0.5" and rows[0]["满意率"] == "0.5" and rows[0]["差评率"] == "0.5"
    assert rows[0]["差评整改率"] == ""  # nothing due yet: no rate, not zero
    response = api.client.get(
        "/api/v1/exports/kpis", params=params | {"format": "xlsx"}, headers=headers
    )
    sheet = load_workbook(io.BytesIO(response.content))["评价指标"]
    header = [c.value for c in sheet[1]]
    rate = sheet.cell(2, header.index("满意率") + 1)
    assert rate.value == 0.5 and rate.number_format == "0.00%"
    assert sheet.cell(3, 1).value == "合计"
