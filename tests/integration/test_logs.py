"""Logging of the running hall: JSON lines for a journal, and no line per request or push."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from controller.app.logs import configure_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the root logger and the quietened loggers back as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("httpx", "uvicorn.access")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


@pytest.mark.usefixtures("restored_logging")
def test_json_lines_name_level_and_logger_and_keep_chinese(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "INFO")
    logging.getLogger("controller.app.outbox").warning("评价数据暂未上报：%d 条", 3)
    logging.getLogger("httpx").info('HTTP Request: POST http://x/api/v1/evaluations "200 OK"')
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /api/state" 200')
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines  # neither a request line nor an outbox push line
    entry = json.loads(lines[0])
    assert (entry["level"], entry["logger"]) == ("WARNING", "controller.app.outbox")
    assert entry["message"] == "评价数据暂未上报：3 条" and "time" in entry


@pytest.mark.usefixtures("restored_logging")
def test_text_lines_and_a_debug_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("text", "debug")
    logging.getLogger("devices.led.led_bus").debug("probe 3")
    logging.getLogger("httpx").warning("connection refused")  # failures still show
    err = capsys.readouterr().err
    assert "DEBUG devices.led.led_bus: probe 3" in err
    assert "WARNING httpx: connection refused" in err
