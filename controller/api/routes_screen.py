"""The TV calling screen for smart TVs: the /screen page and the screen's content as JSON."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from controller.api.deps import CallerDep, RuntimeDep
from display.tv_layout import (
    BLINK_PERIOD,
    BLINK_SECONDS,
    SCROLL_PX_PER_SECOND,
    WINDOWS_AREA,
    window_grid,
)
from display.tv_text import content_to_dict, screen_content

router = APIRouter()


@router.get("/screen", response_class=HTMLResponse, include_in_schema=False)
def screen_page() -> HTMLResponse:
    """The 1920×1080 calling screen page; #token=… (or ?token=…) gives it a display token."""
    page = resources.files("controller.api").joinpath("pages", "screen.html")
    return HTMLResponse(page.read_text(encoding="utf-8"))


@router.get("/api/screen", tags=["live"])
def screen(runtime: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    """What the calling screen shows now (Chinese texts, no personal data) and how it animates."""
    content = content_to_dict(screen_content(runtime.snapshot()))
    _, _, width, height = WINDOWS_AREA
    count = len(content["windows"])
    cols, rows = window_grid(count, width, height, 16 if count <= 16 else 10)
    content["layout"] = {
        "window_cols": cols,
        "window_rows": rows,
        "blink_seconds": BLINK_SECONDS,
        "blink_period": BLINK_PERIOD,
        "scroll_px_per_second": SCROLL_PX_PER_SECOND,
    }
    return content
