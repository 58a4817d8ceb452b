"""The TV calling screen (叫号屏) as a scene: a pure function of the snapshot and the time.

Laid out on a 1920×1080 design grid and scaled (letterboxed) to the screen. Sizes are for
reading from 10 m: the latest call 120-220 px, recent calls 48 px, no text under 24 px even with
30 windows; white or yellow on dark navy (contrast above 10:1).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from display.scene import Align, Box, Colour, Rect, Scene, ScenePainter, Text
from display.text_measure import fit_size, fit_text, text_px, wrap_to_box
from display.tv_text import (
    NO_NOTICE_TEXT,
    NO_TICKET,
    CallLine,
    ScreenContent,
    WindowTile,
    clock_text,
    screen_content,
)

__all__ = ["Box", "Scene", "Text", "blink_on", "render_connecting", "render_scene"]

DESIGN = (1920, 1080)
BLINK_SECONDS = 8.0  # a new call blinks this long after its `at`
BLINK_PERIOD = 1.0  # one bright + one inverted phase
SCROLL_PX_PER_SECOND = 120.0  # the notices line: under 3 characters a second at 44 px
MIN_TEXT_PX = 24  # nothing smaller, even with 30 windows
WINDOWS_AREA: Rect = (784, 120, 1112, 732)
NOTICE_AREA: Rect = (136, 992, 1200, 80)

NAVY: Colour = (6, 26, 51)
HEADER: Colour = (11, 61, 107)
TILE: Colour = (15, 45, 82)
TILE_DIM: Colour = (28, 36, 46)
WHITE: Colour = (255, 255, 255)
YELLOW: Colour = (255, 221, 0)
RED: Colour = (196, 18, 28)
GREEN: Colour = (61, 220, 132)
ORANGE: Colour = (255, 167, 38)
GREY: Colour = (154, 165, 177)
DARK: Colour = (20, 20, 20)
EMERGENCY: Colour = (163, 0, 0)
STATE_COLOURS = {"serving": GREEN, "idle": WHITE, "paused": ORANGE}


def render_scene(
    snapshot: dict[str, Any],
    now: dt.datetime,
    size: tuple[int, int] = DESIGN,
    *,
    connection_lost: bool = False,
) -> Scene:
    """The screen for `snapshot` at `now`; an emergency notice takes the whole screen."""
    content = screen_content(snapshot)
    now = now.astimezone(content.hall_now.tzinfo)
    paint = ScenePainter(size, DESIGN)
    if content.emergencies:
        _emergency(paint, content, now)
    else:
        _header(paint, content, now, lost=connection_lost)
        _latest(paint, content.latest, now)
        _recent(paint, content.recent)
        _windows(paint, content.windows, now)
        _services(paint, content)
        _footer(paint, content, now)
    if connection_lost:
        _offline_marker(paint, emergency=bool(content.emergencies))
    return paint.scene(EMERGENCY if content.emergencies else NAVY)


def render_connecting(now: dt.datetime, size: tuple[int, int] = DESIGN) -> Scene:
    """The screen before the first snapshot arrives: a plain "connecting" message and the clock."""
    paint = ScenePainter(size, DESIGN)
    paint.text(
        "正在连接叫号系统…", (0, 400, 1920, 140), 96, WHITE, align="center", role="connecting"
    )
    paint.text(
        " ".join(clock_text(now)), (0, 600, 1920, 80), 56, GREY, align="center", role="clock"
    )
    return paint.scene(NAVY)


def blink_on(at: dt.datetime, now: dt.datetime) -> bool | None:
    """During the blink after a call: whether this is the bright phase; None once it is over."""
    elapsed = max(0.0, (now - at).total_seconds())
    if elapsed >= BLINK_SECONDS:
        return None
    return math.floor(elapsed / (BLINK_PERIOD / 2)) % 2 == 0


def window_grid(count: int, width: float, height: float, gap: float) -> tuple[int, int]:
    """Columns and rows for `count` window tiles: the layout whose tiles are largest."""
    best, best_score = (1, 1), -1.0
    for cols in range(1, max(1, count) + 1):
        rows = max(1, math.ceil(count / cols))
        tile_w = (width - gap * (cols - 1)) / cols
        tile_h = (height - gap * (rows - 1)) / rows
        score = min(tile_w, tile_h * 1.3)  # tiles read best a little wider than tall
        if score > best_score:
            best, best_score = (cols, rows), score
    return best


def scroll_offset(text_width: int, gap: int, now: dt.datetime) -> int:
    """How far the notices line has scrolled at `now`, in [0, text_width + gap)."""
    return int(now.timestamp() * SCROLL_PX_PER_SECOND) % (text_width + gap)


def _header(paint: ScenePainter, content: ScreenContent, now: dt.datetime, *, lost: bool) -> None:
    paint.box((0, 0, 1920, 104), HEADER, role="header")
    name_width = 960 if lost else 1140
    size = fit_size(content.hall_name, name_width, 60, 40)
    name = fit_text(content.hall_name, size, name_width)
    paint.text(name, (32, 0, name_width, 104), size, WHITE, role="hall-name")
    date, time = clock_text(now)
    paint.text(date, (1300, 0, 310, 104), 40, WHITE, align="right", role="clock-date")
    paint.text(time, (1630, 0, 266, 104), 64, YELLOW, align="right", role="clock-time")


def _latest(paint: ScenePainter, latest: CallLine | None, now: dt.datetime) -> None:
    x, y, w, h = 24, 120, 736, 380
    if latest is None:
        paint.box((x, y, w, h), TILE, radius=16, role="latest")
        paint.text("欢迎光临", (x, y + 80, w, 120), 96, WHITE, align="center", role="welcome")
        paint.text(
            "请取号后留意叫号", (x, y + 220, w, 80), 52, GREY, align="center", role="welcome"
        )
        return
    inverted = blink_on(latest.at, now) is False
    fill, number_colour, line_colour = (YELLOW, RED, DARK) if inverted else (RED, YELLOW, WHITE)
    paint.box((x, y, w, h), fill, radius=16, role="latest")
    label = "再次呼叫" if latest.recall else "正在呼叫"
    paint.text(label, (x, y + 12, w, 64), 44, line_colour, align="center", role="latest-label")
    inner = w - 48
    size = fit_size(latest.number, inner, 220, 120)
    paint.text(
        fit_text(latest.number, size, inner),
        (x + 24, y + 76, inner, 224),
        size,
        number_colour,
        align="center",
        role="latest-number",
    )
    line = f"请到 {latest.window} 号窗口"
    line_size = fit_size(line, inner, 80, 48)
    paint.text(
        line,
        (x + 24, y + 296, inner, 80),
        line_size,
        line_colour,
        align="center",
        role="latest-window",
    )


def _recent(paint: ScenePainter, recent: tuple[CallLine, ...]) -> None:
    x, y, w = 24, 516, 736
    paint.text("最近叫号", (x, y, w, 48), 36, GREY, role="recent-title")
    row_h, rows = 56, 5
    for index, call in enumerate(recent[:rows]):
        rect = (x, y + 56 + index * row_h, w, row_h)
        paint.text(fit_text(call.text, 48, w), rect, 48, WHITE, role="recent", ref=call.number)


def _windows(paint: ScenePainter, tiles: tuple[WindowTile, ...], now: dt.datetime) -> None:
    x, y, w, h = WINDOWS_AREA
    if not tiles:
        return
    gap = 16 if len(tiles) <= 16 else 10
    cols, rows = window_grid(len(tiles), w, h, gap)
    tile_w = (w - gap * (cols - 1)) / cols
    tile_h = (h - gap * (rows - 1)) / rows
    for index, tile in enumerate(tiles):
        left = x + (index % cols) * (tile_w + gap)
        top = y + (index // cols) * (tile_h + gap)
        _tile(paint, tile, (left, top, tile_w, tile_h), now)


def _tile(paint: ScenePainter, tile: WindowTile, rect: Rect, now: dt.datetime) -> None:
    x, y, w, h = rect
    # Steady, not blinking: twenty tiles blinking out of step in a burst would be unreadable.
    fresh = bool(tile.called_at and tile.ticket and blink_on(tile.called_at, now) is not None)
    dim = tile.state not in ("serving", "idle", "paused")
    if fresh:
        paint.box(rect, TILE, border=YELLOW, border_width=6, radius=12, role="window")
    else:
        paint.box(rect, TILE_DIM if dim else TILE, radius=12, role="window")
    pad = max(6.0, min(w, h) * 0.06)
    inner = int(w - 2 * pad)
    ref = str(tile.number)
    small = max(MIN_TEXT_PX, min(40, int(h * 0.2)))
    title_size = fit_size(tile.title, inner, small, MIN_TEXT_PX)
    top = y + pad / 2
    paint.text(
        tile.title,
        (x + pad, top, inner, small * 1.25),
        title_size,
        WHITE,
        role="window-title",
        ref=ref,
    )
    top += small * 1.25
    if h >= 170 and tile.name:
        name_size = max(MIN_TEXT_PX, min(30, int(h * 0.12)))
        name = fit_text(tile.name, name_size, inner)
        paint.text(
            name,
            (x + pad, top, inner, name_size * 1.2),
            name_size,
            GREY,
            role="window-name",
            ref=ref,
        )
        top += name_size * 1.2
    state_h = small * 1.3
    ticket_h = y + h - pad / 2 - state_h - top
    ticket = tile.ticket or NO_TICKET
    ticket_size = fit_size(ticket, inner, max(MIN_TEXT_PX, int(ticket_h * 0.9)), MIN_TEXT_PX)
    paint.text(
        fit_text(ticket, ticket_size, inner),
        (x + pad, top, inner, ticket_h),
        ticket_size,
        YELLOW if tile.ticket else GREY,
        align="center",
        role="window-ticket",
        ref=ref,
    )
    paint.text(
        tile.label,
        (x + pad, y + h - pad / 2 - state_h, inner, state_h),
        fit_size(tile.label, inner, small, MIN_TEXT_PX),
        STATE_COLOURS.get(tile.state, GREY),
        align="center",
        role="window-state",
        ref=ref,
    )


def _services(paint: ScenePainter, content: ScreenContent) -> None:
    x, y, h = 24, 868, 112
    paint.text("等候", (x, y, 140, h / 2), 40, GREY, align="center", role="services-title")
    paint.text("人数", (x, y + h / 2, 140, h / 2), 40, GREY, align="center", role="services-title")
    services = content.services
    if not services:
        return
    left, width, gap = 180, 1716, 12
    rows = math.ceil(len(services) / 10)
    cols = math.ceil(len(services) / rows)
    chip_w = (width - gap * (cols - 1)) / cols
    chip_h = (h - 8 * (rows - 1)) / rows
    inner = int(chip_w - 16)
    two_lines = chip_h >= 90
    name_w = inner if two_lines else inner * 3 // 5
    largest = 34 if two_lines else max(MIN_TEXT_PX, int(chip_h * 0.6))
    size = min(fit_size(s.name, name_w, largest, MIN_TEXT_PX) for s in services)
    name_align: Align = "center" if two_lines else "left"
    count_align: Align = "center" if two_lines else "right"
    count_size = 44 if two_lines else size
    for index, service in enumerate(services):
        cx = left + (index % cols) * (chip_w + gap)
        cy = y + (index // cols) * (chip_h + 8)
        paint.box((cx, cy, chip_w, chip_h), TILE, radius=10, role="service")
        name = fit_text(service.name, size, name_w)
        if two_lines:
            name_rect: Rect = (cx + 8, cy + 4, inner, chip_h * 0.45)
            count_rect: Rect = (cx + 8, cy + chip_h * 0.45, inner, chip_h * 0.55 - 4)
        else:
            name_rect = (cx + 8, cy, name_w, chip_h)
            count_rect = (cx + 8 + name_w, cy, inner - name_w, chip_h)
        paint.text(
            name, name_rect, size, WHITE, align=name_align, role="service-name", ref=service.name
        )
        paint.text(
            service.text,
            count_rect,
            count_size,
            YELLOW,
            align=count_align,
            role="service-count",
            ref=service.name,
        )


def _footer(paint: ScenePainter, content: ScreenContent, now: dt.datetime) -> None:
    x, y, w, h = NOTICE_AREA
    paint.box((24, y + 10, 96, h - 20), YELLOW, radius=8, role="notice-label")
    paint.text("通知", (24, y, 96, h), 36, DARK, align="center", role="notice-label")
    text = "　　◆　　".join(content.notices) if content.notices else NO_NOTICE_TEXT
    size = 44
    width = text_px(text, size)
    if width <= w:
        paint.text(text, (x, y, w, h), size, WHITE, role="notice")
    else:
        gap = 4 * size
        offset = scroll_offset(width, gap, now)
        for start in (x - offset, x - offset + width + gap):
            paint.text(text, (start, y, width, h), size, WHITE, clip=NOTICE_AREA, role="notice")
    if content.duty_leader:
        size = fit_size(content.duty_leader, 540, 40, 28)
        leader = fit_text(content.duty_leader, size, 540)
        paint.text(leader, (1356, y, 540, h), size, WHITE, align="right", role="duty-leader")


def _emergency(paint: ScenePainter, content: ScreenContent, now: dt.datetime) -> None:
    paint.text("紧急通知", (0, 70, 1920, 170), 128, YELLOW, align="center", role="emergency-title")
    size, lines = wrap_to_box("\n".join(content.emergencies), 1680, 640, 96, 56)
    line_h = size * 1.3
    top = 280 + (640 - len(lines) * line_h) / 2
    align: Align = "center" if len(lines) == 1 else "left"
    for index, line in enumerate(lines):
        rect = (120, top + index * line_h, 1680, line_h)
        paint.text(line, rect, size, WHITE, align=align, role="emergency")
    date, time = clock_text(now)
    footer = fit_text(f"{content.hall_name}　{date} {time}", 44, 1800)
    paint.text(footer, (60, 960, 1800, 80), 44, WHITE, align="center", role="emergency-footer")


def _offline_marker(paint: ScenePainter, *, emergency: bool) -> None:
    x, y = (1600, 16) if emergency else (1010, 22)
    paint.box((x, y, 280, 60), RED, border=WHITE, border_width=3, radius=10, role="offline")
    paint.text("连接中断", (x, y, 280, 60), 36, WHITE, align="center", role="offline")
