"""A request that fails validation, answered 422 in the hall's language (both HTTP APIs)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 `invalid_request`: one Chinese problem per field, `where: what`, and all in `message`."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        problems.append(f"{where}: {chinese_problem(error)}")
    return JSONResponse(
        {
            "error": "invalid_request",
            "message": "请求格式错误：" + "；".join(problems),
            "problems": problems,
        },
        status_code=422,
    )


def chinese_problem(error: Mapping[str, object]) -> str:
    """A pydantic error in Chinese, for the common kinds; the pydantic text otherwise."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx")
    context = ctx if isinstance(ctx, dict) else {}
    message = str(error.get("msg", "invalid"))
    texts = {
        "missing": "缺少此字段",
        "extra_forbidden": "不允许的字段",
        "string_type": "应为字符串",
        "string_unicode": "不是有效的 UTF-8 文本",
        "string_pattern_mismatch": f"格式不符（{context.get('pattern', '')}）",
        "string_too_short": f"至少 {context.get('min_length', 1)} 个字符",
        "string_too_long": f"最多 {context.get('max_length', '')} 个字符",
        "int_type": "应为整数",
        "int_parsing": "应为整数",
        "int_from_float": "应为整数",
        "bool_type": "应为 true 或 false",
        "bool_parsing": "应为 true 或 false",
        "greater_than_equal": f"应不小于 {context.get('ge', '')}",
        "less_than_equal": f"应不大于 {context.get('le', '')}",
        "enum": f"取值应为 {context.get('expected', '')}",
        "literal_error": f"取值应为 {context.get('expected', '')}",
        "timezone_aware": "时间须带时区偏移（如 +08:00）",
        "datetime_parsing": "应为 ISO 8601 时间（如 2026-11-23T09:30:00+08:00）",
        "datetime_type": "应为 ISO 8601 时间（如 2026-11-23T09:30:00+08:00）",
        "datetime_from_date_parsing": "应为 ISO 8601 时间（如 2026-11-23T09:30:00+08:00）",
        "date_parsing": "应为日期（如 2026-11-23）",
        "date_from_datetime_parsing": "应为日期（如 2026-11-23）",
        "list_type": "应为数组",
        "too_short": f"至少 {context.get('min_length', '')} 条",
        "too_long": f"最多 {context.get('max_length', '')} 条",
        "model_attributes_type": "应为对象",
        "dict_type": "应为对象",
        "json_invalid": "不是有效的 JSON",
    }
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    return texts.get(kind, message)
