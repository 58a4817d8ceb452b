"""Keypad vocabulary shared by every keypad wire protocol: key names, ratings, 差评 reason codes.

Names, never numbers, on the wire: the national codings of the five levels disagree
(GB/T 39046 table A.8 counts 1 = 非常满意; the provincial `satisfaction` field 5 = 非常满意).
The reason table is versioned (docs/protocols/keypad-mqtt.md, "Reason codes").
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

KEYS = (
    "next",
    "recall",
    "no_show",
    "pause",
    "resume",
    "transfer",
    "finish",
    "invite_rating",
    "rate",
)
ARGUMENT_KEYS = ("pause", "transfer", "finish")  # pause reason, transfer target, case outcome
RATINGS = (
    "very_satisfied",  # 非常满意
    "satisfied",  # 满意
    "basically_satisfied",  # 基本满意
    "dissatisfied",  # 不满意
    "very_dissatisfied",  # 非常不满意
)
BAD_RATINGS = ("dissatisfied", "very_dissatisfied")  # 差评: the only ratings that take reasons

# 差评 reason codes (evalDetail). A code is never reused or renumbered; a later table keeps
# every earlier code, so a code alone says what the citizen chose.
REASON_TABLE_VERSION = 1
REASON_TABLES: Mapping[int, Mapping[str, str]] = MappingProxyType(
    {
        1: MappingProxyType(
            {
                "R01": "服务态度不好",
                "R02": "等候时间过长",
                "R03": "办事效率低",
                "R04": "业务不熟练，解答不清楚",
                "R05": "未一次性告知所需材料",
                "R06": "让群众多次跑腿",
                "R07": "推诿扯皮",
                "R08": "工作人员不在岗",
                "R09": "办事流程繁琐",
                "R10": "违规收费或吃拿卡要",
                "R11": "办事环境和设施不便",
                "R99": "其他",
            }
        )
    }
)


def reason_text(code: str) -> str:
    """The Chinese text of a reason code from the newest table that has it; KeyError if none."""
    for version in sorted(REASON_TABLES, reverse=True):
        if code in REASON_TABLES[version]:
            return REASON_TABLES[version][code]
    raise KeyError(code)
