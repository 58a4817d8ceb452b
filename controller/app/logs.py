"""Logging of the running hall: readable lines on a terminal, one JSON object a line for a journal."""

from __future__ import annotations

import logging
import sys
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Field names a log shipper (journald, Loki, Elasticsearch) finds without a parsing rule.
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(threadName)s"


def configure_logging(log_format: LogFormat = "text", level: str = "INFO") -> None:
    """Send every log record of the hall (and of uvicorn) to stderr in `log_format`."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                JSON_FIELDS,
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Requests are measured by /metrics; an access line per request would drown the rest, and
    # so would httpx's line per outbox push (its failures are logged and alerted by the outbox).
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
