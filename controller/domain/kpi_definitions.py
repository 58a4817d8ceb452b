"""The one definition of each daily KPI: its Chinese name and what it counts.

The KPIs (controller/domain/kpis.py), the dashboard's tiles (each shows its definition), `hallctl
simulate-day` and docs/dashboard-and-console.md "KPI definitions" all read this table, so two
figures can never be named alike and count different things (过号 events against tickets).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

KPI_DEFINITIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "issued": ("今日取号", "当天取号张数（未打印成功、已作废的票除外）"),
        "called": ("已叫号", "至少被叫过一次的票数；重呼、过号后再叫只计一次"),
        "served": ("已办结", "办结的票数"),
        "waiting": ("等候中", "仍在排队的票数"),
        "expired": ("未办结", "日终仍未办结而失效的票数"),
        "average_wait_minutes": ("平均等候", "首次叫号时间 − 取号（或预约签到）时间的平均值，分钟"),
        "max_wait_minutes": ("最长等候", "首次叫号时间 − 取号时间的最大值，分钟"),
        "average_service_minutes": ("平均办理", "办结时间 − 首次叫号时间的平均值，分钟"),
        "overtime_rate": ("超时率", "等候超过超时阈值的票数 ÷ 取号张数"),
        "no_show_events": ("过号次数", "窗口按“过号”的次数，含过号后重新排队的"),
        "no_show_tickets": ("过号票数", "至少被按过一次“过号”的票数（一张票只计一次）"),
        "no_show_rate": ("过号率", "过号票数 ÷ 已叫号票数"),
        "no_show_dropped": ("过号作废", "因过号最终未再排队、不再办理的票数"),
        "no_show_dropped_rate": ("过号作废率", "过号作废票数 ÷ 已叫号票数"),
        "rated": ("已评价", "群众在评价器上评价的票数（系统默认评价除外）"),
        "rating_rate": ("评价率", "已评价票数 ÷ 已办结票数"),
        "satisfaction_rate": ("满意率", "（非常满意＋满意＋基本满意）÷ 评价数"),
        "strict_satisfaction_rate": ("满意率（严格）", "（非常满意＋满意）÷ 评价数"),
        "bad_rating_rate": ("差评率", "（不满意＋非常不满意）÷ 评价数"),
    }
)


def kpi_label(key: str) -> str:
    """The Chinese name of a KPI ("过号率")."""
    return KPI_DEFINITIONS[key][0]
