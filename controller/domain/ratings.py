"""好差评 rating levels and reason codes, with the national codings they map to.

Levels are stored by name; the two national codings disagree, so each is a lookup, never
arithmetic: GB/T 39046-2020 code table A.8 counts 1 = 非常满意 … 5 = 非常不满意, while the
provincial exchange field `satisfaction` counts 5 = 非常满意 … 1 = 非常不满意.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from firmware_protocols.keypad.keypad_codes import (
    REASON_TABLE_VERSION as KEYPAD_REASON_TABLE_VERSION,
)
from firmware_protocols.keypad.keypad_codes import REASON_TABLES

# Channel codes (pf) of the exchange: 5 = other hall terminal (a window keypad);
# 7 = a system default for an unrated service, left out of 评价率.
CHANNEL_HALL_TERMINAL = "5"
CHANNEL_SYSTEM_DEFAULT = "7"
REASON_TABLE_VERSION = str(KEYPAD_REASON_TABLE_VERSION)  # new records
LEGACY_REASON_TABLE = "2026.1"


class RatingLevel(StrEnum):
    """The five levels, by name."""

    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"

    @property
    def label(self) -> str:
        """The Chinese name shown to people (非常满意 …)."""
        return _LABELS[self]

    @property
    def gbt_code(self) -> int:
        """GB/T 39046-2020 table A.8: 1 = 非常满意 … 5 = 非常不满意."""
        return _ORDER.index(self) + 1

    @property
    def exchange_satisfaction(self) -> int:
        """The provincial exchange field `satisfaction`: 5 = 非常满意 … 1 = 非常不满意."""
        return 5 - _ORDER.index(self)

    @property
    def is_bad(self) -> bool:
        """差评: 不满意 or 非常不满意."""
        return self in (RatingLevel.DISSATISFIED, RatingLevel.VERY_DISSATISFIED)

    @property
    def is_satisfied(self) -> bool:
        """Counts towards 满意率 (非常满意, 满意, 基本满意)."""
        return not self.is_bad


_ORDER = list(RatingLevel)
_LABELS = {
    RatingLevel.VERY_SATISFIED: "非常满意",
    RatingLevel.SATISFIED: "满意",
    RatingLevel.BASICALLY_SATISFIED: "基本满意",
    RatingLevel.DISSATISFIED: "不满意",
    RatingLevel.VERY_DISSATISFIED: "非常不满意",
}

# 差评 reason codes (evalDetail). The one source is the keypad wire spec's versioned table
# (firmware_protocols/keypad/keypad_codes.py, docs/protocols/keypad-mqtt.md "Reason codes"): a record
# names the table by its version as text ("1"), the version the keypad declared.
RECORD_REASON_TABLES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        **{str(version): table for version, table in REASON_TABLES.items()},
        # Records made before the tables were unified name "2026.1", whose R03-R09 mean other
        # things than table 1's. Kept so those stored records stay readable and deliverable;
        # no keypad can declare it and no new record uses it.
        LEGACY_REASON_TABLE: MappingProxyType(
            {
                "R01": "服务态度不好",
                "R02": "等候时间过长",
                "R03": "办理时间过长",
                "R04": "一次性告知不清，多次跑腿",
                "R05": "业务不熟练",
                "R06": "推诿扯皮",
                "R07": "窗口无人或擅离岗位",
                "R08": "收费不规范",
                "R09": "环境设施不便",
                "R99": "其他",
            }
        ),
    }
)
BAD_RATING_REASONS = RECORD_REASON_TABLES[REASON_TABLE_VERSION]  # the current table


def reason_label(table: str, code: str) -> str:
    """`code` with its Chinese text from the record's table ("R05 未一次性告知所需材料"), or the bare code."""
    text = RECORD_REASON_TABLES.get(table, {}).get(code)
    return f"{code} {text}" if text else code
